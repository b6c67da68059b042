//! The one validation pipeline: bytes in, checked records and issues out.
//!
//! Decode → classify → check is one API, [`run`], and every path that judges a file consumes
//! it: `validate` ([`validate_reader`], [`validate_streaming`]), import (the store), detection
//! of what a file is, and scheduled runs. A stored record is re-judged after an edit by
//! [`check_record`], the same function the pipeline calls for each line it reads, with the
//! read problems (broken quotes) the store kept beside the record. So the same bytes always
//! get the same issues, whichever path reaches them.
//!
//! [`Validator`] is fed one [`Line`] at a time by the streaming reader and keeps only what the
//! file-level rules need (unique-key hashes, running counts and control totals).
//!
//! On more than one core, [`run`] cuts the file into chunks of whole lines (a record is one
//! physical line, so a chunk never splits one). Workers parse each chunk and judge each line
//! on its own ([`prepare`]: its record type, its record's issues, its key hashes); the calling
//! thread then takes the chunks in file order and does what needs the lines before
//! (the column row, header and trailer places, totals, duplicate and consistency keys), so the
//! result is the single-threaded one to the byte. Records are judged against the header the
//! start of the file shows; where the file turns out otherwise (a header met late), the
//! records after it are judged again in order. The key index ([`crate::keyindex`]) keeps memory
//! flat however long the file. Every issue
//! carries the physical line, record type, field, a [`Rule`] and a plain-English message.
//! Reference rules check against what the caller chose ([`References`]); with nothing chosen
//! they are reported as unchecked, on every path. No I/O here beyond reading the file given,
//! no UI.

use crate::layout::{
    Condition, Control, Field, Layout, Operand, RecordType, Role, RuleKind, SpanUnit, bound_text,
    within,
};
use crate::notation::{Format, char_len, format_exact};
use crate::reader::{Fields, Line, ReadError, ReadProblem, ReadSummary};
pub use crate::rules::{Rule, Scope, Severity};
use chrono::Datelike;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// One problem found in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    /// 1-based physical line.
    pub line: u64,
    /// Record type code, when known.
    pub record_type: Option<String>,
    /// Field name; None for record- and file-level issues.
    pub field: Option<String>,
    /// The rule broken (its stable code in JSON).
    pub rule: Rule,
    /// Error or warning.
    pub severity: Severity,
    /// Plain-English message.
    pub message: String,
    /// Field position (0-based), for the table; not part of the JSON contract.
    #[serde(skip)]
    pub field_index: Option<usize>,
}

impl Issue {
    /// An issue of `rule` (with the rule's severity).
    pub fn new(
        rule: Rule,
        line: u64,
        record_type: Option<&str>,
        field: Option<(usize, &Field)>,
        message: String,
    ) -> Self {
        Issue {
            line,
            record_type: record_type.map(str::to_string),
            field: field.map(|(_, f)| f.name.clone()),
            rule,
            severity: rule.severity(),
            message,
            field_index: field.map(|(i, _)| i),
        }
    }

    /// True for an error that rejects its record (not a warning, not a file-level problem).
    pub fn rejects_record(&self) -> bool {
        self.severity == Severity::Error && self.rule.scope() != Scope::File
    }

    /// True for a problem with the file itself that blocks every export of the batch (see
    /// [`Rule::blocks_batch`]).
    pub fn blocks_batch(&self) -> bool {
        self.rule.blocks_batch(self.severity)
    }
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
    /// The issues listed, in line order (at most [`ISSUE_CAP`] of each rule).
    pub issues: Vec<Issue>,
    /// Issues found but not listed, by rule code (too many of one rule to list).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub not_listed: BTreeMap<String, u64>,
    /// Reference rules not checked because nothing was chosen to check them against.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unchecked: Vec<Unchecked>,
    /// The earlier ESR release(s) whose field counts the records had, when not today's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_as: Option<String>,
    /// Of the issues not listed: (errors, warnings). A rule's issues may be of either
    /// severity (a spare field is a warning, another extra field an error).
    #[serde(skip)]
    pub unlisted: (u64, u64),
}

/// The words for the releases a file's records were read as: None when every record is as
/// the layout lists it today.
pub fn read_as_words(layout: &Layout, read_as: &[Option<usize>]) -> Option<String> {
    if read_as.iter().all(Option::is_none) {
        return None;
    }
    Some(
        read_as
            .iter()
            .map(|r| layout.read_as_name(*r))
            .collect::<Vec<_>>()
            .join(" and "),
    )
}

impl Report {
    /// True when no issue, listed or not, is an error: the file would not be rejected.
    pub fn is_clean(&self) -> bool {
        if self.issues.iter().any(|i| i.severity == Severity::Error) {
            return false;
        }
        if self.unlisted != (0, 0) {
            return self.unlisted.0 == 0;
        }
        // A report read back from JSON: judged by each rule's usual severity.
        !self
            .not_listed
            .keys()
            .any(|c| Rule::from_code(c).is_none_or(|r| r.severity() == Severity::Error))
    }

    /// Issue counts by rule (listed and not), most frequent first.
    pub fn counts_by_rule(&self) -> Vec<(Rule, u64)> {
        let mut v = count_by_rule(&self.issues);
        for (code, n) in &self.not_listed {
            if let Some(r) = Rule::from_code(code) {
                match v.iter_mut().find(|(x, _)| *x == r) {
                    Some(e) => e.1 += n,
                    None => v.push((r, *n)),
                }
            }
        }
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.code().cmp(b.0.code())));
        v
    }
}

/// Issue counts by rule, most frequent first (ties by code).
pub fn count_by_rule(issues: &[Issue]) -> Vec<(Rule, u64)> {
    let mut m: HashMap<Rule, u64> = HashMap::new();
    for i in issues {
        *m.entry(i.rule).or_default() += 1;
    }
    let mut v: Vec<(Rule, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.code().cmp(b.0.code())));
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
    /// The file or batch chosen as a reference does not fit the layout's reference rules.
    #[error("{0}")]
    Reference(String),
}

/// Something that can hand out fields by position: a streamed line or a stored record.
pub trait FieldSource {
    /// Number of fields.
    fn count(&self) -> usize;
    /// Field `i` ("" when absent).
    fn field(&self, i: usize) -> &str;
    /// True when every field is printable ASCII (see [`crate::text::is_plain`]).
    fn is_plain(&self) -> bool;
}

impl FieldSource for Fields<'_> {
    fn count(&self) -> usize {
        self.len()
    }
    fn field(&self, i: usize) -> &str {
        self.get(i)
    }
    fn is_plain(&self) -> bool {
        Fields::is_plain(self)
    }
}

impl<S: AsRef<str>> FieldSource for [S] {
    fn count(&self) -> usize {
        self.len()
    }
    fn field(&self, i: usize) -> &str {
        self.get(i).map_or("", AsRef::as_ref)
    }
    fn is_plain(&self) -> bool {
        self.iter().all(|f| crate::text::is_plain(f.as_ref()))
    }
}

/// A value as messages quote it: shortened, undecodable bytes shown as U+FFFD.
pub fn shown(v: &str) -> String {
    let v = crate::text::display(v);
    if char_len(&v) > 40 {
        let cut: String = v.chars().take(37).collect();
        format!("\"{cut}...\"")
    } else {
        format!("\"{v}\"")
    }
}

/// A value of `field` as messages quote it: masked when the field holds sensitive personal data
/// (an NI number shows as `"QQ•••••6Z"`), else as [`shown`] quotes it. Every message about a
/// field's value goes through here, so no message echoes a sensitive value whole.
pub fn shown_in(field: &Field, v: &str) -> String {
    match field.mask(&crate::text::display(v)) {
        Some(m) => format!("\"{m}\""),
        None => shown(v),
    }
}

/// True for an empty value or one of white space only (cheap for the usual value, which does
/// not start with white space).
fn is_blank(v: &str) -> bool {
    v.is_empty() || (v.as_bytes()[0].is_ascii_whitespace() && v.trim().is_empty())
}

/// Checks one field's value; returns the comparable value (numbers, dates) when it passes.
/// `encoding` names the file's encoding for messages about undecodable bytes.
pub fn check_value(field: &Field, v: &str) -> Result<Option<i128>, (Rule, String)> {
    check_value_in(field, v, Some("the file's encoding"))
}

