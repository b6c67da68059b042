//! Streaming reader: bytes on disk to records of text fields, one physical line at a time.
//!
//! The reader decodes each line with the layout's encoding (a UTF-8 byte order mark wins),
//! strips CR/LF, and splits fields on the layout's delimiter with its quoting rules. It never
//! holds more than one line in memory and never panics on bad bytes: problems such as bytes that
//! do not decode or a quote that is never closed are returned beside the record, with the line
//! number and field, for the validator to report. Only an unreadable, empty, UTF-16 or binary
//! file stops it.
//!
//! Records are one physical line each. ESR interface files do not put line breaks inside
//! fields, so a quote still open at the end of a line is reported as a broken quote on that line
//! rather than swallowing the lines after it (which is what a general CSV parser would do, and
//! is how a single stray quote loses data silently). That is why this module splits lines itself
//! instead of using the `csv` crate, which the exporter uses for writing.

use crate::layout::{Dialect, Encoding};
use std::io::{BufRead, Read};

/// What is wrong with the quotes of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuoteProblem {
    /// A quote opened and never closed on the line.
    Unclosed,
    /// Text after a closing quote.
    TextAfter,
    /// A quote mark inside a field that is not quoted.
    InUnquoted,
}

impl QuoteProblem {
    /// What the message says.
    pub fn reason(self) -> &'static str {
        match self {
            QuoteProblem::Unclosed => "opens a quote that is never closed on this line",
            QuoteProblem::TextAfter => "has text after its closing quote",
            QuoteProblem::InUnquoted => {
                "has a quote mark inside a field that is not quoted (quote the whole field, or remove the quote mark)"
            }
        }
    }

    /// One-letter code, as the store keeps it.
    pub fn code(self) -> char {
        match self {
            QuoteProblem::Unclosed => 'u',
            QuoteProblem::TextAfter => 'a',
            QuoteProblem::InUnquoted => 'i',
        }
    }
}

/// A problem found while reading one line that its text alone does not show (bytes that did
/// not decode and control characters stay in the text, see [`crate::text`]). The store keeps
/// these beside the record, so a re-validation after an edit sees them as the import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadProblem {
    /// A field whose quotes are broken (0-based field index).
    BrokenQuote {
        /// Field index.
        field: usize,
        /// What is wrong.
        kind: QuoteProblem,
    },
    /// The line is longer than [`MAX_LINE`]; its text was not kept.
    LineTooLong {
        /// Bytes in the line.
        bytes: u64,
    },
}

impl ReadProblem {
    /// The field the problem is on, if one.
    pub fn field(&self) -> Option<usize> {
        match self {
            ReadProblem::BrokenQuote { field, .. } => Some(*field),
            ReadProblem::LineTooLong { .. } => None,
        }
    }
}

/// Problems as the store keeps them: `field:code` items joined by commas (`L:bytes` for a line
/// too long). None when there are none.
pub fn problems_to_text(problems: &[ReadProblem]) -> Option<String> {
    if problems.is_empty() {
        return None;
    }
    Some(
        problems
            .iter()
            .map(|p| match p {
                ReadProblem::BrokenQuote { field, kind } => format!("{field}:{}", kind.code()),
                ReadProblem::LineTooLong { bytes } => format!("L:{bytes}"),
            })
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// Problems back from the store's text (unknown items are skipped).
pub fn problems_from_text(text: Option<&str>) -> Vec<ReadProblem> {
    let Some(t) = text else { return Vec::new() };
    t.split(',')
        .filter_map(|item| {
            let (a, b) = item.split_once(':')?;
            if a == "L" {
                return Some(ReadProblem::LineTooLong {
                    bytes: b.parse().ok()?,
                });
            }
            let field = a.parse().ok()?;
            let kind = match b {
                "u" => QuoteProblem::Unclosed,
                "a" => QuoteProblem::TextAfter,
                "i" => QuoteProblem::InUnquoted,
                _ => return None,
            };
            Some(ReadProblem::BrokenQuote { field, kind })
        })
        .collect()
}

/// The longest line read as a record; a longer one is reported (`line-too-long`) and its text
/// is not kept, so memory stays bounded whatever the file.
pub const MAX_LINE: usize = 1 << 20;

/// Errors that stop reading a file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The operating system could not read the file.
    #[error("could not read the file: {0}")]
    Io(#[from] std::io::Error),
    /// Zero bytes.
    #[error("the file is empty (0 bytes): there is nothing to validate")]
    Empty,
    /// UTF-16 text (Excel's "Unicode Text").
    #[error(
        "the file is saved as UTF-16 (Excel \"Unicode Text\"); save it again as \"CSV UTF-8\" or plain CSV"
    )]
    Utf16,
    /// Binary content.
    #[error(
        "the file is not a text file (binary data at line {line}, byte {offset}): is it a spreadsheet (.xlsx) or a zip?"
    )]
    Binary {
        /// 1-based line of the first binary byte.
        line: u64,
        /// Byte offset in the file.
        offset: u64,
    },
    /// A well-known binary format, recognised by its first bytes (a zip or Excel workbook, an
    /// older Office document, a PDF, a gzip file).
    #[error("the file is not a text file: it is {what}")]
    BinaryFormat {
        /// What the file is and what to do, e.g. "a PDF document; load the interface file…".
        what: &'static str,
    },
}

/// The fields of one record.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    text: &'a str,
    bounds: &'a [(u32, u32)],
    plain: bool,
}

impl<'a> Fields<'a> {
    /// True when the line is printable ASCII only (see [`crate::text::is_plain`]): it can
    /// hold no kept byte and no control character.
    pub fn is_plain(&self) -> bool {
        self.plain
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.bounds.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.bounds.is_empty()
    }

