//! The validator: records in, issues out.
//!
//! [`Validator`] is fed one [`Line`] at a time by the streaming reader and keeps only what the
//! file-level rules need (unique-key hashes, running counts and control totals), so memory does
//! not grow with the width of the file and grows only by a few bytes a keyed record. Every issue
//! carries the physical line, record type, field, a stable rule code (see [`crate::rules`]) and
//! a plain-English message. [`check_fields`] checks a single record and is what the store calls
//! to re-validate a record after an edit. No I/O here beyond [`validate_path`], no UI.

use crate::layout::{Control, Field, Layout, RecordRule, Role, bound_text, within};
use crate::notation::{Format, char_len, format_exact};
use crate::reader::{Fields, Line, ReadError, ReadProblem};
use crate::rules as r;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// How serious an issue is. Errors reject the record; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The record would be rejected by ESR or the receiving system.
    Error,
    /// Worth a look; does not reject the record.
    Warning,
}

/// One problem found in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    /// 1-based physical line.
    pub line: u64,
    /// Record type code, when known.
    pub record_type: Option<String>,
    /// Field name; None for record- and file-level issues.
    pub field: Option<String>,
    /// Stable rule code.
    pub rule: String,
    /// Error or warning.
    pub severity: Severity,
    /// Plain-English message.
    pub message: String,
    /// Field position (0-based), for the table; not part of the JSON contract.
    #[serde(skip)]
    pub field_index: Option<usize>,
}

/// The result of validating one file: the `validate --json` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Interface id.
    pub interface: String,
    /// File name.
    pub file: String,
    /// Records read (blank lines and the column-name row are not records).
    pub records: u64,
    /// Records with at least one error.
    pub rejected_records: u64,
    /// Every issue, in line order.
    pub issues: Vec<Issue>,
}

impl Report {
    /// True when no issue is an error.
    pub fn is_clean(&self) -> bool {
        !self.issues.iter().any(|i| i.severity == Severity::Error)
    }

    /// Issue counts by rule, most frequent first.
    pub fn counts_by_rule(&self) -> Vec<(String, usize)> {
        count_by_rule(&self.issues)
    }
}

/// Issue counts by rule, most frequent first (ties by code).
pub fn count_by_rule(issues: &[Issue]) -> Vec<(String, usize)> {
    let mut m: HashMap<&str, usize> = HashMap::new();
    for i in issues {
        *m.entry(i.rule.as_str()).or_default() += 1;
    }
    let mut v: Vec<(String, usize)> = m.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// Why a file could not be validated at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// Reading failed.
    #[error("{file}: {source}")]
    Read {
        /// File name.
        file: String,
        /// Cause.
        source: ReadError,
    },
    /// The user cancelled.
    #[error("cancelled")]
    Cancelled,
}

/// Something that can hand out fields by position: a streamed line or a stored record.
pub trait FieldSource {
    /// Number of fields.
    fn count(&self) -> usize;
    /// Field `i` ("" when absent).
    fn field(&self, i: usize) -> &str;
}

impl FieldSource for Fields<'_> {
    fn count(&self) -> usize {
        self.len()
    }
    fn field(&self, i: usize) -> &str {
        self.get(i)
    }
}

impl<S: AsRef<str>> FieldSource for [S] {
    fn count(&self) -> usize {
        self.len()
    }
    fn field(&self, i: usize) -> &str {
        self.get(i).map_or("", AsRef::as_ref)
    }
}

fn shown(v: &str) -> String {
    if char_len(v) > 40 {
        let cut: String = v.chars().take(37).collect();
        format!("\"{cut}...\"")
    } else {
        format!("\"{v}\"")
    }
}

fn issue(
    line: u64,
    rt: Option<&str>,
    field: Option<(usize, &Field)>,
    rule: &str,
    severity: Severity,
    message: String,
) -> Issue {
    Issue {
        line,
        record_type: rt.map(str::to_string),
        field: field.map(|(_, f)| f.name.clone()),
        rule: rule.to_string(),
        severity,
        message,
        field_index: field.map(|(i, _)| i),
    }
}

