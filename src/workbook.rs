//! Tables that are not interface files yet: a sheet of a workbook (.xlsx, .xlsm, .xls, .ods,
//! read with `calamine`) or a CSV with a local system's own column names. A [`Table`] is the
//! sheet's cells as the workbook holds them, with the row of column names found (title rows
//! above it are skipped). [`crate::mapping`] turns a table into the layout's own shape.
//!
//! Cells are read as they were typed: text stays exactly as it is (leading zeros kept); a date
//! cell is written exactly in the target field's date form; a number is written without float
//! noise and never in scientific notation; a formula cell gives its saved value, and the table
//! says which formula cells have none.

use crate::layout::Layout;
use crate::notation::Format;
use calamine::{Data, Range, Reader as _, Sheets};
use std::io::BufRead as _;
use std::path::Path;

/// Why a table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WorkbookError {
    /// The file could not be read at all.
    #[error("could not read {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The workbook is protected with a password.
    #[error(
        "{file} is protected with a password: open it in Excel, remove the password (File › Info › Protect Workbook › Encrypt with Password, then clear it), save it and try again"
    )]
    Encrypted {
        /// The file.
        file: String,
    },
    /// Not a readable workbook: a damaged or incomplete file.
    #[error(
        "{file} is not a readable workbook (the file is damaged or incomplete: {why}); open it in Excel and save it again, or ask for it to be sent again"
    )]
    Corrupt {
        /// The file.
        file: String,
        /// What the reader said.
        why: String,
    },
    /// The sheet named does not exist.
    #[error("{file} has no sheet named {sheet:?}; its sheets are: {}", sheets.join(", "))]
    NoSuchSheet {
        /// The file.
        file: String,
        /// The name asked for.
        sheet: String,
        /// The sheets it has.
        sheets: Vec<String>,
    },
    /// The sheet (or every sheet) holds nothing.
    #[error("{what} is empty: there is nothing to read")]
    Empty {
        /// "sheet X of file" or "file".
        what: String,
    },
    /// The column names sit in merged cells.
    #[error(
        "the column names in row {row} of sheet {sheet:?} are in merged cells ({cells}): unmerge them in Excel (Home › Merge & Center › Unmerge Cells) and give each column its own name"
    )]
    MergedHeader {
        /// The sheet.
        sheet: String,
        /// The 1-based row.
        row: u32,
        /// The merged range, as Excel names it (C3:E3).
        cells: String,
    },
    /// No sheet has the columns the layout needs.
    #[error("no sheet of {file} fits {interface}:\n{}", why.join("\n"))]
    NoSheetFits {
        /// The file.
        file: String,
        /// The interface.
        interface: String,
        /// One line per sheet: what it lacks.
        why: Vec<String>,
    },
    /// A CSV that could not be read as a table.
    #[error("{file} line {line}: {why}")]
    Csv {
        /// The file.
        file: String,
        /// The line.
        line: u64,
        /// What was wrong.
        why: String,
    },
}

/// True when the file is a workbook: by its name, or, when its name does not say it is a text
/// file, by its first bytes (a zip or an OLE container, as .xlsx/.ods and .xls files are).
pub fn is_workbook(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("xlsx" | "xlsm" | "xls" | "xlsb" | "ods") => return true,
        // Named as a text interface file: judged as one (binary content is refused as such).
        Some("csv" | "txt" | "dat" | "tsv") => return false,
        _ => {}
    }
    match crate::reader::head(path, 8) {
        Ok(h) => h.starts_with(b"PK\x03\x04") || h.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]),
        Err(_) => false,
    }
}

/// A sheet (or a foreign CSV) read into cells.
#[derive(Debug, Clone)]
pub struct Table {
    /// The file's name.
    pub file: String,
    /// The sheet read (None for a CSV).
    pub sheet: Option<String>,
    /// Every sheet of the workbook, in order.
    pub sheets: Vec<String>,
    /// The 1-based row of the column names.
    pub header_row: u32,
    /// The column names, as written.
    pub columns: Vec<String>,
    /// The cells: rows and columns as the sheet numbers them (0-based absolute positions).
    cells: Range<Data>,
    /// Formula cells with no saved value: (1-based row, 0-based column).
    pub no_value: Vec<(u32, usize)>,
    /// What the reader noticed, in words (the sheet chosen, title rows skipped, ...).
    pub notes: Vec<String>,
}