    /// Field `i`, or "" when absent.
    pub fn get(&self, i: usize) -> &'a str {
        match self.bounds.get(i) {
            Some(&(a, b)) => self.text.get(a as usize..b as usize).unwrap_or(""),
            None => "",
        }
    }

    /// The text of this record's fields, from the first to the last (delimiters between
    /// them included, quotes removed).
    pub fn text(&self) -> &'a str {
        match (self.bounds.first(), self.bounds.last()) {
            (Some(&(a, _)), Some(&(_, b))) => self.text.get(a as usize..b as usize).unwrap_or(""),
            _ => "",
        }
    }

    /// All fields in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Owned copies of the fields.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

/// One physical line read from the file.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// 1-based physical line number.
    pub line: u64,
    /// The fields.
    pub fields: Fields<'a>,
    /// Problems met splitting the line.
    pub problems: &'a [ReadProblem],
    /// True when every field is empty or white space.
    pub blank: bool,
    /// True when the line holds UTF-8 text though the layout says a single-byte encoding
    /// (the line decodes as UTF-8, or the file began with a UTF-8 byte order mark).
    pub utf8_in_single_byte: bool,
}

/// Reads a file line by line. Create with [`Reader::new`], then call [`Reader::next_line`].
pub struct Reader<R> {
    /// The source, read as the dialect's lines (a layout's CR line endings understood).
    src: CrLines<R>,
    parser: LineParser,
    line: u64,
    raw: Vec<u8>,
    text: String,
    bounds: Vec<(u32, u32)>,
    problems: Vec<ReadProblem>,
    bytes: u64,
    started: bool,
    facts: LineFacts,
    /// True when the file began with a UTF-8 byte order mark.
    pub had_bom: bool,
    /// Carriage returns not followed by a line feed, inside lines.
    pub bare_crs: u64,
    /// True when some line ended with CRLF.
    pub saw_crlf: bool,
    /// The last line read had no line feed.
    pub no_final_eol: bool,
}

impl<R: BufRead> Reader<R> {
    /// A reader over `src` with the layout's dialect.
    pub fn new(src: R, dialect: Dialect) -> Self {
        Self {
            src: CrLines::new(src, dialect),
            parser: LineParser::new(dialect, false),
            line: 0,
            raw: Vec::with_capacity(1024),
            text: String::with_capacity(1024),
            bounds: Vec::with_capacity(64),
            problems: Vec::new(),
            bytes: 0,
            started: false,
            facts: LineFacts::default(),
            had_bom: false,
            bare_crs: 0,
            saw_crlf: false,
            no_final_eol: false,
        }
    }

    /// The source, after reading.
    pub fn into_inner(self) -> R {
        self.src.into_inner()
    }

    /// Bytes consumed so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Lines read so far.
    pub fn lines_read(&self) -> u64 {
        self.line
    }

    /// Reads just enough of the source to say whether it can be a text file at all: empty,
    /// UTF-16 and binary content are refused here, with their reason, before any question
    /// about what the file is.
    pub fn check_start(&mut self) -> Result<(), ReadError> {
        if self.started {
            return Ok(());
        }
        self.start()
    }

    fn start(&mut self) -> Result<(), ReadError> {
        self.started = true;
        let head = self.src.fill_buf()?;
        if start_checks(head)? {
            self.had_bom = true;
            self.parser = LineParser::new(self.parser.dialect, true);
            self.src.consume(3);
            self.bytes = 3;
        }
        Ok(())
    }

    /// Reads one physical line into `raw` (without its LF), keeping at most [`MAX_LINE`]
    /// bytes. Returns the bytes consumed and whether the line was longer than that.
    fn read_raw_line(&mut self) -> std::io::Result<(usize, bool)> {
        self.raw.clear();
        let (mut consumed, mut too_long) = (0usize, false);
        loop {
            let buf = fill(&mut self.src)?;
            if buf.is_empty() {
                return Ok((consumed, too_long));
            }
            let (take, done) = match memchr::memchr(b'\n', buf) {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            if !too_long {
                if self.raw.len() + take > MAX_LINE + 1 {
                    too_long = true;
                    self.raw.clear();
                } else {
                    self.raw.extend_from_slice(&buf[..take]);
                }
            }
            self.src.consume(take);
            consumed += take;
            if done {
                return Ok((consumed, too_long));
            }
        }
    }

    /// The next line, or None at the end of the file.
    pub fn next_line(&mut self) -> Result<Option<Line<'_>>, ReadError> {
        if !self.started {
            self.start()?;
        }
        let (n, too_long) = self.read_raw_line()?;
        if n == 0 {
            return Ok(None);
        }
        self.bytes += n as u64;
        self.line += 1;
        self.no_final_eol = !too_long && self.raw.last() != Some(&b'\n');
        self.problems.clear();
        self.text.clear();
        self.bounds.clear();
        let raw = if too_long {
            Err(n as u64)
        } else {
            Ok(&self.raw[..])
        };
        self.facts = self
            .parser
            .parse(raw, &mut self.text, &mut self.bounds, &mut self.problems);
        self.bare_crs += self.facts.bare_crs;
        self.saw_crlf |= self.facts.crlf;
        Ok(Some(Line {
            line: self.line,
            fields: Fields {
                text: &self.text,
                bounds: &self.bounds,
                plain: self.facts.plain,
            },
            problems: &self.problems,
            blank: self.facts.blank,
            utf8_in_single_byte: self.facts.mismatch,
        }))
    }
}

/// What reading one line learnt besides its fields.
#[derive(Debug, Clone, Copy, Default)]
struct LineFacts {
    plain: bool,
    mismatch: bool,
    blank: bool,
    bare_crs: u64,
    crlf: bool,
}