fn check_value_in(
    field: &Field,
    v: &str,
    encoding: Option<&str>,
) -> Result<Option<i128>, (Rule, String)> {
    if let Some(encoding) = encoding
        && let Some((rule, why)) = crate::text::cell_problem(v, encoding)
    {
        return Err((rule, format!("{} {why}", field.name)));
    }
    if let Some(c) = &field.value {
        if v != c {
            return Err((
                Rule::ValueError,
                format!(
                    "{} must be {} but is {}",
                    field.name,
                    shown_in(field, c),
                    shown_in(field, v)
                ),
            ));
        }
        return Ok(None);
    }
    if is_blank(v) {
        if field.required {
            let what = if v.is_empty() {
                "is empty"
            } else {
                "holds only spaces"
            };
            return Err((
                Rule::RequiredError,
                format!("{} is required but {what}", field.name),
            ));
        }
        if v.is_empty() {
            return Ok(None);
        }
    }
    // A form the sources also show for this field is accepted as well.
    let checked = field
        .format
        .check(v)
        .or_else(|p| field.also.as_ref().and_then(|a| a.check(v).ok()).ok_or(p));
    let n = match checked {
        Ok(n) => n,
        Err(p) => {
            let also = field
                .also
                .as_ref()
                .map_or_else(String::new, |a| format!(" (or {a})"));
            return Err((
                p.rule,
                format!("{} {} {}{also}", field.name, shown_in(field, v), p.reason),
            ));
        }
    };
    if let Some(min) = field.min_length {
        let n = char_len(v);
        if n < min {
            return Err((
                Rule::LengthError,
                format!(
                    "{} {} is {n} characters long; at least {min} are required",
                    field.name,
                    shown_in(field, v)
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
            Rule::CodeError,
            format!(
                "{} {} is not one of the allowed codes: {list}",
                field.name,
                shown_in(field, v)
            ),
        ));
    }
    if let Some(check) = field.check {
        check.check(v).map_err(|why| {
            (
                Rule::IdentifierError,
                format!(
                    "{} {} is not a valid {}: it {why}",
                    field.name,
                    shown_in(field, v),
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
            Rule::RangeError,
            format!("{} {} must be {range}", field.name, shown_in(field, v)),
        ));
    }
    if let Some(p) = &field.pattern
        && !p.is_match(v)
    {
        return Err((
            Rule::PatternError,
            format!(
                "{} {} does not have the expected form",
                field.name,
                shown_in(field, v)
            ),
        ));
    }
    let comparable = !matches!(
        field.format,
        Format::Text { .. } | Format::Fixed { .. } | Format::Flag { .. }
    );
    Ok(comparable.then_some(n))
}

// ---------------------------------------------------------------- references

/// The values one reference rule checks against, and where they came from.
#[derive(Debug, Clone)]
pub struct RefSet {
    /// The values.
    pub values: HashSet<String>,
    /// Where they came from, for messages ("batch 12", "file LDW_....DAT").
    pub source: String,
}

/// What the reference rules of a layout check against, chosen by the officer (a stored batch
/// or a file of the other interface). A rule with nothing chosen is reported as
/// `reference-unchecked`, on every path alike.
#[derive(Debug, Clone, Default)]
pub struct References {
    sets: HashMap<(usize, usize), RefSet>,
}

/// One reference rule of a layout: (record type, rule index, other interface, its record
/// type, its field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceRule {
    /// Record type index in this layout.
    pub record: usize,
    /// Rule index in the record type.
    pub rule: usize,
    /// The field checked.
    pub field: usize,
    /// The other interface.
    pub interface: String,
    /// Its record type code.
    pub target_record: String,
    /// Its field name.
    pub target_field: String,
}

/// The reference rules of a layout.
pub fn reference_rules(layout: &Layout) -> Vec<ReferenceRule> {
    let mut out = Vec::new();
    for (ri, rt) in layout.records.iter().enumerate() {
        for (k, rule) in rt.rules.iter().enumerate() {
            if let RuleKind::Reference {
                field,
                interface,
                record,
                target,
            } = &rule.kind
            {
                out.push(ReferenceRule {
                    record: ri,
                    rule: k,
                    field: *field,
                    interface: interface.clone(),
                    target_record: record.clone(),
                    target_field: target.clone(),
                });
            }
        }
    }
    out
}

/// Values of one interface's records, gathered from a batch or a file to serve as a
/// reference: `(record type, field name) → values`.
#[derive(Debug, Clone, Default)]
pub struct RefSource {
    /// The interface the values come from.
    pub interface: String,
    /// Where they came from, for messages.
    pub label: String,
    /// The values by record type and field name.
    pub values: HashMap<(String, String), HashSet<String>>,
}

impl References {
    /// Nothing chosen: every reference rule is reported as unchecked.
    pub fn none() -> Self {
        Self::default()
    }

    /// Matches chosen sources to the layout's reference rules. A source that serves no rule
    /// is refused with a message naming what the layout refers to.
    pub fn build(layout: &Layout, sources: &[RefSource]) -> Result<Self, ValidateError> {
        let rules = reference_rules(layout);
        let mut sets = HashMap::new();
        for s in sources {
            let mut used = false;
            for r in rules.iter().filter(|r| r.interface == s.interface) {
                used = true;
                let values = s
                    .values
                    .get(&(r.target_record.clone(), r.target_field.clone()))
                    .cloned()
                    .unwrap_or_default();
                sets.insert(
                    (r.record, r.rule),
                    RefSet {
                        values,
                        source: s.label.clone(),
                    },
                );
            }
            if !used {
                let wanted: Vec<&str> = rules.iter().map(|r| r.interface.as_str()).collect();
                return Err(ValidateError::Reference(if wanted.is_empty() {
                    format!(
                        "{} has no reference rules, so {} cannot be used as a reference",
                        layout.interface, s.label
                    )
                } else {
                    format!(
                        "{} is a {} file or batch, but {} refers to {}",
                        s.label,
                        s.interface,
                        layout.interface,
                        wanted.join(", ")
                    )
                }));
            }
        }
        Ok(Self { sets })
    }

    /// The set a rule checks against, if one was chosen.
    pub fn get(&self, record: usize, rule: usize) -> Option<&RefSet> {
        self.sets.get(&(record, rule))
    }

    /// Where the checked references came from, for the store's record of the batch.
    pub fn describe(&self) -> Option<String> {
        let mut labels: Vec<&str> = self.sets.values().map(|s| s.source.as_str()).collect();
        labels.sort_unstable();
        labels.dedup();
        (!labels.is_empty()).then(|| labels.join(", "))
    }
}

/// Reads the values a layout's reference rules need from a file of the other interface.
pub fn reference_file(path: &Path, other: &Layout) -> Result<RefSource, ValidateError> {
    let name = file_name(path);
    let mut src = RefSource {
        interface: other.interface.clone(),
        label: format!("file {name}"),
        values: HashMap::new(),
    };
    let f = crate::reader::open(path).map_err(|e| ValidateError::Read {
        file: name.clone(),
        source: ReadError::Io(e),
    })?;
    crate::reader::read_ahead(f, other.dialect, |l, _| {
        let ri = match other.discriminator {
            None => Some(0),
            Some(d) => other.record_index(l.fields.get(d)),
        };
        if let Some(ri) = ri {
            let rt = &other.records[ri];
            for (fi, f) in rt.fields.iter().enumerate() {
                let v = l.fields.get(fi);
                if !v.is_empty() {
                    src.values
                        .entry((rt.code.clone(), f.name.clone()))
                        .or_default()
                        .insert(v.to_string());
                }
            }
        }
        true
    })
    .map_err(|source| ValidateError::Read { file: name, source })?;
    Ok(src)
}

/// A file's name for messages (its path when it has none).
pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

// ---------------------------------------------------------------- one record

/// The text a rule reads from a record or from the file's header ("" when absent).
pub fn operand_text<'f, F: FieldSource + ?Sized>(
    o: Operand,
    fields: &'f F,
    header: Option<&'f [String]>,
) -> &'f str {
    match o {
        Operand::Field(i) => fields.field(i),
        Operand::Header(i) => header.and_then(|h| h.get(i)).map_or("", String::as_str),
    }
}

/// Whether a rule's condition holds for a record (no condition: always). The one test of a
/// condition, for the validator and the generator.
pub fn condition_holds<F: FieldSource + ?Sized>(
    rt: &RecordType,
    when: Option<&Condition>,
    fields: &F,
    header: Option<&[String]>,
    known: &dyn Fn(usize) -> Option<i128>,
) -> bool {
    match when {
        None => true,
        Some(Condition::Equals { field, values }) => {
            let t = operand_text(*field, fields, header);
            values.iter().any(|e| e == t)
        }
        Some(Condition::Filled { field, filled }) => {
            is_blank(operand_text(*field, fields, header)) != *filled
        }
        Some(Condition::Expr(e)) => e.holds(rt, fields, known),
    }
}

/// Checks one record of record type `ri`: read problems, field counts, every field,
/// cross-field rules and chosen references. This is what the pipeline calls for each line
/// and what the store calls to re-judge a stored record after an edit. Returns true when an
/// error that rejects the record was found.
#[allow(clippy::too_many_arguments)]
pub fn check_record<F: FieldSource + ?Sized>(
    layout: &Layout,
    ri: usize,
    fields: &F,
    line: u64,
    problems: &[ReadProblem],
    against: &Against<'_>,
    out: &mut Vec<Issue>,
) -> bool {
    let refs = against.refs;
    let before = out.len();
    if let Some(bytes) = problems.iter().find_map(|p| match p {
        ReadProblem::LineTooLong { bytes } => Some(*bytes),
        ReadProblem::BrokenQuote { .. } => None,
    }) {
        out.push(line_too_long_issue(line, bytes));
        return true;
    }
    let rt = &layout.records[ri];
    let code = Some(rt.code.as_str());
    // Characters are judged field by field only when the record is not plain ASCII.
    let encoding = (!fields.is_plain()).then(|| layout.dialect.encoding.name());
    // Fields already reported (a bitset: layouts have at most a few hundred fields).
    let mut bad_field = FieldSet::default();
    for p in problems {
        if let ReadProblem::BrokenQuote { field, kind } = p {
            let fi = *field;
            let f = rt.fields.get(fi).map(|f| (fi, f));
            let name = f.map_or_else(|| format!("Field {}", fi + 1), |(_, f)| f.name.clone());
            out.push(Issue::new(
                Rule::BrokenQuote,
                line,
                code,
                f,
                format!("{name} {}", kind.reason()),
            ));
            bad_field.insert(fi);
        }
    }
    let n = fields.count();
    // How many fields it should have: as now, or as the earlier release it was written by.
    let (want, read_as) = layout.read_as(ri, n, against.header);
    let spare = n > want
        && layout.spare_fields == crate::layout::Tolerance::Warning
        && (want..n).all(|fi| fields.field(fi).trim().is_empty());
    if spare {
        // Empty fields past the end of the list: spare fields a later ESR release added.
        let mut i = Issue::new(
            Rule::ExtraCell,
            line,
            code,
            None,
            format!(
                "{} record has {n} fields, {} more than the {want} the layout lists, all empty: spare fields a later ESR release may have added; kept and exported as they came",
                rt.name,
                n - want
            ),
        );
        i.severity = crate::rules::Severity::Warning;
        out.push(i);
    } else if n > want {
        out.push(Issue::new(
            Rule::ExtraCell,
            line,
            code,
            None,
            format!("{} record has {n} fields; it should have {want} (a stray delimiter or an extra column?)", rt.name),
        ));
        // Characters in the extra fields are still judged.
        for fi in want..n {
            if let Some(encoding) = encoding
                && let Some((rule, why)) = crate::text::cell_problem(fields.field(fi), encoding)
            {
                out.push(Issue::new(
                    rule,
                    line,
                    code,
                    None,
                    format!("Field {} {why}", fi + 1),
                ));
            }
        }
    } else if n < want {
        let first_missing = &rt.fields[n];
        let release = read_as
            .and_then(|k| layout.releases.get(k))
            .map_or_else(String::new, |r| format!(" as written by {}", r.name));
        out.push(Issue::new(
            Rule::MissingCell,
            line,
            code,
            Some((n, first_missing)),
            format!(
                "{} record has {n} fields; it should have {want}{release} (from {} onwards are missing)",
                rt.name, first_missing.name
            ),
        ));
    }
    // The comparable values (dates, times, numbers) the field checks found, kept for the
    // record's rules so no value is read twice (the first 32 fields; later ones are read
    // again when a rule asks).
    let mut found = [0i128; 32];
    let mut found_set = 0u32;
    let made_header = against.made_frame && rt.role == Role::Header;
    for (fi, f) in rt.fields.iter().enumerate().take(n.min(want)) {
        if bad_field.contains(fi)
            || (made_header && f.generate.is_some() && fields.field(fi).is_empty())
        {
            continue;
        }
        match check_value_in(f, fields.field(fi), encoding) {
            Err((rule, msg)) => {
                out.push(Issue::new(rule, line, code, Some((fi, f)), msg));
                bad_field.insert(fi);
            }
            Ok(Some(v)) if fi < found.len() => {
                found[fi] = v;
                found_set |= 1 << fi;
            }
            Ok(_) => {}
        }
    }
    // The comparable value of a field that passed its checks (for the record's rules).
    let value = |fi: usize| -> Option<i128> {
        // Found only for a field that was there, filled and passed its checks.
        if fi < found.len() {
            return (found_set & (1 << fi) != 0).then(|| found[fi]);
        }
        if fi >= n || bad_field.contains(fi) || fields.field(fi).is_empty() {
            return None;
        }
        rt.fields[fi].format.check(fields.field(fi)).ok()
    };
    let header = layout.header().map(|h| &layout.records[h]);
    // The text and comparable value of what a rule reads (the value None when the text is
    // empty or does not fit its format: that is the field's own issue).
    let read_value = |o: Operand| -> Option<i128> {
        match o {
            Operand::Field(i) => value(i),
            Operand::Header(i) => {
                let t = operand_text(o, fields, against.header);
                header
                    .and_then(|h| h.fields.get(i))
                    .filter(|_| !t.is_empty())
                    .and_then(|f| f.format.check(t).ok())
            }
        }
    };
    let read = |o: Operand| -> (&str, Option<i128>) {
        (operand_text(o, fields, against.header), read_value(o))
    };
    let shown_op = |o: Operand| -> String {
        let f = crate::layout::operand_field(o, rt, header);
        let (t, _) = read(o);
        let name = crate::layout::operand_name(o, rt, header);
        match f {
            Some(f) => format!("{name} {}", shown_in(f, t)),
            None => name,
        }
    };
    // A date-tracked row's period must not end before it starts (the other history rules
    // are judged across rows: [`history_clash`]).
    if let Some(h) = &rt.history
        && !bad_field.contains(h.end)
        && let (Some(start), Some(end)) = (value(h.start), value(h.end))
        && end < start
    {
        out.push(Issue::new(
            Rule::OrderError,
            line,
            code,
            Some((h.end, &rt.fields[h.end])),
            format!(
                "{} is before {}: a period cannot end before it starts",
                shown_op(Operand::Field(h.end)),
                shown_op(Operand::Field(h.start))
            ),
        ));
    }
    for (k, rule) in rt.rules.iter().enumerate() {
        // The condition is asked only of a record that breaks the rule: most records keep
        // it, so most never pay for the condition.
        let applies = || condition_holds(rt, rule.when.as_ref(), fields, against.header, &value);
        let shown_op_is = |o: Operand| -> String {
            let name = crate::layout::operand_name(o, rt, header);
            let (t, _) = read(o);
            match crate::layout::operand_field(o, rt, header) {
                Some(f) => format!("{name} is {}", shown_in(f, t)),
                None => name,
            }
        };
        // The condition as it held, for messages ("when Debit or Credit is D").
        let because = || match &rule.when {
            Some(Condition::Equals { field, .. }) => format!(" when {}", shown_op_is(*field)),
            Some(Condition::Filled { field, filled }) => format!(
                " when {} is {}",
                crate::layout::operand_name(*field, rt, header),
                if *filled { "filled" } else { "empty" }
            ),
            Some(Condition::Expr(e)) => format!(" when {}", e.text),
            None => String::new(),
        };
        let cell = |fi: usize| Some((fi, &rt.fields[fi]));
        let own_ok = |fi: usize| fi < n && !bad_field.contains(fi);
        match &rule.kind {
            RuleKind::NotBefore { field, other } => {
                if let (Some(a), Some(b)) = (value(*field), read_value(*other))
                    && a < b
                    && applies()
                {
                    let fa = &rt.fields[*field];
                    out.push(Issue::new(
                        Rule::OrderError,
                        line,
                        code,
                        cell(*field),
                        format!(
                            "{} {} is before {}{}",
                            fa.name,
                            shown_in(fa, fields.field(*field)),
                            shown_op(*other),
                            because()
                        ),
                    ));
                }
            }
            RuleKind::Required { field } => {
                if own_ok(*field) && is_blank(fields.field(*field)) && applies() {
                    out.push(Issue::new(
                        Rule::RequiredIfError,
                        line,
                        code,
                        cell(*field),
                        format!(
                            "{} is required{} but is empty",
                            rt.fields[*field].name,
                            because()
                        ),
                    ));
                }
            }
            RuleKind::Empty { field } => {
                if *field < n && !is_blank(fields.field(*field)) && applies() {
                    let f = &rt.fields[*field];
                    out.push(Issue::new(
                        Rule::EmptyIfError,
                        line,
                        code,
                        cell(*field),
                        format!(
                            "{} must be empty{} but holds {}",
                            f.name,
                            because(),
                            shown_in(f, fields.field(*field))
                        ),
                    ));
                }
            }
            RuleKind::Equal { field, other } => {
                if let (Some(a), Some(b)) = (value(*field), value(*other))
                    && a != b
                    && applies()
                {
                    let (fa, fb) = (&rt.fields[*field], &rt.fields[*other]);
                    out.push(Issue::new(
                        Rule::BalanceError,
                        line,
                        code,
                        cell(*field),
                        format!(
                            "{} {} and {} {} must be equal: they differ by {}",
                            fa.name,
                            shown_in(fa, fields.field(*field)),
                            fb.name,
                            shown_in(fb, fields.field(*other)),
                            format_exact(
                                a.abs_diff(b).min(i128::MAX as u128) as i128,
                                decimals_of(&fa.format)
                            )
                        ),
                    ));
                }
            }
            RuleKind::SameAsHeader { field, header: hf } => {
                let (ht, hv) = read(Operand::Header(*hf));
                let t = fields.field(*field);
                if !own_ok(*field) || t.is_empty() || ht.is_empty() {
                    continue;
                }
                let f = &rt.fields[*field];
                // Dates and numbers are compared as values (the header may write them in
                // another form); text as written.
                let differs = match (f.format.check(t).ok(), hv) {
                    (Some(a), Some(b)) if f.is_numeric() || is_dated(&f.format) => a != b,
                    _ => t.trim() != ht.trim(),
                };
                if differs && applies() {
                    out.push(Issue::new(
                        Rule::HeaderMismatch,
                        line,
                        code,
                        cell(*field),
                        format!(
                            "{} {} differs from {}{}: every record of the file must match its header",
                            f.name,
                            shown_in(f, t),
                            shown_op(Operand::Header(*hf)),
                            because()
                        ),
                    ));
                }
            }
            RuleKind::Within { field, from, to } => {
                let Some(v) = value(*field) else { continue };
                let lo = from.and_then(|o| read_value(o).map(|b| (o, b)));
                let hi = to.and_then(|o| read_value(o).map(|b| (o, b)));
                let f = &rt.fields[*field];
                let what = match (lo, hi) {
                    (Some((a, x)), Some((b, y))) if v < x || v > y => {
                        format!("is outside {} to {}", shown_op(a), shown_op(b))
                    }
                    (Some((a, x)), None) if v < x => format!("is before {}", shown_op(a)),
                    (None, Some((b, y))) if v > y => format!("is after {}", shown_op(b)),
                    _ => continue,
                };
                if !applies() {
                    continue;
                }
                out.push(Issue::new(
                    Rule::PeriodError,
                    line,
                    code,
                    cell(*field),
                    format!(
                        "{} {} {what}{}",
                        f.name,
                        shown_in(f, fields.field(*field)),
                        because()
                    ),
                ));
            }
            RuleKind::FinancialYear { field, of } => {
                let Some(v) = value(*field) else { continue };
                let of_fmt = crate::layout::operand_field(*of, rt, header).map(|f| &f.format);
                let start = financial_year_of(of_fmt, operand_text(*of, fields, against.header));
                let (Some(y), Some(d)) = (start, day(v)) else {
                    continue;
                };
                let first = chrono::NaiveDate::from_ymd_opt(y, 4, 1);
                let last = chrono::NaiveDate::from_ymd_opt(y + 1, 3, 31);
                let (Some(first), Some(last)) = (first, last) else {
                    continue;
                };
                if (d < first || d > last) && applies() {
                    let f = &rt.fields[*field];
                    out.push(Issue::new(
                        Rule::PeriodError,
                        line,
                        code,
                        cell(*field),
                        format!(
                            "{} {} is outside the financial year {}/{:02} (1 April {} to 31 March {}) that {} names{}",
                            f.name,
                            shown_in(f, fields.field(*field)),
                            y,
                            (y + 1) % 100,
                            y,
                            y + 1,
                            crate::layout::operand_name(*of, rt, header),
                            because()
                        ),
                    ));
                }
            }
            RuleKind::Span {
                from,
                to,
                field,
                unit,
                min,
                max,
            } => {
                let (Some(ka), Some(kb)) = (read_value(*from), read_value(*to)) else {
                    continue;
                };
                if !own_ok(*field) {
                    continue;
                }
                let span = match unit {
                    // Days need no calendar: whole days between the two values.
                    SpanUnit::Days => match (i64::try_from(ka), i64::try_from(kb)) {
                        (Ok(a), Ok(b)) => b.div_euclid(86_400) - a.div_euclid(86_400),
                        _ => continue,
                    },
                    _ => match (day(ka), day(kb)) {
                        (Some(a), Some(b)) => span_between(a, b, *unit),
                        _ => continue,
                    },
                };
                if (min.is_some_and(|m| span < m) || max.is_some_and(|m| span > m)) && applies() {
                    let bounds = match (min, max) {
                        (Some(x), Some(y)) => format!("{x} to {y}"),
                        (Some(x), None) => format!("at least {x}"),
                        (None, Some(y)) => format!("at most {y}"),
                        (None, None) => String::new(),
                    };
                    out.push(Issue::new(
                        Rule::SpanError,
                        line,
                        code,
                        cell(*field),
                        format!(
                            "{} is {span} {} after {}; it must be {bounds} {}{}",
                            shown_op(*to),
                            unit.as_str(),
                            shown_op(*from),
                            unit.as_str(),
                            because()
                        ),
                    ));
                }
            }
            RuleKind::Computed {
                field,
                expr,
                tolerance,
            } => {
                let Some(v) = value(*field) else { continue };
                let Some(x) = expr.amount(rt, fields, &value) else {
                    continue;
                };
                let f = &rt.fields[*field];
                let dec = decimals_of(&f.format);
                // What the formula gives, rounded to the places the field holds.
                let dec = dec.min(crate::notation::MAX_DECIMALS);
                let rounded = (x * POW10_F[dec]).round();
                if !rounded.is_finite() || rounded.abs() > 1e17 {
                    continue;
                }
                // Within 64 bits here (checked above): the 128-bit conversion is a slow call.
                let expected =
                    i128::from(rounded as i64) * POW10[crate::notation::MAX_DECIMALS - dec];
                let diff = v.abs_diff(expected).min(i128::MAX as u128) as i128;
                if diff > *tolerance && applies() {
                    let tol = if *tolerance == 0 {
                        String::new()
                    } else {
                        format!(" (within {})", format_exact(*tolerance, dec))
                    };
                    // An amount worked out from personal data is masked as that data is.
                    let text = format_exact(expected, dec);
                    let worked = match expr
                        .fields()
                        .find_map(|i| rt.fields[i].sensitive)
                        .or(f.sensitive)
                    {
                        Some(s) => s.mask(&text),
                        None => shown(&text),
                    };
                    out.push(Issue::new(
                        Rule::ComputedError,
                        line,
                        code,
                        cell(*field),
                        format!(
                            "{} {} should be {} = {}{tol}{}",
                            f.name,
                            shown_in(f, fields.field(*field)),
                            expr.text,
                            worked,
                            because()
                        ),
                    ));
                }
            }
            RuleKind::Reference { field, .. } => {
                let v = fields.field(*field);
                if let Some(set) = refs.get(ri, k)
                    && own_ok(*field)
                    && !v.is_empty()
                    && !set.values.contains(v)
                    && applies()
                {
                    let f = &rt.fields[*field];
                    out.push(Issue::new(
                        Rule::ForeignKey,
                        line,
                        code,
                        cell(*field),
                        format!(
                            "{} {} is not in {} (the reference chosen for this check): check the number, or choose a newer reference",
                            f.name,
                            shown_in(f, v),
                            set.source
                        ),
                    ));
                }
            }
        }
    }
    out[before..].iter().any(Issue::rejects_record)
}

fn decimals_of(f: &Format) -> usize {
    match f {
        Format::Numeric { decimals, .. } | Format::Padded { decimals, .. } => *decimals,
        _ => 0,
    }
}

/// Powers of ten up to the scale (a table: `pow` on 128 bits is a loop, once a record).
const POW10: [i128; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// The same powers as doubles.
const POW10_F: [f64; 10] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

fn is_dated(f: &Format) -> bool {
    matches!(f, Format::Date(_) | Format::Timestamp(_))
}

/// The day of a comparable date value.
pub fn day(k: i128) -> Option<chrono::NaiveDate> {
    // In 64 bits: a 128-bit division costs many times more, once a record.
    let k = i64::try_from(k).ok()?;
    chrono::NaiveDate::from_num_days_from_ce_opt(i32::try_from(k.div_euclid(86_400)).ok()?)
}

/// The first calendar year of the financial year (1 April to 31 March) a value names: the
/// year a date falls in, or a year written `2025/26`, `2025-26` or `2025`. The one reading of
/// a financial year, for the validator and the generator.
pub fn financial_year_of(format: Option<&Format>, text: &str) -> Option<i32> {
    match format {
        Some(f) if is_dated(f) => {
            let d = day(f.check(text).ok()?)?;
            Some(if d.month() >= 4 {
                d.year()
            } else {
                d.year() - 1
            })
        }
        _ => year_named(text),
    }
}

/// The first calendar year of a financial year written `2025/26`, `2025-26` or `2025`.
fn year_named(t: &str) -> Option<i32> {
    let t = t.trim();
    let y: i32 = t.get(..4)?.parse().ok()?;
    match t.get(4..) {
        Some("") => Some(y),
        Some(rest) => {
            let next = rest.strip_prefix(['/', '-'])?;
            let n: i32 = next.parse().ok()?;
            let ok = match next.len() {
                2 => n == (y + 1) % 100,
                4 => n == y + 1,
                _ => false,
            };
            ok.then_some(y)
        }
        None => None,
    }
}

/// Whole years, whole months or days from `a` to `b` (negative when `b` is earlier), as an
/// age is counted: a year is complete on the anniversary.
pub fn span_between(a: chrono::NaiveDate, b: chrono::NaiveDate, unit: SpanUnit) -> i64 {
    let months = |a: chrono::NaiveDate, b: chrono::NaiveDate| -> i64 {
        let m = i64::from(b.year() - a.year()) * 12 + i64::from(b.month()) - i64::from(a.month());
        if m > 0 && b.day() < a.day() {
            m - 1
        } else if m < 0 && b.day() > a.day() {
            m + 1
        } else {
            m
        }
    };
    match unit {
        SpanUnit::Days => (b - a).num_days(),
        SpanUnit::Months => months(a, b),
        SpanUnit::Years => months(a, b) / 12,
    }
}

fn line_too_long_issue(line: u64, bytes: u64) -> Issue {
    Issue::new(
        Rule::LineTooLong,
        line,
        None,
        None,
        format!(
            "Line {line} is {bytes} bytes long, more than the {} a record may have: it was not read (is the file missing its line endings, or not a text file?)",
            crate::reader::MAX_LINE
        ),
    )
}

/// What a record is judged against besides its own fields: the references chosen for the run
/// and the file's header record (when the file has one). Every path that judges a record
/// (the pipeline, an edit, the generator) builds one, so they judge alike.
#[derive(Clone, Copy)]
pub struct Against<'a> {
    /// References chosen for reference rules.
    pub refs: &'a References,
    /// The fields of the file's header record, once read.
    pub header: Option<&'a [String]>,
    /// The header was made by this program (the file was converted from a table): its
    /// generated fields are the export's to fill, so one not known yet (the VPD code before
    /// it is set) is not judged; the export fills it, and refuses to run without it.
    pub made_frame: bool,
}

impl<'a> Against<'a> {
    /// Only references: no header (a file without one, or before it is read).
    pub fn refs(refs: &'a References) -> Self {
        Against {
            refs,
            header: None,
            made_frame: false,
        }
    }
}

/// The seed of the key hashes the store keeps.
const KEY_SEED: u64 = 0x4553_525f_4b45_5953;

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
    // A fixed hash with a fixed seed (never std's DefaultHasher, whose algorithm may change
    // between Rust releases): the store keeps these hashes in its key index. Should the hash
    // ever change, a store migration marks every batch's index to be built again.
    use std::hash::BuildHasher as _;
    let mut h = foldhash::quality::FixedState::with_seed(KEY_SEED).build_hasher();
    (ri, ki).hash(&mut h);
    for &k in key {
        fields.field(k).hash(&mut h);
    }
    Some(h.finish())
}