/// One data row of a table.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// The 1-based row number, as the sheet shows it.
    pub row: u32,
    cells: &'a [Data],
}

impl<'a> Row<'a> {
    /// The cell of column `c` (Empty beyond the row's end).
    pub fn cell(&self, c: usize) -> &'a Data {
        static EMPTY: Data = Data::Empty;
        self.cells.get(c).unwrap_or(&EMPTY)
    }
}

impl Table {
    /// The data rows below the column names, skipping rows with no value in any cell.
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> + '_ {
        let (r0, _) = self.cells.start().unwrap_or((0, 0));
        let first = self.header_row; // the 1-based header row is the next row's 0-based index
        self.cells
            .rows()
            .enumerate()
            .map(move |(i, cells)| (r0 + i as u32, cells))
            .filter(move |(r, _)| *r >= first)
            .filter(|(_, cells)| cells.iter().any(|d| !is_blank(d)))
            .map(|(r, cells)| Row { row: r + 1, cells })
    }

    /// Number of data rows.
    pub fn row_count(&self) -> usize {
        self.rows().count()
    }

    /// Up to `n` non-empty values of column `c`, as text (for showing what a column holds).
    pub fn samples(&self, c: usize, n: usize) -> Vec<String> {
        self.rows()
            .map(|r| cell_text(r.cell(c), None))
            .filter(|v| !v.trim().is_empty())
            .take(n)
            .collect()
    }

    /// A table from rows of text (the first row holds the column names): a foreign CSV.
    pub fn from_text_rows(file: &str, rows: Vec<Vec<String>>) -> Result<Self, WorkbookError> {
        let height = rows.len();
        let width = rows.iter().map(Vec::len).max().unwrap_or(0);
        if height == 0 || width == 0 {
            return Err(WorkbookError::Empty {
                what: file.to_string(),
            });
        }
        let mut cells = Range::new((0, 0), (height as u32 - 1, width as u32 - 1));
        for (r, row) in rows.into_iter().enumerate() {
            for (c, v) in row.into_iter().enumerate() {
                if !v.is_empty() {
                    cells.set_value((r as u32, c as u32), Data::String(v));
                }
            }
        }
        let mut t = Table {
            file: file.to_string(),
            sheet: None,
            sheets: Vec::new(),
            header_row: 1,
            columns: Vec::new(),
            cells,
            no_value: Vec::new(),
            notes: Vec::new(),
        };
        t.set_header(0);
        Ok(t)
    }

    fn set_header(&mut self, index: usize) {
        let (r0, _) = self.cells.start().unwrap_or((0, 0));
        self.header_row = r0 + index as u32 + 1;
        self.columns = self
            .cells
            .rows()
            .nth(index)
            .map(|cells| {
                cells
                    .iter()
                    .map(|d| cell_text(d, None).trim().to_string())
                    .collect()
            })
            .unwrap_or_default();
        while self.columns.last().is_some_and(String::is_empty) {
            self.columns.pop();
        }
    }

    /// The column's name for messages: its name, or its letter when it has none.
    pub fn column_label(&self, c: usize) -> String {
        match self.columns.get(c).filter(|n| !n.is_empty()) {
            Some(n) => n.clone(),
            None => format!(
                "column {}",
                column_letter(c + self.cells.start().map_or(0, |s| s.1 as usize))
            ),
        }
    }
}

