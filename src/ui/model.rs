//! What the batch table is, without egui: the order of its columns, the selection, and what a
//! paste means. [`super::batch::BatchView`] draws it; these pieces are unit-tested here.

use crate::layout::RecordType;

/// A rectangular selection: rows of the view and columns as shown (see [`Columns`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    /// Where the selection started (row, column).
    pub anchor: (usize, usize),
    /// The current cell (row, column).
    pub cursor: (usize, usize),
}

impl Selection {
    /// One cell.
    pub fn cell(row: usize, col: usize) -> Self {
        Self {
            anchor: (row, col),
            cursor: (row, col),
        }
    }

    /// First and last row.
    pub fn rows(&self) -> (usize, usize) {
        (
            self.anchor.0.min(self.cursor.0),
            self.anchor.0.max(self.cursor.0),
        )
    }

    /// First and last column.
    pub fn cols(&self) -> (usize, usize) {
        (
            self.anchor.1.min(self.cursor.1),
            self.anchor.1.max(self.cursor.1),
        )
    }

    /// True when (row, col) is inside.
    pub fn contains(&self, row: usize, col: usize) -> bool {
        let (r0, r1) = self.rows();
        let (c0, c1) = self.cols();
        (r0..=r1).contains(&row) && (c0..=c1).contains(&col)
    }

    /// Number of rows covered.
    pub fn row_count(&self) -> usize {
        let (a, b) = self.rows();
        b - a + 1
    }
}

/// The order the table shows a record type's fields in: the key fields that say whose record
/// it is first (they stay in view while the table scrolls sideways), then the others in the
/// layout's order. Selections, copy and paste work in this shown order, as in a spreadsheet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    /// Field position of each shown column.
    pub order: Vec<usize>,
    /// How many leading columns are key fields (kept in view).
    pub keys: usize,
}

impl Columns {
    /// The columns of a record type.
    pub fn of(rt: &RecordType) -> Self {
        let keys = rt.key_fields();
        let mut order = keys.clone();
        order.extend((0..rt.fields.len()).filter(|i| !keys.contains(i)));
        Self {
            order,
            keys: keys.len(),
        }
    }

    /// Columns in field order with no keys (records of a type the layout does not know).
    pub fn plain(n: usize) -> Self {
        Self {
            order: (0..n).collect(),
            keys: 0,
        }
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// No columns.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Field position of shown column `col`.
    pub fn field(&self, col: usize) -> Option<usize> {
        self.order.get(col).copied()
    }

    /// Shown column of field position `field`.
    pub fn col(&self, field: usize) -> Option<usize> {
        self.order.iter().position(|f| *f == field)
    }
}

/// Text from the clipboard as a grid: tab-separated cells, one row a line, with Excel's quoting
/// (a cell holding a tab, a line break or a quote mark comes in quotes, quotes doubled).
/// A trailing line break does not make an empty row.
pub fn parse_grid(text: &str) -> Vec<Vec<String>> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.is_empty() {
        return vec![vec![String::new()]];
    }
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for rec in rdr.records() {
        match rec {
            Ok(r) => out.push(r.iter().map(str::to_string).collect()),
            // Not valid quoting after all: take the text as it stands, line by line.
            Err(_) => {
                return text
                    .split('\n')
                    .map(|l| {
                        l.trim_end_matches('\r')
                            .split('\t')
                            .map(str::to_string)
                            .collect()
                    })
                    .collect();
            }
        }
    }
    out
}

/// Cells of a grid as text for the clipboard: the reverse of [`parse_grid`], quoting a cell
/// only when it needs it, so Excel reads it back the same.
pub fn grid_text(rows: &[Vec<String>]) -> String {
    rows.iter()
        .map(|r| {
            r.iter()
                .map(|c| {
                    if c.contains(['\t', '\n', '\r', '"']) {
                        format!("\"{}\"", c.replace('"', "\"\""))
                    } else {
                        c.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where each pasted value goes: (row offset from the selection's first row, shown column,
/// value). One value pasted over a larger selection fills it; otherwise the grid is laid
/// from the selection's top-left cell, clipped at the last column.
pub fn paste_plan(
    sel: Selection,
    grid: &[Vec<String>],
    ncols: usize,
) -> Vec<(usize, usize, String)> {
    let (_, c0) = (sel.rows().0, sel.cols().0);
    let single = grid.len() == 1 && grid[0].len() == 1;
    let mut out = Vec::new();
    if single {
        let (c0, c1) = sel.cols();
        for i in 0..sel.row_count() {
            for c in c0..=c1.min(ncols.saturating_sub(1)) {
                out.push((i, c, grid[0][0].clone()));
            }
        }
        return out;
    }
    for (i, row) in grid.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            let c = c0 + j;
            if c >= ncols {
                break;
            }
            out.push((i, c, v.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_quoted_cells_paste_as_one_value() {
        let g = parse_grid("a\t\"b\tc\"\t\"say \"\"hi\"\"\"\r\nd\t\"two\nlines\"\te\r\n");
        assert_eq!(
            g,
            vec![
                vec!["a".to_string(), "b\tc".into(), "say \"hi\"".into()],
                vec!["d".to_string(), "two\nlines".into(), "e".into()],
            ]
        );
        assert_eq!(parse_grid(&grid_text(&g)), g);
        assert_eq!(parse_grid("x\n"), vec![vec!["x".to_string()]]);
        assert_eq!(parse_grid(""), vec![vec![String::new()]]);
    }

    #[test]
    fn a_stray_quote_pastes_as_typed() {
        let g = parse_grid("5\" nail\tx");
        assert_eq!(g, vec![vec!["5\" nail".to_string(), "x".into()]]);
    }

    #[test]
    fn one_value_fills_the_selection_and_a_grid_is_clipped() {
        let sel = Selection {
            anchor: (3, 1),
            cursor: (4, 2),
        };
        let p = paste_plan(sel, &[vec!["v".into()]], 3);
        assert_eq!(p.len(), 4);
        assert!(p.iter().all(|(_, _, v)| v == "v"));
        let grid = vec![vec!["a".to_string(), "b".into(), "c".into()]];
        let p = paste_plan(Selection::cell(0, 1), &grid, 3);
        assert_eq!(p, vec![(0, 1, "a".into()), (0, 2, "b".into())]);
    }

    #[test]
    fn key_fields_come_first() {
        let set = crate::layout::LayoutSet::bundled().expect("layouts");
        let ad = set.get("active-directory").expect("layout");
        let pra = &ad.records[ad.record_index("PRA").expect("PRA")];
        let cols = Columns::of(pra);
        assert_eq!(cols.keys, 1);
        assert_eq!(pra.fields[cols.order[0]].name, "Employee Number");
        let mut sorted = cols.order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..pra.fields.len()).collect::<Vec<_>>());
        for c in 0..cols.len() {
            assert_eq!(cols.col(cols.field(c).expect("field")), Some(c));
        }
    }
}
