//! Layout files: how one interface's file is built, as data a trust can edit.
//!
//! A layout is a TOML file (format documented in `docs/layouts.md`). This module parses it,
//! checks that it is coherent (every rule names a field that exists, and so on) and compiles it
//! into a [`Layout`] that the reader, validator, generator and exporter share. Bundled layouts
//! are compiled into the binary; a file of the same id in the user's layouts folder replaces a
//! bundled one without a rebuild, and `--layout FILE` loads any file. No UI code here.

use crate::checks::Check;
pub use crate::expr::Expr;
use crate::expr::Yields;
use crate::notation::{Format, MAX_DECIMALS, MAX_INTEGER_DIGITS, SCALE, parse_number};
use regex::Regex;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/bundled_layouts.rs"));

/// Errors in a layout file. Each names the layout and what to change.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// The file could not be read.
    #[error("could not read the layout file: {source}: {path}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML does not parse or has unknown keys.
    #[error("layout {name} is not a valid layout file: {message}")]
    Syntax {
        /// File name or id.
        name: String,
        /// What the TOML parser said.
        message: String,
    },
    /// The layout parses but does not make sense.
    #[error("layout {name}: {message}")]
    Invalid {
        /// File name or id.
        name: String,
        /// What is wrong.
        message: String,
    },
}

// ---------------------------------------------------------------- the file format (serde)

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayoutFile {
    id: String,
    name: String,
    version: String,
    interface: Option<String>,
    /// Required when `evidence` is representative (the default): what the layout is not.
    representative: Option<String>,
    grounding: Option<String>,
    evidence: Option<String>,
    #[serde(default)]
    sources: Vec<SourceFile>,
    unknown_records: Option<String>,
    spare_fields: Option<String>,
    #[serde(default, rename = "release")]
    releases: Vec<ReleaseFile>,
    release_field: Option<String>,
    #[serde(default)]
    full_files: Vec<String>,
    refresh: Option<RefreshFile>,
    delimiter: String,
    #[serde(default = "default_quote")]
    quote: String,
    #[serde(default = "default_encoding")]
    encoding: String,
    #[serde(default = "default_line_ending")]
    line_ending: String,
    #[serde(default)]
    column_names: bool,
    discriminator: Option<usize>,
    file_name: String,
    #[serde(rename = "record")]
    records: Vec<RecordFile>,
    #[serde(default)]
    consistent: Vec<ConsistentFile>,
    direction: Option<String>,
    answer: Option<AnswerFile>,
    #[serde(default)]
    full_refresh: bool,
}

/// `[[sources]]`: where a layout's facts come from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceFile {
    repository: Option<String>,
    path: Option<String>,
    commit: Option<String>,
    document: Option<String>,
    shows: String,
}

/// `[[release]]`: the field counts of an earlier ESR release.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseFile {
    name: String,
    description: Option<String>,
    header: Option<String>,
    #[serde(default)]
    fields: std::collections::BTreeMap<String, usize>,
}

/// `[refresh]`: how the request for a full extract is written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshFile {
    kind: Option<String>,
    sequence: Option<u64>,
    fields: Option<Vec<String>>,
    time: Option<String>,
    #[serde(default = "yes")]
    final_newline: bool,
}

fn yes() -> bool {
    true
}

/// `history`: a date-tracked record's entity key and effective period.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryFile {
    key: Vec<String>,
    start: String,
    end: String,
}

/// `[answer]`: this layout is ESR's answer to files of other layouts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerFile {
    answers: Vec<String>,
    record: Option<String>,
    status: String,
    #[serde(default)]
    accepted: Vec<String>,
    #[serde(default)]
    warning: Vec<String>,
    #[serde(default)]
    rejected: Vec<String>,
    message: Option<String>,
    #[serde(default)]
    keys: Vec<String>,
    line: Option<String>,
    file: Option<String>,
}

fn default_quote() -> String {
    "\"".into()
}
fn default_encoding() -> String {
    "utf-8".into()
}
fn default_line_ending() -> String {
    "crlf".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordFile {
    #[serde(rename = "type")]
    code: String,
    #[serde(default)]
    role: Role,
    name: String,
    description: Option<String>,
    #[serde(default)]
    unique: Vec<Vec<String>>,
    #[serde(rename = "field")]
    fields: Vec<FieldFile>,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleFile>,
    sample_count: Option<f64>,
    history: Option<HistoryFile>,
}

/// How big a layout may be: a trust's layout file can never make every command slow or fail.
/// Each is named in the error that refuses a layout (the bundled layouts stay in use).
pub mod limits {
    /// Bytes of a layout file.
    pub const TEXT_BYTES: usize = 2 * 1024 * 1024;
    /// Record types in a layout.
    pub const RECORDS: usize = 200;
    /// Fields in one record type.
    pub const FIELDS: usize = 2_000;
    /// Rules of one record type, and rules across records.
    pub const RULES: usize = 500;
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldFile {
    name: String,
    format: String,
    also: Option<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    codes: Vec<String>,
    check: Option<Check>,
    min: Option<String>,
    min_length: Option<usize>,
    max: Option<String>,
    pattern: Option<String>,
    value: Option<String>,
    generate: Option<String>,
    control: Option<String>,
    description: Option<String>,
    sample: Option<String>,
    sensitive: Option<Sensitivity>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    meanings: std::collections::BTreeMap<String, String>,
}

/// What kind of personal data a field holds, for information governance: such values are
/// masked on screen and in messages until an officer reveals them for a batch, with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sensitivity {
    /// Identifies a person outside ESR: NI number, NHS number, date of birth.
    Identifier,
    /// Special-category health data: sickness reasons and the like.
    Health,
    /// Bank details, pay.
    Financial,
    /// Home address, personal phone and e-mail.
    Contact,
    /// Other special-category data: ethnic origin, religious belief, sexual orientation.
    Special,
}

impl Sensitivity {
    /// The word used in layouts and documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Sensitivity::Identifier => "identifier",
            Sensitivity::Health => "health",
            Sensitivity::Financial => "financial",
            Sensitivity::Contact => "contact",
            Sensitivity::Special => "special",
        }
    }

    /// A value as shown while masked, for a field with no date form (see [`Field::mask`]):
    /// identifiers keep their first two and last two characters (`QQ•••••6Z`); anything else
    /// shows only dots, as many as it has characters (at most 12).
    pub fn mask(self, v: &str) -> String {
        let dot = '\u{2022}';
        let chars: Vec<char> = v.chars().collect();
        match self {
            Sensitivity::Identifier if chars.len() > 5 => chars
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i < 2 || i + 2 >= chars.len() {
                        *c
                    } else {
                        dot
                    }
                })
                .collect(),
            _ => std::iter::repeat_n(dot, chars.len().min(12)).collect(),
        }
    }
}

/// One record rule as written: `kind` says which keys it takes (checked in [`compile_rule`], so
/// a key a kind does not use is an error naming the rule, as an unknown key is).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    kind: String,
    field: Option<String>,
    other: Option<String>,
    header: Option<String>,
    when: Option<String>,
    equals: Option<Vec<String>>,
    filled: Option<bool>,
    condition: Option<String>,
    interface: Option<String>,
    record: Option<String>,
    target: Option<String>,
    from: Option<String>,
    to: Option<String>,
    financial_year: Option<String>,
    unit: Option<String>,
    min: Option<i64>,
    max: Option<i64>,
    expression: Option<String>,
    tolerance: Option<String>,
}

/// A layout-level rule across records: one key always carries the same value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistentFile {
    key: String,
    value: Option<String>,
    #[serde(default)]
    records: Vec<String>,
}

// ---------------------------------------------------------------- the compiled layout

/// What a record type is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The first record of the file.
    Header,
    /// A data record.
    #[default]
    Detail,
    /// The last record of the file, with control totals.
    Trailer,
}

/// Text encoding of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 (a byte order mark is accepted).
    Utf8,
    /// Windows-1252 (the superset of ISO-8859-1 that Windows and ESR extracts use in practice).
    Windows1252,
    /// ISO-8859-1, read as Windows-1252 as the WHATWG encoding standard does.
    Latin1,
}

impl Encoding {
    /// The name as written in layout files.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Windows1252 => "Windows-1252",
            Encoding::Latin1 => "ISO-8859-1",
        }
    }
}

/// Line ending written on export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    /// `\r\n`
    Crlf,
    /// `\n`
    Lf,
    /// `\r` alone (files read by systems that end lines with a carriage return).
    Cr,
}

impl LineEnding {
    /// The bytes.
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Crlf => "\r\n",
            LineEnding::Lf => "\n",
            LineEnding::Cr => "\r",
        }
    }

    /// The name as written in layout files.
    pub fn name(self) -> &'static str {
        match self {
            LineEnding::Crlf => "CRLF",
            LineEnding::Lf => "LF",
            LineEnding::Cr => "CR",
        }
    }
}

/// How records and fields are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// Field delimiter (one ASCII byte).
    pub delimiter: u8,
    /// Quote character, or None when the format never quotes.
    pub quote: Option<u8>,
    /// Text encoding.
    pub encoding: Encoding,
    /// Line ending.
    pub line_ending: LineEnding,
}

/// What a header field is filled with on export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generate {
    /// The exported file's name.
    FileName,
    /// The time of the export, in the field's date/timestamp format.
    Now,
    /// The trust's VPD code.
    Vpd,
    /// The interface's next sequence number.
    Sequence,
}

/// A trailer control field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Number of records between header and trailer; `Some(i)` counts only record type `i`.
    Count(Option<usize>),
    /// Number of lines of the file, header and trailer included (`lines`).
    Lines,
    /// Sum of a numeric field over detail records: (record type index, field index) pairs.
    Sum(Vec<(usize, usize)>),
}

/// One field of a record type.
#[derive(Debug, Clone)]
pub struct Field {
    /// Name as in the specification.
    pub name: String,
    /// ESR notation.
    pub format: Format,
    /// Another form the value may take where sources disagree (a date where others show a
    /// timestamp): accepted as well.
    pub also: Option<Format>,
    /// Must not be empty.
    pub required: bool,
    /// Allowed values, when a code list applies.
    pub codes: Vec<String>,
    /// Identifier check.
    pub check: Option<Check>,
    /// Personal data of this kind: masked on screen and in messages.
    pub sensitive: Option<Sensitivity>,
    /// Least value (scaled by [`SCALE`]) for numeric fields.
    pub min: Option<i128>,
    /// Greatest value (scaled by [`SCALE`]) for numeric fields.
    pub max: Option<i128>,
    /// Fewest characters a non-empty value may have.
    pub min_length: Option<usize>,
    /// Regular expression the whole value must match.
    pub pattern: Option<Regex>,
    /// Constant value (the record type code in the discriminator field).
    pub value: Option<String>,
    /// How a header field is regenerated on export.
    pub generate: Option<Generate>,
    /// Trailer control total.
    pub control: Option<Control>,
    /// Description from the layout.
    pub description: Option<String>,
    /// Generator hint (e.g. "surname").
    pub sample: Option<String>,
    /// Other names local systems give this column (a workbook's or a foreign CSV's column
    /// with one of these names is mapped to the field without asking).
    pub aliases: Vec<String>,
    /// What each code means, where the layout says ("A" → "add").
    pub meanings: std::collections::BTreeMap<String, String>,
    /// The field's own rules (`min`, `max`, `pattern`, `control`, `generate`) in words.
    pub rule_text: String,
}

impl Field {
    /// A code with its meaning, for pickers and tooltips: "A — add" (the code alone when the
    /// layout gives no meaning).
    pub fn code_label(&self, code: &str) -> String {
        match self.meanings.get(code) {
            Some(m) => format!("{code} — {m}"),
            None => code.to_string(),
        }
    }
}

impl Field {
    /// The value as shown while the field's personal data is masked (None: the field holds
    /// none). A date keeps its year (`••/••/1984`), decided by the field's own date form; other
    /// values as [`Sensitivity::mask`] masks them. The one mask of messages and screens.
    pub fn mask(&self, v: &str) -> Option<String> {
        let s = self.sensitive?;
        Some(match &self.format {
            Format::Date(p) | Format::Timestamp(p) => p.mask(v),
            _ => s.mask(v),
        })
    }