fn is_blank(d: &Data) -> bool {
    match d {
        Data::Empty => true,
        Data::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// Excel's letters for a 0-based column (0 → A, 27 → AB).
pub fn column_letter(mut c: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// A number as typed: whole numbers without a decimal point, others to Excel's 15 significant
/// digits (so 0.1+0.2 is 0.3, not 0.30000000000000004), never in scientific notation.
pub fn number_text(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{}", x as i64);
    }
    let rounded: f64 = format!("{x:.14e}").parse().unwrap_or(x);
    // Rust writes floats in full, never with an exponent.
    format!("{rounded}")
}

/// The date and seconds of the day an Excel serial date stands for (the workbook's 1900 or
/// 1904 system; Excel's 29 February 1900 is read as 1 March).
pub fn excel_date(d: &calamine::ExcelDateTime) -> Option<(chrono::NaiveDate, u32)> {
    let (y, mo, da, h, mi, s, ms) = d.to_ymd_hms_milli();
    let date = match (y, mo, da) {
        // Excel's day 0 (a time with no date) and its 29 February 1900.
        (1900, 1, 0) => chrono::NaiveDate::from_ymd_opt(1899, 12, 31),
        (1900, 2, 29) => chrono::NaiveDate::from_ymd_opt(1900, 3, 1),
        _ => chrono::NaiveDate::from_ymd_opt(i32::from(y), u32::from(mo), u32::from(da)),
    }?;
    let secs = u32::from(h) * 3600 + u32::from(mi) * 60 + u32::from(s) + u32::from(ms >= 500);
    Some((date, secs.min(86_399)))
}

/// A date or time written in `format`'s form (ISO when the field is not a date; a time of
/// day alone, as a time cell holds it, as HH:MM or HH:MM:SS).
fn date_text(
    format: Option<&Format>,
    date: chrono::NaiveDate,
    secs: u32,
    time_only: bool,
) -> String {
    let time = || {
        let t = chrono::NaiveTime::from_num_seconds_from_midnight_opt(secs, 0).unwrap_or_default();
        let f = if secs.is_multiple_of(60) {
            "%H:%M"
        } else {
            "%H:%M:%S"
        };
        t.format(f).to_string()
    };
    match format {
        Some(Format::Date(p) | Format::Timestamp(p) | Format::Time(p)) => p.format(date, secs),
        _ if time_only => time(),
        _ if secs == 0 => date.format("%Y-%m-%d").to_string(),
        _ => format!("{} {}", date.format("%Y-%m-%d"), time()),
    }
}

/// A cell as text for a field of `format` (None: as the sheet shows it).
pub fn cell_text(d: &Data, format: Option<&Format>) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(x) => number_text(*x),
        // A tick box (TRUE/FALSE) in a flag field is the flag's own yes or no.
        Data::Bool(b) => match format {
            Some(Format::Flag { yes, no }) => if *b { yes } else { no }.clone(),
            _ => if *b { "TRUE" } else { "FALSE" }.to_string(),
        },
        Data::DateTime(dt) if dt.is_duration() => {
            let secs = (dt.as_f64() * 86_400.0).round().max(0.0) as u64;
            format!("{:02}:{:02}", secs / 3600, secs / 60 % 60)
        }
        // A time cell's serial is under 1 (no date).
        Data::DateTime(dt) => match excel_date(dt) {
            Some((date, secs)) => date_text(format, date, secs, dt.as_f64() < 1.0),
            None => number_text(dt.as_f64()),
        },
        Data::DateTimeIso(s) => {
            let parsed = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| {
                    (
                        t.date(),
                        chrono::Timelike::num_seconds_from_midnight(&t.time()),
                    )
                })
                .or_else(|| {
                    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .ok()
                        .map(|d| (d, 0))
                });
            match parsed {
                Some((date, secs)) => date_text(format, date, secs, false),
                None => s.clone(),
            }
        }
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// Where a workbook came from and what was chosen: the sheet asked for, if any.
#[derive(Debug, Clone, Default)]
pub struct Choice<'a> {
    /// The sheet the officer named.
    pub sheet: Option<&'a str>,
}

/// An open workbook.
pub struct Workbook {
    file: String,
    sheets: Vec<String>,
    inner: Sheets<std::io::BufReader<std::fs::File>>,
}

fn open_error(file: &str, e: calamine::Error) -> WorkbookError {
    use calamine::{Error as E, OdsError, XlsError, XlsxError};
    let encrypted = matches!(
        e,
        E::Xlsx(XlsxError::Password) | E::Xls(XlsError::Password) | E::Ods(OdsError::Password)
    );
    if encrypted {
        return WorkbookError::Encrypted {
            file: file.to_string(),
        };
    }
    if let E::Io(source) = e {
        return WorkbookError::Io {
            file: file.to_string(),
            source,
        };
    }
    WorkbookError::Corrupt {
        file: file.to_string(),
        why: e.to_string(),
    }
}