/// Decodes and splits physical lines: the one place a line's bytes become fields, shared by
/// the sequential [`Reader`] and the workers of [`read_parallel`].
#[derive(Debug, Clone)]
struct LineParser {
    dialect: Dialect,
    /// Decode as UTF-8: the layout says so, or the file began with a byte order mark.
    utf8: bool,
    had_bom: bool,
    /// A line that is not plain ASCII, decoded.
    decoded: String,
}

impl LineParser {
    fn new(dialect: Dialect, had_bom: bool) -> Self {
        Self {
            dialect,
            utf8: had_bom || dialect.encoding == Encoding::Utf8,
            had_bom,
            decoded: String::new(),
        }
    }

    /// Parses one physical line: `raw` with its line ending (none on a last line without
    /// one), or `Err(bytes)` for a line longer than [`MAX_LINE`]. Appends the fields' text
    /// (quotes removed) to `dst` and their bounds (offsets in `dst`) to `bounds`.
    fn parse(
        &mut self,
        raw: Result<&[u8], u64>,
        dst: &mut String,
        bounds: &mut Vec<(u32, u32)>,
        problems: &mut Vec<ReadProblem>,
    ) -> LineFacts {
        let mut facts = LineFacts::default();
        let mut raw = match raw {
            Ok(r) => r,
            Err(bytes) => {
                problems.push(ReadProblem::LineTooLong { bytes });
                let at = dst.len() as u32;
                bounds.push((at, at));
                return facts;
            }
        };
        if let Some(r) = raw.strip_suffix(b"\n") {
            raw = r;
            if let Some(r) = raw.strip_suffix(b"\r") {
                raw = r;
                facts.crlf = true;
            }
        } else if let Some(r) = raw.strip_suffix(b"\r") {
            raw = r;
        }
        facts.plain = crate::text::is_plain_bytes(raw);
        let first = bounds.len();
        if facts.plain {
            // Printable ASCII: the same in every supported encoding, and valid UTF-8.
            let text = std::str::from_utf8(raw).unwrap_or("");
            split(self.dialect, text, dst, bounds, problems);
        } else {
            facts.bare_crs = memchr::memchr_iter(b'\r', raw).count() as u64;
            facts.mismatch = self.decode(raw);
            split(self.dialect, &self.decoded, dst, bounds, problems);
        }
        facts.blank = bounds[first..]
            .iter()
            .all(|&(a, b)| dst[a as usize..b as usize].trim().is_empty());
        facts
    }