/// Checks one field's value; returns the comparable value (numbers, dates) when it passes.
pub fn check_value(field: &Field, v: &str) -> Result<Option<i128>, (&'static str, String)> {
    if let Some(c) = &field.value {
        if v != c {
            return Err((
                r::VALUE_ERROR,
                format!("{} must be {} but is {}", field.name, shown(c), shown(v)),
            ));
        }
        return Ok(None);
    }
    if v.is_empty() {
        if field.required {
            return Err((
                r::REQUIRED_ERROR,
                format!("{} is required but is empty", field.name),
            ));
        }
        return Ok(None);
    }
    let n = field
        .format
        .check(v)
        .map_err(|p| (p.rule, format!("{} {} {}", field.name, shown(v), p.reason)))?;
    if let Some(min) = field.min_length {
        let n = char_len(v);
        if n < min {
            return Err((
                r::LENGTH_ERROR,
                format!(
                    "{} {} is {n} characters long; at least {min} are required",
                    field.name,
                    shown(v)
                ),
            ));
        }
    }
    if !field.codes.is_empty() && !field.codes.iter().any(|c| c == v) {
        let mut list = field
            .codes
            .iter()
            .take(12)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if field.codes.len() > 12 {
            list.push_str(", ...");
        }
        return Err((
            r::CODE_ERROR,
            format!(
                "{} {} is not one of the allowed codes: {list}",
                field.name,
                shown(v)
            ),
        ));
    }
    if let Some(check) = field.check {
        check.check(v).map_err(|why| {
            (
                r::IDENTIFIER_ERROR,
                format!(
                    "{} {} is not a valid {}: it {why}",
                    field.name,
                    shown(v),
                    check.label()
                ),
            )
        })?;
    }
    let numeric = field.is_numeric();
    if numeric && !within(field, n) {
        let range = match (field.min, field.max) {
            (Some(a), Some(b)) => format!("between {} and {}", bound_text(a), bound_text(b)),
            (Some(a), None) => format!("at least {}", bound_text(a)),
            (None, Some(b)) => format!("at most {}", bound_text(b)),
            (None, None) => String::new(),
        };
        return Err((
            r::RANGE_ERROR,
            format!("{} {} must be {range}", field.name, shown(v)),
        ));
    }
    if let Some(p) = &field.pattern
        && !p.is_match(v)
    {
        return Err((
            r::PATTERN_ERROR,
            format!(
                "{} {} does not have the expected form",
                field.name,
                shown(v)
            ),
        ));
    }
    let comparable = !matches!(
        field.format,
        Format::Text { .. } | Format::Fixed { .. } | Format::Flag { .. }
    );
    Ok(comparable.then_some(n))
}