impl Workbook {
    /// Opens a workbook.
    pub fn open(path: &Path) -> Result<Self, WorkbookError> {
        let file = crate::validate::file_name(path);
        let meta = std::fs::metadata(path).map_err(|source| WorkbookError::Io {
            file: file.clone(),
            source,
        })?;
        if !meta.is_file() {
            return Err(WorkbookError::Io {
                file: file.clone(),
                source: std::io::Error::other("it is not a file"),
            });
        }
        if meta.len() == 0 {
            return Err(WorkbookError::Empty { what: file });
        }
        // An encrypted .xlsx is an OLE container whatever its name says.
        let ole = crate::reader::head(path, 8)
            .map(|h| h.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]))
            .unwrap_or(false);
        let inner = if ole {
            calamine::open_workbook::<calamine::Xls<_>, _>(path)
                .map(Sheets::Xls)
                .map_err(calamine::Error::Xls)
                .or_else(|e| {
                    // Not an .xls: an encrypted .xlsx says so when opened as one.
                    calamine::open_workbook::<calamine::Xlsx<_>, _>(path)
                        .map(Sheets::Xlsx)
                        .map_err(|x| match x {
                            calamine::XlsxError::Password => calamine::Error::Xlsx(x),
                            _ => e,
                        })
                })
        } else {
            calamine::open_workbook_auto(path)
        }
        .map_err(|e| open_error(&file, e))?;
        let sheets = inner.sheet_names();
        Ok(Workbook {
            file,
            sheets,
            inner,
        })
    }

    /// The sheets, in order.
    pub fn sheet_names(&self) -> &[String] {
        &self.sheets
    }

    /// The cells of one sheet, with the column-name row found (preferring the row whose names
    /// match `layout`'s fields when one is given).
    pub fn table(&mut self, sheet: &str, layout: Option<&Layout>) -> Result<Table, WorkbookError> {
        if !self.sheets.iter().any(|s| s == sheet) {
            return Err(WorkbookError::NoSuchSheet {
                file: self.file.clone(),
                sheet: sheet.to_string(),
                sheets: self.sheets.clone(),
            });
        }
        let cells = self
            .inner
            .worksheet_range(sheet)
            .map_err(|e| open_error(&self.file, e))?;
        let empty = WorkbookError::Empty {
            what: format!("sheet {sheet:?} of {}", self.file),
        };
        if cells.rows().all(|r| r.iter().all(is_blank)) {
            return Err(empty);
        }
        let mut t = Table {
            file: self.file.clone(),
            sheet: Some(sheet.to_string()),
            sheets: self.sheets.clone(),
            header_row: 1,
            columns: Vec::new(),
            cells,
            no_value: Vec::new(),
            notes: Vec::new(),
        };
        let index = header_index(&t.cells, layout);
        t.set_header(index);
        if index > 0 {
            t.notes.push(format!(
                "Column names read from row {} of sheet {sheet:?} (the {} row(s) above it are titles).",
                t.header_row,
                t.header_row - 1
            ));
        }
        self.check_merges(&t)?;
        self.formulas_without_value(&mut t);
        Ok(t)
    }

    fn check_merges(&mut self, t: &Table) -> Result<(), WorkbookError> {
        let Some(sheet) = t.sheet.as_deref() else {
            return Ok(());
        };
        let merges = match &mut self.inner {
            Sheets::Xlsx(x) => x.merge_cells_by_sheet_name(sheet).ok(),
            Sheets::Xls(x) => x.merge_cells_by_sheet_name(sheet).ok(),
            _ => None,
        }
        .unwrap_or_default();
        let row0 = t.header_row - 1;
        for m in merges {
            let spans = m.end.1 > m.start.1 || m.end.0 > m.start.0;
            if spans && m.start.0 <= row0 && row0 <= m.end.0 {
                return Err(WorkbookError::MergedHeader {
                    sheet: sheet.to_string(),
                    row: t.header_row,
                    cells: format!(
                        "{}{}:{}{}",
                        column_letter(m.start.1 as usize),
                        m.start.0 + 1,
                        column_letter(m.end.1 as usize),
                        m.end.0 + 1
                    ),
                });
            }
        }
        Ok(())
    }

    fn formulas_without_value(&mut self, t: &mut Table) {
        let Some(sheet) = t.sheet.clone() else { return };
        let Ok(formulas) = self.inner.worksheet_formula(&sheet) else {
            return;
        };
        let Some((fr, fc)) = formulas.start() else {
            return;
        };
        for (i, row) in formulas.rows().enumerate() {
            let r = fr + i as u32;
            if r < t.header_row {
                continue;
            }
            for (j, f) in row.iter().enumerate() {
                let c = fc + j as u32;
                let no_value = t.cells.get_value((r, c)).is_none_or(|d| match d {
                    Data::Empty => true,
                    Data::String(s) => s.is_empty(),
                    _ => false,
                });
                if !f.is_empty() && no_value {
                    t.no_value.push((r + 1, c as usize));
                }
            }
        }
        if let Some(&(r, c)) = t.no_value.first() {
            t.notes.push(format!(
                "{} formula cell(s) have no saved value (the workbook was saved without calculating), e.g. {}{r}: they are read as empty. Open the workbook in Excel, let it calculate, save it and read it again.",
                t.no_value.len(),
                column_letter(c)
            ));
        }
    }
}

