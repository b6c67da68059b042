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
use calamine::{Data, Reader as _, Sheets};
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
    /// A sheet past the limits set for workbooks.
    #[error(
        "{what} is too big to read here: {why}. Save the sheet as a CSV file and import that, or split it"
    )]
    TooBig {
        /// The sheet or file.
        what: String,
        /// Which limit it passes.
        why: String,
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
    cells: Grid,
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
        let first = self.header_row; // the 1-based header row is the next row's 0-based index
        self.cells
            .rows
            .iter()
            .filter(move |(r, _)| *r >= first)
            .filter(|(_, cells)| cells.iter().any(|d| !is_blank(d)))
            .map(|(r, cells)| Row {
                row: r + 1,
                cells: cells.as_slice(),
            })
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
        let mut g = GridBuilder::new(file, Limits::default());
        for (r, row) in rows.into_iter().enumerate() {
            for (c, v) in row.into_iter().enumerate() {
                if !v.is_empty() {
                    g.push(r as u32, c as u32, Data::String(v))?;
                }
            }
        }
        let cells = g.finish()?;
        if cells.rows.is_empty() {
            return Err(WorkbookError::Empty {
                what: file.to_string(),
            });
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

    /// The column names are in the `index`th row holding anything.
    fn set_header(&mut self, index: usize) {
        let Some((r, cells)) = self.cells.rows.get(index) else {
            return;
        };
        self.header_row = r + 1;
        self.columns = cells
            .iter()
            .map(|d| cell_text(d, None).trim().to_string())
            .collect();
        while self.columns.last().is_some_and(String::is_empty) {
            self.columns.pop();
        }
    }

    /// The column's name for messages: its name, or its letter when it has none.
    pub fn column_label(&self, c: usize) -> String {
        match self.columns.get(c).filter(|n| !n.is_empty()) {
            Some(n) => n.clone(),
            None => format!("column {}", column_letter(c + self.cells.c0 as usize)),
        }
    }
}

/// How much of a workbook is read: a sheet past these is refused with a plain message, before
/// its cells are held (a few bytes can claim to hold a sheet of billions of cells). The
/// defaults take a 1,000,000-row sheet of 30 columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Cells a sheet may hold (every cell from the table's first column to each row's last,
    /// empty ones included).
    pub max_cells: u64,
    /// Bytes a part of the workbook (a sheet, its shared text) may take once unpacked.
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_cells: 32_000_000,
            max_bytes: 1024 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// The limits the store's settings give (`workbook.max-cells`, `workbook.max-mib`), else
    /// the defaults.
    pub fn from_store(store: &crate::store::Store) -> Self {
        let d = Self::default();
        let read = |k: &str| {
            store
                .setting(k)
                .ok()
                .flatten()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        Self {
            max_cells: read("workbook.max-cells").unwrap_or(d.max_cells),
            max_bytes: read("workbook.max-mib").map_or(d.max_bytes, |m| m * 1024 * 1024),
        }
    }
}

/// A sheet's cells, kept sparse: only the rows that hold something, each from the table's
/// first column to its own last cell. A cell far from the others is no reason to hold the
/// space between them.
#[derive(Debug, Clone, Default)]
struct Grid {
    /// The first column any row uses (0-based).
    c0: u32,
    /// (0-based row, its cells from `c0`), in row order.
    rows: Vec<(u32, Vec<Data>)>,
}

impl Grid {
    /// The cell at (row, column), 0-based absolute.
    fn get(&self, r: u32, c: u32) -> Option<&Data> {
        let i = self.rows.binary_search_by_key(&r, |(x, _)| *x).ok()?;
        self.rows[i].1.get(c.checked_sub(self.c0)? as usize)
    }
}

/// Gathers cells in the order a sheet gives them, counting them against the limits.
struct GridBuilder {
    what: String,
    limits: Limits,
    cells: u64,
    bytes: u64,
    /// (row, [(column, value)]) in order of arrival.
    rows: Vec<(u32, Vec<(u32, Data)>)>,
}

impl GridBuilder {
    fn new(what: &str, limits: Limits) -> Self {
        Self {
            what: what.to_string(),
            limits,
            cells: 0,
            bytes: 0,
            rows: Vec::new(),
        }
    }

    fn too_big(&self, why: String) -> WorkbookError {
        WorkbookError::TooBig {
            what: self.what.clone(),
            why,
        }
    }

    /// Takes one cell (empty ones are not kept).
    fn push(&mut self, r: u32, c: u32, d: Data) -> Result<(), WorkbookError> {
        if matches!(d, Data::Empty) {
            return Ok(());
        }
        self.cells += 1;
        if let Data::String(s) = &d {
            self.bytes += s.len() as u64;
        }
        if self.cells > self.limits.max_cells {
            return Err(self.too_big(format!(
                "it holds more than {} cells (the setting workbook.max-cells)",
                self.limits.max_cells
            )));
        }
        if self.bytes > self.limits.max_bytes {
            return Err(self.too_big(format!(
                "its text takes more than {} MiB (the setting workbook.max-mib)",
                self.limits.max_bytes / (1024 * 1024)
            )));
        }
        match self.rows.last_mut() {
            Some((lr, cells)) if *lr == r => cells.push((c, d)),
            _ => self.rows.push((r, vec![(c, d)])),
        }
        Ok(())
    }

    /// The sparse grid: rows in order, each dense from the first column used, counted
    /// against the limit of cells (the gaps filled with empty cells count too).
    fn finish(mut self) -> Result<Grid, WorkbookError> {
        self.rows.sort_by_key(|(r, _)| *r);
        // Rows given twice (not in order) are merged.
        let mut merged: Vec<(u32, Vec<(u32, Data)>)> = Vec::with_capacity(self.rows.len());
        for (r, cells) in std::mem::take(&mut self.rows) {
            match merged.last_mut() {
                Some((lr, lc)) if *lr == r => lc.extend(cells),
                _ => merged.push((r, cells)),
            }
        }
        let c0 = merged
            .iter()
            .flat_map(|(_, cells)| cells.iter().map(|(c, _)| *c))
            .min()
            .unwrap_or(0);
        let mut total: u64 = 0;
        for (_, cells) in &merged {
            let last = cells.iter().map(|(c, _)| *c).max().unwrap_or(c0);
            total += u64::from(last - c0) + 1;
        }
        if total > self.limits.max_cells {
            return Err(self.too_big(format!(
                "its cells are spread over more than {} cells (a cell far from the others, such as one in column XFD, makes its row that wide; the setting workbook.max-cells)",
                self.limits.max_cells
            )));
        }
        let rows = merged
            .into_iter()
            .map(|(r, cells)| {
                let last = cells.iter().map(|(c, _)| *c).max().unwrap_or(c0);
                let mut row = vec![Data::Empty; (last - c0) as usize + 1];
                for (c, d) in cells {
                    row[(c - c0) as usize] = d;
                }
                (r, row)
            })
            .collect();
        Ok(Grid { c0, rows })
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

/// Where a workbook came from and what was chosen: the sheet asked for, if any, and how much
/// may be read.
#[derive(Debug, Clone, Default)]
pub struct Choice<'a> {
    /// The sheet the officer named.
    pub sheet: Option<&'a str>,
    /// How much of the workbook may be read.
    pub limits: Limits,
}

/// An open workbook.
pub struct Workbook {
    file: String,
    sheets: Vec<String>,
    inner: Sheets<std::io::BufReader<std::fs::File>>,
    limits: Limits,
}

/// Measures an OLE container (an .xls, or an encrypted workbook) before the workbook reader
/// opens it: the container's allocation tables are checked by a well-kept reader of the
/// format (the `cfb` crate), which refuses a chain of sectors that loops or leaves the file
/// (a 6 KB file whose chain loops made the workbook reader allocate until it was killed, found
/// by the workbook fuzz target), and no stream may claim more than the file holds or than the
/// limit.
fn measure_ole(path: &Path, file: &str, limits: Limits) -> Result<(), WorkbookError> {
    let io = |source| WorkbookError::Io {
        file: file.to_string(),
        source,
    };
    let f = crate::reader::regular(path).map_err(io)?;
    let size = f.metadata().map_err(io)?.len();
    let comp = cfb::CompoundFile::open(f).map_err(|e| WorkbookError::Corrupt {
        file: file.to_string(),
        why: format!("its OLE container is damaged ({e})"),
    })?;
    for entry in comp.walk() {
        if !entry.is_stream() {
            continue;
        }
        if entry.len() > size {
            return Err(WorkbookError::Corrupt {
                file: file.to_string(),
                why: format!(
                    "its stream {} claims {} bytes, more than the whole file",
                    entry.name(),
                    entry.len()
                ),
            });
        }
        if entry.len() > limits.max_bytes {
            return Err(WorkbookError::TooBig {
                what: file.to_string(),
                why: format!(
                    "its stream {} holds {} MiB, more than {} MiB (the setting workbook.max-mib)",
                    entry.name(),
                    entry.len() / (1024 * 1024),
                    limits.max_bytes / (1024 * 1024)
                ),
            });
        }
    }
    Ok(())
}

/// Measures a zipped workbook (.xlsx, .xlsm, .ods) before it is opened: a part that unpacks
/// past the limit is refused (a few megabytes can unpack to gigabytes), and an ODS sheet
/// whose repeated rows and columns spread its cells past the limit of cells is refused
/// before they are laid out.
fn measure_zip(path: &Path, file: &str, limits: Limits) -> Result<(), WorkbookError> {
    let io = |source| WorkbookError::Io {
        file: file.to_string(),
        source,
    };
    let corrupt = |why: String| WorkbookError::Corrupt {
        file: file.to_string(),
        why,
    };
    let f = crate::reader::regular(path).map_err(io)?;
    let mut zip =
        zip::ZipArchive::new(std::io::BufReader::new(f)).map_err(|e| corrupt(e.to_string()))?;
    for i in 0..zip.len() {
        let part = zip.by_index_raw(i).map_err(|e| corrupt(e.to_string()))?;
        if part.size() > limits.max_bytes {
            return Err(WorkbookError::TooBig {
                what: file.to_string(),
                why: format!(
                    "its part {} unpacks to {} MiB, more than {} MiB (the setting workbook.max-mib)",
                    part.name().unwrap_or_default(),
                    part.size() / (1024 * 1024),
                    limits.max_bytes / (1024 * 1024)
                ),
            });
        }
    }
    // No text run in a workbook's XML is longer than a cell may hold (Excel keeps 32,767
    // characters a cell): a longer one is whitespace or text made to fill memory when the
    // reader takes it whole.
    for i in 0..zip.len() {
        let part = zip.by_index(i).map_err(|e| corrupt(e.to_string()))?;
        let name = part.name().map(|n| n.into_owned()).unwrap_or_default();
        if name.ends_with(".xml") || name.ends_with(".rels") {
            longest_run(part, file, &name)?;
        }
    }
    if let Ok(content) = zip.by_name("content.xml") {
        ods_spread(std::io::BufReader::new(content), file, limits)?;
    }
    Ok(())
}

/// The longest a run of text (or a tag) between markup may be in a workbook's XML.
const MAX_RUN: u64 = 4 * 1024 * 1024;

/// Reads a part of a workbook as a stream and refuses it when a run of bytes between `>` and
/// `<` (text, whitespace) or a tag passes [`MAX_RUN`].
fn longest_run(mut part: impl std::io::Read, file: &str, name: &str) -> Result<(), WorkbookError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut run: u64 = 0;
    loop {
        let n = match part.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(WorkbookError::Corrupt {
                    file: file.to_string(),
                    why: format!("{name}: {e}"),
                });
            }
        };
        let chunk = &buf[..n];
        let mut prev = 0;
        for at in memchr::memchr2_iter(b'<', b'>', chunk) {
            run += (at - prev) as u64;
            if run > MAX_RUN {
                break;
            }
            run = 0;
            prev = at + 1;
        }
        if run <= MAX_RUN {
            run += (n - prev) as u64;
        }
        if run > MAX_RUN {
            return Err(WorkbookError::TooBig {
                what: file.to_string(),
                why: format!(
                    "its part {name} holds a run of more than {} MiB of text or whitespace with no markup, which no cell holds",
                    MAX_RUN / (1024 * 1024)
                ),
            });
        }
    }
    Ok(())
}

