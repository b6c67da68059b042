//! Writing records back out in a layout's exact format: delimiter, quoting only where needed,
//! encoding and line ending. Shared by the exporter and the sample generator, so a generated
//! file and its export are written by the same code. No I/O beyond the byte buffer given.

use crate::layout::{Dialect, Encoding};

/// Errors turning a record into bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WriteError {
    /// A character the file's encoding cannot hold.
    #[error("field {field} holds {ch:?}, which {encoding} cannot hold")]
    Unmappable {
        /// 1-based field position.
        field: usize,
        /// The character.
        ch: char,
        /// Encoding name.
        encoding: &'static str,
    },
    /// A value holding U+FFFD, the mark of text that could not be read: never written as data.
    #[error("field {field} holds text that could not be read (U+FFFD); retype it")]
    Unreadable {
        /// 1-based field position.
        field: usize,
    },
    /// A value holding the delimiter in a format that never quotes.
    #[error("field {field} holds the delimiter {delimiter:?}, and this file format has no quoting")]
    Delimiter {
        /// 1-based field position.
        field: usize,
        /// The delimiter.
        delimiter: char,
    },
}

/// True when a value must be quoted (in a format that never quotes: when it holds the
/// delimiter, which cannot be written).
pub fn needs_quote(d: &Dialect, v: &str) -> bool {
    match d.quote {
        Some(q) => v
            .bytes()
            .any(|b| b == d.delimiter || b == q || b == b'\n' || b == b'\r'),
        None => v.as_bytes().contains(&d.delimiter),
    }
}

/// Appends one record (no line ending) to `out`.
pub fn encode_record<S: AsRef<str>>(
    d: &Dialect,
    fields: impl IntoIterator<Item = S>,
    out: &mut Vec<u8>,
) -> Result<(), WriteError> {
    // The record is written as UTF-8 text first, and encoded afterwards only when it is not
    // ASCII (ASCII is the same bytes in every encoding).
    let start = out.len();
    let mut ascii = true;
    for (i, f) in fields.into_iter().enumerate() {
        let v = f.as_ref();
        // Printable ASCII can hold neither U+FFFD nor a character the encoding lacks.
        if !crate::text::is_plain_bytes(v.as_bytes()) {
            let mut refuse = |e| {
                out.truncate(start);
                Err(e)
            };
            if v.contains(char::REPLACEMENT_CHARACTER) {
                return refuse(WriteError::Unreadable { field: i + 1 });
            }
            if let Some(ch) = v.chars().find(|c| !mappable_in(d.encoding, *c)) {
                return refuse(WriteError::Unmappable {
                    field: i + 1,
                    ch,
                    encoding: d.encoding.name(),
                });
            }
            ascii &= v.is_ascii();
        }
        if i > 0 {
            out.push(d.delimiter);
        }
        if needs_quote(d, v) {
            let Some(q) = d.quote else {
                out.truncate(start);
                return Err(WriteError::Delimiter {
                    field: i + 1,
                    delimiter: d.delimiter as char,
                });
            };
            out.push(q);
            for &b in v.as_bytes() {
                if b == q {
                    out.push(q);
                }
                out.push(b);
            }
            out.push(q);
        } else {
            out.extend_from_slice(v.as_bytes());
        }
    }
    if !ascii {
        // UTF-8 throughout (text fields; the delimiter and quote are ASCII), so nothing is lost.
        let tail = out.split_off(start);
        encode_text(d.encoding, &String::from_utf8_lossy(&tail), out);
    }
    Ok(())
}

/// True when Windows-1252 can hold `c`.
pub fn mappable(c: char) -> bool {
    mappable_in(Encoding::Windows1252, c)
}

/// True when a file in `enc` can hold `c`. A kept undecodable byte (see [`crate::text`]) is
/// written back as the byte it was, so it can always be held.
pub fn mappable_in(enc: Encoding, c: char) -> bool {
    if c.is_ascii() || crate::text::marker_byte(c).is_some() {
        return true;
    }
    match enc {
        Encoding::Utf8 => true,
        Encoding::Latin1 => u32::from(c) <= 0xFF,
        Encoding::Windows1252 => {
            let mut buf = [0u8; 4];
            let (_, _, unmappable) = encoding_rs::WINDOWS_1252.encode(c.encode_utf8(&mut buf));
            !unmappable
        }
    }
}

/// Appends text in the given encoding; characters the encoding cannot hold must have been
/// refused before (see [`encode_record`]). Kept undecodable bytes are written as they were
/// received.
pub fn encode_text(enc: Encoding, text: &str, out: &mut Vec<u8>) {
    if text.is_ascii() {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    // UTF-8 text with no kept byte (markers are U+10FE00 onwards, whose UTF-8 starts with
    // 0xF4; so does nothing else an interface file holds in practice): written as it is.
    if enc == Encoding::Utf8
        && (memchr::memchr(0xF4, text.as_bytes()).is_none()
            || !text.chars().any(|c| crate::text::marker_byte(c).is_some()))
    {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    let mut buf = [0u8; 4];
    for c in text.chars() {
        if let Some(b) = crate::text::marker_byte(c) {
            out.push(b);
            continue;
        }
        match enc {
            Encoding::Utf8 => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
            Encoding::Latin1 => out.push(u8::try_from(u32::from(c)).unwrap_or(b'?')),
            Encoding::Windows1252 => {
                let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(c.encode_utf8(&mut buf));
                out.extend_from_slice(&bytes);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::LineEnding;

    #[test]
    fn quotes_only_where_needed_and_encodes() {
        let d = Dialect {
            delimiter: b',',
            quote: Some(b'"'),
            encoding: Encoding::Utf8,
            line_ending: LineEnding::Crlf,
        };
        let mut out = Vec::new();
        encode_record(&d, ["a", "b,c", "say \"hi\"", ""], &mut out).expect("write");
        assert_eq!(out, b"a,\"b,c\",\"say \"\"hi\"\"\",");
        let l = Dialect {
            delimiter: b'~',
            quote: None,
            encoding: Encoding::Latin1,
            line_ending: LineEnding::Lf,
        };
        let mut out = Vec::new();
        encode_record(&l, ["Renée", "x"], &mut out).expect("write");
        assert_eq!(out, b"Ren\xe9e~x");
        assert!(matches!(
            encode_record(&l, ["a~b"], &mut Vec::new()),
            Err(WriteError::Delimiter { field: 1, .. })
        ));
        assert!(matches!(
            encode_record(&l, ["😀"], &mut Vec::new()),
            Err(WriteError::Unmappable { .. })
        ));
    }
}