/// The 0-based index (within the used range) of the row of column names: the row with the
/// most cells naming `layout`'s fields, when any row names two or more; otherwise the first
/// row whose cells are all text and fill at least half the width the data below uses.
fn header_index(cells: &Range<Data>, layout: Option<&Layout>) -> usize {
    let rows: Vec<&[Data]> = cells.rows().take(60).collect();
    if let Some(layout) = layout {
        let names = crate::mapping::known_names(layout);
        let mut best = (0usize, 0usize);
        for (i, r) in rows.iter().enumerate().take(30) {
            let n = r
                .iter()
                .filter(|d| match d {
                    Data::String(s) => names.contains(&crate::mapping::normal(s)),
                    _ => false,
                })
                .count();
            if n > best.1 {
                best = (i, n);
            }
        }
        if best.1 >= 2 {
            return best.0;
        }
    }
    let filled = |r: &[Data]| r.iter().filter(|d| !is_blank(d)).count();
    let width = rows.iter().map(|r| filled(r)).max().unwrap_or(0);
    rows.iter()
        .take(30)
        .position(|r| {
            let n = filled(r);
            n >= 2
                && n * 2 >= width
                && r.iter()
                    .all(|d| is_blank(d) || matches!(d, Data::String(_)))
        })
        .or_else(|| rows.iter().position(|r| filled(r) > 0))
        .unwrap_or(0)
}

/// The delimiter of a foreign CSV, from its first line: the commonest of comma, semicolon,
/// tab and bar (comma when none is there).
pub fn sniff_delimiter(first_line: &[u8]) -> u8 {
    [b',', b';', b'\t', b'|']
        .into_iter()
        .max_by_key(|d| first_line.iter().filter(|b| *b == d).count())
        .unwrap_or(b',')
}