/// A date-tracked record's entity and period: the hash of its history key, its first day and
/// its last (`i32::MAX` when open-ended: the end date is empty). None when its record type is
/// not date-tracked, a key field is empty, or a date is missing, not a real date or ends the
/// period before it starts (each its own issue). The same function serves the validator and
/// the store.
pub fn period_of<F: FieldSource + ?Sized>(
    layout: &Layout,
    ri: usize,
    fields: &F,
) -> Option<(u64, i32, i32)> {
    let rt = layout.records.get(ri)?;
    let h = rt.history.as_ref()?;
    if h.key.iter().any(|&k| fields.field(k).is_empty()) {
        return None;
    }
    let days = |fi: usize| -> Option<i32> {
        let k = rt.fields[fi].format.check(fields.field(fi)).ok()?;
        i32::try_from(i64::try_from(k).ok()?.div_euclid(86_400)).ok()
    };
    let start = days(h.start)?;
    let end = if fields.field(h.end).trim().is_empty() {
        i32::MAX
    } else {
        days(h.end)?
    };
    if end < start {
        return None;
    }
    use std::hash::BuildHasher as _;
    let mut hasher = foldhash::quality::FixedState::with_seed(KEY_SEED).build_hasher();
    ("history", ri).hash(&mut hasher);
    for &k in &h.key {
        fields.field(k).hash(&mut hasher);
    }
    Some((hasher.finish(), start, end))
}

