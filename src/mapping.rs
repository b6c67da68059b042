//! Mapping a table's columns (a workbook sheet, a foreign CSV) to a layout's record type, and
//! turning the table into a file in the layout's own shape.
//!
//! A [`Mapping`] names, for each field of one record type, the column it is read from, and
//! the values of the header fields a table cannot hold (a `Source System`, say). It is saved
//! per interface and column set (see [`columns_key`]) and written as a small TOML file
//! (`--mapping FILE`, `esr-desk mapping export`).
//!
//! [`convert`] writes the table as the interface file the export would write: the column-name
//! row, a header made the way the export makes one, one detail record per row, and a trailer
//! with its counts and totals. That file is then judged by the one pipeline, with each line
//! numbered by the sheet row it came from, so every path gives the same verdict.

use crate::layout::{Field, Layout, Role};
use crate::workbook::{Table, WorkbookError, cell_text};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// How the table's columns become a record type's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The interface (layout id).
    pub interface: String,
    /// The record type each row becomes (its code).
    pub record_type: String,
    /// The sheet it was made for (for the officer's information).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// Values of header fields the table cannot hold, by field name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub header: BTreeMap<String, String>,
    /// Field name to column name, in the layout's field order.
    #[serde(default, rename = "column")]
    pub columns: Vec<ColumnMap>,
}

/// One field read from one column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMap {
    /// The layout's field.
    pub field: String,
    /// The table's column, by name.
    pub column: String,
}

/// Why a mapping could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// The mapping file could not be read.
    #[error("could not read the mapping {file}: {why}")]
    File {
        /// The file.
        file: String,
        /// Why.
        why: String,
    },
    /// The mapping is for another interface, or names what the layout does not have.
    #[error("the mapping does not fit {interface}: {why}")]
    Layout {
        /// The layout's interface.
        interface: String,
        /// What does not fit.
        why: String,
    },
    /// Required fields have no column.
    #[error(
        "{table}: no column for {} required field(s) of {interface} ({record}): {}.\nThe sheet's columns are: {}.\nMap them in the window, or give a mapping file with --mapping",
        unmatched.len(), unmatched.join(", "), columns.join(", ")
    )]
    Unmatched {
        /// Where the table came from ("sheet X of file").
        table: String,
        /// The interface.
        interface: String,
        /// The record type.
        record: String,
        /// Required fields without a column.
        unmatched: Vec<String>,
        /// The table's columns.
        columns: Vec<String>,
    },
    /// The table could not be read.
    #[error(transparent)]
    Table(#[from] WorkbookError),
    /// The converted file could not be written.
    #[error("sheet row {row}: {why}")]
    Value {
        /// The sheet row.
        row: u32,
        /// Why.
        why: String,
    },
}

impl Mapping {
    /// Reads a mapping file.
    pub fn from_toml(text: &str, file: &str) -> Result<Self, MappingError> {
        toml::from_str(text).map_err(|e| MappingError::File {
            file: file.to_string(),
            why: e.to_string(),
        })
    }

    /// The mapping as a TOML file.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).unwrap_or_default();
        format!(
            "# esr-desk column mapping: which column of a workbook or CSV fills each field of\n# {} ({}). Use it with --mapping FILE.\n{body}",
            self.interface, self.record_type
        )
    }

    /// The column a field is read from.
    pub fn column_of(&self, field: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|c| c.field == field)
            .map(|c| c.column.as_str())
    }
}