/// Checks one record of record type `ri` (field counts, every field, cross-field rules).
/// Read problems of the line are passed in `problems`. Returns true when an error was found.
pub fn check_fields<F: FieldSource + ?Sized>(
    layout: &Layout,
    ri: usize,
    fields: &F,
    line: u64,
    problems: &[ReadProblem],
    out: &mut Vec<Issue>,
) -> bool {
    let rt = &layout.records[ri];
    let code = Some(rt.code.as_str());
    let before = out.len();
    // Fields already reported (a bitset: layouts have at most a few hundred fields).
    let mut bad_field = FieldSet::default();
    for p in problems {
        let (fi, rule, msg) = match p {
            ReadProblem::Encoding { field, byte } => (
                *field,
                r::ENCODING_ERROR,
                format!(
                    "has a byte (0x{byte:02X}) that is not valid {}: the file may have been saved with another encoding",
                    layout.dialect.encoding.name()
                ),
            ),
            ReadProblem::Binary { field } => (
                *field,
                r::ENCODING_ERROR,
                "contains a binary (NUL) byte".to_string(),
            ),
            ReadProblem::BrokenQuote { field, reason } => {
                (*field, r::BROKEN_QUOTE, reason.to_string())
            }
        };
        let f = rt.fields.get(fi).map(|f| (fi, f));
        let name = f.map_or_else(|| format!("Field {}", fi + 1), |(_, f)| f.name.clone());
        out.push(issue(
            line,
            code,
            f,
            rule,
            Severity::Error,
            format!("{name} {msg}"),
        ));
        bad_field.insert(fi);
    }
    let n = fields.count();
    let want = rt.fields.len();
    if n > want {
        out.push(issue(
            line,
            code,
            None,
            r::EXTRA_CELL,
            Severity::Error,
            format!("{} record has {n} fields; it should have {want} (a stray delimiter or an extra column?)", rt.name),
        ));
    } else if n < want {
        let first_missing = &rt.fields[n];
        out.push(issue(
            line,
            code,
            Some((n, first_missing)),
            r::MISSING_CELL,
            Severity::Error,
            format!(
                "{} record has {n} fields; it should have {want} (from {} onwards are missing)",
                rt.name, first_missing.name
            ),
        ));
    }
    for (fi, f) in rt.fields.iter().enumerate().take(n) {
        if bad_field.contains(fi) {
            continue;
        }
        if let Err((rule, msg)) = check_value(f, fields.field(fi)) {
            out.push(issue(line, code, Some((fi, f)), rule, Severity::Error, msg));
            bad_field.insert(fi);
        }
    }
    // The comparable value of a field that passed its checks (for order rules).
    let value = |fi: usize| -> Option<i128> {
        if fi >= n || bad_field.contains(fi) || fields.field(fi).is_empty() {
            return None;
        }
        rt.fields[fi].format.check(fields.field(fi)).ok()
    };
    for rule in &rt.rules {
        match rule {
            RecordRule::NotBefore { field, other } => {
                if let (Some(a), Some(b)) = (value(*field), value(*other))
                    && a < b
                {
                    let (fa, fb) = (&rt.fields[*field], &rt.fields[*other]);
                    out.push(issue(
                        line,
                        code,
                        Some((*field, fa)),
                        r::ORDER_ERROR,
                        Severity::Error,
                        format!(
                            "{} {} is before {} {}",
                            fa.name,
                            shown(fields.field(*field)),
                            fb.name,
                            shown(fields.field(*other))
                        ),
                    ));
                }
            }
            RecordRule::RequiredIf {
                field,
                when,
                equals,
            } => {
                let w = fields.field(*when);
                if *field < n && fields.field(*field).is_empty() && equals.iter().any(|e| e == w) {
                    let (ff, fw) = (&rt.fields[*field], &rt.fields[*when]);
                    out.push(issue(
                        line,
                        code,
                        Some((*field, ff)),
                        r::REQUIRED_IF_ERROR,
                        Severity::Error,
                        format!(
                            "{} is required when {} is {} but is empty",
                            ff.name,
                            fw.name,
                            shown(w)
                        ),
                    ));
                }
            }
            RecordRule::Equal { field, other } => {
                if let (Some(a), Some(b)) = (value(*field), value(*other))
                    && a != b
                {
                    let (fa, fb) = (&rt.fields[*field], &rt.fields[*other]);
                    let dec = match fa.format {
                        Format::Numeric { decimals, .. } | Format::Padded { decimals, .. } => {
                            decimals
                        }
                        _ => 0,
                    };
                    out.push(issue(
                        line,
                        code,
                        Some((*field, fa)),
                        r::BALANCE_ERROR,
                        Severity::Error,
                        format!(
                            "{} {} and {} {} must be equal: they differ by {}",
                            fa.name,
                            shown(fields.field(*field)),
                            fb.name,
                            shown(fields.field(*other)),
                            format_exact((a - b).abs(), dec)
                        ),
                    ));
                }
            }
            RecordRule::Reference { .. } => {} // needs a store: see crate::store
        }
    }
    out[before..].iter().any(|i| i.severity == Severity::Error)
}

/// Hash of key `ki` of record type `ri` for a record, or None when a key field is empty (an
/// empty key is not compared). The same function serves the validator and the store.
pub fn key_hash<F: FieldSource + ?Sized>(
    layout: &Layout,
    ri: usize,
    ki: usize,
    fields: &F,
) -> Option<u64> {
    let key = layout.records.get(ri)?.unique.get(ki)?;
    if key.iter().any(|&k| fields.field(k).is_empty()) {
        return None;
    }
    let mut h = std::hash::DefaultHasher::new();
    (ri, ki).hash(&mut h);
    for &k in key {
        fields.field(k).hash(&mut h);
    }
    Some(h.finish())
}