    /// Decodes a line into `decoded`; true when it holds UTF-8 text though the layout says a
    /// single-byte encoding.
    fn decode(&mut self, raw: &[u8]) -> bool {
        self.decoded.clear();
        if raw.is_ascii() {
            // ASCII is the same in every supported encoding, and valid UTF-8.
            if let Ok(s) = std::str::from_utf8(raw) {
                self.decoded.push_str(s);
            }
            return false;
        }
        if self.utf8 {
            // A byte order mark makes the file UTF-8; in a single-byte layout that is a
            // mismatch on every line that is not plain ASCII.
            let mismatch = self.had_bom && self.dialect.encoding != Encoding::Utf8;
            if let Ok(t) = std::str::from_utf8(raw) {
                self.decoded.push_str(t);
                return mismatch;
            }
            for chunk in raw.utf8_chunks() {
                self.decoded.push_str(chunk.valid());
                for &b in chunk.invalid() {
                    self.decoded.push(crate::text::marker(b));
                }
            }
            return mismatch;
        }
        let mismatch = std::str::from_utf8(raw).is_ok();
        match self.dialect.encoding {
            Encoding::Latin1 => {
                // ISO-8859-1 maps every byte to the code point of the same number (0x80 to
                // 0x9F are control codes, reported by the validator).
                self.decoded.extend(raw.iter().map(|&b| char::from(b)));
            }
            _ => {
                // Windows-1252 leaves five bytes undefined (decoded as the C1 code points of
                // the same number): they are kept as markers.
                let (cow, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(raw);
                for c in cow.chars() {
                    match u32::from(c) {
                        n @ (0x81 | 0x8D | 0x8F | 0x90 | 0x9D) => {
                            self.decoded.push(crate::text::marker(n as u8));
                        }
                        _ => self.decoded.push(c),
                    }
                }
            }
        }
        mismatch
    }
}

/// Splits a decoded line's text into fields with the dialect's quoting rules, appending the
/// fields' text to `dst` and their bounds to `bounds`.
fn split(
    dialect: Dialect,
    s: &str,
    dst: &mut String,
    bounds: &mut Vec<(u32, u32)>,
    problems: &mut Vec<ReadProblem>,
) {
    let d = dialect.delimiter;
    let b = s.as_bytes();
    let base = dst.len() as u32;
    let q = match dialect.quote {
        Some(q) if memchr::memchr(q, b).is_some() => q,
        _ => {
            dst.push_str(s);
            let mut start = base;
            for pos in memchr::memchr_iter(d, b) {
                let pos = base + pos as u32;
                bounds.push((start, pos));
                start = pos + 1;
            }
            bounds.push((start, base + b.len() as u32));
            return;
        }
    };
    // Slow path: unescape quoted fields.
    let mut i = 0;
    let mut field = 0;
    loop {
        let start = dst.len() as u32;
        if i < b.len() && b[i] == q {
            i += 1;
            let mut closed = false;
            let mut seg = i;
            while i < b.len() {
                if b[i] == q {
                    if i + 1 < b.len() && b[i + 1] == q {
                        dst.push_str(&s[seg..=i]);
                        i += 2;
                        seg = i;
                        continue;
                    }
                    dst.push_str(&s[seg..i]);
                    i += 1;
                    closed = true;
                    break;
                }
                i += 1;
            }
            if !closed {
                dst.push_str(&s[seg..]);
                problems.push(ReadProblem::BrokenQuote {
                    field,
                    kind: QuoteProblem::Unclosed,
                });
                bounds.push((start, dst.len() as u32));
                break;
            }
            // After a closing quote only the delimiter or the end of the line may follow.
            if i < b.len() && b[i] != d {
                let next = memchr::memchr(d, &b[i..]).map_or(b.len(), |p| i + p);
                dst.push_str(&s[i..next]);
                problems.push(ReadProblem::BrokenQuote {
                    field,
                    kind: QuoteProblem::TextAfter,
                });
                i = next;
            }
        } else {
            let next = memchr::memchr(d, &b[i..]).map_or(b.len(), |p| i + p);
            if memchr::memchr(q, &b[i..next]).is_some() {
                problems.push(ReadProblem::BrokenQuote {
                    field,
                    kind: QuoteProblem::InUnquoted,
                });
            }
            dst.push_str(&s[i..next]);
            i = next;
        }
        bounds.push((start, dst.len() as u32));
        if i >= b.len() {
            break;
        }
        i += 1; // the delimiter
        field += 1;
        if i == b.len() {
            let end = dst.len() as u32;
            bounds.push((end, end));
            break;
        }
    }
}

/// Says whether the start of a file (its first bytes, up to 8 KiB are looked at) can be a
/// text file at all: empty, UTF-16 and binary content are refused here, with their reason.
/// Returns true when the file begins with a UTF-8 byte order mark (3 bytes, to skip).
fn start_checks(head: &[u8]) -> Result<bool, ReadError> {
    if head.is_empty() {
        return Err(ReadError::Empty);
    }
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(ReadError::Utf16);
    }
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Ok(true);
    }
    // Binary content is recognised in the first 8 KiB (or the whole file when shorter) by,
    // in this order:
    // 1. a NUL byte (never in text of the supported encodings): `Binary` at that byte;
    // 2. a well-known signature at the very start: `BinaryFormat` naming the format;
    // 3. implausible text: more than one byte, and more than a tenth of the window, are
    //    control characters (0x00-0x1F other than TAB, LF, FF and CR, or DEL 0x7F), which
    //    text files in any supported encoding hardly contain: `Binary` at the first one.
    let window = &head[..head.len().min(8192)];
    let line_of = |pos: usize| 1 + window[..pos].iter().filter(|&&b| b == b'\n').count() as u64;
    if let Some(pos) = window.iter().position(|&b| b == 0) {
        return Err(ReadError::Binary {
            line: line_of(pos),
            offset: pos as u64,
        });
    }
    const SIGNATURES: [(&[u8], &str); 4] = [
        (
            b"PK\x03\x04",
            "a zip archive or an Excel workbook (.xlsx); save the sheet as CSV (or unzip the archive) and load that",
        ),
        (
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
            "an Excel 97-2003 workbook (.xls) or another Office document; save it as CSV and load that",
        ),
        (
            b"%PDF-",
            "a PDF document; load the interface file itself, not a printout or report of it",
        ),
        (
            b"\x1F\x8B",
            "a gzip-compressed file (.gz); decompress it and load the file inside",
        ),
    ];
    if let Some((_, what)) = SIGNATURES.iter().find(|(sig, _)| window.starts_with(sig)) {
        return Err(ReadError::BinaryFormat { what });
    }
    let control = |b: u8| (b < 0x20 && !matches!(b, b'\t' | b'\n' | 0x0C | b'\r')) || b == 0x7F;
    let controls = window.iter().filter(|&&b| control(b)).count();
    if controls > 1
        && controls * 10 > window.len()
        && let Some(pos) = window.iter().position(|&b| control(b))
    {
        return Err(ReadError::Binary {
            line: line_of(pos),
            offset: pos as u64,
        });
    }
    Ok(false)
}

/// What the reader learnt about the whole file.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadSummary {
    /// The file began with a UTF-8 byte order mark.
    pub had_bom: bool,
    /// Bytes read.
    pub bytes: u64,
    /// Physical lines read.
    pub lines: u64,
    /// Carriage returns not followed by a line feed, inside lines.
    pub bare_crs: u64,
    /// The last line had no line ending (an export writes it back the same way).
    pub no_final_eol: bool,
}

impl ReadSummary {
    /// True when the file's lines end in a carriage return alone (old Mac style), so that
    /// several records read as one line.
    pub fn cr_only_line_endings(&self) -> bool {
        self.bare_crs > 0 && self.bare_crs >= self.lines
    }
}

#[derive(Debug, Clone, Copy)]
struct Meta {
    line: u64,
    b0: u32,
    nb: u32,
    p0: u32,
    np: u32,
    blank: bool,
    mismatch: bool,
    plain: bool,
}

/// Lines read, owned, so another thread can check them.
#[derive(Default)]
pub struct LineBatch {
    text: String,
    bounds: Vec<(u32, u32)>,
    problems: Vec<ReadProblem>,
    metas: Vec<Meta>,
    /// Bytes of the file read when the batch was complete (for progress).
    pub bytes_read: u64,
    /// Carriage returns not followed by a line feed, inside the batch's lines.
    bare_crs: u64,
}

impl LineBatch {
    fn push(&mut self, l: &Line<'_>) {
        let base = self.text.len() as u32;
        self.text.push_str(l.fields.text);
        let b0 = self.bounds.len() as u32;
        self.bounds
            .extend(l.fields.bounds.iter().map(|&(a, b)| (a + base, b + base)));
        let p0 = self.problems.len() as u32;
        self.problems.extend_from_slice(l.problems);
        self.metas.push(Meta {
            line: l.line,
            b0,
            nb: l.fields.bounds.len() as u32,
            p0,
            np: l.problems.len() as u32,
            blank: l.blank,
            mismatch: l.utf8_in_single_byte,
            plain: l.fields.plain,
        });
    }

