//! The rules an issue can break: one [`Rule`] enum carrying each rule's stable code, severity,
//! scope, plain-English title and description.
//!
//! Codes are part of the `validate --json` contract: tools and `.defects.json` files depend on
//! them, so a code is never renamed. Where frictionless-py has a code for the same thing, the
//! same code is used (blank-row, extra-cell, missing-cell, type-error, unique-error,
//! encoding-error, foreign-key); frictionless's one `constraint-error` is split here into
//! `required-error`, `length-error`, `code-error`, `range-error` and `pattern-error`, so an
//! officer sees the kinds of problem apart. `docs/rules.md` is generated from this enum
//! ([`markdown_table`]) and a test holds the two equal. Every `match` below is exhaustive: a
//! new rule without a title, a scope or a description does not compile.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// How serious an issue is. Errors reject the record (or, at file level, the batch); warnings
/// do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The record or file would be rejected by ESR or the receiving system.
    Error,
    /// Worth a look; rejects nothing.
    Warning,
}

impl Severity {
    /// "error" or "warning", as stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// What a rule judges: the file as a whole, one record, or one cell of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The file's structure or its received control totals. A file-level error rejects the
    /// whole batch until it is put right or accepted with a reason; it never rejects a record.
    File,
    /// One record (its field count, its key, its cross-field rules).
    Record,
    /// One cell of one record.
    Cell,
}

impl Scope {
    /// "file", "record" or "cell".
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::File => "file",
            Scope::Record => "record",
            Scope::Cell => "cell",
        }
    }
}

/// Every rule an issue can break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// A line whose every field is empty.
    BlankRow,
    /// Line endings that run the whole file (or most of it) into one line.
    LineEnding,
    /// A line longer than the reader accepts.
    LineTooLong,
    /// Bytes that are not valid in the file's encoding.
    EncodingError,
    /// The bytes look like UTF-8 though the layout declares a single-byte encoding.
    EncodingMismatch,
    /// A control character (other than the delimiter's own) inside a field.
    ControlCharacter,
    /// A quote that is never closed, text after a closing quote, or a quote inside an unquoted
    /// field.
    BrokenQuote,
    /// The first line is not the column-name row the layout expects.
    ColumnNames,
    /// A record type the layout does not define.
    UnknownRecordType,
    /// The file does not start with its header record.
    HeaderMissing,
    /// A header record somewhere other than first.
    HeaderNotFirst,
    /// The file does not end with its trailer record.
    TrailerMissing,
    /// Records after the trailer.
    TrailerNotLast,
    /// More fields than the record type has.
    ExtraCell,
    /// Fewer fields than the record type has.
    MissingCell,
    /// A required field is empty.
    RequiredError,
    /// A value that is not of the field's type.
    TypeError,
    /// A value longer (or, for F(n), other) than the field's length.
    LengthError,
    /// A value not in the field's code list.
    CodeError,
    /// An identifier that fails its check.
    IdentifierError,
    /// A number outside the field's minimum and maximum.
    RangeError,
    /// A value that does not match the field's pattern.
    PatternError,
    /// A fixed value that is different.
    ValueError,
    /// A second record with the same key.
    UniqueError,
    /// A date or number before the one it must not precede.
    OrderError,
    /// A field required because of another field's value is empty.
    RequiredIfError,
    /// A field that must be empty because of another field's value is filled.
    EmptyIfError,
    /// A detail field that differs from the header field it must match.
    HeaderMismatch,
    /// A date or number outside the period it must lie in.
    PeriodError,
    /// The time between two dates outside its bounds (an age at hire).
    SpanError,
    /// An amount that is not what its formula gives, within the tolerance.
    ComputedError,
    /// A key that carries a different value from the one it carried earlier in the file.
    ConsistencyError,
    /// Two rows of one date-tracked entity whose effective periods overlap.
    OverlapError,
    /// Two totals that must be equal are not.
    BalanceError,
    /// The received trailer's record count does not match the records in the file.
    TrailerCount,
    /// The received trailer's control total does not match the sum of the records.
    TrailerTotal,
    /// The header's file-name field names another file.
    FileNameMismatch,
    /// A value not found in the chosen reference.
    ForeignKey,
    /// A reference that was not checked because nothing was chosen to check it against.
    ReferenceUnchecked,
}