/// The issue for a record whose key `ki` repeats the record at `first_line`.
pub fn unique_issue<F: FieldSource + ?Sized>(
    layout: &Layout,
    ri: usize,
    ki: usize,
    fields: &F,
    line: u64,
    first_line: u64,
) -> Issue {
    let rt = &layout.records[ri];
    let key = &rt.unique[ki];
    let names: Vec<&str> = key.iter().map(|&k| rt.fields[k].name.as_str()).collect();
    let vals: Vec<String> = key.iter().map(|&k| shown(fields.field(k))).collect();
    issue(
        line,
        Some(&rt.code),
        Some((key[0], &rt.fields[key[0]])),
        r::UNIQUE_ERROR,
        Severity::Error,
        format!(
            "{} {} is the same as line {first_line}; it must be unique",
            names.join(" + "),
            vals.join(" + ")
        ),
    )
}

/// Running counts and control totals that trailer fields are checked against.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    /// Records between header and trailer (unknown types included).
    pub body: u64,
    /// Records by record type index.
    pub by_type: Vec<u64>,
    /// Sums of numeric fields, `[record type][field]`, scaled.
    pub sums: Vec<Vec<i128>>,
}

/// Trailer control-total issues for a trailer record `ri` with the given totals.
pub fn trailer_issues<F: FieldSource + ?Sized>(
    layout: &Layout,
    ri: usize,
    fields: &F,
    line: u64,
    totals: &Totals,
    out: &mut Vec<Issue>,
) {
    let rt = &layout.records[ri];
    for (fi, f) in rt.fields.iter().enumerate() {
        let Some(control) = &f.control else { continue };
        let Ok(stated) = f.format.check(fields.field(fi)) else {
            continue;
        };
        match control {
            Control::Count(which) => {
                let actual = match which {
                    None => totals.body,
                    Some(t) => totals.by_type.get(*t).copied().unwrap_or(0),
                };
                if stated != i128::from(actual) * crate::notation::SCALE {
                    let of = which.map_or_else(
                        || "records".to_string(),
                        |t| format!("{} records", layout.records[t].code),
                    );
                    out.push(issue(
                        line,
                        Some(&rt.code),
                        Some((fi, f)),
                        r::TRAILER_COUNT,
                        Severity::Error,
                        format!(
                            "{} says {} {of} but the file has {actual}",
                            f.name,
                            fields.field(fi)
                        ),
                    ));
                }
            }
            Control::Sum(targets) => {
                let actual: i128 = targets
                    .iter()
                    .map(|&(r, c)| {
                        totals
                            .sums
                            .get(r)
                            .and_then(|v| v.get(c))
                            .copied()
                            .unwrap_or(0)
                    })
                    .sum();
                if stated != actual {
                    let dec = match f.format {
                        Format::Numeric { decimals, .. } | Format::Padded { decimals, .. } => {
                            decimals
                        }
                        _ => 2,
                    };
                    out.push(issue(
                        line,
                        Some(&rt.code),
                        Some((fi, f)),
                        r::TRAILER_TOTAL,
                        Severity::Error,
                        format!(
                            "{} says {} but the records add up to {}",
                            f.name,
                            fields.field(fi),
                            format_exact(actual, dec)
                        ),
                    ));
                }
            }
        }
    }
}

/// The fields of record type `ri` that a trailer sums.
pub fn summed_fields(layout: &Layout) -> Vec<(usize, usize)> {
    let Some(t) = layout.trailer() else {
        return Vec::new();
    };
    layout.records[t]
        .fields
        .iter()
        .filter_map(|f| {
            if let Some(Control::Sum(v)) = &f.control {
                Some(v.clone())
            } else {
                None
            }
        })
        .flatten()
        .collect()
}

