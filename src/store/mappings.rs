//! Column mappings officers saved (per interface and table column set), and the sheet chosen
//! per source, so the next workbook from the same system is read the same way.

use super::{Result, Store, current_user, now_text};
use crate::mapping::Mapping;
use rusqlite::{OptionalExtension, params};

/// A saved mapping.
#[derive(Debug, Clone)]
pub struct SavedMapping {
    /// Its key ([`crate::mapping::columns_key`]).
    pub key: String,
    /// The mapping.
    pub mapping: Mapping,
    /// The table's columns it was saved for.
    pub columns: Vec<String>,
    /// When and by whom.
    pub saved_at: String,
    /// Who saved it.
    pub saved_by: String,
    /// When it was last used (None: never since saved).
    pub used_at: Option<String>,
}

impl SavedMapping {
    /// The banner a reused mapping is shown with.
    pub fn banner(&self) -> String {
        format!(
            "Columns mapped with the mapping {} saved on {} (by {}) for these columns.",
            self.key,
            self.saved_at
                .get(..16)
                .unwrap_or(&self.saved_at)
                .replacen('T', " at ", 1),
            self.saved_by
        )
    }
}

fn row(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<(String, String, String, String, String, Option<String>)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn saved(
    (key, columns, body, saved_at, saved_by, used_at): (
        String,
        String,
        String,
        String,
        String,
        Option<String>,
    ),
) -> Option<SavedMapping> {
    let mapping = Mapping::from_toml(&body, &key).ok()?;
    Some(SavedMapping {
        key,
        mapping,
        columns: serde_json::from_str(&columns).unwrap_or_default(),
        saved_at,
        saved_by,
        used_at,
    })
}

const COLS: &str = "key, columns, body, saved_at, saved_by, used_at";

impl Store {
    /// Saves (or replaces) the mapping for an interface and column set.
    pub fn save_mapping(&mut self, columns: &[String], m: &Mapping) -> Result<String> {
        let key = crate::mapping::columns_key(&m.interface, columns);
        self.conn.execute(
            "INSERT OR REPLACE INTO mapping(key, interface, columns, body, saved_at, saved_by, used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)",
            params![
                key,
                m.interface,
                serde_json::to_string(columns).unwrap_or_default(),
                m.to_toml(),
                now_text(),
                current_user()
            ],
        )?;
        tracing::info!(interface = %m.interface, key = %key, "column mapping saved");
        Ok(key)
    }

    /// The mapping saved for an interface and column set.
    pub fn saved_mapping(
        &self,
        interface: &str,
        columns: &[String],
    ) -> Result<Option<SavedMapping>> {
        self.mapping_by_key(&crate::mapping::columns_key(interface, columns))
    }

    /// A saved mapping by its key.
    pub fn mapping_by_key(&self, key: &str) -> Result<Option<SavedMapping>> {
        let r = self
            .conn
            .query_row(
                &format!("SELECT {COLS} FROM mapping WHERE key = ?1"),
                [key],
                row,
            )
            .optional()?;
        Ok(r.and_then(saved))
    }

    /// Notes that a saved mapping was used now.
    pub fn mapping_used(&self, key: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE mapping SET used_at = ?2 WHERE key = ?1",
            params![key, now_text()],
        )?;
        Ok(())
    }

    /// Every saved mapping, by interface then newest first.
    pub fn mappings(&self) -> Result<Vec<SavedMapping>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLS} FROM mapping ORDER BY interface, saved_at DESC"
        ))?;
        let rows = stmt.query_map([], row)?;
        Ok(rows
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .filter_map(saved)
            .collect())
    }

    /// The sheet chosen before for a source ([`crate::mapping::source_key`]).
    pub fn sheet_choice(&self, source: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT sheet FROM sheet_choice WHERE source = ?1",
                [source],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Remembers the sheet chosen for a source.
    pub fn choose_sheet(&self, source: &str, sheet: &str) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO sheet_choice(source, sheet, chosen_at, chosen_by) VALUES (?1, ?2, ?3, ?4)",
            params![source, sheet, now_text(), current_user()],
        )?;
        Ok(())
    }
}

impl Store {
    /// What a header made for a converted table is filled with now: the file's name, the time,
    /// the trust's VPD code (empty until set: the export fills it) and the next sequence
    /// number. The export fills these again when it writes the file.
    pub fn fill_for(
        &self,
        layout: &crate::layout::Layout,
        path: &std::path::Path,
    ) -> crate::export::Fill {
        // The identity the export would give it; a VPD not known yet is left empty (the
        // export fills it).
        let id = crate::export::identity(
            self,
            &layout.interface,
            &crate::export::Want::default(),
            None,
        )
        .ok();
        crate::export::Fill {
            name: crate::validate::file_name(path),
            now: crate::export::uk_now(),
            vpd: id.as_ref().map(|i| i.vpd.clone()).unwrap_or_default(),
            seq: id.map_or(1, |i| i.seq),
        }
    }