impl Rule {
    /// Every rule, in the order docs/rules.md lists them.
    pub const ALL: [Rule; 39] = [
        Rule::BlankRow,
        Rule::LineEnding,
        Rule::LineTooLong,
        Rule::EncodingError,
        Rule::EncodingMismatch,
        Rule::ControlCharacter,
        Rule::BrokenQuote,
        Rule::ColumnNames,
        Rule::UnknownRecordType,
        Rule::HeaderMissing,
        Rule::HeaderNotFirst,
        Rule::TrailerMissing,
        Rule::TrailerNotLast,
        Rule::ExtraCell,
        Rule::MissingCell,
        Rule::RequiredError,
        Rule::TypeError,
        Rule::LengthError,
        Rule::CodeError,
        Rule::IdentifierError,
        Rule::RangeError,
        Rule::PatternError,
        Rule::ValueError,
        Rule::UniqueError,
        Rule::OrderError,
        Rule::RequiredIfError,
        Rule::EmptyIfError,
        Rule::HeaderMismatch,
        Rule::PeriodError,
        Rule::SpanError,
        Rule::ComputedError,
        Rule::ConsistencyError,
        Rule::OverlapError,
        Rule::BalanceError,
        Rule::TrailerCount,
        Rule::TrailerTotal,
        Rule::FileNameMismatch,
        Rule::ForeignKey,
        Rule::ReferenceUnchecked,
    ];