/// The first earlier row of the same entity a period clashes with, in line order: its line,
/// and true when it has the very same period (a duplicate) rather than an overlapping one.
/// The one place the rule is decided, for the validator and for edits.
pub fn history_clash(
    start: i32,
    end: i32,
    earlier: impl IntoIterator<Item = (u64, i32, i32)>,
) -> Option<(u64, bool)> {
    earlier
        .into_iter()
        .find(|&(_, s, e)| s <= end && start <= e)
        .map(|(line, s, e)| (line, s == start && e == end))
}

/// The issue for a date-tracked record whose period clashes with the row at `first_line`:
/// the same key and period twice (`unique-error`), or periods that overlap (`overlap-error`).
pub fn history_issue<F: FieldSource + ?Sized>(
    layout: &Layout,
    ri: usize,
    fields: &F,
    line: u64,
    first_line: u64,
    same: bool,
) -> Option<Issue> {
    let rt = layout.records.get(ri)?;
    let h = rt.history.as_ref()?;
    let names: Vec<&str> = h.key.iter().map(|&k| rt.fields[k].name.as_str()).collect();
    let vals: Vec<String> = h
        .key
        .iter()
        .map(|&k| shown_in(&rt.fields[k], fields.field(k)))
        .collect();
    let end = fields.field(h.end);
    let period = format!(
        "{} to {}",
        shown_in(&rt.fields[h.start], fields.field(h.start)),
        if crate::layout::is_open_end(end) {
            "open"
        } else {
            end
        }
    );
    let who = format!("{} {}", names.join(" + "), vals.join(" + "));
    Some(if same {
        Issue::new(
            Rule::UniqueError,
            line,
            Some(&rt.code),
            Some((h.start, &rt.fields[h.start])),
            format!(
                "{who} has the same period ({period}) as line {first_line}: the same row twice"
            ),
        )
    } else {
        Issue::new(
            Rule::OverlapError,
            line,
            Some(&rt.code),
            Some((h.start, &rt.fields[h.start])),
            format!(
                "{who}: the period {period} overlaps the row at line {first_line}: the rows of one {} must not overlap (one ends the day before the next starts)",
                names.join(" + ")
            ),
        )
    })
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
    let vals: Vec<String> = key
        .iter()
        .map(|&k| shown_in(&rt.fields[k], fields.field(k)))
        .collect();
    Issue::new(
        Rule::UniqueError,
        line,
        Some(&rt.code),
        Some((key[0], &rt.fields[key[0]])),
        format!(
            "{} {} is the same as line {first_line}; it must be unique",
            names.join(" + "),
            vals.join(" + ")
        ),
    )
}