    /// Parses one physical line straight into the batch (see [`LineParser::parse`]).
    fn parse(&mut self, parser: &mut LineParser, line: u64, raw: Result<&[u8], u64>) {
        let b0 = self.bounds.len() as u32;
        let p0 = self.problems.len() as u32;
        let f = parser.parse(raw, &mut self.text, &mut self.bounds, &mut self.problems);
        self.bare_crs += f.bare_crs;
        self.metas.push(Meta {
            line,
            b0,
            nb: self.bounds.len() as u32 - b0,
            p0,
            np: self.problems.len() as u32 - p0,
            blank: f.blank,
            mismatch: f.mismatch,
            plain: f.plain,
        });
    }

    fn line(&self, m: &Meta) -> Line<'_> {
        Line {
            line: m.line,
            fields: Fields {
                text: &self.text,
                bounds: &self.bounds[m.b0 as usize..(m.b0 + m.nb) as usize],
                plain: m.plain,
            },
            problems: &self.problems[m.p0 as usize..(m.p0 + m.np) as usize],
            blank: m.blank,
            utf8_in_single_byte: m.mismatch,
        }
    }

    /// The batch's lines, in order.
    pub fn lines(&self) -> impl Iterator<Item = Line<'_>> + '_ {
        self.metas.iter().map(|m| self.line(m))
    }

    /// Lines in the batch.
    pub fn len(&self) -> usize {
        self.metas.len()
    }

    /// True when the batch holds no line.
    pub fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }
}

/// Lines a read-ahead batch holds.
const BATCH_LINES: usize = 8192;
/// Text a read-ahead batch holds before it is sent, whatever its line count.
const BATCH_BYTES: usize = 4 << 20;

/// Reads `src` on a second thread, decoding and splitting lines while `each` checks the lines
/// already read, so the two cores share the work. `each` gets every line in order with the
/// bytes read so far, and returns false to stop early. Memory stays bounded: at most a few
/// batches of lines are in flight. Returns what the reader learnt and the source.
pub fn read_ahead<R: BufRead + Send>(
    src: R,
    dialect: Dialect,
    mut each: impl FnMut(&Line<'_>, u64) -> bool,
) -> Result<(ReadSummary, R), ReadError> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<LineBatch>(3);
        let reader = scope.spawn(move || -> Result<(ReadSummary, R), ReadError> {
            let mut r = Reader::new(src, dialect);
            let mut batch = LineBatch::default();
            while let Some(l) = r.next_line()? {
                batch.push(&l);
                if batch.metas.len() == BATCH_LINES || batch.text.len() >= BATCH_BYTES {
                    batch.bytes_read = r.bytes_read();
                    if tx.send(std::mem::take(&mut batch)).is_err() {
                        break; // the checker stopped
                    }
                }
            }
            batch.bytes_read = r.bytes_read();
            let _ = tx.send(batch);
            let summary = ReadSummary {
                had_bom: r.had_bom,
                bytes: r.bytes_read(),
                lines: r.lines_read(),
                bare_crs: r.bare_crs,
                no_final_eol: r.no_final_eol,
            };
            Ok((summary, r.into_inner()))
        });
        'outer: for batch in rx.iter() {
            for m in &batch.metas {
                if !each(&batch.line(m), batch.bytes_read) {
                    break 'outer;
                }
            }
        }
        drop(rx);
        joined(reader.join())
    })
}

fn joined<T>(r: std::thread::Result<Result<T, ReadError>>) -> Result<T, ReadError> {
    r.unwrap_or(Err(ReadError::Io(std::io::Error::other(
        "the reading thread stopped unexpectedly",
    ))))
}

/// How [`read_parallel`] shares the work.
#[derive(Debug, Clone, Copy)]
pub struct Split {
    /// Threads that parse and prepare chunks (at least 1).
    pub workers: usize,
    /// Bytes of the file a chunk holds (whole lines: a chunk ends after a line feed).
    pub chunk_bytes: usize,
}

impl Default for Split {
    fn default() -> Self {
        Self {
            workers: 2,
            chunk_bytes: 1 << 19,
        }
    }
}

/// Whole lines of the file, cut at line feeds, for one worker.
struct Chunk {
    /// Number of the chunk's first line.
    first_line: u64,
    /// The file began with a UTF-8 byte order mark.
    had_bom: bool,
    /// The lines, each with its line feed (the last line of the file may have none).
    data: Vec<u8>,
    /// Instead of data: one line longer than [`MAX_LINE`], of this many bytes.
    too_long: Option<u64>,
    /// Bytes of the file read up to the end of this chunk.
    end: u64,
}

impl Chunk {
    fn parse(&self, parser: &mut LineParser) -> LineBatch {
        let mut batch = LineBatch {
            text: String::with_capacity(self.data.len()),
            bytes_read: self.end,
            ..LineBatch::default()
        };
        if let Some(bytes) = self.too_long {
            batch.parse(parser, self.first_line, Err(bytes));
            return batch;
        }
        let mut line = self.first_line;
        let mut at = 0;
        while at < self.data.len() {
            let end =
                memchr::memchr(b'\n', &self.data[at..]).map_or(self.data.len(), |i| at + i + 1);
            let raw = &self.data[at..end];
            let raw = if raw.len() > MAX_LINE + 1 {
                Err(raw.len() as u64)
            } else {
                Ok(raw)
            };
            batch.parse(parser, line, raw);
            line += 1;
            at = end;
        }
        batch
    }
}