    /// The stable code (the `rule` of `validate --json`).
    pub fn code(self) -> &'static str {
        match self {
            Rule::BlankRow => "blank-row",
            Rule::LineEnding => "line-ending",
            Rule::LineTooLong => "line-too-long",
            Rule::EncodingError => "encoding-error",
            Rule::EncodingMismatch => "encoding-mismatch",
            Rule::ControlCharacter => "control-character",
            Rule::BrokenQuote => "broken-quote",
            Rule::ColumnNames => "column-names",
            Rule::UnknownRecordType => "unknown-record-type",
            Rule::HeaderMissing => "header-missing",
            Rule::HeaderNotFirst => "header-not-first",
            Rule::TrailerMissing => "trailer-missing",
            Rule::TrailerNotLast => "trailer-not-last",
            Rule::ExtraCell => "extra-cell",
            Rule::MissingCell => "missing-cell",
            Rule::RequiredError => "required-error",
            Rule::TypeError => "type-error",
            Rule::LengthError => "length-error",
            Rule::CodeError => "code-error",
            Rule::IdentifierError => "identifier-error",
            Rule::RangeError => "range-error",
            Rule::PatternError => "pattern-error",
            Rule::ValueError => "value-error",
            Rule::UniqueError => "unique-error",
            Rule::OrderError => "order-error",
            Rule::RequiredIfError => "required-if-error",
            Rule::EmptyIfError => "empty-if-error",
            Rule::HeaderMismatch => "header-mismatch",
            Rule::PeriodError => "period-error",
            Rule::SpanError => "span-error",
            Rule::ComputedError => "computed-error",
            Rule::ConsistencyError => "consistency-error",
            Rule::OverlapError => "overlap-error",
            Rule::FileNameMismatch => "file-name-mismatch",
            Rule::BalanceError => "balance-error",
            Rule::TrailerCount => "trailer-count",
            Rule::TrailerTotal => "trailer-total",
            Rule::ForeignKey => "foreign-key",
            Rule::ReferenceUnchecked => "reference-unchecked",
        }
    }

    /// The rule with this code.
    pub fn from_code(code: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Error or warning.
    pub fn severity(self) -> Severity {
        match self {
            Rule::EncodingMismatch | Rule::ReferenceUnchecked => Severity::Warning,
            Rule::BlankRow
            | Rule::LineEnding
            | Rule::LineTooLong
            | Rule::EncodingError
            | Rule::ControlCharacter
            | Rule::BrokenQuote
            | Rule::ColumnNames
            | Rule::UnknownRecordType
            | Rule::HeaderMissing
            | Rule::HeaderNotFirst
            | Rule::TrailerMissing
            | Rule::TrailerNotLast
            | Rule::ExtraCell
            | Rule::MissingCell
            | Rule::RequiredError
            | Rule::TypeError
            | Rule::LengthError
            | Rule::CodeError
            | Rule::IdentifierError
            | Rule::RangeError
            | Rule::PatternError
            | Rule::ValueError
            | Rule::UniqueError
            | Rule::OrderError
            | Rule::RequiredIfError
            | Rule::EmptyIfError
            | Rule::HeaderMismatch
            | Rule::PeriodError
            | Rule::SpanError
            | Rule::ComputedError
            | Rule::ConsistencyError
            | Rule::OverlapError
            | Rule::BalanceError
            | Rule::TrailerCount
            | Rule::TrailerTotal
            | Rule::FileNameMismatch
            | Rule::ForeignKey => Severity::Error,
        }
    }

    /// What the rule judges.
    pub fn scope(self) -> Scope {
        match self {
            Rule::BlankRow
            | Rule::LineEnding
            | Rule::EncodingMismatch
            | Rule::ColumnNames
            | Rule::HeaderMissing
            | Rule::HeaderNotFirst
            | Rule::TrailerMissing
            | Rule::TrailerNotLast
            | Rule::TrailerCount
            | Rule::TrailerTotal
            | Rule::FileNameMismatch
            | Rule::ReferenceUnchecked => Scope::File,
            Rule::LineTooLong
            | Rule::UnknownRecordType
            | Rule::ExtraCell
            | Rule::MissingCell
            | Rule::UniqueError
            | Rule::ConsistencyError
            | Rule::OverlapError
            | Rule::SpanError
            | Rule::BalanceError => Scope::Record,
            Rule::EncodingError
            | Rule::ControlCharacter
            | Rule::BrokenQuote
            | Rule::RequiredError
            | Rule::TypeError
            | Rule::LengthError
            | Rule::CodeError
            | Rule::IdentifierError
            | Rule::RangeError
            | Rule::PatternError
            | Rule::ValueError
            | Rule::OrderError
            | Rule::RequiredIfError
            | Rule::EmptyIfError
            | Rule::HeaderMismatch
            | Rule::PeriodError
            | Rule::ComputedError
            | Rule::ForeignKey => Scope::Cell,
        }
    }

    /// A short plain-English title, for lists and charts.
    pub fn title(self) -> &'static str {
        match self {
            Rule::BlankRow => "Blank line",
            Rule::LineEnding => "Line endings run records together",
            Rule::LineTooLong => "Line too long",
            Rule::EncodingError => "Unreadable characters",
            Rule::EncodingMismatch => "Saved in another encoding",
            Rule::ControlCharacter => "Hidden control character",
            Rule::BrokenQuote => "Broken quote marks",
            Rule::ColumnNames => "Wrong column names",
            Rule::UnknownRecordType => "Unknown record type",
            Rule::HeaderMissing => "Header missing",
            Rule::HeaderNotFirst => "Header not first",
            Rule::TrailerMissing => "Trailer missing",
            Rule::TrailerNotLast => "Records after the trailer",
            Rule::ExtraCell => "Too many fields",
            Rule::MissingCell => "Too few fields",
            Rule::RequiredError => "Required value missing",
            Rule::TypeError => "Wrong type of value",
            Rule::LengthError => "Wrong length",
            Rule::CodeError => "Code not allowed",
            Rule::IdentifierError => "Invalid identifier",
            Rule::RangeError => "Out of range",
            Rule::PatternError => "Wrong form",
            Rule::ValueError => "Wrong fixed value",
            Rule::UniqueError => "Duplicate key",
            Rule::OrderError => "Dates out of order",
            Rule::RequiredIfError => "Required by another field",
            Rule::EmptyIfError => "Must be empty here",
            Rule::HeaderMismatch => "Differs from the header",
            Rule::PeriodError => "Outside the period",
            Rule::SpanError => "Dates too far apart or too close",
            Rule::ComputedError => "Amount does not add up",
            Rule::ConsistencyError => "Same key, different value",
            Rule::OverlapError => "Periods overlap",
            Rule::FileNameMismatch => "Header names another file",
            Rule::BalanceError => "Totals do not balance",
            Rule::TrailerCount => "Trailer count differs",
            Rule::TrailerTotal => "Trailer total differs",
            Rule::ForeignKey => "Not in the reference",
            Rule::ReferenceUnchecked => "Reference not checked",
        }
    }

    /// True when the export itself leaves out what breaks the rule (blank lines), so the
    /// officer can remove it from the batch: the removal is logged as an acceptance.
    pub fn export_removes(self) -> bool {
        matches!(self, Rule::BlankRow)
    }

    /// A one-line description of what breaks the rule.
    pub fn description(self) -> &'static str {
        match self {
            Rule::BlankRow => {
                "a line whose every field is empty (a file-level problem: export drops blank lines, so the batch waits for the officer to accept that)"
            }
            Rule::LineEnding => {
                "the file's line endings (old Mac CR-only, or a stray carriage return) run several records into one line"
            }
            Rule::LineTooLong => {
                "a line longer than 1 MiB: almost certainly not a record (a file with no line endings, or binary data)"
            }
            Rule::EncodingError => {
                "bytes that are not valid in the file's encoding; the original bytes are kept and the issue stays until the cell is retyped"
            }
            Rule::EncodingMismatch => {
                "warning: the line reads as UTF-8 but the layout says Windows-1252 / ISO-8859-1, so accented letters may show wrongly"
            }
            Rule::ControlCharacter => {
                "a control character (NUL, a bare carriage return, a tab or another byte below 0x20) inside a field"
            }
            Rule::BrokenQuote => {
                "a quote that is never closed on its line, text after a closing quote, or a quote mark inside a field that is not quoted"
            }
            Rule::ColumnNames => "the first line is not the column-name row the layout expects",
            Rule::UnknownRecordType => {
                "a record type the layout does not define (a warning, the line kept and exported as it came, where the layout says unknown_records = \"warning\")"
            }
            Rule::HeaderMissing => "the file does not start with its header record",
            Rule::HeaderNotFirst => "a header record somewhere other than first",
            Rule::TrailerMissing => {
                "the file does not end with its trailer record: it may have been cut short"
            }
            Rule::TrailerNotLast => "records after the trailer",
            Rule::ExtraCell => {
                "more fields than the record type has (a warning, kept and exported as they came, when they are empty and the layout says spare_fields = \"warning\")"
            }
            Rule::MissingCell => {
                "fewer fields than the record type has, and not the count of an earlier release the layout lists"
            }
            Rule::RequiredError => "a required field is empty or holds only spaces",
            Rule::TypeError => "not a number, not a real date or time, not a valid flag",
            Rule::LengthError => "longer than X(n) allows, or not exactly F(n) long",
            Rule::CodeError => "a value not in the field's code list",
            Rule::IdentifierError => {
                "an NI number, NHS number, GMC/NMC/HCPC/GDC/GPhC number, postcode, e-mail or ESR number that fails its check"
            }
            Rule::RangeError => "a number outside the field's minimum and maximum",
            Rule::PatternError => "a value that does not match the field's pattern",
            Rule::ValueError => {
                "a fixed value (such as the interface code in the header) that differs"
            }
            Rule::UniqueError => {
                "a second record with the same key as an earlier one (for a date-tracked record: the same key and period)"
            }
            Rule::OrderError => {
                "a date or number before the one it must not precede (end before start)"
            }
            Rule::RequiredIfError => "a field required because of another field's value is empty",
            Rule::EmptyIfError => {
                "a field that must be empty because of another field's value is filled (a credit amount on a debit line)"
            }
            Rule::HeaderMismatch => {
                "a detail field that differs from the header field it must match (a period end date that is not the header's)"
            }
            Rule::PeriodError => {
                "a date outside the period it must lie in: between two dates, or in a financial year named by the header or the record"
            }
            Rule::SpanError => {
                "the years, months or days between two dates outside their bounds (a joiner nine years old at hire)"
            }
            Rule::ComputedError => {
                "an amount that is not what its formula gives, beyond the tolerance (contributions that are not pay times rate)"
            }
            Rule::ConsistencyError => {
                "a key that carries a different value from the one it carried earlier in the file (one assignment number with two employee numbers)"
            }
            Rule::OverlapError => {
                "two rows of one date-tracked person, assignment or position whose effective periods overlap (a history row that should have been end-dated)"
            }
            Rule::FileNameMismatch => {
                "the header's file-name field names a different file from the one read: the file was renamed, or is not the file it claims to be"
            }
            Rule::BalanceError => {
                "two totals that must be equal are not (a finance file whose debits and credits do not balance)"
            }
            Rule::TrailerCount => {
                "the received trailer's record count does not match the records in the file: evidence that records were lost or added"
            }
            Rule::TrailerTotal => {
                "the received trailer's control total does not match the sum of the records: evidence that amounts were lost or changed"
            }
            Rule::ForeignKey => "a value not found in the batch or file chosen as the reference",
            Rule::ReferenceUnchecked => {
                "warning: a reference rule was not checked because no batch or file was chosen to check it against"
            }
        }
    }

    /// True for file-level rules.
    pub fn is_file_level(self) -> bool {
        self.scope() == Scope::File
    }

    /// True when an issue of this rule at `severity` blocks the whole batch, every export of
    /// it, until the file is put right or the problem is accepted with a reason: a file-level
    /// error. The one place this is decided.
    pub fn blocks_batch(self, severity: Severity) -> bool {
        self.is_file_level() && severity == Severity::Error
    }

    /// Rules judged across a group of records sharing a key (unique keys, consistent rules):
    /// an edit re-judges them through the batch's key index, not with the record alone.
    pub fn is_group(self) -> bool {
        matches!(
            self,
            Rule::UniqueError | Rule::ConsistencyError | Rule::OverlapError
        )
    }

    /// Rules whose issues come from how the line was read (bytes and quotes), not from the
    /// stored values alone: they stay on their cell until the cell is retyped.
    pub fn is_read_problem(self) -> bool {
        matches!(self, Rule::BrokenQuote | Rule::LineTooLong)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl PartialEq<&str> for Rule {
    fn eq(&self, other: &&str) -> bool {
        self.code() == *other
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Rule::from_code(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown rule code {code:?}")))
    }
}

impl rusqlite::types::ToSql for Rule {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.code().into())
    }
}