/// Hash of a record's key for consistent rule `ci` (None when the record does not take part:
/// its type is not covered, or the key or the value is empty). The same across record types.
pub fn consistent_hash<F: FieldSource + ?Sized>(
    layout: &Layout,
    ci: usize,
    ri: usize,
    fields: &F,
) -> Option<(u64, u64)> {
    let c = layout.consistent.get(ci)?;
    let &(_, kf, vf) = c.members.iter().find(|(r, ..)| *r == ri)?;
    let key = fields.field(kf);
    if key.is_empty() {
        return None;
    }
    let value = match vf {
        Some(v) if fields.field(v).is_empty() => return None,
        Some(v) => fields.field(v),
        None => "",
    };
    // A fixed seed: the store keeps these hashes in its key index. Should the hash ever
    // change, a store migration marks every batch's index to be built again.
    use std::hash::BuildHasher as _;
    let state = foldhash::quality::FixedState::with_seed(KEY_SEED);
    Some((
        state.hash_one(("consistent", ci, key)),
        state.hash_one(value),
    ))
}

/// Every key a detail record puts in the file's key index: its unique keys and its keys of
/// the layout's consistent rules. The pipeline, the import and edits index records with this.
pub fn index_keys<F: FieldSource + ?Sized>(layout: &Layout, ri: usize, fields: &F) -> Vec<u64> {
    let Some(rt) = layout.records.get(ri) else {
        return Vec::new();
    };
    if rt.role != Role::Detail {
        return Vec::new();
    }
    let mut keys = Vec::new();
    line_keys(layout, ri, fields, &mut keys);
    keys.iter().map(LineKey::hash).collect()
}

/// The issue for a record whose key of consistent rule `ci` was first seen at `first_line`:
/// with a different value (`consistency-error`), or at all when the rule has no value (the key
/// must appear once: `unique-error`).
pub fn consistent_issue<F: FieldSource + ?Sized>(
    layout: &Layout,
    ci: usize,
    ri: usize,
    fields: &F,
    line: u64,
    first_line: u64,
) -> Option<Issue> {
    let c = layout.consistent.get(ci)?;
    let &(_, kf, vf) = c.members.iter().find(|(r, ..)| *r == ri)?;
    let rt = &layout.records[ri];
    let kfield = &rt.fields[kf];
    let key = shown_in(kfield, fields.field(kf));
    Some(match vf {
        None => Issue::new(
            Rule::UniqueError,
            line,
            Some(&rt.code),
            Some((kf, kfield)),
            format!(
                "{} {key} is the same as line {first_line}; it must appear once in the file",
                kfield.name
            ),
        ),
        Some(v) => {
            let vfield = &rt.fields[v];
            Issue::new(
                Rule::ConsistencyError,
                line,
                Some(&rt.code),
                Some((v, vfield)),
                format!(
                    "{} {key} has {} {} here but a different {} at line {first_line}: one {} always has the same {}",
                    kfield.name,
                    vfield.name,
                    shown_in(vfield, fields.field(v)),
                    vfield.name,
                    kfield.name,
                    vfield.name
                ),
            )
        }
    })
}

/// The file-level issues of a header record's file-name field (`generate = "file_name"`)
/// that names another file than `file_name`, the name of the file read. Case is ignored (a
/// Windows desktop keeps names without regard to case).
pub fn file_name_issues<F: FieldSource + ?Sized>(
    layout: &Layout,
    ri: usize,
    fields: &F,
    line: u64,
    file_name: &str,
    out: &mut Vec<Issue>,
) {
    let rt = &layout.records[ri];
    if rt.role != Role::Header || file_name.is_empty() {
        return;
    }
    for (fi, f) in rt.fields.iter().enumerate() {
        if f.generate != Some(crate::layout::Generate::FileName) {
            continue;
        }
        let v = fields.field(fi).trim();
        if v.is_empty() || v.eq_ignore_ascii_case(file_name) {
            continue;
        }
        out.push(Issue::new(
            Rule::FileNameMismatch,
            line,
            Some(&rt.code),
            Some((fi, f)),
            format!(
                "{} says {} but the file read is {file_name}: the file was renamed, or is not the file it claims to be. Check it is the right file, then accept this with a reason",
                f.name,
                shown(v)
            ),
        ));
    }
}

/// Running counts and control totals that trailer fields are checked against.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    /// Records between header and trailer (unknown types included).
    pub body: u64,
    /// Lines of records of every kind so far, the column-name row, header and trailer
    /// included (what a `lines` control counts; the validator counts them).
    pub lines: u64,
    /// Records by record type index.
    pub by_type: Vec<u64>,
    /// Sums of numeric fields, `[record type][field]`, scaled; None once a sum overflowed.
    pub sums: Vec<Vec<Option<i128>>>,
}

impl Totals {
    /// Empty totals for a layout.
    pub fn new(layout: &Layout) -> Self {
        Totals {
            body: 0,
            lines: 0,
            by_type: vec![0; layout.records.len()],
            sums: layout
                .records
                .iter()
                .map(|r| vec![Some(0); r.fields.len()])
                .collect(),
        }
    }

    /// Adds (or, with `sign` -1, takes away) a value to a sum, with overflow checked.
    pub fn add(&mut self, ri: usize, fi: usize, v: i128, sign: i128) {
        if let Some(s) = self.sums.get_mut(ri).and_then(|r| r.get_mut(fi)) {
            *s = s.and_then(|s| v.checked_mul(sign).and_then(|d| s.checked_add(d)));
        }
    }