/// Reads a foreign CSV (a local system's own columns): UTF-8 (a byte order mark allowed),
/// its delimiter found from the first line (comma, semicolon, tab or bar).
pub fn read_csv(path: &Path) -> Result<Table, WorkbookError> {
    let file = crate::validate::file_name(path);
    let io = |source| WorkbookError::Io {
        file: file.clone(),
        source,
    };
    let mut src = crate::reader::open(path).map_err(io)?;
    let first = {
        let buf = src.fill_buf().map_err(io)?;
        let end = memchr::memchr(b'\n', buf).unwrap_or(buf.len());
        buf[..end].to_vec()
    };
    let delimiter = sniff_delimiter(&first);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(src);
    let mut rows = Vec::new();
    for (i, rec) in rdr.byte_records().enumerate() {
        let rec = rec.map_err(|e| WorkbookError::Csv {
            file: file.clone(),
            line: e.position().map_or(i as u64 + 1, |p| p.line()),
            why: e.to_string(),
        })?;
        let line = rec.position().map_or(i as u64 + 1, |p| p.line());
        let mut row = Vec::with_capacity(rec.len());
        for (j, f) in rec.iter().enumerate() {
            let f = if i == 0 && j == 0 {
                f.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(f)
            } else {
                f
            };
            match std::str::from_utf8(f) {
                Ok(s) => row.push(s.to_string()),
                Err(_) => {
                    return Err(WorkbookError::Csv {
                        file: file.clone(),
                        line,
                        why: format!(
                            "column {} is not UTF-8 text: save the file as \"CSV UTF-8\"",
                            j + 1
                        ),
                    });
                }
            }
        }
        rows.push(row);
    }
    Table::from_text_rows(&file, rows)
}

/// Reads the table of a source: the sheet named in `choice` (or, with none, the first sheet
/// that `fits` accepts, with a note saying which), or the whole of a CSV. When no sheet fits,
/// a workbook of one sheet gives that sheet, and one of several says what each lacks (with
/// no layout, the sheet holding the most is given). `fits` says what a sheet lacks for the layout (None: it fits).
pub fn read_table(
    path: &Path,
    choice: &Choice<'_>,
    layout: Option<&Layout>,
    fits: impl Fn(&Table) -> Option<String>,
) -> Result<Table, WorkbookError> {
    if !is_workbook(path) {
        return read_csv(path);
    }
    // A workbook is someone else's format, read by someone else's code: should the reader
    // fail on a damaged file in a way it did not foresee, the file is called damaged, and
    // the program goes on.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_workbook(path, choice, layout, &fits)
    }))
    .unwrap_or_else(|_| {
        Err(WorkbookError::Corrupt {
            file: crate::validate::file_name(path),
            why: "the workbook reader could not make sense of it".into(),
        })
    })
}