/// The source's next bytes (none at its end), asking again when a read is interrupted. (The
/// bytes are taken by a second call, which reads nothing: a borrow cannot leave the loop.)
fn fill<R: BufRead>(src: &mut R) -> std::io::Result<&[u8]> {
    loop {
        match src.fill_buf() {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
            Ok(_) => break,
        }
    }
    src.fill_buf()
}

/// Cuts `src` into chunks of whole lines, handing each to `send` in order (which returns false
/// to stop). Returns the byte order mark, the bytes and lines read, and the source.
fn cut<R: BufRead>(
    mut src: R,
    chunk_bytes: usize,
    mut send: impl FnMut(Chunk) -> bool,
) -> Result<(bool, u64, u64, bool, R), ReadError> {
    let had_bom = start_checks(src.fill_buf()?)?;
    let mut offset = 0u64;
    if had_bom {
        src.consume(3);
        offset = 3;
    }
    let mut line = 1u64;
    let mut no_final_eol = false;
    let mut carry: Vec<u8> = Vec::new();
    let mut eof = false;
    while !eof {
        let mut data = std::mem::take(&mut carry);
        data.reserve(chunk_bytes.saturating_sub(data.len()));
        // Fill to the chunk's size, then cut after the last whole line.
        let mut cut_at = None;
        let mut full = false;
        loop {
            let buf = fill(&mut src)?;
            if buf.is_empty() {
                eof = true;
                break;
            }
            if data.len() < chunk_bytes {
                let take = buf.len().min(chunk_bytes - data.len());
                data.extend_from_slice(&buf[..take]);
                src.consume(take);
                continue;
            }
            if !full {
                full = true;
                if let Some(i) = memchr::memrchr(b'\n', &data) {
                    cut_at = Some(i + 1);
                    break;
                }
            }
            // The chunk's only line runs on: read on to its end.
            if let Some(i) = memchr::memchr(b'\n', buf) {
                data.extend_from_slice(&buf[..=i]);
                src.consume(i + 1);
                cut_at = Some(data.len());
                break;
            }
            let n = buf.len();
            data.extend_from_slice(buf);
            src.consume(n);
            if data.len() > MAX_LINE + 1 {
                break; // one line too long to keep
            }
        }
        if cut_at.is_none() && !eof {
            // A line longer than MAX_LINE: count its bytes without keeping them.
            let mut bytes = data.len() as u64;
            loop {
                let buf = fill(&mut src)?;
                if buf.is_empty() {
                    eof = true;
                    break;
                }
                let (take, done) = match memchr::memchr(b'\n', buf) {
                    Some(i) => (i + 1, true),
                    None => (buf.len(), false),
                };
                src.consume(take);
                bytes += take as u64;
                if done {
                    break;
                }
            }
            offset += bytes;
            let chunk = Chunk {
                first_line: line,
                had_bom,
                data: Vec::new(),
                too_long: Some(bytes),
                end: offset,
            };
            line += 1;
            no_final_eol = false;
            if !send(chunk) {
                return Ok((had_bom, offset, line - 1, false, src));
            }
            continue;
        }
        if let Some(at) = cut_at {
            carry = data[at..].to_vec();
            data.truncate(at);
        }
        if data.is_empty() {
            continue;
        }
        let mut lines = memchr::memchr_iter(b'\n', &data).count() as u64;
        no_final_eol = data.last() != Some(&b'\n');
        if no_final_eol {
            lines += 1;
        }
        offset += data.len() as u64;
        let chunk = Chunk {
            first_line: line,
            had_bom,
            data,
            too_long: None,
            end: offset,
        };
        line += lines;
        if !send(chunk) {
            break;
        }
    }
    Ok((had_bom, offset, line - 1, no_final_eol, src))
}

/// Reads `src` with several threads: a cutter cuts it into chunks of whole lines, `workers`
/// threads parse them and run `prepare` (work that needs no other line) on each batch of
/// lines, and `each`, on the calling thread, gets every batch in file order with what
/// `prepare` made of it, returning false to stop early. Lines never span chunks: a record is
/// one physical line. Memory stays bounded: a few chunks per worker are in flight. Returns
/// what the reader learnt and the source.
pub fn read_parallel<R, P>(
    src: R,
    dialect: Dialect,
    split: Split,
    prepare: impl Fn(&LineBatch, &mut P) + Sync,
    mut each: impl FnMut(&LineBatch, &mut P) -> bool,
) -> Result<(ReadSummary, R), ReadError>
where
    R: BufRead + Send,
    P: Default + Send,
{
    use std::sync::mpsc::sync_channel;
    let workers = split.workers.max(1);
    let chunk_bytes = split.chunk_bytes.max(1);
    std::thread::scope(|scope| {
        let mut inboxes = Vec::with_capacity(workers);
        let mut outboxes = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (tx, rx) = sync_channel::<Chunk>(1);
            let (out_tx, out_rx) = sync_channel::<(LineBatch, P)>(1);
            let prepare = &prepare;
            scope.spawn(move || {
                let mut parser: Option<LineParser> = None;
                for chunk in rx {
                    let parser =
                        parser.get_or_insert_with(|| LineParser::new(dialect, chunk.had_bom));
                    let batch = chunk.parse(parser);
                    drop(chunk);
                    let mut p = P::default();
                    prepare(&batch, &mut p);
                    if out_tx.send((batch, p)).is_err() {
                        break; // the consumer stopped
                    }
                }
            });
            inboxes.push(tx);
            outboxes.push(out_rx);
        }
        let cutter = scope.spawn(move || {
            let mut k = 0usize;
            cut(CrLines::new(src, dialect), chunk_bytes, |chunk| {
                let sent = inboxes[k % workers].send(chunk).is_ok();
                k += 1;
                sent
            })
            .map(|(bom, bytes, lines, no_eol, src)| (bom, bytes, lines, no_eol, src.into_inner()))
        });
        let mut bare_crs = 0;
        let mut k = 0usize;
        while let Ok((batch, mut p)) = outboxes[k % workers].recv() {
            bare_crs += batch.bare_crs;
            k += 1;
            if !each(&batch, &mut p) {
                break;
            }
        }
        drop(outboxes);
        let (bom, bytes, lines, no_final_eol, src) = joined(cutter.join())?;
        Ok((
            ReadSummary {
                had_bom: bom,
                bytes,
                lines,
                bare_crs,
                no_final_eol,
            },
            src,
        ))
    })
}

