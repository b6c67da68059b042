//! Synthetic sample workbooks: the records of a generated clean file, laid out as a local
//! system's spreadsheet export would lay them out (a summary sheet first, a title row above
//! the column names, the system's own column names in its own order, a column or two ESR does
//! not want, a lookup sheet), with Excel's usual damage seeded into some cells: leading zeros
//! lost, dates typed as text in another form or left as Excel serial numbers, two-digit years,
//! stray spaces, codes in other capitals. Every damaged cell is listed in the key
//! (`<file>.defects.json`) with the sheet row and the rule `validate` reports.

use crate::generate::{GenOptions, Seeded, generate};
use crate::layout::{Field, Layout};
use crate::mapping::mappable;
use crate::notation::Format;
use crate::reader::Reader;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format as XFormat, Workbook};

/// The kinds of damage seeded, in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Damage {
    /// A number with leading zeros written as a number: the zeros are lost.
    LostZeros,
    /// A date typed as text in ISO form.
    IsoText,
    /// A date left as its Excel serial number (the column formatted General).
    Serial,
    /// A date typed with a two-digit year.
    TwoDigitYear,
    /// A trailing space.
    Space,
    /// A listed code in lower case.
    LowerCase,
}

const DAMAGE: [Damage; 6] = [
    Damage::LostZeros,
    Damage::IsoText,
    Damage::Serial,
    Damage::TwoDigitYear,
    Damage::Space,
    Damage::LowerCase,
];

/// What a cell holds: text, a number or a date.
enum Cell {
    Text(String),
    Number(f64),
    Date(chrono::NaiveDate),
}

fn date_of(f: &Field, v: &str) -> Option<chrono::NaiveDate> {
    match &f.format {
        Format::Date(p) => crate::validate::day(i128::from(p.parse_value(v)?)),
        _ => None,
    }
}

/// The cell a careful export writes for a clean value.
fn clean_cell(f: &Field, v: &str) -> Cell {
    if let Some(d) = date_of(f, v) {
        return Cell::Date(d);
    }
    let numeric = matches!(f.format, Format::Numeric { .. });
    match v.parse::<f64>() {
        Ok(x) if numeric && !v.is_empty() => Cell::Number(x),
        _ => Cell::Text(v.to_string()),
    }
}

/// The damaged cell and its text as read back, if this damage applies to this value.
fn damaged(f: &Field, v: &str, d: Damage) -> Option<(Cell, String)> {
    match d {
        Damage::LostZeros => {
            let fixed_digits = matches!(f.format, Format::Fixed { .. } | Format::Padded { .. })
                || f.check.is_some();
            if !fixed_digits || !v.starts_with('0') || !v.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let x: f64 = v.parse().ok()?;
            Some((Cell::Number(x), crate::workbook::number_text(x)))
        }
        Damage::IsoText => {
            let day = date_of(f, v)?;
            let t = day.format("%Y-%m-%d").to_string();
            Some((Cell::Text(t.clone()), t))
        }
        Damage::Serial => {
            let day = date_of(f, v)?;
            let serial = excel_serial(day)?;
            Some((Cell::Number(serial), crate::workbook::number_text(serial)))
        }
        Damage::TwoDigitYear => {
            let day = date_of(f, v)?;
            let t = day.format("%d/%m/%y").to_string();
            Some((Cell::Text(t.clone()), t))
        }
        Damage::Space if !f.codes.is_empty() && !v.is_empty() => {
            let t = format!("{v} ");
            Some((Cell::Text(t.clone()), t))
        }
        Damage::LowerCase if !f.codes.is_empty() && v.to_lowercase() != v => {
            let t = v.to_lowercase();
            Some((Cell::Text(t.clone()), t))
        }
        _ => None,
    }
}