fn read_workbook(
    path: &Path,
    choice: &Choice<'_>,
    layout: Option<&Layout>,
    fits: &dyn Fn(&Table) -> Option<String>,
) -> Result<Table, WorkbookError> {
    let mut wb = Workbook::open(path)?;
    if let Some(sheet) = choice.sheet {
        return wb.table(sheet, layout);
    }
    let names = wb.sheet_names().to_vec();
    let mut why = Vec::new();
    let mut first: Option<Table> = None;
    for name in &names {
        let t = match wb.table(name, layout) {
            Ok(t) => t,
            Err(WorkbookError::Empty { .. }) => {
                why.push(format!("  sheet {name:?}: empty"));
                continue;
            }
            Err(e) => return Err(e),
        };
        match fits(&t) {
            None => {
                let mut t = t;
                if names.len() > 1 {
                    t.notes.insert(
                        0,
                        format!("Read sheet {name:?}, the first sheet that fits."),
                    );
                }
                return Ok(t);
            }
            Some(lacks) => {
                why.push(format!("  sheet {name:?}: {lacks}"));
                // Of sheets that do not fit, the one holding the most is the likeliest data.
                let size = |t: &Table| t.row_count() * t.columns.len().max(1);
                if first.as_ref().is_none_or(|f| size(&t) > size(f)) {
                    first = Some(t);
                }
            }
        }
    }
    match (first, layout) {
        (None, _) => Err(WorkbookError::Empty {
            what: format!("every sheet of {}", wb.file),
        }),
        (Some(t), None) => Ok(t),
        (Some(_), Some(l)) if names.len() > 1 => Err(WorkbookError::NoSheetFits {
            file: wb.file.clone(),
            interface: l.name.clone(),
            why,
        }),
        (Some(t), Some(_)) => Ok(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]
        /// A number is never written in scientific notation, and reads back as the number
        /// Excel shows (15 significant digits).
        #[test]
        fn numbers_are_written_out_in_full(x in proptest::num::f64::NORMAL | proptest::num::f64::ZERO) {
            let t = number_text(x);
            prop_assert!(!t.contains(['e', 'E']), "{t}");
            let back: f64 = t.parse().expect("a number");
            let shown: f64 = format!("{x:.14e}").parse().expect("a number");
            prop_assert_eq!(back, shown);
        }

        /// Every date Excel can hold reads back as the same date from its serial number (the
        /// writer's and the reader's calendars agree, 1900 leap-year bug included).
        #[test]
        fn serial_dates_read_back_exactly(days in 0i64..2_958_000) {
            let d = chrono::NaiveDate::from_ymd_opt(1900, 3, 1).expect("date")
                + chrono::Duration::days(days);
            prop_assume!(chrono::Datelike::year(&d) <= 9999);
            let serial = crate::sample_workbook::excel_serial(d).expect("serial");
            let dt = calamine::ExcelDateTime::new(serial, calamine::ExcelDateTimeType::DateTime, false);
            prop_assert_eq!(excel_date(&dt), Some((d, 0)));
        }
    }

    /// Random bytes dressed as workbooks (zip or OLE starts, cut-short real workbooks) give
    /// an error, never a panic.
    #[test]
    fn damaged_workbooks_never_panic() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut rng = fastrand::Rng::with_seed(15);
        let real = {
            let p = dir.path().join("real.xlsx");
            let mut wb = rust_xlsxwriter::Workbook::new();
            let s = wb.add_worksheet();
            s.write_string(0, 0, "Employee Number").expect("w");
            s.write_string(1, 0, "01012001").expect("w");
            wb.save(&p).expect("save");
            std::fs::read(&p).expect("read")
        };
        for i in 0..120 {
            let mut bytes: Vec<u8> = match i % 3 {
                0 => b"PK\x03\x04".to_vec(),
                1 => vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1],
                _ => real[..rng.usize(0..real.len())].to_vec(),
            };
            for _ in 0..rng.usize(0..600) {
                bytes.push(rng.u8(..));
            }
            if i % 7 == 0 && bytes.len() > 40 {
                // A real workbook with a few bytes flipped.
                bytes = real.clone();
                for _ in 0..4 {
                    let at = rng.usize(..bytes.len());
                    bytes[at] ^= 0x5A;
                }
            }
            let p = dir.path().join(format!("w{i}.xlsx"));
            std::fs::write(&p, &bytes).expect("write");
            let _ = read_table(&p, &Choice::default(), None, |_| None);
        }
    }

    #[test]
    fn times_and_tick_boxes_are_read_in_the_field_s_form() {
        use calamine::{ExcelDateTime, ExcelDateTimeType};
        let time = Data::DateTime(ExcelDateTime::new(0.5, ExcelDateTimeType::DateTime, false));
        assert_eq!(cell_text(&time, None), "12:00", "a time with no date");
        let hhmm = Format::parse("time(HHMM)").expect("format");
        assert_eq!(cell_text(&time, Some(&hhmm)), "1200");
        let when = Data::DateTime(ExcelDateTime::new(
            46328.75,
            ExcelDateTimeType::DateTime,
            false,
        ));
        assert_eq!(cell_text(&when, None), "2026-11-02 18:00");
        let flag = Format::parse("flag(Y/N)").expect("format");
        assert_eq!(cell_text(&Data::Bool(true), Some(&flag)), "Y");
        assert_eq!(cell_text(&Data::Bool(false), Some(&flag)), "N");
        assert_eq!(cell_text(&Data::Bool(true), None), "TRUE");
        let leap = Data::DateTime(ExcelDateTime::new(60.0, ExcelDateTimeType::DateTime, false));
        assert_eq!(
            cell_text(&leap, None),
            "1900-03-01",
            "Excel's 29 February 1900"
        );
    }

    #[test]
    fn whole_numbers_have_no_point_and_float_noise_is_gone() {
        assert_eq!(number_text(1012001.0), "1012001");
        assert_eq!(number_text(0.1 + 0.2), "0.3");
        assert_eq!(number_text(123456789012.0), "123456789012");
        assert_eq!(number_text(1e20), "100000000000000000000");
        assert_eq!(number_text(-7.5), "-7.5");
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(27), "AB");
    }
}