/// The issue for a record whose type the layout does not define.
pub fn unknown_type_issue<F: FieldSource + ?Sized>(
    layout: &Layout,
    fields: &F,
    line: u64,
) -> Issue {
    let d = layout.discriminator.unwrap_or(0);
    let name = layout
        .records
        .first()
        .and_then(|r| r.fields.get(d))
        .map(|f| f.name.clone());
    let known: Vec<&str> = layout.records.iter().map(|r| r.code.as_str()).collect();
    Issue {
        line,
        record_type: None,
        field: name,
        rule: r::UNKNOWN_RECORD_TYPE.into(),
        severity: Severity::Error,
        message: format!(
            "Record type {} is not one this interface uses ({})",
            shown(fields.field(d)),
            known.join(", ")
        ),
        field_index: Some(d),
    }
}

/// A small set of field positions.
#[derive(Default, Clone, Copy)]
struct FieldSet([u64; 8]);

impl FieldSet {
    fn insert(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }
    fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

/// Keys are already hashes: use them as they are.
#[derive(Default, Clone, Copy)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type KeyMap = HashMap<u64, u64, std::hash::BuildHasherDefault<IdentityHasher>>;

/// Options for a validation run.
#[derive(Default)]
pub struct Options<'a> {
    /// Set to stop early; the run returns [`ValidateError::Cancelled`].
    pub cancel: Option<&'a AtomicBool>,
    /// Called about every 64k lines with (bytes read, lines read).
    pub progress: Option<&'a mut dyn FnMut(u64, u64)>,
}

/// What the validator decided about one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A blank line (not a record).
    Blank,
    /// The column-name row (not a record).
    ColumnNames,
    /// A record of the given type (None: unknown type); `rejected` when it has an error.
    Record {
        /// Record type index.
        record_type: Option<usize>,
        /// At least one error.
        rejected: bool,
    },
}

/// Streaming validator for one file. Feed lines with [`Validator::check_line`], then call
/// [`Validator::finish`].
pub struct Validator<'a> {
    layout: &'a Layout,
    keys: KeyMap,
    summed: Vec<(usize, usize)>,
    first_record: bool,
    column_row_pending: bool,
    header_line: Option<u64>,
    trailer_line: Option<u64>,
    after_trailer_reported: bool,
    last_record_line: u64,
    body_count: u64,
    count_by_type: Vec<u64>,
    sums: Vec<Vec<i128>>,
    /// Records seen.
    pub records: u64,
    /// Records with an error.
    pub rejected: u64,
}

impl<'a> Validator<'a> {
    /// A validator for `layout`.
    pub fn new(layout: &'a Layout) -> Self {
        let n = layout.records.len();
        Self {
            layout,
            keys: KeyMap::default(),
            summed: summed_fields(layout),
            first_record: true,
            column_row_pending: layout.column_names,
            header_line: None,
            trailer_line: None,
            after_trailer_reported: false,
            last_record_line: 0,
            body_count: 0,
            count_by_type: vec![0; n],
            sums: layout
                .records
                .iter()
                .map(|r| vec![0; r.fields.len()])
                .collect(),
            records: 0,
            rejected: 0,
        }
    }