/// A date's Excel serial number (1900 system).
pub fn excel_serial(d: chrono::NaiveDate) -> Option<f64> {
    use chrono::Datelike;
    let x = ExcelDateTime::from_ymd(
        u16::try_from(d.year()).ok()?,
        d.month() as u8,
        d.day() as u8,
    )
    .ok()?;
    Some(x.to_excel())
}

fn xerr(e: rust_xlsxwriter::XlsxError) -> String {
    e.to_string()
}

/// Writes a sample workbook for `layout`'s main detail record type to `path`: `opts.rows`
/// rows, with about `opts.defect_rate` of them given one kind of Excel damage. Returns the
/// key: one entry per damaged cell, and one per required header field a sheet cannot hold.
pub fn write_sample_workbook(
    layout: &Layout,
    opts: &GenOptions,
    path: &std::path::Path,
) -> Result<Vec<Seeded>, String> {
    let clean = GenOptions {
        defect_rate: 0.0,
        ..opts.clone()
    };
    let mut bytes = Vec::new();
    generate(layout, &clean, &mut bytes).map_err(|e| e.to_string())?;
    let ri = layout
        .details()
        .next()
        .ok_or_else(|| format!("{} has no detail record type", layout.name))?;
    let rt = &layout.records[ri];
    let mut records: Vec<Vec<String>> = Vec::new();
    let mut reader = Reader::new(&bytes[..], layout.dialect);
    let mut first = true;
    while let Some(line) = reader.next_line().map_err(|e| e.to_string())? {
        let column_row = std::mem::take(&mut first) && layout.column_names;
        if line.blank || column_row {
            continue;
        }
        if crate::validate::record_type_of(layout, &line.fields) == Some(ri) {
            records.push(line.fields.to_vec());
        }
    }
    // The local system's columns: its own names, its own order, and two ESR does not want.
    let mut rng = fastrand::Rng::with_seed(opts.seed ^ 0x5eed);
    let mut columns: Vec<(String, Option<usize>)> = rt
        .fields
        .iter()
        .enumerate()
        .filter(|(fi, f)| mappable(layout, f, *fi))
        .map(|(fi, f)| (f.aliases.first().unwrap_or(&f.name).clone(), Some(fi)))
        .collect();
    rng.shuffle(&mut columns);
    columns.insert(columns.len() / 2, ("Ward".into(), None));
    columns.push(("Notes".into(), None));

    let mut wb = Workbook::new();
    let when = ExcelDateTime::from_ymd(2026, 11, 2).map_err(xerr)?;
    wb.set_properties(
        &DocProperties::new()
            .set_author("esr-desk sample generator (synthetic data)")
            .set_creation_datetime(&when),
    );
    let bold = XFormat::new().set_bold();
    let date_fmt = XFormat::new().set_num_format("dd/mm/yyyy");
    let title = format!(
        "{} export from the local system (synthetic sample data)",
        layout.name
    );
    {
        let s = wb.add_worksheet();
        s.set_name("Summary").map_err(xerr)?;
        s.write_string_with_format(0, 0, &title, &bold)
            .map_err(xerr)?;
        s.write_string(2, 0, "Rows").map_err(xerr)?;
        s.write_number(2, 1, records.len() as f64).map_err(xerr)?;
        s.write_string(3, 0, "Exported").map_err(xerr)?;
        s.write_datetime_with_format(3, 1, &when, &date_fmt)
            .map_err(xerr)?;
    }
    let header_row: u32 = 3; // 1-based: a title row and a blank row above it
    let mut key: Vec<Seeded> = Vec::new();
    {
        let s = wb.add_worksheet();
        let name: String = layout.name.chars().filter(|c| *c != '/').take(31).collect();
        s.set_name(name).map_err(xerr)?;
        s.merge_range(0, 0, 0, (columns.len() - 1) as u16, &title, &bold)
            .map_err(xerr)?;
        for (c, (name, _)) in columns.iter().enumerate() {
            s.write_string_with_format(header_row - 1, c as u16, name, &bold)
                .map_err(xerr)?;
            s.set_column_width(c as u16, 16).map_err(xerr)?;
        }
        let mut turn = (opts.seed % DAMAGE.len() as u64) as usize;
        for (i, rec) in records.iter().enumerate() {
            let row = header_row + i as u32; // 0-based row of this record
            let sheet_row = u64::from(row) + 1;
            let damage_here = opts.defect_rate > 0.0 && rng.f64() < opts.defect_rate;
            // The damaged cell, if any: the first (column, damage) pair that applies, starting
            // from this turn's kind of damage.
            let mut target: Option<(usize, Cell)> = None;
            if damage_here {
                'kinds: for k in 0..DAMAGE.len() {
                    let d = DAMAGE[(turn + k) % DAMAGE.len()];
                    let start = rng.usize(..columns.len());
                    for j in 0..columns.len() {
                        let c = (start + j) % columns.len();
                        let Some(fi) = columns[c].1 else { continue };
                        let f = &rt.fields[fi];
                        let v = rec.get(fi).map_or("", String::as_str);
                        if crate::validate::check_value(f, v).is_err() {
                            continue;
                        }
                        if let Some((cell, text)) = damaged(f, v, d)
                            && let Err((rule, _)) = crate::validate::check_value(f, &text)
                        {
                            key.push(Seeded {
                                line: sheet_row,
                                field: Some(f.name.clone()),
                                rule,
                            });
                            target = Some((c, cell));
                            turn = (turn + k + 1) % DAMAGE.len();
                            break 'kinds;
                        }
                    }
                }
            }
            for (c, (_, fi)) in columns.iter().enumerate() {
                let cell = if target.as_ref().is_some_and(|t| t.0 == c) {
                    target.take().map(|t| t.1)
                } else {
                    match fi {
                        Some(fi) => {
                            let v = rec.get(*fi).map_or("", String::as_str);
                            (!v.is_empty()).then(|| clean_cell(&rt.fields[*fi], v))
                        }
                        None if c + 1 == columns.len() => {
                            (i % 7 == 3).then(|| Cell::Text("checked by ward manager".into()))
                        }
                        None => Some(Cell::Text(
                            ["Ward 7", "Ward 12", "Outpatients", "Theatres"][i % 4].into(),
                        )),
                    }
                };
                match cell {
                    None => {}
                    Some(Cell::Text(t)) => {
                        s.write_string(row, c as u16, t).map_err(xerr)?;
                    }
                    Some(Cell::Number(x)) => {
                        s.write_number(row, c as u16, x).map_err(xerr)?;
                    }
                    Some(Cell::Date(d)) => {
                        use chrono::Datelike;
                        let x = ExcelDateTime::from_ymd(
                            d.year() as u16,
                            d.month() as u8,
                            d.day() as u8,
                        )
                        .map_err(xerr)?;
                        s.write_datetime_with_format(row, c as u16, &x, &date_fmt)
                            .map_err(xerr)?;
                    }
                }
            }
        }
    }
    {
        let s = wb.add_worksheet();
        s.set_name("Lookups").map_err(xerr)?;
        for (c, f) in rt.fields.iter().filter(|f| !f.codes.is_empty()).enumerate() {
            let c = c as u16;
            s.write_string_with_format(0, c, &f.name, &bold)
                .map_err(xerr)?;
            for (r, code) in f.codes.iter().enumerate() {
                s.write_string(r as u32 + 1, c, code).map_err(xerr)?;
            }
        }
    }
    // A header field the sheet cannot hold (a mapping gives it) is reported on the header,
    // which is numbered by the row of column names.
    for name in crate::mapping::header_unfilled(layout, &Default::default()) {
        key.push(Seeded {
            line: u64::from(header_row),
            field: Some(name),
            rule: crate::rules::Rule::RequiredError,
        });
    }
    key.sort_by_key(|s| s.line);
    wb.save(path).map_err(xerr)?;
    Ok(key)
}