/// A source whose lines end with a carriage return alone (`line_ending = "cr"`), read as
/// lines ending with a line feed: each CR not followed by LF becomes LF, byte for byte (so
/// counts and offsets are those of the file), and CRLF and LF endings are still read as line
/// ends. For any other layout it passes the bytes through untouched. The one place a layout's
/// CR line endings are understood: every line reader reads through it.
pub struct CrLines<R> {
    inner: R,
    on: bool,
    buf: Vec<u8>,
    pos: usize,
    /// A CR ended the last bytes read: whether it ends a line depends on the next byte.
    pending_cr: bool,
}

impl<R: BufRead> CrLines<R> {
    /// Reads `inner` as the dialect's lines.
    pub fn new(inner: R, dialect: Dialect) -> Self {
        Self {
            inner,
            on: dialect.line_ending == crate::layout::LineEnding::Cr,
            buf: Vec::new(),
            pos: 0,
            pending_cr: false,
        }
    }

    /// The source.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: BufRead> std::io::Read for CrLines<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let data = self.fill_buf()?;
        let n = data.len().min(out.len());
        out[..n].copy_from_slice(&data[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for CrLines<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if !self.on {
            return self.inner.fill_buf();
        }
        while self.pos >= self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            let data = self.inner.fill_buf()?;
            if data.is_empty() {
                if std::mem::take(&mut self.pending_cr) {
                    self.buf.push(b'\n');
                    continue;
                }
                break;
            }
            if std::mem::take(&mut self.pending_cr) {
                self.buf.push(if data[0] == b'\n' { b'\r' } else { b'\n' });
            }
            let n = data.len();
            for (i, &b) in data.iter().enumerate() {
                if b != b'\r' {
                    self.buf.push(b);
                } else if i + 1 < n {
                    self.buf
                        .push(if data[i + 1] == b'\n' { b'\r' } else { b'\n' });
                } else {
                    self.pending_cr = true;
                }
            }
            self.inner.consume(n);
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        if self.on {
            self.pos = (self.pos + amt).min(self.buf.len());
        } else {
            self.inner.consume(amt);
        }
    }
}

/// Opens a file for reading with a large buffer.
pub fn open(path: &std::path::Path) -> std::io::Result<std::io::BufReader<std::fs::File>> {
    Ok(std::io::BufReader::with_capacity(
        256 * 1024,
        regular(path)?,
    ))
}

/// Opens a regular file for reading. A folder, a named pipe or a device is refused at once,
/// before it is opened (opening a pipe waits for a writer, and reading one never ends): the
/// one place every file read for its content is opened.
pub fn regular(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a folder"
        } else {
            "not a regular file (a pipe or a device)"
        };
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is {what}: choose a file", path.display()),
        ));
    }
    std::fs::File::open(path)
}