    /// Checks one line, appending issues to `out`.
    pub fn check_line(&mut self, l: &Line<'_>, out: &mut Vec<Issue>) -> Verdict {
        let layout = self.layout;
        if l.blank && l.problems.is_empty() {
            out.push(issue(
                l.line,
                None,
                None,
                r::BLANK_ROW,
                Severity::Error,
                "This line is blank: remove it".into(),
            ));
            return Verdict::Blank;
        }
        if self.column_row_pending {
            self.column_row_pending = false;
            let want = layout.column_row();
            let got: Vec<&str> = l.fields.iter().collect();
            let same = want.len() == got.len()
                && want
                    .iter()
                    .zip(&got)
                    .all(|(w, g)| w.eq_ignore_ascii_case(g.trim()));
            if !same {
                let at = want
                    .iter()
                    .zip(got.iter().chain(std::iter::repeat(&"")))
                    .position(|(w, g)| !w.eq_ignore_ascii_case(g.trim()))
                    .unwrap_or(want.len());
                let what = want
                    .get(at)
                    .map_or_else(|| "no more columns".to_string(), |w| format!("\"{w}\""));
                out.push(issue(
                    l.line,
                    None,
                    None,
                    r::COLUMN_NAMES,
                    Severity::Error,
                    format!(
                        "Line {} should be the row of column names; column {} should be {what}",
                        l.line,
                        at + 1
                    ),
                ));
            }
            return Verdict::ColumnNames;
        }
        self.records += 1;
        let before = out.len();
        let ri = match layout.discriminator {
            None => Some(0),
            Some(d) => layout.record_index(l.fields.get(d)),
        };
        if self.trailer_line.is_some() && !self.after_trailer_reported {
            self.after_trailer_reported = true;
            out.push(issue(
                l.line,
                ri.map(|i| layout.records[i].code.as_str()),
                None,
                r::TRAILER_NOT_LAST,
                Severity::Error,
                format!("Line {} comes after the trailer record (line {}): the trailer must be the last record", l.line, self.trailer_line.unwrap_or(0)),
            ));
        }
        let role = ri.map(|i| layout.records[i].role);
        if self.first_record {
            self.first_record = false;
            if let Some(h) = layout.header()
                && role != Some(Role::Header)
            {
                out.push(issue(
                    l.line,
                    ri.map(|i| layout.records[i].code.as_str()),
                    None,
                    r::HEADER_MISSING,
                    Severity::Error,
                    format!(
                        "The file must start with a {} ({}) record",
                        layout.records[h].name, layout.records[h].code
                    ),
                ));
            }
        } else if role == Some(Role::Header) {
            out.push(issue(
                l.line,
                ri.map(|i| layout.records[i].code.as_str()),
                None,
                r::HEADER_NOT_FIRST,
                Severity::Error,
                format!(
                    "A header record is only allowed as the first record{}",
                    self.header_line
                        .map_or(String::new(), |h| format!(" (there is one at line {h})"))
                ),
            ));
        }
        let Some(ri) = ri else {
            out.push(unknown_type_issue(layout, &l.fields, l.line));
            self.body_count += 1;
            self.last_record_line = l.line;
            self.rejected += 1;
            return Verdict::Record {
                record_type: None,
                rejected: true,
            };
        };
        let rt = &layout.records[ri];
        check_fields(layout, ri, &l.fields, l.line, l.problems, out);
        match rt.role {
            Role::Header => self.header_line = Some(self.header_line.unwrap_or(l.line)),
            Role::Trailer => {
                self.check_trailer(ri, &l.fields, l.line, out);
                self.trailer_line = Some(l.line);
            }
            Role::Detail => {
                self.body_count += 1;
                self.count_by_type[ri] += 1;
                // Only the fields a trailer sums, worked out once in `new`.
                for &(sr, fi) in &self.summed {
                    if sr == ri
                        && let Ok(v) = rt.fields[fi].format.check(l.fields.get(fi))
                    {
                        self.sums[ri][fi] += v;
                    }
                }
                self.check_keys(ri, &l.fields, l.line, out);
            }
        }
        self.last_record_line = l.line;
        let rejected = out[before..].iter().any(|i| i.severity == Severity::Error);
        if rejected {
            self.rejected += 1;
        }
        Verdict::Record {
            record_type: Some(ri),
            rejected,
        }
    }

    fn check_keys(&mut self, ri: usize, fields: &Fields<'_>, line: u64, out: &mut Vec<Issue>) {
        let rt = &self.layout.records[ri];
        for ki in 0..rt.unique.len() {
            let Some(hv) = key_hash(self.layout, ri, ki, fields) else {
                continue;
            };
            if let Some(first) = self.keys.get(&hv) {
                out.push(unique_issue(self.layout, ri, ki, fields, line, *first));
            } else {
                self.keys.insert(hv, line);
            }
        }
    }

    fn check_trailer(&mut self, ri: usize, fields: &Fields<'_>, line: u64, out: &mut Vec<Issue>) {
        let totals = Totals {
            body: self.body_count,
            by_type: self.count_by_type.clone(),
            sums: self.sums.clone(),
        };
        trailer_issues(self.layout, ri, fields, line, &totals, out);
    }

