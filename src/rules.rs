//! The stable rule codes an issue carries, with what each means.
//!
//! Codes are part of the `validate --json` contract: tools and `.defects.json` files depend on
//! them, so a code is never renamed. Where frictionless-py has a code for the same thing, the
//! same code is used (blank-row, extra-cell, missing-cell, type-error, unique-error,
//! encoding-error, foreign-key); frictionless's one `constraint-error` is split here into
//! `required-error`, `length-error`, `code-error`, `range-error` and `pattern-error`, so an
//! officer sees the kinds of problem apart. `docs/rules.md` lists the same table.

/// A line whose every field is empty.
pub const BLANK_ROW: &str = "blank-row";
/// Bytes that are not valid in the file's encoding.
pub const ENCODING_ERROR: &str = "encoding-error";
/// A quote that is never closed, or text after a closing quote.
pub const BROKEN_QUOTE: &str = "broken-quote";
/// The first line is not the column-name row the layout expects.
pub const COLUMN_NAMES: &str = "column-names";
/// A record type the layout does not define.
pub const UNKNOWN_RECORD_TYPE: &str = "unknown-record-type";
/// The file does not start with its header record.
pub const HEADER_MISSING: &str = "header-missing";
/// A header record somewhere other than first.
pub const HEADER_NOT_FIRST: &str = "header-not-first";
/// The file does not end with its trailer record.
pub const TRAILER_MISSING: &str = "trailer-missing";
/// Records after the trailer.
pub const TRAILER_NOT_LAST: &str = "trailer-not-last";
/// More fields than the record type has.
pub const EXTRA_CELL: &str = "extra-cell";
/// Fewer fields than the record type has.
pub const MISSING_CELL: &str = "missing-cell";
/// A required field is empty.
pub const REQUIRED_ERROR: &str = "required-error";
/// A value that is not of the field's type (not a number, not a real date, not Y/N).
pub const TYPE_ERROR: &str = "type-error";
/// A value longer (or, for F(n), other) than the field's length.
pub const LENGTH_ERROR: &str = "length-error";
/// A value not in the field's code list.
pub const CODE_ERROR: &str = "code-error";
/// An identifier (NI number, NHS number, NMC PIN, ...) that fails its check.
pub const IDENTIFIER_ERROR: &str = "identifier-error";
/// A number outside the field's minimum and maximum.
pub const RANGE_ERROR: &str = "range-error";
/// A value that does not match the field's pattern.
pub const PATTERN_ERROR: &str = "pattern-error";
/// A fixed value (such as an interface code in the header) that is different.
pub const VALUE_ERROR: &str = "value-error";
/// A second record with the same key.
pub const UNIQUE_ERROR: &str = "unique-error";
/// A date (or number) before the one it must not precede, e.g. end before start.
pub const ORDER_ERROR: &str = "order-error";
/// A field required because of another field's value is empty.
pub const REQUIRED_IF_ERROR: &str = "required-if-error";
/// The trailer's record count does not match the records in the file.
pub const TRAILER_COUNT: &str = "trailer-count";
/// The trailer's control total does not match the sum of the records.
pub const TRAILER_TOTAL: &str = "trailer-total";
/// Two totals that must be equal are not (a finance file that does not balance).
pub const BALANCE_ERROR: &str = "balance-error";
/// A value that is not in the referenced interface's latest batch.
pub const FOREIGN_KEY: &str = "foreign-key";
/// A reference that could not be checked (no batch of the other interface in the store).
pub const REFERENCE_UNCHECKED: &str = "reference-unchecked";
/// The bytes look like UTF-8 though the layout declares a single-byte encoding.
pub const ENCODING_MISMATCH: &str = "encoding-mismatch";

/// Every rule code with a one-line description.
pub const ALL: &[(&str, &str)] = &[
    (BLANK_ROW, "a line whose every field is empty"),
    (
        ENCODING_ERROR,
        "bytes that are not valid in the file's encoding, or binary bytes in a text line",
    ),
    (
        ENCODING_MISMATCH,
        "warning: the file looks UTF-8 but the layout says Windows-1252 / ISO-8859-1",
    ),
    (
        BROKEN_QUOTE,
        "a quote that is never closed on its line, or text after a closing quote",
    ),
    (
        COLUMN_NAMES,
        "the first line is not the column-name row the layout expects",
    ),
    (
        UNKNOWN_RECORD_TYPE,
        "a record type the layout does not define",
    ),
    (
        HEADER_MISSING,
        "the file does not start with its header record",
    ),
    (
        HEADER_NOT_FIRST,
        "a header record somewhere other than first",
    ),
    (
        TRAILER_MISSING,
        "the file does not end with its trailer record",
    ),
    (TRAILER_NOT_LAST, "records after the trailer"),
    (EXTRA_CELL, "more fields than the record type has"),
    (MISSING_CELL, "fewer fields than the record type has"),
    (REQUIRED_ERROR, "a required field is empty"),
    (
        TYPE_ERROR,
        "not a number, not a real date or time, not a valid flag",
    ),
    (
        LENGTH_ERROR,
        "longer than X(n) allows, or not exactly F(n) long",
    ),
    (CODE_ERROR, "a value not in the field's code list"),
    (
        IDENTIFIER_ERROR,
        "an NI number, NHS number, GMC/NMC/HCPC/GDC/GPhC number, postcode, e-mail or ESR number that fails its check",
    ),
    (
        RANGE_ERROR,
        "a number outside the field's minimum and maximum",
    ),
    (
        PATTERN_ERROR,
        "a value that does not match the field's pattern",
    ),
    (
        VALUE_ERROR,
        "a fixed value (such as the interface code in the header) that differs",
    ),
    (
        UNIQUE_ERROR,
        "a second record with the same key as an earlier one",
    ),
    (
        ORDER_ERROR,
        "a date or number before the one it must not precede (end before start)",
    ),
    (
        REQUIRED_IF_ERROR,
        "a field required because of another field's value is empty",
    ),
    (
        TRAILER_COUNT,
        "the trailer's record count does not match the file",
    ),
    (
        TRAILER_TOTAL,
        "the trailer's control total does not match the sum of the records",
    ),
    (
        FOREIGN_KEY,
        "a value not found in the referenced interface's latest batch",
    ),
    (
        REFERENCE_UNCHECKED,
        "warning: a reference could not be checked because the other interface has no batch yet",
    ),
];

/// The description of a rule code.
pub fn describe(code: &str) -> &'static str {
    ALL.iter().find(|(c, _)| *c == code).map_or("", |(_, d)| d)
}