    /// Counts one record of type `ri` (None: unknown) with its fields, `sign` 1 or -1.
    pub fn count<F: FieldSource + ?Sized>(
        &mut self,
        layout: &Layout,
        summed: &[(usize, usize)],
        ri: Option<usize>,
        fields: &F,
        sign: i128,
    ) {
        let step = |n: u64| {
            if sign > 0 {
                n.saturating_add(1)
            } else {
                n.saturating_sub(1)
            }
        };
        let Some(ri) = ri else {
            self.body = step(self.body);
            return;
        };
        if layout.records[ri].role != Role::Detail {
            return;
        }
        self.body = step(self.body);
        self.by_type[ri] = step(self.by_type[ri]);
        for &(sr, fi) in summed {
            if sr == ri
                && let Ok(v) = layout.records[ri].fields[fi].format.check(fields.field(fi))
            {
                self.add(ri, fi, v, sign);
            }
        }
    }
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
            Control::Count(_) | Control::Lines => {
                let (actual, of) = match control {
                    Control::Count(Some(t)) => (
                        totals.by_type.get(*t).copied().unwrap_or(0),
                        format!("{} records", layout.records[*t].code),
                    ),
                    Control::Lines => (
                        totals.lines,
                        "lines (header and trailer included)".to_string(),
                    ),
                    _ => (totals.body, "records".to_string()),
                };
                if Some(stated) != i128::from(actual).checked_mul(crate::notation::SCALE) {
                    out.push(Issue::new(
                        Rule::TrailerCount,
                        line,
                        Some(&rt.code),
                        Some((fi, f)),
                        format!(
                            "{} says {} {of} but the file has {actual}: records may have been lost or added on the way",
                            f.name,
                            fields.field(fi)
                        ),
                    ));
                }
            }
            Control::Sum(targets) => {
                let actual = targets.iter().try_fold(0i128, |acc, &(r, c)| {
                    let s = totals
                        .sums
                        .get(r)
                        .and_then(|v| v.get(c))
                        .copied()
                        .unwrap_or(Some(0))?;
                    acc.checked_add(s)
                });
                let dec = match f.format {
                    Format::Numeric { decimals, .. } | Format::Padded { decimals, .. } => decimals,
                    _ => 2,
                };
                match actual {
                    Some(a) if a == stated => {}
                    Some(a) => out.push(Issue::new(
                        Rule::TrailerTotal,
                        line,
                        Some(&rt.code),
                        Some((fi, f)),
                        format!(
                            "{} says {} but the records add up to {}",
                            f.name,
                            fields.field(fi),
                            format_exact(a, dec)
                        ),
                    )),
                    None => out.push(Issue::new(
                        Rule::TrailerTotal,
                        line,
                        Some(&rt.code),
                        Some((fi, f)),
                        format!(
                            "{} says {} but the records add up to more than can be counted: check the amounts",
                            f.name,
                            fields.field(fi)
                        ),
                    )),
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
    let known: Vec<&str> = layout.records.iter().map(|r| r.code.as_str()).collect();
    let known = if known.len() > 12 {
        format!("{}, … {} in all", known[..12].join(", "), known.len())
    } else {
        known.join(", ")
    };
    let tolerated = layout.unknown_records == crate::layout::Tolerance::Warning;
    let mut i = Issue::new(
        Rule::UnknownRecordType,
        line,
        None,
        None,
        if tolerated {
            format!(
                "Record type {} is not one this layout lists ({known}): ESR may add record types between releases, so the line is kept and exported as it came",
                shown(fields.field(d)),
            )
        } else {
            format!(
                "Record type {} is not one this interface uses ({known})",
                shown(fields.field(d)),
            )
        },
    );
    i.severity = layout.unknown_records.severity();
    i.field = layout
        .records
        .first()
        .and_then(|r| r.fields.get(d))
        .map(|f| f.name.clone());
    i.field_index = Some(d);
    i
}

/// The record type index of a record whose discriminator holds `code`.
pub fn record_type_of<F: FieldSource + ?Sized>(layout: &Layout, fields: &F) -> Option<usize> {
    match layout.discriminator {
        None => Some(0),
        Some(d) => layout.record_index(fields.field(d)),
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

/// Options for a validation run.
#[derive(Default)]
pub struct Options<'a> {
    /// Set to stop early; the run returns [`ValidateError::Cancelled`].
    pub cancel: Option<&'a AtomicBool>,
    /// Called about every 16k lines with (bytes read, lines read).
    pub progress: Option<&'a mut dyn FnMut(u64, u64)>,
    /// The file was made by this program from a table (a workbook sheet, a foreign CSV):
    /// for each physical line, the table row it came from (issues name that row), and the
    /// header is the program's (see [`Against::made_frame`]).
    pub made_from: Option<&'a [u64]>,
    /// How the work is shared between threads; None: [`Options::auto_split`]. One worker
    /// runs the pipeline single-threaded (a reader thread and the checks); more cut the file
    /// into chunks of whole lines checked in parallel, with the same result to the byte.
    pub split: Option<crate::reader::Split>,
}

impl Options<'_> {
    /// The split a run uses when none is given: a worker per core (at most 8), or the number
    /// in `ESR_DESK_THREADS` (1 for a single-threaded run).
    pub fn auto_split() -> crate::reader::Split {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let workers = std::env::var("ESR_DESK_THREADS")
            .ok()
            .and_then(|t| t.trim().parse::<usize>().ok())
            .unwrap_or(cores)
            .clamp(1, 8);
        crate::reader::Split {
            workers,
            ..Default::default()
        }
    }
}

/// What the validator decided about one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A blank line (not a record).
    Blank,
    /// The column-name row (not a record).
    ColumnNames,
    /// A record of the given type (None: unknown type); `rejected` when it has an error that
    /// rejects a record.
    Record {
        /// Record type index.
        record_type: Option<usize>,
        /// At least one record-rejecting error.
        rejected: bool,
    },
}

/// Streaming validator for one file. Feed lines with [`Validator::check_line`], then call
/// [`Validator::finish`]. [`run`] does both; use it.
pub struct Validator<'a> {
    layout: &'a Layout,
    refs: &'a References,
    /// The name of the file read (checked against the header's file-name field).
    file_name: String,
    /// The fields of the first header record.
    header: Option<Vec<String>>,
    /// The line of that record.
    header_at: Option<u64>,
    /// The keys of the line being checked.
    line_keys: Vec<LineKey>,
    /// Unique and consistent-rule keys met, with their first record.
    keys: crate::keyindex::KeyIndex,
    /// The periods of each date-tracked entity met, in line order: (line, first day, last
    /// day). Held in memory: 16 bytes a date-tracked row (a full extract of 100,000 rows takes
    /// under 2 MB, a 20-million-row one about 320 MB).
    history: crate::keyindex::HashKeyed<Vec<(u64, i32, i32)>>,
    /// The releases the records were read as (None: as now), for the report.
    pub read_as: std::collections::BTreeSet<Option<usize>>,
    summed: Vec<(usize, usize)>,
    first_record: bool,
    column_row_pending: bool,
    header_line: Option<u64>,
    trailer_line: Option<u64>,
    after_trailer_reported: bool,
    last_record_line: u64,
    totals: Totals,
    unchecked: Vec<(usize, usize, usize)>,
    unchecked_said: Vec<bool>,
    unchecked_found: Vec<Unchecked>,
    /// The header is the program's (see [`Against::made_frame`]).
    pub made_frame: bool,
    /// Records seen.
    pub records: u64,
    /// Records with a record-rejecting error.
    pub rejected: u64,
}

impl<'a> Validator<'a> {
    /// A validator for `layout`, checking references against `refs`, for the file named
    /// `file_name` ("" when it has no name: the header's file name is then not checked).
    pub fn new(layout: &'a Layout, refs: &'a References, file_name: &str) -> Self {
        let unchecked: Vec<(usize, usize, usize)> = reference_rules(layout)
            .into_iter()
            .filter(|r| refs.get(r.record, r.rule).is_none())
            .map(|r| (r.record, r.rule, r.field))
            .collect();
        Self {
            layout,
            refs,
            file_name: file_name.to_string(),
            header: None,
            header_at: None,
            line_keys: Vec::new(),
            keys: crate::keyindex::KeyIndex::default(),
            history: crate::keyindex::HashKeyed::default(),
            read_as: std::collections::BTreeSet::new(),
            summed: summed_fields(layout),
            first_record: true,
            column_row_pending: layout.column_names,
            header_line: None,
            trailer_line: None,
            after_trailer_reported: false,
            last_record_line: 0,
            totals: Totals::new(layout),
            unchecked_said: vec![false; unchecked.len()],
            unchecked_found: Vec::new(),
            unchecked,
            made_frame: false,
            records: 0,
            rejected: 0,
        }
    }

    /// Checks one line, appending issues to `out`.
    pub fn check_line(&mut self, l: &Line<'_>, out: &mut Vec<Issue>) -> Verdict {
        self.check_prepared(l, None, out)
    }