    /// File-level checks at the end of the file.
    pub fn finish(&mut self, out: &mut Vec<Issue>) {
        if let Some(t) = self.layout.trailer()
            && self.trailer_line.is_none()
        {
            let trl = &self.layout.records[t];
            out.push(issue(
                self.last_record_line.max(1),
                None,
                None,
                r::TRAILER_MISSING,
                Severity::Error,
                format!(
                    "The file must end with a {} ({}) record; it may have been cut short",
                    trl.name, trl.code
                ),
            ));
        }
        if self.records == 0 && self.layout.header().is_some() {
            out.push(issue(
                1,
                None,
                None,
                r::HEADER_MISSING,
                Severity::Error,
                "The file has no records".into(),
            ));
        }
    }
}

/// Validates a stream. `name` is the file name for the report.
pub fn validate_reader<R: std::io::BufRead + Send>(
    src: R,
    name: &str,
    layout: &Layout,
    mut opts: Options<'_>,
) -> Result<Report, ValidateError> {
    let mut v = Validator::new(layout);
    let mut issues = Vec::new();
    let read_err = |source| ValidateError::Read {
        file: name.to_string(),
        source,
    };
    let mut cancelled = false;
    let summary = crate::reader::read_ahead(src, layout.dialect, |line, bytes| {
        let ln = line.line;
        v.check_line(line, &mut issues);
        if ln & 0xFFFF == 0 {
            if opts.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                cancelled = true;
                return false;
            }
            if let Some(p) = opts.progress.as_mut() {
                p(bytes, ln);
            }
        }
        true
    })
    .map_err(read_err)?;
    if cancelled {
        return Err(ValidateError::Cancelled);
    }
    v.finish(&mut issues);
    if let Some(at) = summary.looks_utf8_at {
        issues.push(Issue {
            line: at,
            record_type: None,
            field: None,
            rule: r::ENCODING_MISMATCH.into(),
            severity: Severity::Warning,
            message: format!(
                "Line {at} reads as UTF-8 text but the layout says {}: accented letters may show wrongly; check how the file was saved",
                layout.dialect.encoding.name()
            ),
            field_index: None,
        });
    }
    issues.sort_by_key(|i| i.line);
    Ok(Report {
        interface: layout.interface.clone(),
        file: name.to_string(),
        records: v.records,
        rejected_records: v.rejected,
        issues,
    })
}

/// Validates a file on disk.
pub fn validate_path(
    path: &Path,
    layout: &Layout,
    opts: Options<'_>,
) -> Result<Report, ValidateError> {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let f = crate::reader::open(path).map_err(|e| ValidateError::Read {
        file: name.clone(),
        source: ReadError::Io(e),
    })?;
    validate_reader(f, &name, layout, opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::LayoutSet;

    /// Random bytes shaped like delimited text (delimiters, quotes, line ends, high and NUL
    /// bytes, record-type codes) never panic the reader or validator, whatever the layout.
    #[test]
    fn random_input_never_panics() {
        let set = LayoutSet::bundled().expect("layouts");
        let mut rng = fastrand::Rng::with_seed(2026);
        let alphabet: &[&[u8]] = &[
            b",",
            b"|",
            b"~",
            b"\"",
            b"\r\n",
            b"\n",
            b"\r",
            b"HDR",
            b"TRL",
            b"PRA",
            b"ABS",
            b"20261231",
            b"31/02/2026",
            b"-1.5",
            b"\xe9",
            b"\xff",
            b"\x81",
            b"\0",
            b"x",
            b" ",
            b"\xef\xbb\xbf",
        ];
        for _ in 0..400 {
            let mut bytes = Vec::new();
            for _ in 0..rng.usize(0..400) {
                bytes.extend_from_slice(alphabet[rng.usize(..alphabet.len())]);
            }
            for layout in &set.layouts {
                let r = validate_reader(&bytes[..], "fuzz", layout, Options::default());
                if let Ok(rep) = r {
                    assert!(rep.rejected_records <= rep.records);
                    assert!(rep.issues.windows(2).all(|w| w[0].line <= w[1].line));
                }
            }
        }
    }
}