    /// True for numeric formats.
    pub fn is_numeric(&self) -> bool {
        matches!(self.format, Format::Numeric { .. } | Format::Padded { .. })
    }
}

/// A value a rule reads: a field of the record itself, or of the file's header record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    /// Field `i` of the record being judged.
    Field(usize),
    /// Field `i` of the header record.
    Header(usize),
}

/// When a rule applies. A rule with no condition always applies.
#[derive(Debug, Clone)]
pub enum Condition {
    /// The field holds one of the values.
    Equals {
        /// The field that decides.
        field: Operand,
        /// Values that make the rule apply.
        values: Vec<String>,
    },
    /// The field is filled (true) or empty (false).
    Filled {
        /// The field that decides.
        field: Operand,
        /// Filled or empty.
        filled: bool,
    },
    /// A CEL expression over the record's fields is true.
    Expr(Expr),
}

/// Units of a [`RuleKind::Span`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanUnit {
    /// Whole years (an age).
    Years,
    /// Whole months.
    Months,
    /// Days.
    Days,
}

impl SpanUnit {
    /// "years", "months" or "days".
    pub fn as_str(self) -> &'static str {
        match self {
            SpanUnit::Years => "years",
            SpanUnit::Months => "months",
            SpanUnit::Days => "days",
        }
    }
}

/// What a record rule checks.
#[derive(Debug, Clone)]
pub enum RuleKind {
    /// `field` must not be before `other` (dates, times, numbers).
    NotBefore {
        /// The later field.
        field: usize,
        /// The earlier value.
        other: Operand,
    },
    /// `field` must be filled (under the rule's condition: `required_if`, `required_when`).
    Required {
        /// The field.
        field: usize,
    },
    /// `field` must be empty (under the rule's condition: `empty_when`).
    Empty {
        /// The field.
        field: usize,
    },
    /// `field` must equal `other` (numbers), e.g. a trailer's total debits and total
    /// credits, so a finance file balances.
    Equal {
        /// One field.
        field: usize,
        /// The field it must equal.
        other: usize,
    },
    /// A detail field must hold the same value as a header field.
    SameAsHeader {
        /// The detail field.
        field: usize,
        /// The header field.
        header: usize,
    },
    /// `field` must lie from `from` to `to` (either may be absent).
    Within {
        /// The field.
        field: usize,
        /// Earliest value.
        from: Option<Operand>,
        /// Latest value.
        to: Option<Operand>,
    },
    /// A date must lie in the financial year (1 April to 31 March) of `of`: a date, or a year
    /// written `2025/26` or `2025-26`.
    FinancialYear {
        /// The date field.
        field: usize,
        /// The value naming the year.
        of: Operand,
    },
    /// The whole years, months or days from one date to another lie within bounds (an age
    /// at hire from 16 to 100).
    Span {
        /// The earlier date.
        from: Operand,
        /// The later date.
        to: Operand,
        /// The field an issue is shown on.
        field: usize,
        /// Units.
        unit: SpanUnit,
        /// Fewest units.
        min: Option<i64>,
        /// Most units.
        max: Option<i64>,
    },
    /// `field` must equal an expression of other fields, within a tolerance.
    Computed {
        /// The amount field.
        field: usize,
        /// What it must equal.
        expr: Expr,
        /// Largest difference allowed, scaled by [`SCALE`].
        tolerance: i128,
    },
    /// `field` must exist in the latest batch of another interface (checked with a store).
    Reference {
        /// The field.
        field: usize,
        /// The other interface.
        interface: String,
        /// Record type in the other interface.
        record: String,
        /// Field name in the other record type.
        target: String,
    },
}

/// A rule across fields of one record (and of the file's header): what it checks, when, and
/// the rule in plain words for the Layouts screen.
#[derive(Debug, Clone)]
pub struct RecordRule {
    /// What it checks.
    pub kind: RuleKind,
    /// When it applies (None: always).
    pub when: Option<Condition>,
    /// The rule in plain words ("Credit Amount must be empty when Debit or Credit is D").
    pub text: String,
}

impl RecordRule {
    /// The field an issue of this rule is shown on.
    pub fn field(&self) -> usize {
        match &self.kind {
            RuleKind::NotBefore { field, .. }
            | RuleKind::Required { field }
            | RuleKind::Empty { field }
            | RuleKind::Equal { field, .. }
            | RuleKind::SameAsHeader { field, .. }
            | RuleKind::Within { field, .. }
            | RuleKind::FinancialYear { field, .. }
            | RuleKind::Span { field, .. }
            | RuleKind::Computed { field, .. }
            | RuleKind::Reference { field, .. } => *field,
        }
    }

    /// True when the rule reads a field of the header record.
    pub fn uses_header(&self) -> bool {
        let h = |o: &Option<Operand>| matches!(o, Some(Operand::Header(_)));
        let cond = match &self.when {
            Some(Condition::Equals { field, .. } | Condition::Filled { field, .. }) => {
                matches!(field, Operand::Header(_))
            }
            _ => false,
        };
        cond || match &self.kind {
            RuleKind::NotBefore { other, .. } => matches!(other, Operand::Header(_)),
            RuleKind::SameAsHeader { .. } => true,
            RuleKind::Within { from, to, .. } => h(from) || h(to),
            RuleKind::FinancialYear { of, .. } => matches!(of, Operand::Header(_)),
            RuleKind::Span { from, to, .. } => {
                matches!(from, Operand::Header(_)) || matches!(to, Operand::Header(_))
            }
            _ => false,
        }
    }
}

/// A rule across the records of a file: wherever `key` appears (in any of the record types),
/// it carries the same `value` (one assignment number belongs to one employee number); with
/// no value, the key appears once in the whole file.
#[derive(Debug, Clone)]
pub struct Consistent {
    /// The key field's name.
    pub key: String,
    /// The value field's name (None: the key is unique across the record types).
    pub value: Option<String>,
    /// (record type, key field, value field) for each record type the rule covers.
    pub members: Vec<(usize, usize, Option<usize>)>,
    /// The rule in plain words.
    pub text: String,
}

/// One record type.
#[derive(Debug, Clone)]
pub struct RecordType {
    /// Discriminator value (e.g. `PRA`), or a label for single-type files.
    pub code: String,
    /// Header, detail or trailer.
    pub role: Role,
    /// Plain name ("Person (add/update)").
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Fields in order.
    pub fields: Vec<Field>,
    /// Unique keys: each a list of field indexes.
    pub unique: Vec<Vec<usize>>,
    /// Cross-field rules.
    pub rules: Vec<RecordRule>,
    /// Generator hint: how many records of this type each generated person has on average
    /// (1.0 exactly one, 1.2 one and a 20% chance of a second, 0.02 a 2% chance of one).
    pub sample_count: f64,
    /// Date-tracked: the entity key and the effective period of each row.
    pub history: Option<History>,
}

/// ESR's open end date, Oracle's end of time: a period that has not ended is written
/// `47121231` (or left empty).
pub const OPEN_END: &str = "47121231";

/// True when a period's end date says it has not ended: empty, or ESR's open end date in
/// any date form (the year 4712).
pub fn is_open_end(v: &str) -> bool {
    let v = v.trim();
    v.is_empty() || v == OPEN_END || v.contains("4712")
}

/// A date-tracked record type: one entity (a person, an assignment) may have several rows,
/// each for its own effective period. Rows of one key must not overlap, and a period must not
/// end before it starts (judged in one place: `validate::history_issue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// The fields naming the entity.
    pub key: Vec<usize>,
    /// The first day of the period.
    pub start: usize,
    /// The last day of the period (empty: open-ended).
    pub end: usize,
}

impl RecordType {
    /// Field index by name (case-insensitive).
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The fields that say which person, assignment or thing a record is about: its first
    /// unique key, else the key of its history (a date-tracked record: several rows of one
    /// key, each for its own period). The one place a record's identity is decided.
    pub fn entity_key(&self) -> Option<&[usize]> {
        self.unique
            .first()
            .map(Vec::as_slice)
            .or_else(|| self.history.as_ref().map(|h| h.key.as_slice()))
    }

    /// True when field `i` is part of one of the record's unique keys.
    pub fn is_key(&self, i: usize) -> bool {
        self.unique.iter().any(|k| k.contains(&i))
    }

    /// The fields that say whose record this is, at most two: the ESR employee and assignment
    /// numbers when the record has them, else the record's first unique key (when it has at
    /// most two fields). The table keeps them in view while it scrolls sideways.
    pub fn key_fields(&self) -> Vec<usize> {
        let ids: Vec<usize> = self
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                matches!(
                    f.check,
                    Some(Check::EsrEmployee) | Some(Check::EsrAssignment)
                )
            })
            .map(|(i, _)| i)
            .take(2)
            .collect();
        if !ids.is_empty() {
            return ids;
        }
        match self.entity_key() {
            Some(k) if k.len() <= 2 => k.to_vec(),
            _ => Vec::new(),
        }
    }

    /// True when one corrected value of field `i` can be right for many records at once
    /// ("apply this fix to the other cells with the same value"): a coded field, a fixed
    /// value, or a field with a set form that is not part of a key; never an identifier or
    /// free text about a person. The one place this is decided.
    pub fn one_value_fits_many(&self, i: usize) -> bool {
        let Some(f) = self.fields.get(i) else {
            return false;
        };
        f.check.is_none()
            && (!f.codes.is_empty()
                || f.value.is_some()
                || (f.pattern.is_some() && !self.is_key(i)))
    }
}

/// Which part of a file name a pattern's regular expression captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Capture {
    /// Every `{A|B}` choice, in order (see `choices_in`).
    Choices,
    /// The VPD code, as the first group.
    Vpd,
    /// The `{SEQ:n}` number, as the first group.
    Seq,
}

/// The regular expression of a file-name pattern, capturing what `capture` says.
fn name_regex(toks: &[NameTok], capture: Capture) -> String {
    let mut re = String::from("(?i)^");
    for t in toks {
        match t {
            NameTok::Lit(s) => re.push_str(&regex::escape(s)),
            NameTok::Vpd if capture == Capture::Vpd => re.push_str("([A-Z0-9]{3})"),
            NameTok::Vpd => re.push_str("[A-Z0-9]{3}"),
            NameTok::Date => re.push_str(r"\d{8}"),
            NameTok::Time => re.push_str(r"\d{6}"),
            NameTok::Seq(n) if capture == Capture::Seq => re.push_str(&format!(r"(\d{{{n}}})")),
            NameTok::Seq(n) => re.push_str(&format!(r"\d{{{n}}}")),
            NameTok::Header(_) => re.push_str("[A-Za-z0-9]+"),
            NameTok::TaxYear => re.push_str(r"\d{2}"),
            NameTok::OneOf(words) => {
                re.push_str(if capture == Capture::Choices {
                    "("
                } else {
                    "(?:"
                });
                re.push_str(
                    &words
                        .iter()
                        .map(|w| regex::escape(w))
                        .collect::<Vec<_>>()
                        .join("|"),
                );
                re.push(')');
            }
        }
    }
    re.push('$');
    re
}

/// One token of a file-name pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameTok {
    /// Literal text.
    Lit(String),
    /// `{VPD}`
    Vpd,
    /// `{YYYYMMDD}`
    Date,
    /// `{HHMMSS}`
    Time,
    /// `{SEQ:n}`
    Seq(usize),
    /// `{A|B}`: one of several literal words.
    OneOf(Vec<String>),
    /// `{HDR:Field}`: the value of a header field (letters and digits).
    Header(String),
    /// `{TAXYY}`: the last two digits of the year in which the UK tax year of the date ends
    /// (the tax year runs from 6 April).
    TaxYear,
}

/// A file-name pattern such as `GO_{VPD}_GDW_{GDR|GOC}_{YYYYMMDD}_{SEQ:8}.DAT`.
#[derive(Debug, Clone)]
pub struct NamePattern {
    /// As written.
    pub text: String,
    /// Tokens.
    pub toks: Vec<NameTok>,
    regex: Regex,
}