/// A name reduced for comparison: lower case, letters and digits only.
pub fn normal(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Every field name and alias of a layout's detail records, reduced by [`normal`] (to find
/// the row of column names).
pub fn known_names(layout: &Layout) -> HashSet<String> {
    layout
        .details()
        .flat_map(|ri| layout.records[ri].fields.iter())
        .flat_map(|f| std::iter::once(&f.name).chain(f.aliases.iter()))
        .map(|n| normal(n))
        .collect()
}

/// The key a mapping is saved under: the interface and the table's column set (names
/// reduced by [`normal`], in order).
pub fn columns_key(interface: &str, columns: &[String]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(interface.as_bytes());
    for c in columns {
        h.update([0]);
        h.update(normal(c).as_bytes());
    }
    let d = h.finalize();
    d.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// True for a field the officer maps: not the record-type code, not generated, not a trailer
/// control figure, and without a constant value.
pub fn mappable(layout: &Layout, f: &Field, fi: usize) -> bool {
    layout.discriminator != Some(fi)
        && f.generate.is_none()
        && f.control.is_none()
        && f.value.is_none()
}

/// The header fields a mapping fills (those a sheet cannot hold and the export does not make),
/// in the layout's order.
pub fn header_fields(layout: &Layout) -> Vec<&Field> {
    layout.header().map_or_else(Vec::new, |h| {
        layout.records[h]
            .fields
            .iter()
            .enumerate()
            .filter(|(fi, f)| mappable(layout, f, *fi))
            .map(|(_, f)| f)
            .collect()
    })
}

/// The required header fields `header` leaves empty.
pub fn header_unfilled(layout: &Layout, header: &BTreeMap<String, String>) -> Vec<String> {
    header_fields(layout)
        .into_iter()
        .filter(|f| f.required && header.get(&f.name).is_none_or(|v| v.trim().is_empty()))
        .map(|f| f.name.clone())
        .collect()
}

/// How a field's column was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The mapping given or saved says so.
    Saved,
    /// The column has the field's name (case, spaces and punctuation ignored).
    Name,
    /// The column has one of the names the layout lists for the field.
    Alias,
    /// The column's name is like the field's.
    Similar,
    /// The column's values fit the field's form.
    Content,
}

impl Why {
    /// In words, for the mapping screen.
    pub fn words(self) -> &'static str {
        match self {
            Why::Saved => "saved mapping",
            Why::Name => "same name",
            Why::Alias => "known name",
            Why::Similar => "similar name",
            Why::Content => "values fit",
        }
    }
}

/// A proposed mapping: for each field of the record type, the column (index) and why.
#[derive(Debug, Clone)]
pub struct Proposal {
    /// The record type index.
    pub record: usize,
    /// Per field: the column chosen.
    pub picks: Vec<Option<(usize, Why)>>,
}

impl Proposal {
    /// Required fields with no column.
    pub fn unmatched(&self, layout: &Layout) -> Vec<String> {
        let rt = &layout.records[self.record];
        rt.fields
            .iter()
            .enumerate()
            .filter(|(fi, f)| f.required && mappable(layout, f, *fi) && self.picks[*fi].is_none())
            .map(|(_, f)| f.name.clone())
            .collect()
    }

    /// Columns no field reads (ignored).
    pub fn ignored(&self, table: &Table) -> Vec<usize> {
        let used: HashSet<usize> = self.picks.iter().flatten().map(|p| p.0).collect();
        (0..table.columns.len())
            .filter(|c| !used.contains(c))
            .collect()
    }

    /// The proposal as a mapping for a table with `columns` (read from `sheet`), header
    /// values none.
    pub fn to_mapping(
        &self,
        layout: &Layout,
        columns: &[String],
        sheet: Option<String>,
    ) -> Mapping {
        let rt = &layout.records[self.record];
        Mapping {
            interface: layout.id.clone(),
            record_type: rt.code.clone(),
            sheet,
            header: BTreeMap::new(),
            columns: rt
                .fields
                .iter()
                .zip(&self.picks)
                .filter_map(|(f, p)| {
                    let column = columns.get(p.as_ref()?.0)?;
                    Some(ColumnMap {
                        field: f.name.clone(),
                        column: column.clone(),
                    })
                })
                .collect(),
        }
    }
}