/// Reads at most `max` bytes from the start of a file (for detection).
pub fn head(path: &std::path::Path, max: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(max);
    regular(path)?.take(max as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::LineEnding;

    fn dialect(d: u8, q: Option<u8>, e: Encoding) -> Dialect {
        Dialect {
            delimiter: d,
            quote: q,
            encoding: e,
            line_ending: LineEnding::Crlf,
        }
    }

    type Rows = Vec<(u64, Vec<String>, Vec<ReadProblem>)>;

    fn read_all(bytes: &[u8], d: Dialect) -> Result<Rows, ReadError> {
        let mut r = Reader::new(bytes, d);
        let mut out = Vec::new();
        while let Some(l) = r.next_line()? {
            out.push((l.line, l.fields.to_vec(), l.problems.to_vec()));
        }
        Ok(out)
    }

    #[test]
    fn splits_lines_keeping_line_numbers() {
        let rows = read_all(
            b"a,b,c\r\n1,\"x,y\",\"he said \"\"hi\"\"\"\n\nlast,,",
            dialect(b',', Some(b'"'), Encoding::Utf8),
        )
        .expect("read");
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[1].1, vec!["1", "x,y", "he said \"hi\""]);
        assert_eq!(rows[2].0, 3);
        assert_eq!(rows[3].1, vec!["last", "", ""]);
        assert!(rows.iter().all(|r| r.2.is_empty()));
    }

    #[test]
    fn broken_quote_stays_on_its_line() {
        let rows = read_all(
            b"a,\"unclosed,b\nnext,line\n",
            dialect(b',', Some(b'"'), Encoding::Utf8),
        )
        .expect("read");
        assert_eq!(rows.len(), 2);
        assert!(matches!(
            rows[0].2[0],
            ReadProblem::BrokenQuote { field: 1, .. }
        ));
        assert_eq!(rows[1].1, vec!["next", "line"]);
        let rows =
            read_all(b"\"a\"x,b\n", dialect(b',', Some(b'"'), Encoding::Utf8)).expect("read");
        assert!(matches!(
            rows[0].2[0],
            ReadProblem::BrokenQuote { field: 0, .. }
        ));
        assert_eq!(rows[0].1, vec!["ax", "b"]);
    }

    #[test]
    fn encodings() {
        // Windows-1252 é is 0xE9.
        let rows =
            read_all(b"Ren\xe9e~Smith\n", dialect(b'~', None, Encoding::Latin1)).expect("read");
        assert_eq!(rows[0].1, vec!["Renée", "Smith"]);
        // The same byte is not UTF-8: it is kept as a marker, not replaced.
        let rows =
            read_all(b"ok,Ren\xe9e\n", dialect(b',', Some(b'"'), Encoding::Utf8)).expect("read");
        assert_eq!(rows[0].1[1], format!("Ren{}e", crate::text::marker(0xE9)));
        assert!(rows[0].2.is_empty());
        // ISO-8859-1 reads 0x80 to 0x9F as the control codes they are; Windows-1252 as text,
        // keeping its five undefined bytes as markers.
        let rows = read_all(b"a\x92b~\x81\n", dialect(b'~', None, Encoding::Latin1)).expect("read");
        assert_eq!(rows[0].1, vec!["a\u{92}b", "\u{81}"]);
        let rows =
            read_all(b"a\x92b~\x81\n", dialect(b'~', None, Encoding::Windows1252)).expect("read");
        assert_eq!(
            rows[0].1,
            vec![
                "a\u{2019}b".to_string(),
                crate::text::marker(0x81).to_string()
            ]
        );
        // A BOM makes the file UTF-8 whatever the layout says.
        let mut r = Reader::new(
            &b"\xEF\xBB\xBFRen\xC3\xA9e~x\n"[..],
            dialect(b'~', None, Encoding::Latin1),
        );
        let l = r.next_line().expect("read").expect("line");
        assert_eq!(l.fields.get(0), "Renée");
        assert!(l.utf8_in_single_byte);
        assert!(r.had_bom);
    }

    #[test]
    fn quotes_inside_unquoted_fields_and_long_lines_are_problems() {
        let rows = read_all(
            b"a, \"Smith\",c\n",
            dialect(b',', Some(b'"'), Encoding::Utf8),
        )
        .expect("read");
        assert_eq!(
            rows[0].2,
            vec![ReadProblem::BrokenQuote {
                field: 1,
                kind: QuoteProblem::InUnquoted
            }]
        );
        let mut long = vec![b'x'; MAX_LINE + 10];
        long.extend_from_slice(b"\nnext\n");
        let rows = read_all(&long, dialect(b',', Some(b'"'), Encoding::Utf8)).expect("read");
        assert_eq!(rows.len(), 2);
        assert!(matches!(rows[0].2[0], ReadProblem::LineTooLong { .. }));
        assert_eq!(rows[1].1, vec!["next"]);
    }

    #[test]
    fn problems_round_trip_through_storage_text() {
        let p = vec![
            ReadProblem::BrokenQuote {
                field: 3,
                kind: QuoteProblem::TextAfter,
            },
            ReadProblem::LineTooLong { bytes: 99 },
        ];
        assert_eq!(problems_from_text(problems_to_text(&p).as_deref()), p);
        assert_eq!(problems_to_text(&[]), None);
    }

    #[test]
    fn binary_signatures_stop() {
        let d = dialect(b',', Some(b'"'), Encoding::Utf8);
        let what = |bytes: &[u8]| match read_all(bytes, d) {
            Err(ReadError::BinaryFormat { what }) => what,
            other => panic!("{:?}", other.map(|r| r.len())),
        };
        // Signatures followed by bytes without a NUL (a NUL alone was already caught).
        assert!(what(b"PK\x03\x04\x14\x01xl/workbook.xml").contains("Excel workbook (.xlsx)"));
        assert!(what(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x3E\x03").contains("(.xls)"));
        let pdf = what(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog >>\n");
        assert!(pdf.contains("a PDF document"));
        assert!(what(b"\x1F\x8B\x08\x08\x9A\x3B\x21\x66\x02\x03ABS.csv").contains("gzip"));
        let e = read_all(b"%PDF-1.4\n", d).expect_err("pdf");
        assert_eq!(
            e.to_string(),
            "the file is not a text file: it is a PDF document; load the interface file itself, not a printout or report of it"
        );
        // Signatures only count at the very start.
        let rows =
            read_all(b"name,PK\x03\x04 starts a zip\n%PDF- starts a PDF,b\n", d).expect("text");
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn mostly_control_bytes_are_binary() {
        let d = dialect(b'~', None, Encoding::Latin1);
        // 20 text bytes then 5 control bytes: 20% of the window.
        let mut bytes = b"HDR~ABS~20261102\r\nX~".to_vec();
        bytes.extend_from_slice(&[0x01, 0x02, 0x1B, 0x7F, 0x10]);
        assert!(matches!(
            read_all(&bytes, d),
            Err(ReadError::Binary {
                line: 2,
                offset: 20
            })
        ));
        // TAB, CR, LF and form feed are text; a lone DOS end-of-file mark (Ctrl-Z) is tolerated.
        let rows = read_all(b"a\tb~c\r\n\x0c\r\nd~e\n\x1a", d).expect("text");
        assert_eq!(rows[0].1, vec!["a\tb", "c"]);
        // A few control bytes in a larger file stay a per-line matter, not a binary file.
        let mut text = b"A~1\n".repeat(100);
        text.extend_from_slice(b"B~\x01\x02\n");
        assert_eq!(read_all(&text, d).expect("text").len(), 101);
    }

    #[test]
    fn empty_binary_and_utf16_files_stop() {
        let d = dialect(b',', Some(b'"'), Encoding::Utf8);
        assert!(matches!(read_all(b"", d), Err(ReadError::Empty)));
        assert!(matches!(
            read_all(b"PK\x03\x04\x00\x00", d),
            Err(ReadError::Binary { line: 1, offset: 4 })
        ));
        assert!(matches!(
            read_all(b"\xFF\xFEa\x00", d),
            Err(ReadError::Utf16)
        ));
    }
}