/// Values a file name is made from.
#[derive(Debug, Clone)]
pub struct NameValues<'a> {
    /// VPD code.
    pub vpd: &'a str,
    /// Date and time of the export.
    pub when: chrono::NaiveDateTime,
    /// Sequence number.
    pub seq: u64,
    /// Preferred choices for `{A|B}` tokens, in order (e.g. from the source file's name).
    pub choices: Vec<String>,
    /// Header field values by name, for `{HDR:Field}` tokens.
    pub header: Vec<(String, String)>,
}

impl NamePattern {
    /// Parses a pattern.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut toks = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(open) = rest.find('{') {
                if open > 0 {
                    toks.push(NameTok::Lit(rest[..open].to_string()));
                }
                let close = rest[open..]
                    .find('}')
                    .ok_or_else(|| format!("file name pattern {text:?} has an unclosed {{"))?
                    + open;
                let tok = &rest[open + 1..close];
                toks.push(match tok {
                    "VPD" => NameTok::Vpd,
                    "YYYYMMDD" => NameTok::Date,
                    "HHMMSS" => NameTok::Time,
                    t if t.starts_with("SEQ:") => NameTok::Seq(
                        t[4..].parse().ok().filter(|n| (1..=12).contains(n)).ok_or_else(|| format!("file name pattern {text:?}: {{SEQ:n}} needs n from 1 to 12"))?,
                    ),
                    t if t.contains('|') => NameTok::OneOf(t.split('|').map(str::to_string).collect()),
                    "TAXYY" => NameTok::TaxYear,
                    t if t.starts_with("HDR:") && t.len() > 4 => NameTok::Header(t[4..].to_string()),
                    t => return Err(format!("file name pattern {text:?}: unknown token {{{t}}}; use VPD, YYYYMMDD, HHMMSS, SEQ:n, TAXYY, HDR:Field or A|B")),
                });
                rest = &rest[close + 1..];
            } else {
                toks.push(NameTok::Lit(rest.to_string()));
                rest = "";
            }
        }
        let re = name_regex(&toks, Capture::Choices);
        let regex = Regex::new(&re).map_err(|e| format!("file name pattern {text:?}: {e}"))?;
        Ok(Self {
            text: text.to_string(),
            toks,
            regex,
        })
    }

    /// True when a file name (not a path) fits the pattern.
    pub fn matches(&self, file_name: &str) -> bool {
        self.regex.is_match(file_name)
    }

    /// The VPD code a file name carries, when the pattern has `{VPD}` and the name fits it.
    pub fn vpd_in(&self, file_name: &str) -> Option<String> {
        let re = name_regex(&self.toks, Capture::Vpd);
        Regex::new(&re)
            .ok()?
            .captures(file_name)?
            .get(1)
            .map(|m| m.as_str().to_uppercase())
    }

    /// The number a file name carries in its `{SEQ:n}` token, when the name fits.
    pub fn seq_in(&self, file_name: &str) -> Option<u64> {
        let re = name_regex(&self.toks, Capture::Seq);
        Regex::new(&re)
            .ok()?
            .captures(file_name)?
            .get(1)?
            .as_str()
            .parse()
            .ok()
    }

    /// The `{A|B}` choices a file name made, in order.
    pub fn choices_in(&self, file_name: &str) -> Vec<String> {
        self.regex
            .captures(file_name)
            .map(|c| {
                c.iter()
                    .skip(1)
                    .flatten()
                    .map(|m| m.as_str().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Renders a file name; refuses anything that could leave the output folder.
    pub fn render(&self, v: &NameValues<'_>) -> Result<String, String> {
        let mut out = String::new();
        let mut choice = 0;
        for t in &self.toks {
            match t {
                NameTok::Lit(s) => out.push_str(s),
                NameTok::Vpd => out.push_str(v.vpd),
                NameTok::Date => out.push_str(&v.when.format("%Y%m%d").to_string()),
                NameTok::Time => out.push_str(&v.when.format("%H%M%S").to_string()),
                NameTok::Seq(n) => {
                    let s = format!("{:0width$}", v.seq, width = *n);
                    if s.len() > *n {
                        return Err(format!(
                            "sequence number {} does not fit in {n} digits",
                            v.seq
                        ));
                    }
                    out.push_str(&s);
                }
                NameTok::TaxYear => {
                    use chrono::Datelike as _;
                    let d = v.when.date();
                    let ends = if (d.month(), d.day()) >= (4, 6) {
                        d.year() + 1
                    } else {
                        d.year()
                    };
                    out.push_str(&format!("{:02}", ends.rem_euclid(100)));
                }
                NameTok::Header(name) => {
                    let value = v
                        .header
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(name))
                        .map(|(_, x)| x.trim())
                        .filter(|x| !x.is_empty() && x.chars().all(|c| c.is_ascii_alphanumeric()))
                        .ok_or_else(|| {
                            format!("the file name takes the header's {name}, which is empty or not letters and digits")
                        })?;
                    out.push_str(value);
                }
                NameTok::OneOf(words) => {
                    let pick = v
                        .choices
                        .get(choice)
                        .filter(|c| words.iter().any(|w| w.eq_ignore_ascii_case(c)));
                    out.push_str(pick.map(String::as_str).unwrap_or(&words[0]));
                    choice += 1;
                }
            }
        }
        safe_file_name(&out)?;
        Ok(out)
    }
}

/// Refuses a file name that is empty, absolute, has a path separator or is `.`/`..`.
pub fn safe_file_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name == "."
        || name.contains("..")
        || name.contains(['/', '\\', ':', '\0'])
        || Path::new(name).is_absolute()
    {
        return Err(format!(
            "the file name {name:?} would be written outside the chosen folder (it contains a path separator, a drive, or \"..\")"
        ));
    }
    if name.contains(['<', '>', '"', '|', '?', '*']) || name.chars().any(char::is_control) {
        return Err(format!(
            "the file name {name:?} holds a character Windows does not allow in file names"
        ));
    }
    if name.ends_with(['.', ' ']) {
        return Err(format!(
            "the file name {name:?} ends with a dot or a space, which Windows drops"
        ));
    }
    let stem = name
        .split('.')
        .next()
        .unwrap_or(name)
        .trim_end()
        .to_ascii_uppercase();
    let reserved = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit()
            && stem.as_bytes()[3] != b'0');
    if reserved {
        return Err(format!(
            "the file name {name:?} is a device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9)"
        ));
    }
    Ok(())
}

/// Where a layout came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutSource {
    /// Compiled into the binary.
    Bundled,
    /// Read from a file (a trust's own or a replacement).
    File(PathBuf),
}

/// A compiled layout.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Layout id (usually the interface id).
    pub id: String,
    /// Catalogue interface id this layout is for.
    pub interface: String,
    /// Display name.
    pub name: String,
    /// Version text.
    pub version: String,
    /// What the layout is not, when it is representative: the "representative, not the
    /// official specification" statement ("" for a layout that follows public evidence).
    pub representative: String,
    /// Which public facts it rests on.
    pub grounding: Option<String>,
    /// How far to trust it: what it was built from.
    pub evidence: Evidence,
    /// Where its facts come from (repository, path, commit; or a document).
    pub sources: Vec<Source>,
    /// What a record type the layout does not list is: an error, or a warning whose line is
    /// kept and exported as it came.
    pub unknown_records: Tolerance,
    /// What empty fields past the end of a record's list are: an error, or a warning (spare
    /// fields ESR adds between releases), kept and exported as they came.
    pub spare_fields: Tolerance,
    /// Earlier ESR releases this layout also reads (their field counts).
    pub releases: Vec<Release>,
    /// The header field whose value names the release a file was written by.
    pub release_field: Option<usize>,
    /// Words of the file-name pattern that mark a full extract (a full file carries everything:
    /// the sequence watch starts again from it). Empty: the pattern's first `{A|B}` word.
    pub full_files: Vec<String>,
    /// How a request for a full extract is written (`full_refresh`).
    pub refresh: Refresh,
    /// Delimiter, quoting, encoding, line ending.
    pub dialect: Dialect,
    /// First line is a row of column names.
    pub column_names: bool,
    /// 0-based position of the record type field, when the file has several record types.
    pub discriminator: Option<usize>,
    /// Export / detection file-name pattern.
    pub file_name: NamePattern,
    /// Record types.
    pub records: Vec<RecordType>,
    /// Rules across records (`[[consistent]]`).
    pub consistent: Vec<Consistent>,
    /// Where it came from.
    pub source: LayoutSource,
    /// The layout file's text, for the viewer.
    pub text: String,
    /// Which way its files go, for an interface that exchanges files both ways (None: the
    /// catalogue's direction).
    pub direction: Option<Direction>,
    /// Present when the layout is ESR's answer to files of other layouts.
    pub answer: Option<Answer>,
    /// ESR sends a full extract of this layout when sent a file holding only its header.
    pub full_refresh: bool,
    by_code: HashMap<String, usize>,
}

/// What a layout was built from: how far its verdicts can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// Public code that reads or writes real files shows the file field by field.
    PublicCode,
    /// A public document describes the file.
    PublicDocument,
    /// The specification ESR issued to the trust (a trust's own layout).
    Specification,
    /// Plausible, built from public facts about other files: not the real layout.
    Representative,
}

impl Evidence {
    /// The value written in layout files.
    pub fn code(self) -> &'static str {
        match self {
            Evidence::PublicCode => "public-code",
            Evidence::PublicDocument => "public-document",
            Evidence::Specification => "specification",
            Evidence::Representative => "representative",
        }
    }

    /// In words, for the catalogue, the Layouts screen and `layout show`.
    pub fn words(self) -> &'static str {
        match self {
            Evidence::PublicCode => "follows public code that reads real files",
            Evidence::PublicDocument => "follows a public document",
            Evidence::Specification => "follows the ESR specification the trust holds",
            Evidence::Representative => "representative: not the real layout",
        }
    }

    /// A short label for a table column.
    pub fn label(self) -> &'static str {
        match self {
            Evidence::PublicCode => "public code",
            Evidence::PublicDocument => "public document",
            Evidence::Specification => "specification",
            Evidence::Representative => "representative",
        }
    }
}

/// One source a layout cites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `owner/name` of a public repository.
    pub repository: Option<String>,
    /// A path in it.
    pub path: Option<String>,
    /// The commit read.
    pub commit: Option<String>,
    /// A document (title or address), for sources that are not code.
    pub document: Option<String>,
    /// What it shows.
    pub shows: String,
}

impl Source {
    /// The citation in one line: "sardjv/esr_api app/…/person_record.rb @ baf69e8b: PRA's 44 fields".
    pub fn cite(&self) -> String {
        let mut where_ = Vec::new();
        if let Some(r) = &self.repository {
            where_.push(r.clone());
        }
        if let Some(p) = &self.path {
            where_.push(p.clone());
        }
        if let Some(c) = &self.commit {
            where_.push(format!("@ {}", c.get(..12).unwrap_or(c)));
        }
        if let Some(d) = &self.document {
            where_.push(d.clone());
        }
        format!("{}: {}", where_.join(" "), self.shows)
    }
}

/// Whether something a layout does not foresee is an error or a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tolerance {
    /// It rejects its record.
    #[default]
    Error,
    /// It is said, and the line is kept and exported as it came.
    Warning,
}

impl Tolerance {
    fn parse(v: Option<&str>, key: &str) -> Result<Self, String> {
        match v {
            None | Some("error") => Ok(Tolerance::Error),
            Some("warning") => Ok(Tolerance::Warning),
            Some(o) => Err(format!("{key} = {o:?}: use \"error\" or \"warning\"")),
        }
    }

    /// The severity of an issue it gives.
    pub fn severity(self) -> crate::rules::Severity {
        match self {
            Tolerance::Error => crate::rules::Severity::Error,
            Tolerance::Warning => crate::rules::Severity::Warning,
        }
    }
}

/// An earlier ESR release a layout also reads: the field counts its records had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Its name ("before October 2020").
    pub name: String,
    /// What changed, and the evidence.
    pub description: Option<String>,
    /// The header's release field value that names it, if any.
    pub header: Option<String>,
    /// Fields each record type had (by record type index; None: as now).
    pub counts: Vec<Option<usize>>,
}

/// How a request for a full extract is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refresh {
    /// The `{A|B}` word of the file name a request is named with (None: the first).
    pub kind: Option<String>,
    /// The sequence number a request is named with.
    pub sequence: u64,
    /// The header fields written, in order (the organisation's setting may add its VPD).
    pub fields: Vec<usize>,
    /// The header field of the newest change file received whose value is the request's time
    /// (None, or no such file: the time of the request).
    pub time: Option<usize>,
    /// The line ends with a line ending.
    pub final_newline: bool,
}