/// The detail record type a table fits best (most columns named as its fields).
fn best_record(layout: &Layout, table: &Table) -> usize {
    let cols: HashSet<String> = table.columns.iter().map(|c| normal(c)).collect();
    let score = |ri: usize| {
        layout.records[ri]
            .fields
            .iter()
            .filter(|f| {
                std::iter::once(&f.name)
                    .chain(f.aliases.iter())
                    .any(|n| cols.contains(&normal(n)))
            })
            .count()
    };
    let mut best: Option<(usize, usize)> = None;
    for ri in layout.details() {
        let s = score(ri);
        if best.is_none_or(|(_, b)| s > b) {
            best = Some((ri, s));
        }
    }
    best.map_or(0, |b| b.0)
}

/// The mapping by names alone: a column with the field's name or one of its aliases (case,
/// spaces and punctuation ignored). What the command line does without `--mapping`.
pub fn by_name(layout: &Layout, table: &Table) -> Proposal {
    let record = best_record(layout, table);
    let rt = &layout.records[record];
    let cols: Vec<String> = table.columns.iter().map(|c| normal(c)).collect();
    let mut taken = vec![false; cols.len()];
    let mut picks = vec![None; rt.fields.len()];
    for (fi, f) in rt.fields.iter().enumerate() {
        if !mappable(layout, f, fi) {
            continue;
        }
        let name = normal(&f.name);
        let pick = cols
            .iter()
            .position(|c| !c.is_empty() && *c == name)
            .map(|c| (c, Why::Name))
            .or_else(|| {
                f.aliases.iter().find_map(|a| {
                    let a = normal(a);
                    cols.iter()
                        .position(|c| !c.is_empty() && *c == a)
                        .map(|c| (c, Why::Alias))
                })
            });
        if let Some((c, why)) = pick
            && !taken[c]
        {
            taken[c] = true;
            picks[fi] = Some((c, why));
        }
    }
    Proposal { record, picks }
}

/// A mapping read against a table: each field's column found by name.
pub fn from_mapping(layout: &Layout, table: &Table, m: &Mapping) -> Result<Proposal, MappingError> {
    let bad = |why: String| MappingError::Layout {
        interface: layout.name.clone(),
        why,
    };
    if m.interface != layout.id && m.interface != layout.interface {
        return Err(bad(format!("it was made for {}", m.interface)));
    }
    let record = layout
        .record_index(&m.record_type)
        .filter(|ri| layout.records[*ri].role == Role::Detail)
        .ok_or_else(|| {
            bad(format!(
                "there is no detail record type {:?}",
                m.record_type
            ))
        })?;
    let rt = &layout.records[record];
    let mut picks = vec![None; rt.fields.len()];
    for cm in &m.columns {
        let fi = rt
            .fields
            .iter()
            .position(|f| f.name == cm.field)
            .ok_or_else(|| bad(format!("{} has no field {:?}", rt.name, cm.field)))?;
        let want = normal(&cm.column);
        let c = table
            .columns
            .iter()
            .position(|c| *c == cm.column)
            .or_else(|| table.columns.iter().position(|c| normal(c) == want));
        // A column the table lacks leaves the field unmapped (a required one is then said).
        if let Some(c) = c {
            picks[fi] = Some((c, Why::Saved));
        }
    }
    let fillable = header_fields(layout);
    if let Some(name) = m
        .header
        .keys()
        .find(|n| !fillable.iter().any(|f| f.name == **n))
    {
        return Err(bad(if layout.header().is_some() {
            format!("the header has no field {name:?} that a mapping can fill")
        } else {
            "the layout has no header".into()
        }));
    }
    Ok(Proposal { record, picks })
}

/// Similarity of two names (0 to 1): shared letter pairs (Dice's coefficient).
fn similarity(a: &str, b: &str) -> f64 {
    let pairs = |s: &str| -> Vec<(char, char)> {
        let c: Vec<char> = s.chars().collect();
        c.windows(2).map(|w| (w[0], w[1])).collect()
    };
    let (pa, mut pb) = (pairs(a), pairs(b));
    if pa.is_empty() || pb.is_empty() {
        return if a == b { 1.0 } else { 0.0 };
    }
    let total = pa.len() + pb.len();
    let mut shared = 0;
    for p in pa {
        if let Some(i) = pb.iter().position(|q| *q == p) {
            pb.swap_remove(i);
            shared += 1;
        }
    }
    2.0 * shared as f64 / total as f64
}