impl rusqlite::types::FromSql for Rule {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let code = v.as_str()?;
        Rule::from_code(code).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown rule code {code:?}").into())
        })
    }
}

impl rusqlite::types::ToSql for Severity {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for Severity {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        match v.as_str()? {
            "error" => Ok(Severity::Error),
            "warning" => Ok(Severity::Warning),
            other => Err(rusqlite::types::FromSqlError::Other(
                format!("unknown severity {other:?}").into(),
            )),
        }
    }
}

/// SQL text listing the codes of the rules that `keep` selects, quoted, for `IN (...)`.
pub fn sql_list(keep: impl Fn(Rule) -> bool) -> String {
    Rule::ALL
        .into_iter()
        .filter(|r| keep(*r))
        .map(|r| format!("'{}'", r.code()))
        .collect::<Vec<_>>()
        .join(",")
}

/// The table of docs/rules.md, generated from the enum.
pub fn markdown_table() -> String {
    let mut s = String::from(
        "| code | severity | scope | title | what breaks it |\n| --- | --- | --- | --- | --- |\n",
    );
    for r in Rule::ALL {
        s.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            r.code(),
            r.severity().as_str(),
            r.scope().as_str(),
            r.title(),
            r.description()
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        for r in Rule::ALL {
            assert_eq!(Rule::from_code(r.code()), Some(r));
            assert!(!r.title().is_empty() && !r.description().is_empty());
        }
        let mut codes: Vec<_> = Rule::ALL.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Rule::ALL.len());
    }

    #[test]
    fn docs_rules_md_holds_the_generated_table() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md"))
            .expect("docs/rules.md");
        assert!(
            doc.contains(&markdown_table()),
            "docs/rules.md is out of date: paste the output of `esr-desk rules --markdown` into it"
        );
    }
}