/// How a file was read: the release whose field counts its records have (None: as now).
pub type ReadAs = Option<usize>;

/// Which way a file goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Into ESR (the trust sends it).
    In,
    /// Out of ESR (ESR sends it).
    Out,
}

impl Direction {
    /// In words, for screens.
    pub fn words(self) -> &'static str {
        match self {
            Direction::In => "into ESR",
            Direction::Out => "out of ESR",
        }
    }
}

/// How an answer file says what became of each row sent (`[answer]` in the layout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Layout ids of the files it answers.
    pub answers: Vec<String>,
    /// Record type index holding one row's result.
    pub record: usize,
    /// Field index of the status.
    pub status: usize,
    /// Status codes meaning accepted.
    pub accepted: Vec<String>,
    /// Status codes meaning accepted with a warning.
    pub warning: Vec<String>,
    /// Status codes meaning rejected.
    pub rejected: Vec<String>,
    /// Field index of ESR's message.
    pub message: Option<usize>,
    /// Key fields, by name: the same names are fields of the answered layout's records.
    pub keys: Vec<(usize, String)>,
    /// Field index of the line in the file sent, when rows are matched by line.
    pub line: Option<usize>,
    /// (record type index, field index) naming the file answered.
    pub file: Option<(usize, usize)>,
}

/// What ESR said of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowStatus {
    /// Accepted.
    Accepted,
    /// Accepted with a warning.
    Warning,
    /// Rejected.
    Rejected,
}

impl RowStatus {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Accepted => "accepted",
            RowStatus::Warning => "warning",
            RowStatus::Rejected => "rejected",
        }
    }
    /// From its stored text.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "accepted" => Some(RowStatus::Accepted),
            "warning" => Some(RowStatus::Warning),
            "rejected" => Some(RowStatus::Rejected),
            _ => None,
        }
    }
}

impl Answer {
    /// What a status code means (None: a code the layout does not list).
    pub fn status_of(&self, code: &str) -> Option<RowStatus> {
        let c = code.trim();
        let has = |v: &[String]| v.iter().any(|x| x.eq_ignore_ascii_case(c));
        if has(&self.rejected) {
            Some(RowStatus::Rejected)
        } else if has(&self.warning) {
            Some(RowStatus::Warning)
        } else if has(&self.accepted) {
            Some(RowStatus::Accepted)
        } else {
            None
        }
    }
}

impl Layout {
    /// Parses and checks layout TOML. `name` is used in messages.
    pub fn parse(text: &str, name: &str, source: LayoutSource) -> Result<Self, LayoutError> {
        if text.len() > limits::TEXT_BYTES {
            return Err(LayoutError::Invalid {
                name: name.to_string(),
                message: format!(
                    "the layout file is {} KiB, more than the {} KiB a layout may be",
                    text.len() / 1024,
                    limits::TEXT_BYTES / 1024
                ),
            });
        }
        let file: LayoutFile = toml::from_str(text).map_err(|e| LayoutError::Syntax {
            name: name.to_string(),
            message: e.to_string(),
        })?;
        compile(file, text, name, source).map_err(|message| LayoutError::Invalid {
            name: name.to_string(),
            message,
        })
    }