/// True when the field's form says something about its values (so values that fit it say the
/// column is the field's): dates, times, identifiers, code lists, patterns, fixed widths.
fn distinctive(f: &Field) -> bool {
    use crate::notation::Format;
    f.check.is_some()
        || !f.codes.is_empty()
        || f.pattern.is_some()
        || matches!(
            f.format,
            Format::Date(_) | Format::Time(_) | Format::Timestamp(_) | Format::Fixed { .. }
        )
}

/// The mapping the window proposes: [`by_name`], then similar names, then columns whose values
/// fit a field's form. The officer confirms or changes it.
pub fn propose(layout: &Layout, table: &Table) -> Proposal {
    let mut p = by_name(layout, table);
    let rt = &layout.records[p.record];
    let mut taken: Vec<bool> = vec![false; table.columns.len()];
    for (c, _) in p.picks.iter().flatten() {
        taken[*c] = true;
    }
    // Similar names: best pairs first.
    let mut pairs = Vec::new();
    for (fi, f) in rt.fields.iter().enumerate() {
        if p.picks[fi].is_some() || !mappable(layout, f, fi) {
            continue;
        }
        for (c, col) in table.columns.iter().enumerate() {
            if taken[c] || col.is_empty() {
                continue;
            }
            let s = std::iter::once(&f.name)
                .chain(f.aliases.iter())
                .map(|n| similarity(&normal(n), &normal(col)))
                .fold(0.0, f64::max);
            if s >= 0.6 {
                pairs.push((s, fi, c));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, fi, c) in pairs {
        if p.picks[fi].is_none() && !taken[c] {
            p.picks[fi] = Some((c, Why::Similar));
            taken[c] = true;
        }
    }
    // Content: the share of a column's first values that pass a distinctive field's checks.
    let samples: Vec<Vec<String>> = (0..table.columns.len())
        .map(|c| {
            if taken[c] {
                Vec::new()
            } else {
                table.samples(c, 40)
            }
        })
        .collect();
    let mut pairs = Vec::new();
    for (fi, f) in rt.fields.iter().enumerate() {
        if p.picks[fi].is_some() || !mappable(layout, f, fi) || !distinctive(f) {
            continue;
        }
        for (c, vals) in samples.iter().enumerate() {
            if taken[c] || vals.len() < 3 {
                continue;
            }
            let ok = vals
                .iter()
                .filter(|v| crate::validate::check_value(f, v).is_ok())
                .count();
            let share = ok as f64 / vals.len() as f64;
            if share >= 0.9 {
                pairs.push((share, fi, c));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, fi, c) in pairs {
        if p.picks[fi].is_none() && !taken[c] {
            p.picks[fi] = Some((c, Why::Content));
            taken[c] = true;
        }
    }
    p
}

/// Where a table came from, for messages: "sheet "X" of file.xlsx" or the file's name.
pub fn table_label(table: &Table) -> String {
    match &table.sheet {
        Some(s) => format!("sheet {s:?} of {}", table.file),
        None => table.file.clone(),
    }
}

/// A table turned into an interface file.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The file, in the layout's exact format.
    pub bytes: Vec<u8>,
    /// For each physical line of `bytes`, the sheet row it came from (the column-name row
    /// and header: the row of column names; the trailer: the row after the last).
    pub lines: Vec<u64>,
    /// Data rows converted.
    pub rows: u64,
    /// What the reader noticed, and how the columns were mapped, in words.
    pub notes: Vec<String>,
}

/// Writes `table` as the interface file the export would write, each row read through
/// `proposal` (header fields from `header`, generated ones from `fill`).
pub fn convert(
    layout: &Layout,
    table: &Table,
    proposal: &Proposal,
    header: &BTreeMap<String, String>,
    fill: &crate::export::Fill,
) -> Result<Converted, MappingError> {
    let unmatched = proposal.unmatched(layout);
    if !unmatched.is_empty() {
        return Err(MappingError::Unmatched {
            table: table_label(table),
            interface: layout.name.clone(),
            record: layout.records[proposal.record].name.clone(),
            unmatched,
            columns: table.columns.clone(),
        });
    }
    let dialect = layout.dialect;
    let eol = dialect.line_ending.as_str().as_bytes();
    let mut bytes: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut lines: Vec<u64> = Vec::new();
    let head_row = u64::from(table.header_row);
    let mut emit = |vals: &[String], row: u64, bytes: &mut Vec<u8>| -> Result<(), MappingError> {
        crate::writer::encode_record(&dialect, vals, bytes).map_err(|e| MappingError::Value {
            row: row as u32,
            why: e.to_string(),
        })?;
        bytes.extend_from_slice(eol);
        lines.push(row);
        Ok(())
    };
    if layout.column_names {
        let names: Vec<String> = layout.column_row().iter().map(|s| s.to_string()).collect();
        emit(&names, head_row, &mut bytes)?;
    }
    let code_of = |ri: usize| layout.records[ri].code.clone();
    if let Some(h) = layout.header() {
        let rt = &layout.records[h];
        let mut vals: Vec<String> = rt
            .fields
            .iter()
            .map(|f| header.get(&f.name).cloned().unwrap_or_default())
            .collect();
        if let Some(d) = layout.discriminator {
            vals[d] = code_of(h);
        }
        let vals = crate::export::header_values(layout, h, vals, fill);
        emit(&vals, head_row, &mut bytes)?;
    }
    let ri = proposal.record;
    let rt = &layout.records[ri];
    let mut tally = crate::export::Tally::new(layout);
    let mut vals: Vec<String> = vec![String::new(); rt.fields.len()];
    let mut last = head_row;
    let mut rows = 0u64;
    for row in table.rows() {
        for (fi, f) in rt.fields.iter().enumerate() {
            vals[fi] = match (proposal.picks[fi], &f.value) {
                _ if layout.discriminator == Some(fi) => rt.code.clone(),
                (Some((c, _)), _) => cell_text(row.cell(c), Some(&f.format)),
                (None, Some(v)) => v.clone(),
                (None, None) => String::new(),
            };
        }
        tally.add(layout, Some(ri), &vals);
        last = u64::from(row.row);
        emit(&vals, last, &mut bytes)?;
        rows += 1;
    }
    if let Some(t) = layout.trailer() {
        let mut vals = vec![String::new(); layout.records[t].fields.len()];
        if let Some(d) = layout.discriminator {
            vals[d] = code_of(t);
        }
        let mut said = Vec::new();
        let vals = tally
            .trailer(layout, t, vals, false, &mut said)
            .map_err(|e| MappingError::Value {
                row: last as u32 + 1,
                why: e.to_string(),
            })?;
        emit(&vals, last + 1, &mut bytes)?;
    }
    let mut notes = table.notes.clone();
    let how: Vec<String> = rt
        .fields
        .iter()
        .zip(&proposal.picks)
        .filter_map(|(f, p)| p.map(|(c, why)| (f, c, why)))
        .filter(|(f, c, _)| normal(&f.name) != normal(&table.columns[*c]))
        .map(|(f, c, why)| format!("{} ← {} ({})", f.name, table.columns[c], why.words()))
        .collect();
    if !how.is_empty() {
        notes.push(format!("Columns mapped: {}.", how.join("; ")));
    }
    let ignored: Vec<String> = proposal
        .ignored(table)
        .into_iter()
        .filter(|c| !table.columns[*c].is_empty())
        .map(|c| table.columns[c].clone())
        .collect();
    if !ignored.is_empty() {
        notes.push(format!("Columns ignored: {}.", ignored.join(", ")));
    }
    Ok(Converted {
        bytes,
        lines,
        rows,
        notes,
    })
}

/// A saved mapping as the reader sees it, for an interface (layout id) and a table's columns:
/// the mapping and the banner to show with it.
pub type SavedLookup<'a> = &'a dyn Fn(&str, &[String]) -> Option<(Mapping, String)>;

/// What the officer (or the command line) said about reading a table.
#[derive(Default, Clone, Copy)]
pub struct ReadChoice<'a> {
    /// The sheet to read (`--sheet`); the first that fits otherwise.
    pub sheet: Option<&'a str>,
    /// The mapping to use (`--mapping`); otherwise a saved one for the column set, else names.
    pub mapping: Option<&'a Mapping>,
    /// Where `mapping` came from, in words (default: "the mapping file given").
    pub origin: Option<&'a str>,
    /// How much of a workbook may be read.
    pub limits: crate::workbook::Limits,
}

/// The mapping chosen for a table: the proposal, the header values, and what to tell the
/// officer about where it came from.
#[derive(Debug, Clone)]
pub struct Chosen {
    /// Each field's column.
    pub proposal: Proposal,
    /// Header values.
    pub header: BTreeMap<String, String>,
    /// Where the mapping came from, in words.
    pub how: String,
}

/// The mapping for a table: the one given, else the one saved for its column set, else the
/// columns named as the layout's fields (or their aliases).
pub fn choose(
    layout: &Layout,
    table: &Table,
    given: Option<(&Mapping, &str)>,
    saved: SavedLookup<'_>,
) -> Result<Chosen, MappingError> {
    if let Some((m, origin)) = given {
        return Ok(Chosen {
            proposal: from_mapping(layout, table, m)?,
            header: m.header.clone(),
            how: format!("Columns mapped by {origin}."),
        });
    }
    if let Some((m, banner)) = saved(&layout.id, &table.columns)
        && let Ok(p) = from_mapping(layout, table, &m)
    {
        return Ok(Chosen {
            proposal: p,
            header: m.header,
            how: banner,
        });
    }
    Ok(Chosen {
        proposal: by_name(layout, table),
        header: BTreeMap::new(),
        how: "Columns mapped by name.".into(),
    })
}

/// What a required field without a column makes of a table: the words for "no sheet fits".
fn lacks(layout: &Layout, table: &Table, chosen: &Result<Chosen, MappingError>) -> Option<String> {
    match chosen {
        Err(e) => Some(e.to_string()),
        Ok(c) => {
            let u = c.proposal.unmatched(layout);
            (!u.is_empty()).then(|| {
                format!(
                    "no column for {} (its columns: {})",
                    u.join(", "),
                    table.columns.join(", ")
                )
            })
        }
    }
}

/// A table read, its mapping chosen and the file made.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The table's sheet and columns (the cells are not kept).
    pub sheet: Option<String>,
    /// The table's columns.
    pub columns: Vec<String>,
    /// The mapping used.
    pub chosen: Chosen,
    /// The file made.
    pub converted: Converted,
    /// What the batch was made from, in words.
    pub from: String,
}

/// The key a sheet choice is remembered under: the file's name in lower case with its digits
/// (dates, sequence numbers) made alike, so next month's file from the same system matches.
pub fn source_key(path: &std::path::Path) -> String {
    let name = crate::validate::file_name(path).to_lowercase();
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_digit() {
            if !out.ends_with('#') {
                out.push('#');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Reads a workbook or foreign CSV for `layout` and makes the interface file: the one path of
/// `validate`, `import`, the window and scheduled runs.
pub fn prepare(
    path: &std::path::Path,
    layout: &Layout,
    read: ReadChoice<'_>,
    saved: SavedLookup<'_>,
    fill: &crate::export::Fill,
) -> Result<Prepared, MappingError> {
    let given = read
        .mapping
        .map(|m| (m, read.origin.unwrap_or("the mapping file given")));
    let fits = |t: &Table| lacks(layout, t, &choose(layout, t, given, saved));
    let table = crate::workbook::read_table(
        path,
        &crate::workbook::Choice {
            sheet: read.sheet,
            limits: read.limits,
        },
        Some(layout),
        fits,
    )?;
    let chosen = choose(layout, &table, given, saved)?;
    let converted = convert(layout, &table, &chosen.proposal, &chosen.header, fill)?;
    let mut converted = converted;
    converted.notes.insert(0, chosen.how.clone());
    let from = format!("{}; {}", table_label(&table), chosen.how);
    Ok(Prepared {
        sheet: table.sheet.clone(),
        columns: table.columns.clone(),
        chosen,
        converted,
        from,
    })
}

/// The layout a table is for, found by its column names: the layout whose record type has the
/// most columns named as its fields (or their aliases) and none of its required fields
/// unmatched.
pub fn detect_layout<'a>(table: &Table, set: &'a crate::layout::LayoutSet) -> Option<&'a Layout> {
    let mut best: Option<(&Layout, usize)> = None;
    for l in &set.layouts {
        let p = by_name(l, table);
        if !p.unmatched(l).is_empty() {
            continue;
        }
        let n = p.picks.iter().flatten().count();
        if n >= 2 && best.is_none_or(|(_, b)| n > b) {
            best = Some((l, n));
        }
    }
    best.map(|b| b.0)
}

/// How the officer said to read a workbook or foreign CSV in the window: the sheet, the
/// mapping confirmed, and whether to remember it.
#[derive(Debug, Clone)]
pub struct TableImport {
    /// The sheet (None: a CSV).
    pub sheet: Option<String>,
    /// The mapping confirmed.
    pub mapping: Mapping,
    /// Save the mapping for files with these columns, and the sheet for files named alike.
    pub remember: bool,
}

/// What the mapping screen shows of a table: its sheets and columns, a few values of each,
/// and the mapping proposed (the saved one, when there is one).
#[derive(Debug, Clone)]
pub struct TablePreview {
    /// The layout proposed (its id).
    pub interface: String,
    /// The workbook's sheets (empty for a CSV).
    pub sheets: Vec<String>,
    /// The sheet read.
    pub sheet: Option<String>,
    /// The 1-based row of column names.
    pub header_row: u32,
    /// The columns.
    pub columns: Vec<String>,
    /// Up to five values of each column.
    pub samples: Vec<Vec<String>>,
    /// Data rows.
    pub rows: usize,
    /// The mapping proposed.
    pub proposal: Proposal,
    /// Header values (from a saved mapping).
    pub header: BTreeMap<String, String>,
    /// Set when a saved mapping was found for these columns: the banner to show.
    pub saved: Option<String>,
    /// What the reader noticed.
    pub notes: Vec<String>,
}

/// The preview of a table for `layout` (or, with none, for the layout its columns fit).
pub fn preview(
    path: &std::path::Path,
    layout: Option<&Layout>,
    set: &crate::layout::LayoutSet,
    sheet: Option<&str>,
    saved: SavedLookup<'_>,
) -> Result<TablePreview, MappingError> {
    // With no layout named: the one a mapping was saved for with these columns, else the one
    // the column names fit.
    let found = |t: &Table| -> Option<&Layout> {
        set.layouts
            .iter()
            .find(|l| saved(&l.id, &t.columns).is_some())
            .or_else(|| detect_layout(t, set))
    };
    let fits = |t: &Table| match layout {
        Some(l) => lacks(l, t, &choose(l, t, None, saved)),
        None => found(t)
            .is_none()
            .then(|| "its columns fit no interface".to_string()),
    };
    let choice = crate::workbook::Choice {
        sheet,
        ..Default::default()
    };
    let table = match crate::workbook::read_table(path, &choice, layout, fits) {
        // No sheet fits: show the first with anything in it, for the officer to map by hand.
        Err(WorkbookError::NoSheetFits { .. }) => {
            crate::workbook::read_table(path, &choice, layout, |_| None)?
        }
        r => r?,
    };
    let layout = match layout.or_else(|| found(&table)) {
        Some(l) => l,
        None => set.layouts.first().ok_or_else(|| MappingError::Layout {
            interface: String::new(),
            why: "no layouts are loaded".into(),
        })?,
    };
    let (proposal, header, banner) = match saved(&layout.id, &table.columns).and_then(|(m, b)| {
        from_mapping(layout, &table, &m)
            .ok()
            .map(|p| (p, m.header, b))
    }) {
        Some((p, h, b)) => (p, h, Some(b)),
        None => (propose(layout, &table), BTreeMap::new(), None),
    };
    Ok(TablePreview {
        interface: layout.id.clone(),
        sheets: table.sheets.clone(),
        sheet: table.sheet.clone(),
        header_row: table.header_row,
        samples: (0..table.columns.len())
            .map(|c| table.samples(c, 5))
            .collect(),
        rows: table.row_count(),
        columns: table.columns.clone(),
        proposal,
        header,
        saved: banner,
        notes: table.notes.clone(),
    })
}

/// True when a delimited file for `layout` starts with a local system's own column names
/// rather than the layout's (in another order, or named as the layout's aliases) and those
/// names still give every required field: the file is then mapped, not read as received.
/// Reads only the file's first line.
pub fn foreign_columns(path: &std::path::Path, layout: &Layout) -> bool {
    if !layout.column_names || crate::workbook::is_workbook(path) {
        return false;
    }
    let Ok(head) = crate::reader::head(path, 64 * 1024) else {
        return false;
    };
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    let first = &head[..memchr::memchr(b'\n', head).unwrap_or(head.len())];
    let delimiter = crate::workbook::sniff_delimiter(first);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .from_reader(first);
    let Some(Ok(rec)) = rdr.records().next() else {
        return false;
    };
    let names: Vec<String> = rec.iter().map(|s| s.trim().to_string()).collect();
    let native: Vec<String> = layout.column_row().iter().map(|n| normal(n)).collect();
    if names.iter().map(|n| normal(n)).eq(native.iter().cloned()) {
        return false;
    }
    let Ok(t) = Table::from_text_rows("", vec![names]) else {
        return false;
    };
    let p = by_name(layout, &t);
    p.unmatched(layout).is_empty() && p.picks.iter().flatten().count() >= 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::LayoutSet;

    /// Every sample interface file is read as received; a CSV named with a local system's
    /// columns is mapped; one whose columns give no required field is not.
    #[test]
    fn only_a_local_system_s_columns_are_mapped() {
        let set = LayoutSet::bundled().expect("layouts");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
        for l in &set.layouts {
            for f in std::fs::read_dir(root.join(&l.interface))
                .expect("dir")
                .flatten()
            {
                let p = f.path();
                let name = f.file_name().to_string_lossy().into_owned();
                if !p.to_string_lossy().ends_with(".defects.json") && l.file_name.matches(&name) {
                    assert!(!foreign_columns(&p, l), "{}", p.display());
                }
            }
        }
        let abs = set.get("absences").expect("absences");
        let dir = tempfile::tempdir().expect("tmp");
        let local = dir.path().join("ABS_RX1_20261102_000009.csv");
        std::fs::write(
            &local,
            "Staff Number;Surname;Assignment No;Action Code;Leave Type;Absence Start\r\n01012001;Smith;10120001-1;A;Sickness;02/11/2026\r\n",
        )
        .expect("write");
        assert!(foreign_columns(&local, abs));
        let other = dir.path().join("x.csv");
        std::fs::write(&other, "Ward,Shift\r\nWard 7,Early\r\n").expect("write");
        assert!(!foreign_columns(&other, abs));
    }
}