/// An ODS sheet's cells as the reader lays them out (rows × columns, repeated ones
/// counted), refused past the limit. Rows and columns repeated with nothing in them (the
/// trailing rows spreadsheets write) do not count.
fn ods_spread(src: impl std::io::BufRead, file: &str, limits: Limits) -> Result<(), WorkbookError> {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_reader(src);
    let mut buf = Vec::new();
    let rep = |e: &quick_xml::events::BytesStart<'_>, key: &str| -> u64 {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == key)
            .and_then(|a| a.value.trim().parse().ok())
            .unwrap_or(1)
    };
    let has_value = |e: &quick_xml::events::BytesStart<'_>| {
        e.attributes()
            .flatten()
            .any(|a| a.key.as_ref() == "office:value-type")
    };
    let (mut row, mut row_rep, mut col, mut row_data) = (0u64, 1u64, 0u64, false);
    let (mut max_row, mut max_col) = (0u64, 0u64);
    loop {
        let ev = r
            .read_event_into(&mut buf)
            .map_err(|e| WorkbookError::Corrupt {
                file: file.to_string(),
                why: e.to_string(),
            })?;
        let (e, empty) = match &ev {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            Event::End(e) if e.name().as_ref() == "table:table-row" => {
                if row_data {
                    max_row = max_row.max(row + row_rep);
                }
                row += row_rep;
                buf.clear();
                continue;
            }
            Event::End(e) if e.name().as_ref() == "table:table" => {
                let area = max_row.saturating_mul(max_col);
                if area > limits.max_cells {
                    return Err(WorkbookError::TooBig {
                        what: file.to_string(),
                        why: format!(
                            "a sheet's repeated rows and columns spread it over {area} cells, more than {} (the setting workbook.max-cells)",
                            limits.max_cells
                        ),
                    });
                }
                (row, max_row, max_col) = (0, 0, 0);
                buf.clear();
                continue;
            }
            Event::Eof => break,
            _ => (None, false),
        };
        if let Some(e) = e {
            match e.name().as_ref() {
                "table:table-row" => {
                    row_rep = rep(e, "table:number-rows-repeated");
                    (col, row_data) = (0, false);
                    if empty {
                        row += row_rep;
                    }
                }
                "table:table-cell" | "table:covered-table-cell" => {
                    let n = rep(e, "table:number-columns-repeated");
                    if has_value(e) {
                        row_data = true;
                        max_col = max_col.max(col.saturating_add(n));
                    }
                    col = col.saturating_add(n);
                }
                _ => {}
            }
        }
        buf.clear();
    }
    Ok(())
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
    /// Opens a workbook, measured first against `limits`.
    pub fn open(path: &Path, limits: Limits) -> Result<Self, WorkbookError> {
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
        if ole {
            measure_ole(path, &file, limits)?;
        } else {
            measure_zip(path, &file, limits)?;
        }
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
            limits,
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
        let (cells, no_value) = self.cells(sheet)?;
        let empty = WorkbookError::Empty {
            what: format!("sheet {sheet:?} of {}", self.file),
        };
        if cells.rows.iter().all(|(_, r)| r.iter().all(is_blank)) {
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
        match no_value {
            Some(cells) => {
                t.no_value = cells
                    .into_iter()
                    .filter(|(r, _)| *r > t.header_row)
                    .collect();
                say_no_value(&mut t);
            }
            None => self.formulas_without_value(&mut t),
        }
        Ok(t)
    }

    /// A sheet's cells, and (for an .xlsx, read as a stream) its formula cells with no saved
    /// value. An .xlsx is read cell by cell, never laid out whole; .xls and .ods sheets
    /// (measured before they were opened) are read whole.
    #[allow(clippy::type_complexity)]
    fn cells(&mut self, sheet: &str) -> Result<(Grid, Option<Vec<(u32, usize)>>), WorkbookError> {
        let what = format!("sheet {sheet:?} of {}", self.file);
        let mut g = GridBuilder::new(&what, self.limits);
        if let Sheets::Xlsx(x) = &mut self.inner {
            let mut reader = x
                .worksheet_cells_reader(sheet)
                .map_err(|e| open_error(&self.file, calamine::Error::Xlsx(e)))?;
            let mut no_value = Vec::new();
            while let Some(c) = reader
                .next_cell_with_formula()
                .map_err(|e| open_error(&self.file, calamine::Error::Xlsx(e)))?
            {
                let (r, col) = c.pos;
                let d = Data::from(c.value);
                if c.formula.as_deref().is_some_and(|f| !f.is_empty())
                    && matches!(&d, Data::Empty) | matches!(&d, Data::String(s) if s.is_empty())
                {
                    no_value.push((r + 1, col as usize));
                }
                g.push(r, col, d)?;
            }
            return Ok((g.finish()?, Some(no_value)));
        }
        let range = self
            .inner
            .worksheet_range(sheet)
            .map_err(|e| open_error(&self.file, e))?;
        let (r0, c0) = range.start().unwrap_or((0, 0));
        for (i, row) in range.rows().enumerate() {
            for (j, d) in row.iter().enumerate() {
                g.push(r0 + i as u32, c0 + j as u32, d.clone())?;
            }
        }
        Ok((g.finish()?, None))
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
                let no_value = t.cells.get(r, c).is_none_or(|d| match d {
                    Data::Empty => true,
                    Data::String(s) => s.is_empty(),
                    _ => false,
                });
                if !f.is_empty() && no_value {
                    t.no_value.push((r + 1, c as usize));
                }
            }
        }
        say_no_value(t);
    }
}

/// Says which formula cells have no saved value, when any.
fn say_no_value(t: &mut Table) {
    {
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
fn header_index(cells: &Grid, layout: Option<&Layout>) -> usize {
    let rows: Vec<&[Data]> = cells
        .rows
        .iter()
        .take(60)
        .map(|(_, r)| r.as_slice())
        .collect();
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

thread_local! {
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True while this thread is inside the workbook reader, whose panics on a damaged file are
/// caught and reported as a damaged file ([`read_table`]): a panic hook uses it to say
/// nothing of such a panic (it is not the program's failure) and to report every other.
pub fn reading_guarded() -> bool {
    GUARDED.with(std::cell::Cell::get)
}

/// Marks this thread as inside the workbook reader until dropped.
struct Guarded(bool);

impl Guarded {
    fn enter() -> Self {
        Guarded(GUARDED.with(|g| g.replace(true)))
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        let was = self.0;
        GUARDED.with(|g| g.set(was));
    }
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
    // the program goes on (the panic hook keeps quiet about it: [`reading_guarded`]).
    let _guard = Guarded::enter();
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
    let mut wb = Workbook::open(path, choice.limits)?;
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