    /// Reads a layout file from disk (one past [`limits::TEXT_BYTES`] is refused unread).
    pub fn from_path(path: &Path) -> Result<Self, LayoutError> {
        let size = std::fs::metadata(path)
            .map_err(|source| LayoutError::Read {
                path: path.to_path_buf(),
                source,
            })?
            .len();
        if size > limits::TEXT_BYTES as u64 {
            return Err(LayoutError::Invalid {
                name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                message: format!(
                    "the layout file is {} KiB, more than the {} KiB a layout may be",
                    size / 1024,
                    limits::TEXT_BYTES / 1024
                ),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|source| LayoutError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::parse(&text, &name, LayoutSource::File(path.to_path_buf()))
    }

    /// The record type index of a stored record, by the record type it was stored with (a
    /// file of one record type: always the first).
    pub fn stored_type(&self, code: Option<&str>) -> Option<usize> {
        match self.discriminator {
            None => Some(0),
            Some(_) => code.and_then(|c| self.record_index(c)),
        }
    }

    /// Record type index by discriminator value.
    pub fn record_index(&self, code: &str) -> Option<usize> {
        if let Some(i) = self.by_code.get(code) {
            return Some(*i);
        }
        self.records
            .iter()
            .position(|r| r.code.eq_ignore_ascii_case(code))
    }

    /// How a record of type `ri` with `n` fields is read: the number of fields it should
    /// have, and the release that count belongs to (None: as now). The header's release field
    /// names the release for the whole file when it names one; otherwise a record whose count
    /// is an earlier release's is read as that release. The one place this is decided.
    pub fn read_as(&self, ri: usize, n: usize, header: Option<&[String]>) -> (usize, ReadAs) {
        let now = self.records.get(ri).map_or(0, |r| r.fields.len());
        if let (Some(hf), Some(h)) = (self.release_field, header)
            && let Some(v) = h.get(hf).map(|v| v.trim())
        {
            // The header names this version (the layout's own): the lists as they are now.
            if v == self.version {
                return (now, None);
            }
            if let Some(k) = self
                .releases
                .iter()
                .position(|r| r.header.as_deref() == Some(v))
            {
                let count = self.releases[k].counts.get(ri).copied().flatten();
                return (count.unwrap_or(now), Some(k));
            }
        }
        if n != now
            && let Some(k) = self
                .releases
                .iter()
                .position(|r| r.counts.get(ri).copied().flatten() == Some(n))
        {
            return (n, Some(k));
        }
        (now, None)
    }

    /// The header values a file name's `{HDR:Field}` tokens take, from a header record's
    /// fields (None: the header's fixed value, else its sample or first code, as a generated
    /// sample has them).
    pub fn name_header(&self, vals: Option<&[String]>) -> Vec<(String, String)> {
        let Some(h) = self.header() else {
            return Vec::new();
        };
        let rt = &self.records[h];
        self.file_name
            .toks
            .iter()
            .filter_map(|t| match t {
                NameTok::Header(n) => rt.field_index(n).map(|i| {
                    let f = &rt.fields[i];
                    let v = match vals {
                        Some(v) => v.get(i).cloned().unwrap_or_default(),
                        None => f
                            .value
                            .clone()
                            .or_else(|| {
                                f.sample
                                    .as_deref()
                                    .and_then(|s| s.split('|').next())
                                    .map(str::to_string)
                            })
                            .or_else(|| f.codes.first().cloned())
                            .unwrap_or_default(),
                    };
                    (f.name.clone(), v)
                }),
                _ => None,
            })
            .collect()
    }

    /// True when the version a record of type `ri` is read as tells something: a release
    /// changes its field count, or the header names the release.
    pub fn versioned(&self, ri: usize) -> bool {
        self.release_field.is_some()
            || self
                .releases
                .iter()
                .any(|r| r.counts.get(ri).copied().flatten().is_some())
    }

    /// The name of the version a file was read as.
    pub fn read_as_name(&self, r: ReadAs) -> String {
        match r.and_then(|k| self.releases.get(k)) {
            Some(rel) => rel.name.clone(),
            None => format!("{} (current)", self.version),
        }
    }

    /// True for ESR's own files: the layout's direction, else its interface's in the
    /// catalogue, is out of ESR.
    pub fn out_of_esr(&self) -> bool {
        match self.direction {
            Some(d) => d == Direction::Out,
            None => crate::catalogue::Catalogue::bundled()
                .get(&self.interface)
                .is_some_and(|i| i.direction == crate::catalogue::Direction::Out),
        }
    }

    /// True when the file-name word `kind` marks a full extract.
    pub fn is_full_file(&self, kind: &str) -> bool {
        if !self.full_files.is_empty() {
            return self.full_files.iter().any(|w| w.eq_ignore_ascii_case(kind));
        }
        self.file_name
            .toks
            .iter()
            .find_map(|t| match t {
                NameTok::OneOf(words) => words.first(),
                _ => None,
            })
            .is_some_and(|w| w.eq_ignore_ascii_case(kind))
    }

    /// Lines a file this program writes has besides its records: the column-name row, the
    /// header and the trailer. With the records, what a `lines` control counts.
    pub fn frame_lines(&self) -> u64 {
        u64::from(self.column_names)
            + u64::from(self.header().is_some())
            + u64::from(self.trailer().is_some())
    }

    /// The header record type, if any.
    pub fn header(&self) -> Option<usize> {
        self.records.iter().position(|r| r.role == Role::Header)
    }

    /// The trailer record type, if any.
    pub fn trailer(&self) -> Option<usize> {
        self.records.iter().position(|r| r.role == Role::Trailer)
    }

    /// Detail record type indexes.
    pub fn details(&self) -> impl Iterator<Item = usize> + '_ {
        self.records
            .iter()
            .enumerate()
            .filter(|(_, r)| r.role == Role::Detail)
            .map(|(i, _)| i)
    }

    /// The single record type of a file without a discriminator.
    pub fn single(&self) -> Option<usize> {
        if self.discriminator.is_none() {
            Some(0)
        } else {
            None
        }
    }

    /// The column-name row a file with `column_names` starts with.
    pub fn column_row(&self) -> Vec<&str> {
        self.records
            .first()
            .map(|r| r.fields.iter().map(|f| f.name.as_str()).collect())
            .unwrap_or_default()
    }
}

fn compile(f: LayoutFile, text: &str, name: &str, source: LayoutSource) -> Result<Layout, String> {
    let _ = name;
    if f.records.len() > limits::RECORDS {
        return Err(format!(
            "{} record types are more than the {} a layout may have",
            f.records.len(),
            limits::RECORDS
        ));
    }
    if f.consistent.len() > limits::RULES {
        return Err(format!(
            "{} consistent rules are more than the {} a layout may have",
            f.consistent.len(),
            limits::RULES
        ));
    }
    for r in &f.records {
        if r.fields.len() > limits::FIELDS {
            return Err(format!(
                "record {} has {} fields, more than the {} a record type may have",
                r.code,
                r.fields.len(),
                limits::FIELDS
            ));
        }
        if r.rules.len() > limits::RULES {
            return Err(format!(
                "record {} has {} rules, more than the {} a record type may have",
                r.code,
                r.rules.len(),
                limits::RULES
            ));
        }
    }
    let evidence = match f.evidence.as_deref() {
        None | Some("representative") => Evidence::Representative,
        Some("public-code") => Evidence::PublicCode,
        Some("public-document") => Evidence::PublicDocument,
        Some("specification") => Evidence::Specification,
        Some(o) => {
            return Err(format!(
                "evidence = {o:?}: use \"public-code\", \"public-document\", \"specification\" or \"representative\""
            ));
        }
    };
    let representative = f.representative.clone().unwrap_or_default();
    if evidence == Evidence::Representative && representative.trim().is_empty() {
        return Err("`representative` must say whether this is the official specification".into());
    }
    if matches!(evidence, Evidence::PublicCode | Evidence::PublicDocument) && f.sources.is_empty() {
        return Err(format!(
            "evidence = {:?} needs [[sources]]: where each fact comes from",
            evidence.code()
        ));
    }
    let mut sources = Vec::new();
    for (k, src) in f.sources.iter().enumerate() {
        if src.repository.is_none() && src.document.is_none() {
            return Err(format!(
                "source {}: give its repository (with path and commit) or its document",
                k + 1
            ));
        }
        if src.repository.is_some() && src.commit.as_deref().is_none_or(|c| c.len() < 7) {
            return Err(format!(
                "source {}: a repository is cited at a commit (at least 7 hex digits)",
                k + 1
            ));
        }
        sources.push(Source {
            repository: src.repository.clone(),
            path: src.path.clone(),
            commit: src.commit.clone(),
            document: src.document.clone(),
            shows: src.shows.clone(),
        });
    }
    let unknown_records = Tolerance::parse(f.unknown_records.as_deref(), "unknown_records")?;
    let spare_fields = Tolerance::parse(f.spare_fields.as_deref(), "spare_fields")?;
    let delimiter = match f.delimiter.as_bytes() {
        [b] if *b == b'\t' || (b.is_ascii_punctuation() && *b != b'"') => *b,
        _ => {
            return Err(format!(
                "delimiter {:?} must be one punctuation character such as , | ~ or a tab",
                f.delimiter
            ));
        }
    };
    let quote = match f.quote.as_bytes() {
        [] => None,
        [q] if q.is_ascii_punctuation() && *q != delimiter => Some(*q),
        _ => {
            return Err(format!(
                "quote {:?} must be one punctuation character other than the delimiter, or \"\" for none",
                f.quote
            ));
        }
    };
    let encoding = match f.encoding.to_ascii_lowercase().replace('_', "-").as_str() {
        "utf-8" | "utf8" => Encoding::Utf8,
        "windows-1252" | "cp1252" => Encoding::Windows1252,
        "iso-8859-1" | "latin1" | "latin-1" => Encoding::Latin1,
        other => {
            return Err(format!(
                "encoding {other:?} is not supported: use UTF-8, Windows-1252 or ISO-8859-1"
            ));
        }
    };
    let line_ending = match f.line_ending.to_ascii_lowercase().as_str() {
        "crlf" => LineEnding::Crlf,
        "lf" => LineEnding::Lf,
        "cr" => LineEnding::Cr,
        other => {
            return Err(format!(
                "line_ending {other:?} must be \"crlf\", \"lf\" or \"cr\""
            ));
        }
    };
    if f.records.is_empty() {
        return Err("a layout needs at least one [[record]]".into());
    }
    let discriminator = match f.discriminator {
        Some(0) => {
            return Err("discriminator is a 1-based field position; 0 is not allowed".into());
        }
        Some(d) => Some(d - 1),
        None => None,
    };
    if discriminator.is_none() && f.records.len() != 1 {
        return Err("a layout with several record types needs `discriminator` (the position of the record type field)".into());
    }
    if f.column_names && discriminator.is_some() {
        return Err(
            "`column_names = true` is only for files with one record type (no discriminator)"
                .into(),
        );
    }
    let file_name = NamePattern::parse(&f.file_name)?;
    // The pattern must make a safe name on every desktop (NHS desktops run Windows).
    let sample_name = file_name.render(&NameValues {
        vpd: "RX1",
        when: chrono::NaiveDate::from_ymd_opt(2026, 11, 2)
            .and_then(|d| d.and_hms_opt(6, 30, 0))
            .unwrap_or_default(),
        seq: 1,
        choices: Vec::new(),
        header: file_name
            .toks
            .iter()
            .filter_map(|t| match t {
                NameTok::Header(n) => Some((n.clone(), "X1".to_string())),
                _ => None,
            })
            .collect(),
    })?;
    safe_file_name(&sample_name).map_err(|e| format!("file_name {:?}: {e}", f.file_name))?;

    let codes: Vec<String> = f.records.iter().map(|r| r.code.clone()).collect();
    let mut records = Vec::with_capacity(f.records.len());
    let mut by_code = HashMap::new();
    for (ri, r) in f.records.iter().enumerate() {
        if by_code.insert(r.code.clone(), ri).is_some() {
            return Err(format!("record type {:?} is defined twice", r.code));
        }
        if r.fields.is_empty() {
            return Err(format!("record type {:?} has no fields", r.code));
        }
        let mut fields = Vec::with_capacity(r.fields.len());
        for (fi, ff) in r.fields.iter().enumerate() {
            let at = format!("record {:?} field {:?}", r.code, ff.name);
            if r.fields[..fi]
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(&ff.name))
            {
                return Err(format!("{at} is defined twice"));
            }
            let format = Format::parse(&ff.format).map_err(|e| format!("{at}: {e}"))?;
            let also = ff
                .also
                .as_deref()
                .map(|a| Format::parse(a).map_err(|e| format!("{at}: also: {e}")))
                .transpose()?;
            let num = |s: &Option<String>| -> Result<Option<i128>, String> {
                s.as_deref()
                    .map(|v| {
                        parse_number(v, MAX_INTEGER_DIGITS + MAX_DECIMALS, MAX_DECIMALS, false)
                            .map_err(|e| format!("{at}: min/max {v:?} {e}"))
                    })
                    .transpose()
            };
            let pattern = match &ff.pattern {
                Some(p) => Some(
                    Regex::new(&format!("^(?:{p})$"))
                        .map_err(|e| format!("{at}: pattern does not compile: {e}"))?,
                ),
                None => None,
            };
            let generate = match ff.generate.as_deref() {
                None => None,
                Some("file_name") => Some(Generate::FileName),
                Some("now") => Some(Generate::Now),
                Some("vpd") => Some(Generate::Vpd),
                Some("sequence") => Some(Generate::Sequence),
                Some(g) => {
                    return Err(format!(
                        "{at}: generate = {g:?}; use file_name, now, vpd or sequence"
                    ));
                }
            };
            for c in &ff.codes {
                if let Err(p) = format.check(c) {
                    return Err(format!(
                        "{at}: code {c:?} {} — the code list and the format disagree",
                        p.reason
                    ));
                }
            }
            let mut value = ff.value.clone();
            if discriminator == Some(fi) {
                match &value {
                    Some(v) if v != &r.code => {
                        return Err(format!(
                            "{at}: value {v:?} differs from the record type {:?}",
                            r.code
                        ));
                    }
                    _ => value = Some(r.code.clone()),
                }
            }
            // The field's own rules in plain words (crate::wording), for the Layouts screen and
            // the cells' tooltips.
            if let Some(k) = ff.meanings.keys().find(|k| !ff.codes.contains(k)) {
                return Err(format!(
                    "{at}: meanings gives {k:?}, which is not one of its codes"
                ));
            }
            let mut rule_text = Vec::new();
            if let Some(m) = &ff.min {
                rule_text.push(format!("at least {m}"));
            }
            if let Some(m) = &ff.max {
                rule_text.push(format!("at most {m}"));
            }
            if let Some(p) = &ff.pattern {
                rule_text.push(format!("in the form: {}", crate::wording::pattern(p)));
            }
            if let Some(c) = &ff.control {
                rule_text.push(format!("must equal {}", crate::wording::control(c)));
            }
            if let Some(g) = &ff.generate {
                rule_text.push(crate::wording::generated(g));
            }
            let bounds = (num(&ff.min)?, num(&ff.max)?);
            if let (Some(a), Some(b)) = bounds
                && a > b
            {
                return Err(format!(
                    "record {} field {:?}: min {} is above max {}: no value could pass",
                    r.code,
                    ff.name,
                    ff.min.as_deref().unwrap_or_default(),
                    ff.max.as_deref().unwrap_or_default()
                ));
            }
            fields.push(Field {
                name: ff.name.clone(),
                format,
                also,
                required: ff.required || value.is_some(),
                codes: ff.codes.clone(),
                check: ff.check,
                sensitive: ff.sensitive,
                min: bounds.0,
                max: bounds.1,
                min_length: ff.min_length,
                pattern,
                value,
                generate,
                control: None,
                description: ff.description.clone(),
                sample: ff.sample.clone(),
                aliases: ff.aliases.clone(),
                meanings: ff.meanings.clone(),
                rule_text: rule_text.join("; "),
            });
        }
        // A column name (a field's name or alias) must say which field it is.
        let mut names: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
        for f in &fields {
            for n in std::iter::once(&f.name).chain(f.aliases.iter()) {
                let k = crate::mapping::normal(n);
                if let Some(other) = names.insert(k, &f.name)
                    && other != f.name
                {
                    return Err(format!(
                        "record type {:?}: the column name {n:?} could be {other} or {}: give each field names no other field has",
                        r.code, f.name
                    ));
                }
            }
        }
        if let Some(d) = discriminator
            && d >= fields.len()
        {
            return Err(format!(
                "record type {:?} has fewer fields than the discriminator position {}",
                r.code,
                d + 1
            ));
        }
        let idx = |n: &str, what: &str| -> Result<usize, String> {
            r.fields
                .iter()
                .position(|f| f.name.eq_ignore_ascii_case(n))
                .ok_or_else(|| {
                    format!(
                        "record {:?}: {what} names field {n:?}, which is not in the record",
                        r.code
                    )
                })
        };
        let mut unique = Vec::new();
        for key in &r.unique {
            if key.is_empty() {
                return Err(format!("record {:?}: an empty unique key", r.code));
            }
            unique.push(
                key.iter()
                    .map(|k| idx(k, "a unique key"))
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        let sample_count = r.sample_count.unwrap_or(1.0);
        if !(0.0..=100.0).contains(&sample_count) {
            return Err(format!(
                "record {:?}: sample_count must be between 0 and 100",
                r.code
            ));
        }
        let history = match &r.history {
            None => None,
            Some(h) => {
                if h.key.is_empty() {
                    return Err(format!("record {:?}: history needs a key", r.code));
                }
                let key = h
                    .key
                    .iter()
                    .map(|k| idx(k, "history's key"))
                    .collect::<Result<Vec<_>, _>>()?;
                let start = idx(&h.start, "history's start")?;
                let end = idx(&h.end, "history's end")?;
                for (i, what) in [(start, "start"), (end, "end")] {
                    if !matches!(fields[i].format, Format::Date(_)) {
                        return Err(format!(
                            "record {:?}: history's {what} {:?} must be a date field",
                            r.code, fields[i].name
                        ));
                    }
                }
                if r.role != Role::Detail {
                    return Err(format!(
                        "record {:?}: only detail records are date-tracked",
                        r.code
                    ));
                }
                Some(History { key, start, end })
            }
        };
        records.push(RecordType {
            code: r.code.clone(),
            role: r.role,
            name: r.name.clone(),
            description: r.description.clone(),
            fields,
            unique,
            rules: Vec::new(),
            sample_count,
            history,
        });
    }
    for role in [Role::Header, Role::Trailer] {
        if records.iter().filter(|r| r.role == role).count() > 1 {
            return Err(
                format!("a layout may have at most one {role:?} record type").to_lowercase(),
            );
        }
    }
    if !records.iter().any(|r| r.role == Role::Detail) {
        return Err("a layout needs at least one detail record type".into());
    }
    // Trailer controls refer to other record types, so they are resolved last.
    for (ri, r) in f.records.iter().enumerate() {
        for (fi, ff) in r.fields.iter().enumerate() {
            let Some(c) = &ff.control else { continue };
            let at = format!("record {:?} field {:?}", r.code, ff.name);
            if r.role != Role::Trailer {
                return Err(format!("{at}: control totals belong in the trailer record"));
            }
            let control = parse_control(c, &records, &codes).map_err(|e| format!("{at}: {e}"))?;
            if !records[ri].fields[fi].is_numeric() {
                return Err(format!(
                    "{at}: a control total needs a numeric format (N or L)"
                ));
            }
            // A total must hold every decimal of what it adds up, or the export would cut it.
            if let Control::Sum(targets) = &control {
                let places = |f: &crate::notation::Format| match f {
                    crate::notation::Format::Numeric { decimals, .. }
                    | crate::notation::Format::Padded { decimals, .. } => *decimals,
                    _ => 0,
                };
                let total = places(&records[ri].fields[fi].format);
                for &(tr, tf) in targets {
                    let part = &records[tr].fields[tf];
                    if places(&part.format) > total {
                        return Err(format!(
                            "{at}: it sums {} {:?} ({}), which has more decimal places than the total ({}): the total could not hold it exactly",
                            records[tr].code, part.name, part.format, records[ri].fields[fi].format
                        ));
                    }
                }
            }
            records[ri].fields[fi].control = Some(control);
        }
    }
    // Record rules may read the header record, so they are compiled once every record is.
    for (ri, r) in f.records.iter().enumerate() {
        for (k, rule) in r.rules.iter().enumerate() {
            let at = format!("record {:?} rule {} ({})", r.code, k + 1, rule.kind);
            let compiled = compile_rule(rule, ri, &records).map_err(|e| format!("{at}: {e}"))?;
            records[ri].rules.push(compiled);
        }
    }
    let mut consistent = Vec::new();
    for (k, c) in f.consistent.iter().enumerate() {
        let at = format!("consistent rule {} (key {:?})", k + 1, c.key);
        consistent.push(compile_consistent(c, &records).map_err(|e| format!("{at}: {e}"))?);
    }
    let direction = match f.direction.as_deref() {
        None => None,
        Some("in") => Some(Direction::In),
        Some("out") => Some(Direction::Out),
        Some(other) => {
            return Err(format!(
                "direction {other:?} is not understood: use \"in\" (into ESR) or \"out\" (out of ESR)"
            ));
        }
    };
    let answer = match &f.answer {
        None => None,
        Some(a) => Some(compile_answer(a, &records)?),
    };
    let releases = f
        .releases
        .iter()
        .map(|r| {
            let mut counts = vec![None; records.len()];
            for (code, &n) in &r.fields {
                let i = records
                    .iter()
                    .position(|x| &x.code == code)
                    .ok_or_else(|| format!("release {:?}: no record type {code:?}", r.name))?;
                let now = records[i].fields.len();
                if n == 0 || n == now {
                    return Err(format!(
                        "release {:?}: {code} had {n} fields; give only counts that differ from today's {now} (and more than 0)",
                        r.name
                    ));
                }
                counts[i] = Some(n);
            }
            Ok(Release {
                name: r.name.clone(),
                description: r.description.clone(),
                header: r.header.clone(),
                counts,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let header_ri = records.iter().position(|r| r.role == Role::Header);
    let header_field = |name: &str, what: &str| -> Result<usize, String> {
        header_ri
            .and_then(|h| records[h].field_index(name))
            .ok_or_else(|| format!("{what} {name:?} is not a field of the header record"))
    };
    for t in &file_name.toks {
        if let NameTok::Header(n) = t {
            header_field(n, "the file name's {HDR:…} token names")?;
        }
    }
    let release_field = f
        .release_field
        .as_deref()
        .map(|n| header_field(n, "release_field"))
        .transpose()?;
    if releases.iter().any(|r| r.header.is_some()) && release_field.is_none() {
        return Err(
            "a release gives its header value: name the header field with release_field".into(),
        );
    }
    let words: Vec<String> = file_name
        .toks
        .iter()
        .filter_map(|t| match t {
            NameTok::OneOf(w) => Some(w.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    for w in &f.full_files {
        if !words.contains(w) {
            return Err(format!(
                "full_files names {w:?}, which is not a word of the file name pattern"
            ));
        }
    }
    let refresh = match &f.refresh {
        None => Refresh {
            kind: None,
            sequence: 0,
            fields: header_ri.map_or_else(Vec::new, |h| (0..records[h].fields.len()).collect()),
            time: None,
            final_newline: true,
        },
        Some(r) => {
            if let Some(k) = &r.kind
                && !words.contains(k)
            {
                return Err(format!(
                    "[refresh] kind {k:?} is not a word of the file name pattern"
                ));
            }
            let fields = match &r.fields {
                Some(names) => names
                    .iter()
                    .map(|n| header_field(n, "[refresh] fields names"))
                    .collect::<Result<Vec<_>, _>>()?,
                None => header_ri.map_or_else(Vec::new, |h| (0..records[h].fields.len()).collect()),
            };
            Refresh {
                kind: r.kind.clone(),
                sequence: r.sequence.unwrap_or(0),
                fields,
                time: r
                    .time
                    .as_deref()
                    .map(|n| header_field(n, "[refresh] time"))
                    .transpose()?,
                final_newline: r.final_newline,
            }
        }
    };
    if f.full_refresh && !records.iter().any(|r| r.role == Role::Header) {
        return Err(
            "full_refresh needs a header record: the request is a file holding only the header"
                .into(),
        );
    }
    Ok(Layout {
        direction,
        answer,
        full_refresh: f.full_refresh,
        interface: f.interface.unwrap_or_else(|| f.id.clone()),
        id: f.id,
        name: f.name,
        version: f.version,
        representative,
        grounding: f.grounding,
        evidence,
        sources,
        unknown_records,
        spare_fields,
        releases,
        release_field,
        full_files: f.full_files,
        refresh,
        dialect: Dialect {
            delimiter,
            quote,
            encoding,
            line_ending,
        },
        column_names: f.column_names,
        discriminator,
        file_name,
        records,
        consistent,
        source,
        text: text.to_string(),
        by_code,
    })
}

fn compile_answer(a: &AnswerFile, records: &[RecordType]) -> Result<Answer, String> {
    if a.answers.is_empty() {
        return Err("[answer] answers must name at least one layout id".into());
    }
    let record = match &a.record {
        Some(code) => records
            .iter()
            .position(|r| &r.code == code)
            .ok_or_else(|| {
                format!("[answer] record {code:?} is not a record type of this layout")
            })?,
        None => records
            .iter()
            .position(|r| r.role == Role::Detail)
            .ok_or("[answer] needs a data record type")?,
    };
    let rt = &records[record];
    let field = |what: &str, name: &str| {
        rt.field_index(name).ok_or_else(|| {
            format!(
                "[answer] {what} {name:?} is not a field of record type {}",
                rt.code
            )
        })
    };
    let status = field("status", &a.status)?;
    if a.accepted.is_empty() && a.rejected.is_empty() {
        return Err("[answer] must list the status codes meaning accepted or rejected".into());
    }
    let message = a
        .message
        .as_deref()
        .map(|m| field("message", m))
        .transpose()?;
    let line = a.line.as_deref().map(|m| field("line", m)).transpose()?;
    let mut keys = Vec::new();
    for k in &a.keys {
        keys.push((field("key", k)?, k.clone()));
    }
    if keys.is_empty() && line.is_none() {
        return Err("[answer] needs keys (fields shared with the answered layout) or line".into());
    }
    let file = match &a.file {
        None => None,
        Some(name) => Some(
            records
                .iter()
                .enumerate()
                .find_map(|(ri, r)| r.field_index(name).map(|fi| (ri, fi)))
                .ok_or_else(|| format!("[answer] file {name:?} is not a field of this layout"))?,
        ),
    };
    Ok(Answer {
        answers: a.answers.clone(),
        record,
        status,
        accepted: a.accepted.clone(),
        warning: a.warning.clone(),
        rejected: a.rejected.clone(),
        message,
        keys,
        line,
        file,
    })
}

fn parse_control(c: &str, records: &[RecordType], codes: &[String]) -> Result<Control, String> {
    let c = c.trim();
    let inner = |p: &str| {
        c.strip_prefix(p)
            .and_then(|r| r.strip_suffix(')'))
            .map(str::trim)
    };
    if c == "count" {
        return Ok(Control::Count(None));
    }
    if c == "lines" {
        return Ok(Control::Lines);
    }
    if let Some(t) = inner("count(") {
        let i = codes
            .iter()
            .position(|x| x == t)
            .ok_or_else(|| format!("count({t}): no record type {t:?}"))?;
        return Ok(Control::Count(Some(i)));
    }
    if let Some(spec) = inner("sum(") {
        let (only, field) = match spec.split_once('.') {
            Some((t, f)) => (Some(t), f),
            None => (None, spec),
        };
        let mut targets = Vec::new();
        for (ri, r) in records.iter().enumerate() {
            if r.role != Role::Detail || only.is_some_and(|t| t != r.code) {
                continue;
            }
            if let Some(fi) = r.field_index(field) {
                if !r.fields[fi].is_numeric() {
                    return Err(format!(
                        "sum({spec}): field {field:?} of {:?} is not numeric",
                        r.code
                    ));
                }
                targets.push((ri, fi));
            }
        }
        if targets.is_empty() {
            return Err(format!(
                "sum({spec}): no detail record has a field {field:?}"
            ));
        }
        return Ok(Control::Sum(targets));
    }
    Err(format!(
        "control {c:?}: use count, lines, count(TYPE) or sum(FIELD)"
    ))
}

/// Keys every rule kind may take: its condition.
const CONDITION_KEYS: [&str; 4] = ["when", "equals", "filled", "condition"];

/// The plain name of a value a rule reads: "Start Date", or "the header's Period End Date".
pub fn operand_name(o: Operand, rt: &RecordType, header: Option<&RecordType>) -> String {
    match o {
        Operand::Field(i) => rt
            .fields
            .get(i)
            .map_or_else(String::new, |f| f.name.clone()),
        Operand::Header(i) => header
            .and_then(|h| h.fields.get(i))
            .map_or_else(String::new, |f| format!("the header's {}", f.name)),
    }
}

/// The field an operand reads.
pub fn operand_field<'a>(
    o: Operand,
    rt: &'a RecordType,
    header: Option<&'a RecordType>,
) -> Option<&'a Field> {
    match o {
        Operand::Field(i) => rt.fields.get(i),
        Operand::Header(i) => header.and_then(|h| h.fields.get(i)),
    }
}

/// A condition in plain words, as it follows "when".
fn condition_text(c: &Condition, rt: &RecordType, header: Option<&RecordType>) -> String {
    match c {
        Condition::Equals { field, values } => {
            let name = operand_name(*field, rt, header);
            match values.as_slice() {
                [one] => format!("{name} is {one}"),
                many => format!("{name} is one of {}", many.join(", ")),
            }
        }
        Condition::Filled { field, filled } => format!(
            "{} is {}",
            operand_name(*field, rt, header),
            if *filled { "filled" } else { "empty" }
        ),
        Condition::Expr(e) => e.text.clone(),
    }
}

/// The rule in plain words ("Credit Amount must be empty when Debit or Credit is D").
fn rule_text(
    kind: &RuleKind,
    when: Option<&Condition>,
    rt: &RecordType,
    header: Option<&RecordType>,
) -> String {
    let name = |i: usize| {
        rt.fields
            .get(i)
            .map_or_else(String::new, |f| f.name.clone())
    };
    let op = |o: Operand| operand_name(o, rt, header);
    let what = match kind {
        RuleKind::NotBefore { field, other } => {
            format!("{} must not be before {}", name(*field), op(*other))
        }
        RuleKind::Required { field } => format!("{} must be filled", name(*field)),
        RuleKind::Empty { field } => format!("{} must be empty", name(*field)),
        RuleKind::Equal { field, other } => {
            format!("{} must equal {}", name(*field), name(*other))
        }
        RuleKind::SameAsHeader { field, header: h } => format!(
            "{} must be the same as {}",
            name(*field),
            op(Operand::Header(*h))
        ),
        RuleKind::Within { field, from, to } => match (from, to) {
            (Some(a), Some(b)) => {
                format!("{} must lie from {} to {}", name(*field), op(*a), op(*b))
            }
            (Some(a), None) => format!("{} must not be before {}", name(*field), op(*a)),
            (None, Some(b)) => format!("{} must not be after {}", name(*field), op(*b)),
            (None, None) => String::new(),
        },
        RuleKind::FinancialYear { field, of } => format!(
            "{} must lie in the financial year of {} (1 April to 31 March)",
            name(*field),
            op(*of)
        ),
        RuleKind::Span {
            from,
            to,
            unit,
            min,
            max,
            ..
        } => {
            let u = unit.as_str();
            let bounds = match (min, max) {
                (Some(a), Some(b)) => format!("{a} to {b} {u}"),
                (Some(a), None) => format!("at least {a} {u}"),
                (None, Some(b)) => format!("at most {b} {u}"),
                (None, None) => format!("any number of {u}"),
            };
            format!("{} must be {bounds} after {}", op(*to), op(*from))
        }
        RuleKind::Computed {
            field,
            expr,
            tolerance,
        } => {
            let t = if *tolerance == 0 {
                String::new()
            } else {
                format!(" (within {})", crate::notation::format_exact(*tolerance, 0))
            };
            format!("{} must equal {}{t}", name(*field), expr.text)
        }
        RuleKind::Reference {
            field,
            interface,
            record,
            target,
        } => format!(
            "{} must exist in {interface} ({record} records, {target})",
            name(*field)
        ),
    };
    match when {
        Some(c) => format!("{what} when {}", condition_text(c, rt, header)),
        None => what,
    }
}

/// Compiles one record rule of record type `ri`; the error says what to change.
fn compile_rule(r: &RuleFile, ri: usize, records: &[RecordType]) -> Result<RecordRule, String> {
    let rt = &records[ri];
    let header_i = records.iter().position(|x| x.role == Role::Header);
    let header = header_i.map(|h| &records[h]);
    let keys: [(&str, bool); 19] = [
        ("field", r.field.is_some()),
        ("other", r.other.is_some()),
        ("header", r.header.is_some()),
        ("when", r.when.is_some()),
        ("equals", r.equals.is_some()),
        ("filled", r.filled.is_some()),
        ("condition", r.condition.is_some()),
        ("interface", r.interface.is_some()),
        ("record", r.record.is_some()),
        ("target", r.target.is_some()),
        ("from", r.from.is_some()),
        ("to", r.to.is_some()),
        ("financial_year", r.financial_year.is_some()),
        ("unit", r.unit.is_some()),
        ("min", r.min.is_some()),
        ("max", r.max.is_some()),
        ("expression", r.expression.is_some()),
        ("tolerance", r.tolerance.is_some()),
        ("kind", true),
    ];
    let takes: &[&str] = match r.kind.as_str() {
        "not_before" | "equal" => &["field", "other"],
        "required_if" | "required_when" | "empty_when" => &["field"],
        "same_as_header" => &["field", "header"],
        "within" => &["field", "from", "to", "financial_year"],
        "span" => &["field", "from", "to", "unit", "min", "max"],
        "computed" => &["field", "expression", "tolerance"],
        "reference" => &["field", "interface", "record", "target"],
        other => {
            return Err(format!(
                "there is no rule kind {other:?}: use not_before, required_if, required_when, empty_when, equal, same_as_header, within, span, computed or reference"
            ));
        }
    };
    for (k, present) in keys {
        if present && k != "kind" && !takes.contains(&k) && !CONDITION_KEYS.contains(&k) {
            return Err(format!("`{}` does not take `{k}`", r.kind));
        }
    }
    let own = |n: &str, key: &str| -> Result<usize, String> {
        rt.field_index(n).ok_or_else(|| {
            format!(
                "`{key}` names field {n:?}, which is not in the record (its fields are {})",
                rt.fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    };
    let need = |v: &Option<String>, key: &str| -> Result<String, String> {
        v.clone()
            .ok_or_else(|| format!("`{}` needs `{key}`", r.kind))
    };
    let from_header = |n: &str, key: &str| -> Result<usize, String> {
        let Some(h) = header_i else {
            return Err(format!(
                "`{key}` names the header's {n:?}, but the layout has no header record"
            ));
        };
        if h == ri {
            return Err(format!(
                "`{key}` names the header's {n:?} in a rule of the header itself: name the field without `header.`"
            ));
        }
        let i = records[h].field_index(n).ok_or_else(|| {
            format!("`{key}` names the header's {n:?}, which is not a field of the header record")
        })?;
        // A value the export writes afresh would judge the exported file by another value
        // than the one received: the same records would pass here and fail there.
        if records[h].fields[i].generate.is_some() {
            return Err(format!(
                "`{key}` names the header's {n:?}, which the export fills in afresh (`generate`): a rule cannot read it"
            ));
        }
        Ok(i)
    };
    let operand = |n: &str, key: &str| -> Result<Operand, String> {
        match n.get(..7) {
            Some(p) if p.eq_ignore_ascii_case("header.") && rt.field_index(n).is_none() => {
                Ok(Operand::Header(from_header(&n[7..], key)?))
            }
            _ => Ok(Operand::Field(own(n, key)?)),
        }
    };
    let fmt_of = |o: Operand| operand_field(o, rt, header).map(|f| &f.format);
    let comparable = |f: Option<&Format>| {
        f.is_some_and(|f| {
            !matches!(
                f,
                Format::Text { .. } | Format::Fixed { .. } | Format::Flag { .. }
            )
        })
    };
    let is_date = |f: Option<&Format>| matches!(f, Some(Format::Date(_) | Format::Timestamp(_)));

    // The condition, on any kind.
    let when = match (&r.condition, &r.when) {
        (Some(_), Some(_)) => {
            return Err("use either `condition` (an expression) or `when` with `equals` or `filled`, not both".into());
        }
        (Some(text), None) => {
            if r.equals.is_some() || r.filled.is_some() {
                return Err("`equals` and `filled` go with `when`, not with `condition`".into());
            }
            Some(Condition::Expr(Expr::compile(text, rt, Yields::Bool)?))
        }
        (None, Some(w)) => {
            let field = operand(w, "when")?;
            match (&r.equals, r.filled) {
                (Some(values), None) if !values.is_empty() => Some(Condition::Equals {
                    field,
                    values: values.clone(),
                }),
                (None, Some(filled)) => Some(Condition::Filled { field, filled }),
                _ => {
                    return Err("`when` needs either `equals` (a list of values) or `filled` (true or false)".into());
                }
            }
        }
        (None, None) => {
            if r.equals.is_some() || r.filled.is_some() {
                return Err("`equals` and `filled` need `when` (the field that decides)".into());
            }
            None
        }
    };
    let kind = match r.kind.as_str() {
        "not_before" => {
            let field = own(&need(&r.field, "field")?, "field")?;
            let other = operand(&need(&r.other, "other")?, "other")?;
            if !comparable(Some(&rt.fields[field].format)) || !comparable(fmt_of(other)) {
                return Err("not_before needs date, time or number fields".into());
            }
            RuleKind::NotBefore { field, other }
        }
        "equal" => {
            let field = own(&need(&r.field, "field")?, "field")?;
            let other = own(&need(&r.other, "other")?, "other")?;
            if !rt.fields[field].is_numeric() || !rt.fields[other].is_numeric() {
                return Err("an equal rule needs two numeric fields".into());
            }
            RuleKind::Equal { field, other }
        }
        "required_if" | "required_when" | "empty_when" => {
            let field = own(&need(&r.field, "field")?, "field")?;
            if when.is_none() {
                return Err(format!(
                    "`{}` needs a condition: `when` with `equals` or `filled`, or `condition`",
                    r.kind
                ));
            }
            if r.kind == "required_if" && !matches!(when, Some(Condition::Equals { .. })) {
                return Err("`required_if` needs `when` and `equals`; for other conditions use `required_when`".into());
            }
            if r.kind == "empty_when" {
                RuleKind::Empty { field }
            } else {
                RuleKind::Required { field }
            }
        }
        "same_as_header" => {
            let field = own(&need(&r.field, "field")?, "field")?;
            let h = from_header(&need(&r.header, "header")?, "header")?;
            RuleKind::SameAsHeader { field, header: h }
        }
        "within" => {
            let field = own(&need(&r.field, "field")?, "field")?;
            if let Some(fy) = &r.financial_year {
                if r.from.is_some() || r.to.is_some() {
                    return Err("use either `financial_year` or `from`/`to`, not both".into());
                }
                let of = operand(fy, "financial_year")?;
                if !is_date(Some(&rt.fields[field].format)) {
                    return Err("`financial_year` needs a date field".into());
                }
                if !is_date(fmt_of(of))
                    && !matches!(fmt_of(of), Some(Format::Text { .. } | Format::Fixed { .. }))
                {
                    return Err("`financial_year` names a date, or a text field holding a year such as 2025/26".into());
                }
                RuleKind::FinancialYear { field, of }
            } else {
                let from = r.from.as_deref().map(|n| operand(n, "from")).transpose()?;
                let to = r.to.as_deref().map(|n| operand(n, "to")).transpose()?;
                if from.is_none() && to.is_none() {
                    return Err("`within` needs `from`, `to` or both, or `financial_year`".into());
                }
                let f0 = Some(&rt.fields[field].format);
                for o in from.iter().chain(to.iter()) {
                    if !comparable(f0) || !comparable(fmt_of(*o)) {
                        return Err("`within` needs date, time or number fields".into());
                    }
                }
                RuleKind::Within { field, from, to }
            }
        }
        "span" => {
            let from = operand(&need(&r.from, "from")?, "from")?;
            let to = operand(&need(&r.to, "to")?, "to")?;
            if !is_date(fmt_of(from)) || !is_date(fmt_of(to)) {
                return Err("`span` needs two date fields".into());
            }
            let unit = match r.unit.as_deref() {
                Some("years") => SpanUnit::Years,
                Some("months") => SpanUnit::Months,
                Some("days") => SpanUnit::Days,
                Some(u) => return Err(format!("unit {u:?}: use years, months or days")),
                None => return Err("`span` needs `unit`: years, months or days".into()),
            };
            if r.min.is_none() && r.max.is_none() {
                return Err("`span` needs `min`, `max` or both".into());
            }
            if let (Some(a), Some(b)) = (r.min, r.max)
                && a > b
            {
                return Err(format!("min {a} is above max {b}: no record could pass"));
            }
            let field = match (&r.field, to, from) {
                (Some(n), _, _) => own(n, "field")?,
                (None, Operand::Field(i), _) | (None, _, Operand::Field(i)) => i,
                _ => return Err(
                    "`span` between two header fields judges no record: name a field of the record"
                        .into(),
                ),
            };
            RuleKind::Span {
                from,
                to,
                field,
                unit,
                min: r.min,
                max: r.max,
            }
        }
        "computed" => {
            let field = own(&need(&r.field, "field")?, "field")?;
            if !rt.fields[field].is_numeric() {
                return Err("`computed` needs a numeric field (N or L)".into());
            }
            let expr = Expr::compile(&need(&r.expression, "expression")?, rt, Yields::Number)?;
            if expr.fields().any(|i| i == field) {
                return Err("the expression names the field it computes".into());
            }
            let tolerance = match &r.tolerance {
                None => 0,
                Some(t) => parse_number(t, MAX_INTEGER_DIGITS + MAX_DECIMALS, MAX_DECIMALS, false)
                    .ok()
                    .filter(|v| *v >= 0)
                    .ok_or_else(|| {
                        format!("tolerance {t:?} must be a number of 0 or more, as text (\"0.01\")")
                    })?,
            };
            RuleKind::Computed {
                field,
                expr,
                tolerance,
            }
        }
        "reference" => RuleKind::Reference {
            field: own(&need(&r.field, "field")?, "field")?,
            interface: need(&r.interface, "interface")?,
            record: need(&r.record, "record")?,
            target: need(&r.target, "target")?,
        },
        other => return Err(format!("there is no rule kind {other:?}")),
    };
    let text = rule_text(&kind, when.as_ref(), rt, header);
    Ok(RecordRule { kind, when, text })
}

/// Compiles a `[[consistent]]` rule.
fn compile_consistent(c: &ConsistentFile, records: &[RecordType]) -> Result<Consistent, String> {
    let mut members = Vec::new();
    let listed = !c.records.is_empty();
    for code in &c.records {
        if !records.iter().any(|r| &r.code == code) {
            return Err(format!(
                "`records` names record type {code:?}, which the layout does not define"
            ));
        }
    }
    for (ri, r) in records.iter().enumerate() {
        if r.role != Role::Detail || (listed && !c.records.contains(&r.code)) {
            continue;
        }
        let key = r.field_index(&c.key);
        let value = c.value.as_deref().map(|v| r.field_index(v));
        match (key, value) {
            (Some(k), None) => members.push((ri, k, None)),
            (Some(k), Some(Some(v))) => members.push((ri, k, Some(v))),
            _ if listed => {
                return Err(format!(
                    "record type {:?} has no field {:?}",
                    r.code,
                    if key.is_none() {
                        &c.key
                    } else {
                        c.value.as_ref().unwrap_or(&c.key)
                    }
                ));
            }
            _ => {}
        }
    }
    if members.is_empty() {
        return Err("no detail record type has the fields it names".into());
    }
    let types: Vec<&str> = members
        .iter()
        .map(|(ri, ..)| records[*ri].code.as_str())
        .collect();
    let text = match &c.value {
        Some(v) => format!(
            "Each {} always has the same {} (across {} records)",
            c.key,
            v,
            types.join(", ")
        ),
        None => format!(
            "Each {} appears once (across {} records)",
            c.key,
            types.join(", ")
        ),
    };
    Ok(Consistent {
        key: c.key.clone(),
        value: c.value.clone(),
        members,
        text,
    })
}

/// Every layout known to the tool: bundled ones, replaced or extended by files in a folder.
#[derive(Debug, Clone, Default)]
pub struct LayoutSet {
    /// Layouts by id order.
    pub layouts: Vec<Layout>,
    /// Problems met loading the override folder (the bundled layout stays in use).
    pub warnings: Vec<String>,
}

/// The interface ids the bundled layouts are for (those of the catalogue, and layouts of
/// their own such as the generic response), read once.
pub fn bundled_interfaces() -> &'static [String] {
    static IDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    IDS.get_or_init(|| {
        let mut v: Vec<String> = LayoutSet::bundled()
            .map(|s| s.layouts.into_iter().map(|l| l.interface).collect())
            .unwrap_or_default();
        v.sort();
        v.dedup();
        v
    })
}

impl LayoutSet {
    /// Bundled layouts only.
    pub fn bundled() -> Result<Self, LayoutError> {
        let mut layouts = Vec::new();
        for (name, text) in BUNDLED {
            layouts.push(Layout::parse(text, name, LayoutSource::Bundled)?);
        }
        layouts.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Self {
            layouts,
            warnings: Vec::new(),
        })
    }

    /// Bundled layouts, with `*.toml` files of `dir` (when it exists) replacing bundled layouts
    /// of the same id or adding new ones. A broken file is reported and skipped.
    pub fn with_overrides(dir: Option<&Path>) -> Result<Self, LayoutError> {
        let mut set = Self::bundled()?;
        let Some(dir) = dir else { return Ok(set) };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(set);
        };
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        for p in paths {
            match Layout::from_path(&p) {
                Ok(l) => set.insert(l),
                Err(e) => {
                    let stem = p
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let note = if set.get(&stem).is_some() {
                        "the bundled layout stays in use"
                    } else {
                        "it is not used"
                    };
                    set.warnings.push(format!("{e} ({note})"));
                }
            }
        }
        Ok(set)
    }

    /// Adds a layout, replacing one with the same id.
    pub fn insert(&mut self, layout: Layout) {
        match self.layouts.iter_mut().find(|l| l.id == layout.id) {
            Some(slot) => *slot = layout,
            None => {
                self.layouts.push(layout);
                self.layouts.sort_by(|a, b| a.id.cmp(&b.id));
            }
        }
    }

    /// The layout for an interface (or layout) id and a file of that interface: for an
    /// interface with a layout each way, the one whose file name the file fits.
    pub fn for_file(&self, id: &str, file_name: &str) -> Option<&Layout> {
        if let Some(l) = self.layouts.iter().find(|l| l.id.eq_ignore_ascii_case(id)) {
            if l.file_name.matches(file_name) {
                return Some(l);
            }
            let siblings = self
                .layouts
                .iter()
                .filter(|x| x.interface == l.interface && x.id != l.id);
            for x in siblings {
                if x.file_name.matches(file_name) {
                    return Some(x);
                }
            }
            return Some(l);
        }
        let mine: Vec<&Layout> = self
            .layouts
            .iter()
            .filter(|l| l.interface.eq_ignore_ascii_case(id))
            .collect();
        mine.iter()
            .find(|l| l.file_name.matches(file_name))
            .or_else(|| mine.iter().find(|l| l.id == l.interface))
            .or(mine.first())
            .copied()
    }

    /// Every layout of an interface (one, or one each way, and ESR's answers).
    pub fn of_interface<'a>(&'a self, interface: &'a str) -> impl Iterator<Item = &'a Layout> + 'a {
        self.layouts
            .iter()
            .filter(move |l| l.interface.eq_ignore_ascii_case(interface))
    }

    /// The layout for an interface (or layout) id.
    pub fn get(&self, id: &str) -> Option<&Layout> {
        self.layouts
            .iter()
            .find(|l| l.id.eq_ignore_ascii_case(id))
            .or_else(|| {
                self.layouts
                    .iter()
                    .find(|l| l.interface.eq_ignore_ascii_case(id))
            })
    }
}

/// Numeric bound check helper shared by the validator: is `v` within the field's min and max.
pub fn within(field: &Field, v: i128) -> bool {
    field.min.is_none_or(|m| v >= m) && field.max.is_none_or(|m| v <= m)
}

/// Formats a scaled bound for messages.
pub fn bound_text(v: i128) -> String {
    if v % SCALE == 0 {
        (v / SCALE).to_string()
    } else {
        crate::notation::format_scaled(v, MAX_DECIMALS)
            .trim_end_matches('0')
            .to_string()
    }
}

/// One row of a layout shown as a table (the layout viewer and `esr-desk layout show`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutRow {
    /// Record type code.
    pub record_type: String,
    /// 1-based field position.
    pub position: usize,
    /// Field name.
    pub field: String,
    /// ESR notation.
    pub notation: String,
    /// Required.
    pub required: bool,
    /// Identifier check, bounds, pattern, fixed value, generation, control totals, keys.
    pub rules: String,
    /// Allowed codes.
    pub codes: String,
}

/// Every rule of a layout across fields and records, in plain words, with the record type it
/// belongs to ("" for a rule across record types): what the Layouts screen lists.
pub fn rule_lines(layout: &Layout) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for rt in &layout.records {
        for r in &rt.rules {
            out.push((rt.code.clone(), r.text.clone()));
        }
        for key in &rt.unique {
            let names: Vec<&str> = key.iter().map(|&k| rt.fields[k].name.as_str()).collect();
            out.push((
                rt.code.clone(),
                format!("Each {} appears once", names.join(" + ")),
            ));
        }
        if let Some(h) = &rt.history {
            out.push((rt.code.clone(), history_words(rt, h)));
        }
    }
    for c in &layout.consistent {
        out.push((String::new(), c.text.clone()));
    }
    out
}

/// An earlier release's field counts in words ("ASA 50, ORA 15"), for the Layouts screen and
/// `layout show`.
pub fn release_counts(layout: &Layout, r: &Release) -> String {
    r.counts
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.map(|n| format!("{} {n}", layout.records[i].code)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a layout keeps as warnings rather than errors, in words (empty: nothing).
pub fn tolerated_words(layout: &Layout) -> Vec<&'static str> {
    [
        (
            layout.spare_fields,
            "empty spare fields past a record's end",
        ),
        (layout.unknown_records, "record types it does not list"),
    ]
    .into_iter()
    .filter(|(t, _)| *t == Tolerance::Warning)
    .map(|(_, w)| w)
    .collect()
}

/// A date-tracked record's rule in words.
pub fn history_words(rt: &RecordType, h: &History) -> String {
    let key: Vec<&str> = h.key.iter().map(|&k| rt.fields[k].name.as_str()).collect();
    format!(
        "Date-tracked: one {} may have several rows, each for its own period from {} to {} (empty: open); the periods must not overlap or repeat, and none may end before it starts",
        key.join(" + "),
        rt.fields[h.start].name,
        rt.fields[h.end].name
    )
}

/// A layout as rows, one a field, in file order.
pub fn describe(layout: &Layout) -> Vec<LayoutRow> {
    let mut rows = Vec::new();
    for rt in &layout.records {
        for (i, f) in rt.fields.iter().enumerate() {
            let mut rules = Vec::new();
            if let Some(c) = f.check {
                rules.push(format!("a valid {}", c.label()));
            }
            if let Some(v) = &f.value {
                rules.push(format!("always “{v}”"));
            }
            if !f.rule_text.is_empty() {
                rules.push(f.rule_text.clone());
            }
            if let Some(h) = &rt.history
                && (h.key.contains(&i) || h.start == i || h.end == i)
            {
                rules.push(history_words(rt, h));
            }
            for key in &rt.unique {
                if key.contains(&i) {
                    let others: Vec<&str> = key
                        .iter()
                        .filter(|k| **k != i)
                        .filter_map(|k| rt.fields.get(*k).map(|f| f.name.as_str()))
                        .collect();
                    rules.push(if others.is_empty() {
                        "no two records may share it".to_string()
                    } else {
                        format!(
                            "no two records may share it together with {}",
                            others.join(" and ")
                        )
                    });
                }
            }
            for r in &rt.rules {
                let other = match r.kind {
                    RuleKind::Equal { other, .. } => Some(other),
                    _ => None,
                };
                if r.field() == i || other == Some(i) {
                    rules.push(r.text.clone());
                }
            }
            for c in &layout.consistent {
                if c.members.iter().any(|(ri, kf, vf)| {
                    layout.records[*ri].code == rt.code && (*kf == i || *vf == Some(i))
                }) {
                    rules.push(c.text.clone());
                }
            }
            rows.push(LayoutRow {
                record_type: rt.code.clone(),
                position: i + 1,
                field: f.name.clone(),
                notation: match &f.also {
                    Some(a) => format!("{} or {a}", f.format),
                    None => f.format.to_string(),
                },
                required: f.required,
                rules: rules.join("; "),
                codes: f
                    .codes
                    .iter()
                    .map(|c| f.code_label(c))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    rows
}

/// Checks a layout's text and, when it is valid, saves it in the trust's layouts folder as
/// `<id>.toml` (written to a temporary file and renamed), replacing any earlier override. When
/// the text is invalid nothing is written and the layout in use stays as it was.
pub fn install_override(dir: &Path, text: &str) -> Result<Layout, LayoutError> {
    let probe = Layout::parse(text, "the edited layout", LayoutSource::Bundled)?;
    let path = dir.join(format!("{}.toml", probe.id));
    safe_file_name(&format!("{}.toml", probe.id)).map_err(|message| LayoutError::Invalid {
        name: probe.id.clone(),
        message,
    })?;
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, text.as_bytes())?;
        tmp.as_file().sync_all()?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    };
    write().map_err(|source| LayoutError::Read {
        path: path.clone(),
        source,
    })?;
    Layout::from_path(&path)
}

/// Removes the trust's override of a layout, so the bundled one is used again. Returns false
/// when there was none.
pub fn remove_override(dir: &Path, id: &str) -> std::io::Result<bool> {
    let path = dir.join(format!("{id}.toml"));
    if safe_file_name(&format!("{id}.toml")).is_err() || !path.exists() {
        return Ok(false);
    }
    std::fs::remove_file(path)?;
    Ok(true)
}

#[cfg(test)]
mod sensitivity_tests {
    use super::{LayoutSet, Sensitivity};

    #[test]
    fn masks_keep_enough_to_spot_a_slip_and_never_the_value() {
        let id = Sensitivity::Identifier;
        assert_eq!(
            id.mask("QQ123456Z"),
            "QQ\u{2022}\u{2022}\u{2022}\u{2022}\u{2022}6Z"
        );
        assert_eq!(
            id.mask("4857773456"),
            "48\u{2022}\u{2022}\u{2022}\u{2022}\u{2022}\u{2022}56"
        );
        let h = Sensitivity::Health.mask("S10 Anxiety/stress/depression");
        assert!(h.chars().all(|c| c == '\u{2022}'));
        assert_eq!(Sensitivity::Contact.mask(""), "");
        // A date keeps its year, wherever its own form puts it.
        let set = LayoutSet::bundled().expect("layouts");
        let dob = |id: &str| {
            set.get(id)
                .expect("layout")
                .records
                .iter()
                .flat_map(|r| r.fields.iter())
                .find(|f| f.name == "Date of Birth")
                .cloned()
                .expect("field")
        };
        let uk = dob("active-directory");
        assert_eq!(
            uk.mask("17/05/1984").as_deref(),
            Some("\u{2022}\u{2022}/\u{2022}\u{2022}/1984")
        );
        assert_eq!(
            uk.mask("1984").as_deref(),
            Some("\u{2022}\u{2022}\u{2022}\u{2022}")
        );
        // A date typed in another form (as a spreadsheet leaves it) shows nothing of itself.
        assert_eq!(
            uk.mask("1984-05-17").as_deref(),
            Some("\u{2022}".repeat(10).as_str())
        );
        let compact = set
            .layouts
            .iter()
            .flat_map(|l| l.records.iter().flat_map(|r| r.fields.iter()))
            .find(|f| f.name == "Date of Birth" && f.format.to_string() == "date(YYYYMMDD)")
            .cloned()
            .expect("a compact date of birth");
        assert_eq!(
            compact.mask("19840517").as_deref(),
            Some("1984\u{2022}\u{2022}\u{2022}\u{2022}")
        );
        // Not sensitive: no mask.
        let emp = set.get("absences").expect("layout").records[0].fields[0].clone();
        assert_eq!(emp.mask("10120001"), None);
    }
}