    /// Reads a workbook (or a foreign CSV) for `layout` with what this store remembers: the
    /// sheet chosen before for files named like this one, and the mapping saved for the
    /// sheet's column set. See [`crate::mapping::prepare`].
    pub fn prepare_table(
        &self,
        path: &std::path::Path,
        layout: &crate::layout::Layout,
        read: crate::mapping::ReadChoice<'_>,
    ) -> std::result::Result<crate::mapping::Prepared, crate::mapping::MappingError> {
        let lookup = |id: &str, cols: &[String]| {
            self.saved_mapping(id, cols)
                .ok()
                .flatten()
                .map(|s| (s.mapping.clone(), s.banner()))
        };
        // The store's limits for workbooks win over the caller's.
        let read = crate::mapping::ReadChoice {
            limits: crate::workbook::Limits::from_store(self),
            ..read
        };
        let fill = self.fill_for(layout, path);
        let remembered = match read.sheet {
            Some(_) => None,
            None => self
                .sheet_choice(&crate::mapping::source_key(path))
                .ok()
                .flatten(),
        };
        if let Some(sheet) = remembered.as_deref() {
            let again = crate::mapping::ReadChoice {
                sheet: Some(sheet),
                ..read
            };
            match crate::mapping::prepare(path, layout, again, &lookup, &fill) {
                Ok(mut p) => {
                    p.converted.notes.insert(
                        0,
                        format!("Read sheet {sheet:?}, the sheet chosen before for files named like this one."),
                    );
                    return Ok(p);
                }
                // The sheet chosen before is gone: read as if never chosen.
                Err(crate::mapping::MappingError::Table(
                    crate::workbook::WorkbookError::NoSuchSheet { .. },
                )) => {}
                Err(e) => return Err(e),
            }
        }
        crate::mapping::prepare(path, layout, read, &lookup, &fill)
    }
}

impl Store {
    /// The mapping screen's view of a workbook or CSV: the sheet chosen before for files named
    /// like it (unless one is named), and the mapping saved for its columns, else proposed.
    pub fn preview_table(
        &self,
        path: &std::path::Path,
        layout: Option<&crate::layout::Layout>,
        set: &crate::layout::LayoutSet,
        sheet: Option<&str>,
    ) -> std::result::Result<crate::mapping::TablePreview, crate::mapping::MappingError> {
        let remembered = match sheet {
            Some(_) => None,
            None => self
                .sheet_choice(&crate::mapping::source_key(path))
                .ok()
                .flatten(),
        };
        let lookup = |id: &str, cols: &[String]| {
            self.saved_mapping(id, cols)
                .ok()
                .flatten()
                .map(|s| (s.mapping.clone(), s.banner()))
        };
        if let Some(s) = remembered.as_deref()
            && let Ok(p) = crate::mapping::preview(path, layout, set, Some(s), &lookup)
        {
            return Ok(p);
        }
        crate::mapping::preview(path, layout, set, sheet, &lookup)
    }

    /// Reads a table as the officer confirmed it and makes the import's file: the mapping
    /// saved for the table's columns and the sheet remembered for files named like it, when
    /// asked.
    pub fn made_from_table(
        &mut self,
        path: &std::path::Path,
        layout: &crate::layout::Layout,
        t: &crate::mapping::TableImport,
    ) -> std::result::Result<super::Made, crate::mapping::MappingError> {
        let fill = self.fill_for(layout, path);
        let origin = format!(
            "the mapping {} confirmed on the mapping screen",
            current_user()
        );
        let read = crate::mapping::ReadChoice {
            sheet: t.sheet.as_deref(),
            mapping: Some(&t.mapping),
            origin: Some(&origin),
            limits: crate::workbook::Limits::from_store(self),
        };
        let p = crate::mapping::prepare(path, layout, read, &|_, _| None, &fill)?;
        if t.remember {
            let saved = self
                .save_mapping(&p.columns, &t.mapping)
                .and_then(|_| match &t.sheet {
                    Some(s) => self.choose_sheet(&crate::mapping::source_key(path), s),
                    None => Ok(()),
                });
            if let Err(e) = saved {
                // The import goes ahead; the officer is told the mapping was not kept.
                tracing::warn!(error = %e, "the mapping could not be saved");
            }
        }
        Ok(super::Made {
            converted: p.converted,
            from: p.from,
        })
    }
}
