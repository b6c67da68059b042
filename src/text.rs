//! Cell text: how bytes that could not be decoded are kept, and which characters a cell may
//! hold. One place for both, used by the reader (decoding), the validator (checking any
//! value, read or stored), the store (refusing an edit) and the writer (writing kept bytes back).
//!
//! A byte that is not valid in the file's encoding is kept in the cell as a *marker*: a
//! private-use character `U+10FE00 + byte` that no ESR file holds. The original byte is
//! therefore never lost (the writer writes it back as it was received), the validator reports
//! it as an `encoding-error` wherever the cell is judged — on import, after an unrelated edit,
//! after undo or redo — and it goes away only when the officer retypes the cell. Nothing is
//! ever replaced with U+FFFD. Screens show a marker as U+FFFD via [`display`].

use crate::layout::Dialect;
use crate::rules::Rule;
use std::borrow::Cow;

const MARKER_BASE: u32 = 0x10_FE00;

/// The marker that keeps an undecodable byte in a cell.
pub fn marker(byte: u8) -> char {
    char::from_u32(MARKER_BASE + u32::from(byte)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// The byte a marker keeps, if `c` is one.
pub fn marker_byte(c: char) -> Option<u8> {
    let n = u32::from(c);
    (MARKER_BASE..MARKER_BASE + 0x100)
        .contains(&n)
        .then(|| (n - MARKER_BASE) as u8)
}

/// A control character no ESR field may hold: C0 (NUL, TAB, CR, LF, ...), DEL and C1
/// (U+0080 to U+009F, the control codes of ISO-8859-1).
pub fn is_control(c: char) -> bool {
    c.is_control()
}

/// A value as a screen shows it: markers become U+FFFD.
pub fn display(v: &str) -> Cow<'_, str> {
    if v.is_ascii() || !v.chars().any(|c| marker_byte(c).is_some()) {
        Cow::Borrowed(v)
    } else {
        Cow::Owned(
            v.chars()
                .map(|c| {
                    if marker_byte(c).is_some() {
                        char::REPLACEMENT_CHARACTER
                    } else {
                        c
                    }
                })
                .collect(),
        )
    }
}

fn describe_control(c: char) -> String {
    match c {
        '\0' => "a NUL byte (binary data)".into(),
        '\r' => "a carriage return (a line break)".into(),
        '\n' => "a line feed (a line break)".into(),
        '\t' => "a tab".into(),
        c if u32::from(c) >= 0x80 => format!(
            "a control code (0x{:02X}; in ISO-8859-1 bytes 0x80 to 0x9F are control codes: the file may have been saved as Windows-1252)",
            u32::from(c)
        ),
        c => format!("a control character (0x{:02X})", u32::from(c)),
    }
}

/// True when the text is printable ASCII only (no control character, no byte above 0x7E): such
/// text can hold no kept byte and no control character. Written without an early exit so the
/// compiler vectorises it: the pipeline asks it once per line.
pub fn is_plain(s: &str) -> bool {
    is_plain_bytes(s.as_bytes())
}

/// [`is_plain`] on bytes.
pub fn is_plain_bytes(b: &[u8]) -> bool {
    b.iter()
        .fold(0u8, |acc, &b| acc | u8::from(b.wrapping_sub(0x20) >= 0x5F))
        == 0
}

/// The problem with a cell's characters, whatever their source: an undecodable byte kept as
/// a marker (`encoding-error`) or a control character (`control-character`). `encoding` names
/// the file's encoding for the message. Fast for plain ASCII text.
pub fn cell_problem(v: &str, encoding: &str) -> Option<(Rule, String)> {
    if is_plain(v) {
        return None;
    }
    for c in v.chars() {
        if c == char::REPLACEMENT_CHARACTER {
            return Some((
                Rule::EncodingError,
                "holds text that could not be read (\u{FFFD}): retype the value".into(),
            ));
        }
        if let Some(b) = marker_byte(c) {
            return Some((
                Rule::EncodingError,
                format!(
                    "has a byte (0x{b:02X}) that is not valid {encoding}: the file may have been saved with another encoding"
                ),
            ));
        }
        if is_control(c) {
            return Some((
                Rule::ControlCharacter,
                format!("contains {}", describe_control(c)),
            ));
        }
    }
    None
}

/// Why a value typed (or pasted) by the officer cannot go into a cell of a file with this
/// dialect, if it cannot: line breaks and other control characters, kept-byte markers, and the
/// delimiter in a format that never quotes.
pub fn edit_problem(v: &str, dialect: &Dialect) -> Option<String> {
    for c in v.chars() {
        if c == '\r' || c == '\n' {
            return Some("the value contains a line break (often brought by a paste from Excel): type it on one line".into());
        }
        if is_control(c) {
            return Some(format!(
                "the value contains {}: remove it",
                describe_control(c)
            ));
        }
        if marker_byte(c).is_some() {
            return Some(
                "the value contains a character that cannot be typed into an ESR file".into(),
            );
        }
        if c == char::REPLACEMENT_CHARACTER {
            return Some(
                "the value contains \u{FFFD}, the mark of text that could not be read: type the real characters"
                    .into(),
            );
        }
    }
    if dialect.quote.is_none() && v.as_bytes().contains(&dialect.delimiter) {
        return Some(format!(
            "the value contains {:?}, which separates the fields of this file and cannot appear inside one",
            dialect.delimiter as char
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_every_byte() {
        for b in 0..=255u8 {
            assert_eq!(marker_byte(marker(b)), Some(b));
        }
        assert_eq!(marker_byte('a'), None);
        assert_eq!(marker_byte('\u{FFFD}'), None);
    }

    #[test]
    fn cells_with_kept_bytes_or_controls_are_problems() {
        let kept = format!("Hall{}", marker(0xFF));
        assert_eq!(
            cell_problem(&kept, "UTF-8").map(|p| p.0),
            Some(Rule::EncodingError)
        );
        assert_eq!(display(&kept), "Hall\u{FFFD}");
        for bad in ["a\rb", "a\u{1}", "\0", "x\u{92}y", "tab\there"] {
            assert_eq!(
                cell_problem(bad, "UTF-8").map(|p| p.0),
                Some(Rule::ControlCharacter),
                "{bad:?}"
            );
        }
        assert_eq!(cell_problem("Renée O’Neil", "UTF-8"), None);
    }
}