    /// Checks one line with what a worker found of it alone ([`prepare`]), when given:
    /// used where it holds for this line (the record was judged against the header the file
    /// has at this line), worked out here otherwise. The result is the same either way.
    fn check_prepared(
        &mut self,
        l: &Line<'_>,
        mut pre: Option<(&Judged, &mut Prepared)>,
        out: &mut Vec<Issue>,
    ) -> Verdict {
        let layout = self.layout;
        self.line_keys.clear();
        if l.utf8_in_single_byte {
            out.push(Issue::new(
                Rule::EncodingMismatch,
                l.line,
                None,
                None,
                format!(
                    "Line {} reads as UTF-8 text but the layout says {}: accented letters may show wrongly; check how the file was saved",
                    l.line,
                    layout.dialect.encoding.name()
                ),
            ));
        }
        if l.blank && l.problems.is_empty() {
            out.push(Issue::new(
                Rule::BlankRow,
                l.line,
                None,
                None,
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
                out.push(Issue::new(
                    Rule::ColumnNames,
                    l.line,
                    None,
                    None,
                    format!(
                        "Line {} should be the row of column names; column {} should be {what}",
                        l.line,
                        at + 1
                    ),
                ));
            }
            self.totals.lines += 1;
            return Verdict::ColumnNames;
        }
        self.column_row_pending = false;
        self.records += 1;
        self.totals.lines += 1;
        let before = out.len();
        let too_long = l
            .problems
            .iter()
            .any(|p| matches!(p, ReadProblem::LineTooLong { .. }));
        let ri = match &pre {
            Some((j, _)) => j.record_type,
            None if too_long => None,
            None => record_type_of(layout, &l.fields),
        };
        let code_of = |ri: Option<usize>| ri.map(|i| layout.records[i].code.as_str());
        if let Some(t) = self.trailer_line
            && !self.after_trailer_reported
        {
            self.after_trailer_reported = true;
            out.push(Issue::new(
                Rule::TrailerNotLast,
                l.line,
                code_of(ri),
                None,
                format!("Line {} comes after the trailer record (line {t}): the trailer must be the last record", l.line),
            ));
        }
        let role = ri.map(|i| layout.records[i].role);
        if self.first_record {
            self.first_record = false;
            if let Some(h) = layout.header()
                && role != Some(Role::Header)
            {
                out.push(Issue::new(
                    Rule::HeaderMissing,
                    l.line,
                    code_of(ri),
                    None,
                    format!(
                        "The file must start with a {} ({}) record",
                        layout.records[h].name, layout.records[h].code
                    ),
                ));
            }
        } else if role == Some(Role::Header) {
            out.push(Issue::new(
                Rule::HeaderNotFirst,
                l.line,
                code_of(ri),
                None,
                format!(
                    "A header record is only allowed as the first record{}",
                    self.header_line
                        .map_or(String::new(), |h| format!(" (there is one at line {h})"))
                ),
            ));
        }
        self.last_record_line = l.line;
        let Some(ri) = ri else {
            match &mut pre {
                Some((j, p)) => p.take_issues(j, out),
                None => untyped_issues(layout, self.refs, l, out),
            }
            self.totals.count(layout, &self.summed, None, &l.fields, 1);
            // An unknown record type the layout tolerates is a warning: the line is kept.
            let rejected = out[before..].iter().any(Issue::rejects_record);
            if rejected {
                self.rejected += 1;
            }
            return Verdict::Record {
                record_type: None,
                rejected,
            };
        };
        if layout.records[ri].role == Role::Detail && layout.versioned(ri) {
            self.read_as.insert(
                layout
                    .read_as(ri, l.fields.count(), self.header.as_deref())
                    .1,
            );
        }
        let rt = &layout.records[ri];
        if rt.role == Role::Header && self.header.is_none() {
            self.header = Some(l.fields.iter().map(str::to_string).collect());
            self.header_at = Some(l.line);
            file_name_issues(layout, ri, &l.fields, l.line, &self.file_name, out);
        }
        match &mut pre {
            Some((j, p)) if j.header_from == self.header_at => p.take_issues(j, out),
            _ => {
                let against = Against {
                    refs: self.refs,
                    header: self.header.as_deref(),
                    made_frame: self.made_frame,
                };
                check_record(layout, ri, &l.fields, l.line, l.problems, &against, out);
            }
        }
        for (k, &(r, _, field)) in self.unchecked.iter().enumerate() {
            if r == ri && !self.unchecked_said[k] {
                self.unchecked_said[k] = true;
                self.unchecked_found.push(Unchecked {
                    line: l.line,
                    record_type: rt.code.clone(),
                    field: rt.fields[field].name.clone(),
                    interface: reference_interface(rt, field),
                });
            }
        }
        match rt.role {
            Role::Header => self.header_line = Some(self.header_line.unwrap_or(l.line)),
            Role::Trailer => {
                trailer_issues(layout, ri, &l.fields, l.line, &self.totals, out);
                self.trailer_line = Some(l.line);
            }
            Role::Detail => {
                self.totals
                    .count(layout, &self.summed, Some(ri), &l.fields, 1);
                let mut keys = std::mem::take(&mut self.line_keys);
                keys.clear();
                match &pre {
                    Some((j, p)) => keys.extend_from_slice(&p.keys[j.keys.clone()]),
                    None => line_keys(layout, ri, &l.fields, &mut keys),
                }
                self.check_keys(ri, &l.fields, l.line, &keys, out);
                self.line_keys = keys;
            }
        }
        let rejected = out[before..].iter().any(Issue::rejects_record);
        if rejected {
            self.rejected += 1;
        }
        Verdict::Record {
            record_type: Some(ri),
            rejected,
        }
    }

    fn check_keys(
        &mut self,
        ri: usize,
        fields: &Fields<'_>,
        line: u64,
        keys: &[LineKey],
        out: &mut Vec<Issue>,
    ) {
        for &k in keys {
            match k {
                LineKey::Unique { ki, hash } => {
                    if let Some(first) = self.keys.unique(hash, line) {
                        out.push(unique_issue(self.layout, ri, ki, fields, line, first));
                    }
                }
                LineKey::History { hash, start, end } => {
                    let rows = self.history.entry(hash).or_default();
                    if let Some((first, same)) = history_clash(start, end, rows.iter().copied())
                        && let Some(i) = history_issue(self.layout, ri, fields, line, first, same)
                    {
                        out.push(i);
                    }
                    rows.push((line, start, end));
                }
                LineKey::Group { ci, hash, value } => {
                    if let Some((first_value, first)) = self.keys.group(hash, value, line) {
                        let c = &self.layout.consistent[ci];
                        if (c.value.is_none() || first_value != value)
                            && let Some(i) =
                                consistent_issue(self.layout, ci, ri, fields, line, first)
                        {
                            out.push(i);
                        }
                    }
                }
            }
        }
    }

    /// File-level checks at the end of the file.
    pub fn finish(&mut self, summary: &ReadSummary, out: &mut Vec<Issue>) {
        if summary.cr_only_line_endings() {
            out.push(Issue::new(
                Rule::LineEnding,
                1,
                None,
                None,
                format!(
                    "The file's lines end with a carriage return alone (old Mac style), so its records read as {} line{}: save it again with Windows (CRLF) or Unix (LF) line endings",
                    summary.lines,
                    if summary.lines == 1 { "" } else { "s" }
                ),
            ));
        }
        if let Some(t) = self.layout.trailer()
            && self.trailer_line.is_none()
            && self.records > 0
        {
            let trl = &self.layout.records[t];
            out.push(Issue::new(
                Rule::TrailerMissing,
                self.last_record_line.max(1),
                None,
                None,
                format!(
                    "The file must end with a {} ({}) record; it may have been cut short",
                    trl.name, trl.code
                ),
            ));
        }
        if self.records == 0 {
            out.push(Issue::new(
                Rule::HeaderMissing,
                1,
                None,
                None,
                "The file has no records".into(),
            ));
        }
    }
}

/// A key of a detail record the validator checks: a unique key, or the key (and value hash)
/// of a consistent rule.
#[derive(Debug, Clone, Copy)]
pub enum LineKey {
    /// Unique key `ki` of the record's type.
    Unique {
        /// The key's index.
        ki: usize,
        /// Its hash ([`key_hash`]).
        hash: u64,
    },
    /// The key of consistent rule `ci`.
    Group {
        /// The rule's index.
        ci: usize,
        /// The key's hash ([`consistent_hash`]).
        hash: u64,
        /// The value's hash.
        value: u64,
    },
    /// A date-tracked record's entity and period ([`period_of`]).
    History {
        /// The entity's hash.
        hash: u64,
        /// The first day.
        start: i32,
        /// The last day (`i32::MAX`: open).
        end: i32,
    },
}

impl LineKey {
    /// The hash the store's key index keeps.
    pub fn hash(&self) -> u64 {
        match *self {
            LineKey::Unique { hash, .. }
            | LineKey::Group { hash, .. }
            | LineKey::History { hash, .. } => hash,
        }
    }
}

/// The keys detail record `fields` of type `ri` has, in the order they are checked.
fn line_keys<F: FieldSource + ?Sized>(
    layout: &Layout,
    ri: usize,
    fields: &F,
    out: &mut Vec<LineKey>,
) {
    let unique = layout.records.get(ri).map_or(0, |rt| rt.unique.len());
    out.extend((0..unique).filter_map(|ki| {
        key_hash(layout, ri, ki, fields).map(|hash| LineKey::Unique { ki, hash })
    }));
    out.extend((0..layout.consistent.len()).filter_map(|ci| {
        consistent_hash(layout, ci, ri, fields).map(|(hash, value)| LineKey::Group {
            ci,
            hash,
            value,
        })
    }));
    if let Some((hash, start, end)) = period_of(layout, ri, fields) {
        out.push(LineKey::History { hash, start, end });
    }
}

/// The issues of a record whose type is not known: a line too long to read, or an unknown
/// record type.
fn untyped_issues(layout: &Layout, refs: &References, l: &Line<'_>, out: &mut Vec<Issue>) {
    if l.problems
        .iter()
        .any(|p| matches!(p, ReadProblem::LineTooLong { .. }))
    {
        check_record(
            layout,
            0,
            &l.fields,
            l.line,
            l.problems,
            &Against::refs(refs),
            out,
        );
    } else {
        out.push(unknown_type_issue(layout, &l.fields, l.line));
    }
}

/// What a worker judged of one line alone, without the lines before it.
#[derive(Debug, Clone, Default)]
struct Judged {
    /// The record type (None: unknown, or the line is too long to read).
    record_type: Option<usize>,
    /// The line of the header record the record was judged against (None: none).
    header_from: Option<u64>,
    /// Its issues, in [`Prepared::issues`].
    issues: std::ops::Range<usize>,
    /// Its keys, in [`Prepared::keys`].
    keys: std::ops::Range<usize>,
}

/// What a worker judged of a batch of lines: one [`Judged`] a line.
#[derive(Debug, Default)]
struct Prepared {
    lines: Vec<Judged>,
    issues: Vec<Issue>,
    keys: Vec<LineKey>,
}

impl Prepared {
    /// Moves a line's issues to `out` (each line's are taken once).
    fn take_issues(&mut self, j: &Judged, out: &mut Vec<Issue>) {
        out.extend(self.issues[j.issues.clone()].iter_mut().map(|i| {
            let taken = Issue {
                line: i.line,
                record_type: None,
                field: None,
                rule: i.rule,
                severity: i.severity,
                message: String::new(),
                field_index: None,
            };
            std::mem::replace(i, taken)
        }));
    }
}

/// The file's first header record as the start of the file shows it, for the workers to
/// judge records against: (its line, its fields). None when the layout has no header, or the
/// first record in `head` (the first bytes of the file) is not one. The validator checks the
/// guess line by line: where the file turns out otherwise, the records are judged again.
fn assumed_header(layout: &Layout, head: &[u8]) -> Option<(u64, Vec<String>)> {
    layout.header()?;
    let whole = memchr::memrchr(b'\n', head)? + 1;
    let mut r = crate::reader::Reader::new(&head[..whole], layout.dialect);
    let mut column_row = layout.column_names;
    while let Ok(Some(l)) = r.next_line() {
        if l.blank && l.problems.is_empty() {
            continue;
        }
        if std::mem::take(&mut column_row) {
            continue;
        }
        if l.problems
            .iter()
            .any(|p| matches!(p, ReadProblem::LineTooLong { .. }))
        {
            return None;
        }
        let ri = record_type_of(layout, &l.fields)?;
        return (layout.records[ri].role == Role::Header).then(|| (l.line, l.fields.to_vec()));
    }
    None
}

/// Judges each line of a batch alone (a worker's part of [`run`]): its record type, its
/// record's issues against the header `assumed` (from its line on), and its keys.
fn prepare(
    layout: &Layout,
    refs: &References,
    assumed: Option<&(u64, Vec<String>)>,
    batch: &crate::reader::LineBatch,
    p: &mut Prepared,
) {
    p.lines.reserve(batch.len());
    for l in batch.lines() {
        let (i0, k0) = (p.issues.len(), p.keys.len());
        let mut j = Judged::default();
        if !(l.blank && l.problems.is_empty()) {
            let too_long = l
                .problems
                .iter()
                .any(|p| matches!(p, ReadProblem::LineTooLong { .. }));
            j.record_type = if too_long {
                None
            } else {
                record_type_of(layout, &l.fields)
            };
            match j.record_type {
                None => untyped_issues(layout, refs, &l, &mut p.issues),
                Some(ri) => {
                    let header = assumed.filter(|(at, _)| *at <= l.line);
                    j.header_from = header.map(|h| h.0);
                    let against = Against {
                        refs,
                        header: header.map(|h| h.1.as_slice()),
                        made_frame: false,
                    };
                    check_record(
                        layout,
                        ri,
                        &l.fields,
                        l.line,
                        l.problems,
                        &against,
                        &mut p.issues,
                    );
                    if layout.records[ri].role == Role::Detail {
                        line_keys(layout, ri, &l.fields, &mut p.keys);
                    }
                }
            }
        }
        j.issues = i0..p.issues.len();
        j.keys = k0..p.keys.len();
        p.lines.push(j);
    }
}

fn reference_interface(rt: &crate::layout::RecordType, field: usize) -> String {
    rt.rules
        .iter()
        .find_map(|r| match &r.kind {
            RuleKind::Reference {
                field: f,
                interface,
                ..
            } if *f == field => Some(interface.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// A reference rule that was not checked because nothing was chosen to check it against.
/// It is a fact about the run, not about the file's bytes, so it is reported beside the
/// issues (the `unchecked` list of `validate --json`, a "not checked" line in text), never as one of them nor counted with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unchecked {
    /// The first line the rule applied to.
    pub line: u64,
    /// Record type code.
    pub record_type: String,
    /// The field not checked.
    pub field: String,
    /// The interface it refers to.
    pub interface: String,
}

impl Unchecked {
    /// What was not checked and how to check it, in words.
    pub fn message(&self) -> String {
        format!(
            "{} ({} records) was not checked against {}: choose a batch or file of that interface to check it against (--against)",
            self.field, self.record_type, self.interface
        )
    }
}

/// One line as the pipeline judged it.
pub struct Checked<'a, 'l> {
    /// The line read.
    pub line: &'a Line<'l>,
    /// What it is.
    pub verdict: Verdict,
    /// Its issues.
    pub issues: &'a [Issue],
    /// The keys of a detail record (what the store's key index keeps, see [`index_keys`]).
    pub keys: &'a [LineKey],
}

/// What the pipeline learnt about the whole file.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Records read.
    pub records: u64,
    /// Records with a record-rejecting error.
    pub rejected: u64,
    /// File-level issues found at the end (line endings, trailer missing, no records).
    pub end_issues: Vec<Issue>,
    /// What the reader learnt.
    pub summary: ReadSummary,
    /// Reference rules not checked (nothing chosen to check them against).
    pub unchecked: Vec<Unchecked>,
    /// The releases the records were read as (None: as now), in order.
    pub read_as: Vec<Option<usize>>,
}

/// Why a pipeline run stopped.
#[derive(Debug)]
pub enum RunError<E> {
    /// The file could not be read or was cancelled.
    Validate(ValidateError),
    /// The consumer failed.
    Sink(E),
}

/// The one pipeline: reads `src` (on a second thread), classifies and checks every line, and
/// hands each judged line to `sink` in order; then runs the end-of-file checks. `sink`
/// returns `Ok(false)` to stop early. Returns what was learnt and the source (so a caller can
/// finish hashing it).
pub fn run<R, E>(
    src: R,
    name: &str,
    layout: &Layout,
    refs: &References,
    mut opts: Options<'_>,
    mut sink: impl FnMut(Checked<'_, '_>) -> Result<bool, E>,
) -> Result<(Finished, R), RunError<E>>
where
    R: std::io::BufRead + Send,
{
    let mut v = Validator::new(layout, refs, name);
    v.made_frame = opts.made_from.is_some();
    let made_from = opts.made_from;
    let split = opts.split.unwrap_or_else(Options::auto_split);
    let mut issues = Vec::new();
    let mut failed: Option<E> = None;
    let mut cancelled = false;
    // One line, in file order: the sequential part of the checks, then the sink.
    let mut each = |line: &Line<'_>, pre: Option<(&Judged, &mut Prepared)>, bytes: u64| {
        let ln = line.line;
        // A converted file's lines are numbered by the table rows they came from.
        let renumbered;
        let line = match made_from {
            Some(rows) => {
                renumbered = Line {
                    line: rows.get(ln as usize - 1).copied().unwrap_or(ln),
                    ..*line
                };
                &renumbered
            }
            None => line,
        };
        issues.clear();
        let verdict = v.check_prepared(line, pre, &mut issues);
        match sink(Checked {
            line,
            verdict,
            issues: &issues,
            keys: &v.line_keys,
        }) {
            Ok(true) => {}
            Ok(false) => return false,
            Err(e) => {
                failed = Some(e);
                return false;
            }
        }
        if ln & 0x3FFF == 0 {
            if opts.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                cancelled = true;
                return false;
            }
            if let Some(p) = opts.progress.as_mut() {
                p(bytes, ln);
            }
        }
        true
    };
    let read = if split.workers <= 1 || made_from.is_some() {
        // Single-threaded checks (a converted table is small and numbered by its rows).
        crate::reader::read_ahead(src, layout.dialect, |line, bytes| each(line, None, bytes))
    } else {
        let mut src = src;
        let assumed = src
            .fill_buf()
            .ok()
            .and_then(|head| assumed_header(layout, head));
        crate::reader::read_parallel(
            src,
            layout.dialect,
            split,
            |batch, p: &mut Prepared| prepare(layout, refs, assumed.as_ref(), batch, p),
            |batch, p| {
                let judged = std::mem::take(&mut p.lines);
                batch
                    .lines()
                    .zip(&judged)
                    .all(|(line, j)| each(&line, Some((j, &mut *p)), batch.bytes_read))
            },
        )
    };
    if let Some(e) = failed {
        return Err(RunError::Sink(e));
    }
    if cancelled {
        return Err(RunError::Validate(ValidateError::Cancelled));
    }
    let (summary, src) = read.map_err(|source| {
        RunError::Validate(ValidateError::Read {
            file: name.to_string(),
            source,
        })
    })?;
    let mut end_issues = Vec::new();
    v.finish(&summary, &mut end_issues);
    Ok((
        Finished {
            records: v.records,
            rejected: v.rejected,
            end_issues,
            summary,
            unchecked: std::mem::take(&mut v.unchecked_found),
            read_as: v.read_as.iter().copied().collect(),
        },
        src,
    ))
}

/// Issues of one rule that a report lists; the rest are counted in `not_listed`.
pub const ISSUE_CAP: u64 = 10_000;

/// Counts issues by rule and says which to list: at most [`ISSUE_CAP`] of each rule.
#[derive(Debug, Default)]
pub struct IssueCap {
    seen: HashMap<Rule, u64>,
    /// Issues not listed, by rule code.
    pub not_listed: BTreeMap<String, u64>,
    /// Of those: (errors, warnings).
    pub unlisted: (u64, u64),
}

impl IssueCap {
    /// True when the issue is to be listed; counts it either way.
    pub fn admit(&mut self, i: &Issue) -> bool {
        let n = self.seen.entry(i.rule).or_default();
        *n += 1;
        if *n > ISSUE_CAP {
            *self
                .not_listed
                .entry(i.rule.code().to_string())
                .or_default() += 1;
            match i.severity {
                Severity::Error => self.unlisted.0 += 1,
                Severity::Warning => self.unlisted.1 += 1,
            }
            false
        } else {
            true
        }
    }
}

/// What a streamed validation found (the report without its issue list).
#[derive(Debug, Clone)]
pub struct Summary {
    /// Records read.
    pub records: u64,
    /// Records with a record-rejecting error.
    pub rejected: u64,
    /// Issues not listed, by rule code.
    pub not_listed: BTreeMap<String, u64>,
    /// True when any error was found, listed or not.
    pub has_errors: bool,
    /// Reference rules not checked.
    pub unchecked: Vec<Unchecked>,
    /// What the records were read as ([`read_as_words`]).
    pub read_as: Option<String>,
    /// Of the issues not listed: (errors, warnings).
    pub unlisted: (u64, u64),
}

/// Validates a stream, handing each listed issue to `on_issue` as it is found (in pipeline
/// order: line by line, then the end-of-file issues). Memory stays bounded whatever the file.
pub fn validate_streaming<R: std::io::BufRead + Send>(
    src: R,
    name: &str,
    layout: &Layout,
    refs: &References,
    opts: Options<'_>,
    mut on_issue: impl FnMut(&Issue),
) -> Result<Summary, ValidateError> {
    let mut cap = IssueCap::default();
    let mut has_errors = false;
    let mut take = |i: &Issue| {
        has_errors |= i.severity == Severity::Error;
        if cap.admit(i) {
            on_issue(i);
        }
    };
    let (fin, _) = run(src, name, layout, refs, opts, |c| {
        for i in c.issues {
            take(i);
        }
        Ok::<bool, std::convert::Infallible>(true)
    })
    .map_err(|e| match e {
        RunError::Validate(v) => v,
        RunError::Sink(never) => match never {},
    })?;
    for i in &fin.end_issues {
        take(i);
    }
    Ok(Summary {
        records: fin.records,
        rejected: fin.rejected,
        not_listed: cap.not_listed,
        has_errors,
        unchecked: fin.unchecked,
        read_as: read_as_words(layout, &fin.read_as),
        unlisted: cap.unlisted,
    })
}

/// Validates a stream into a report (issues in line order, at most [`ISSUE_CAP`] of a rule).
pub fn validate_reader<R: std::io::BufRead + Send>(
    src: R,
    name: &str,
    layout: &Layout,
    refs: &References,
    opts: Options<'_>,
) -> Result<Report, ValidateError> {
    let mut issues = Vec::new();
    let s = validate_streaming(src, name, layout, refs, opts, |i| issues.push(i.clone()))?;
    issues.sort_by_key(|i| i.line);
    Ok(Report {
        interface: layout.interface.clone(),
        file: name.to_string(),
        records: s.records,
        rejected_records: s.rejected,
        issues,
        not_listed: s.not_listed,
        unchecked: s.unchecked,
        read_as: s.read_as,
        unlisted: s.unlisted,
    })
}

/// Opens a file to validate or import: refuses at once what is not a regular file (a folder,
/// a FIFO, a device), which would otherwise hang or fail strangely.
pub fn open_file(path: &Path) -> Result<std::io::BufReader<std::fs::File>, ValidateError> {
    let name = file_name(path);
    let err = |source| ValidateError::Read {
        file: name.clone(),
        source,
    };
    crate::reader::open(path).map_err(|e| err(ReadError::Io(e)))
}

/// Says at once why a file cannot be an interface file at all (a folder, unreadable, empty,
/// UTF-16, binary), before anyone is asked which interface it is. The same checks the reader
/// makes when it starts.
pub fn check_readable(path: &Path) -> Result<(), ValidateError> {
    let f = open_file(path)?;
    // The start checks do not depend on the dialect.
    let dialect = crate::layout::Dialect {
        delimiter: b',',
        quote: Some(b'"'),
        encoding: crate::layout::Encoding::Utf8,
        line_ending: crate::layout::LineEnding::Crlf,
    };
    crate::reader::Reader::new(f, dialect)
        .check_start()
        .map_err(|source| ValidateError::Read {
            file: file_name(path),
            source,
        })
}

/// Validates a file on disk.
pub fn validate_path(
    path: &Path,
    layout: &Layout,
    refs: &References,
    opts: Options<'_>,
) -> Result<Report, ValidateError> {
    let f = open_file(path)?;
    validate_reader(f, &file_name(path), layout, refs, opts)
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
                let r = validate_reader(
                    &bytes[..],
                    "fuzz",
                    layout,
                    &References::none(),
                    Options::default(),
                );
                if let Ok(rep) = r {
                    assert!(rep.rejected_records <= rep.records);
                    assert!(rep.issues.windows(2).all(|w| w[0].line <= w[1].line));
                }
            }
        }
    }
}
