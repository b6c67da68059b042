//! Joiners, movers and leavers between two batches of the same staff feed (Active Directory,
//! Generic Outbound, Local Data Warehouse, staff lists).
//!
//! Records are matched by the first unique key of each detail record type that has one (e.g.
//! Assignment ID, Person ID). A key only in the new batch is a joiner; a key only in the old one,
//! or one whose end or termination date became set, is a leaver; a key in both whose position,
//! organisation, location, manager, job, department, cost centre or grade changed is a mover.
//! Which fields mean "moved" and "left" is read from the field names, so a trust's own layout
//! works as long as it names them plainly. No UI code here.

use crate::export::ExportError;
#[cfg(test)]
use crate::export::neutralise;
use crate::layout::{Layout, Role};
use crate::store::Store;
use std::collections::HashMap;
use std::path::Path;

/// The kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// New in the new batch.
    Joiner,
    /// Changed post, place or manager.
    Mover,
    /// Gone, or an end date set.
    Leaver,
}

impl Change {
    /// Plain label.
    pub fn label(self) -> &'static str {
        match self {
            Change::Joiner => "Joiner",
            Change::Mover => "Mover",
            Change::Leaver => "Leaver",
        }
    }
}

/// One joiner, mover or leaver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JmlRow {
    /// Kind.
    pub change: Change,
    /// Record type code.
    pub record_type: String,
    /// Key field name(s).
    pub key_name: String,
    /// Key value(s).
    pub key: String,
    /// A name to recognise the person, where the record has one.
    pub name: String,
    /// What changed ("Location Name: Ward 3 » Ward 9"), or why a leaver left.
    pub details: String,
}

const MOVER_WORDS: &[&str] = &[
    "position",
    "organisation",
    "organization",
    "location",
    "supervisor",
    "manager",
    "job",
    "department",
    "cost centre",
    "grade",
    "staff group",
];
const LEAVER_WORDS: &[&str] = &[
    "end date",
    "termination date",
    "last working day",
    "leaving date",
];

fn is_mover_field(name: &str) -> bool {
    let n = name.to_lowercase();
    MOVER_WORDS.iter().any(|w| n.contains(w)) && !n.contains("date")
}

fn is_leaver_field(name: &str) -> bool {
    let n = name.to_lowercase();
    LEAVER_WORDS.iter().any(|w| n.contains(w)) && !n.contains("projected")
}

/// True when the interface is a staff feed that joiners, movers and leavers make sense for:
/// some detail record type is keyed, says where a person works (a "mover" field) and when they
/// left (a "leaver" field). Absences, pay variations and the like are not. The one place the
/// window asks before offering "Changes since…".
pub fn is_staff_feed(layout: &Layout) -> bool {
    layout.records.iter().any(|rt| {
        rt.role == Role::Detail
            && rt.entity_key().is_some()
            && rt.fields.iter().any(|f| is_mover_field(&f.name))
            && rt.fields.iter().any(|f| is_leaver_field(&f.name))
    })
}

struct Side {
    /// (record type index, key) -> fields
    records: HashMap<(usize, String), Vec<String>>,
}

fn load(store: &mut Store, batch: i64, layout: &Layout) -> Result<Side, ExportError> {
    let mut records: HashMap<(usize, String), Vec<String>> = HashMap::new();
    store.for_each_record(batch, false, |rec| -> Result<bool, ExportError> {
        let ri = layout.stored_type(rec.record_type.as_deref());
        let Some(ri) = ri else { return Ok(true) };
        let rt = &layout.records[ri];
        let Some(entity) = rt.entity_key() else {
            return Ok(true);
        };
        if rt.role != Role::Detail || rt.fields.len() <= 2 {
            return Ok(true); // delete records carry only the type and id; they do not describe a person
        }
        let fields = rec.fields;
        let key: Vec<&str> = entity
            .iter()
            .map(|&k| fields.get(k).map_or("", String::as_str))
            .collect();
        if key.iter().any(|k| k.is_empty()) {
            return Ok(true);
        }
        let key = key.join(" + ");
        // A date-tracked entity's rows: the one whose period starts last is where it stands.
        let later = |a: &[String], b: &[String]| match &rt.history {
            Some(h) => {
                let start = |f: &[String]| {
                    rt.fields[h.start]
                        .format
                        .check(f.get(h.start).map_or("", String::as_str))
                        .ok()
                };
                start(a) >= start(b)
            }
            None => true,
        };
        match records.get(&(ri, key.clone())) {
            Some(kept) if !later(&fields, kept) => {}
            _ => {
                records.insert((ri, key), fields);
            }
        }
        Ok(true)
    })?;
    Ok(Side { records })
}

fn name_of(layout: &Layout, ri: usize, fields: &[String]) -> String {
    let rt = &layout.records[ri];
    let get = |n: &str| {
        rt.field_index(n)
            .and_then(|i| fields.get(i))
            .cloned()
            .unwrap_or_default()
    };
    let (first, last) = (get("First Name"), get("Last Name"));
    let mut s = format!("{first} {last}").trim().to_string();
    for k in ["Employee Number", "Assignment Number"] {
        let v = get(k);
        if !v.is_empty() {
            s = if s.is_empty() {
                v
            } else {
                format!("{s} ({v})")
            };
            break;
        }
    }
    s
}

/// Compares two batches of the same interface.
pub fn compare(store: &mut Store, old: i64, new: i64) -> Result<Vec<JmlRow>, ExportError> {
    let (a, b) = (store.batch(old)?, store.batch(new)?);
    if a.interface != b.interface {
        return Err(ExportError::Name(format!(
            "batch {old} is {} and batch {new} is {}: joiners, movers and leavers compare two batches of the same interface",
            a.interface, b.interface
        )));
    }
    let layout = store.batch_layout(new)?;
    let before = load(store, old, &layout)?;
    let after = load(store, new, &layout)?;
    let mut out = Vec::new();
    let key_name = |ri: usize| {
        layout.records[ri]
            .entity_key()
            .unwrap_or_default()
            .iter()
            .map(|&k| layout.records[ri].fields[k].name.clone())
            .collect::<Vec<_>>()
            .join(" + ")
    };
    for ((ri, key), fields) in &after.records {
        let rt = &layout.records[*ri];
        match before.records.get(&(*ri, key.clone())) {
            None => out.push(JmlRow {
                change: Change::Joiner,
                record_type: rt.code.clone(),
                key_name: key_name(*ri),
                key: key.clone(),
                name: name_of(&layout, *ri, fields),
                details: String::new(),
            }),
            Some(prev) => {
                let ended: Vec<String> = rt
                    .fields
                    .iter()
                    .enumerate()
                    .filter(|(i, f)| {
                        is_leaver_field(&f.name)
                            && prev.get(*i).is_none_or(|v| crate::layout::is_open_end(v))
                            && fields
                                .get(*i)
                                .is_some_and(|v| !crate::layout::is_open_end(v))
                    })
                    .map(|(i, f)| format!("{} set to {}", f.name, fields[i]))
                    .collect();
                if !ended.is_empty() {
                    out.push(JmlRow {
                        change: Change::Leaver,
                        record_type: rt.code.clone(),
                        key_name: key_name(*ri),
                        key: key.clone(),
                        name: name_of(&layout, *ri, fields),
                        details: ended.join("; "),
                    });
                    continue;
                }
                let moved: Vec<String> = rt
                    .fields
                    .iter()
                    .enumerate()
                    .filter(|(i, f)| is_mover_field(&f.name) && prev.get(*i) != fields.get(*i))
                    .map(|(i, f)| {
                        format!(
                            "{}: {} » {}",
                            f.name,
                            prev.get(i).map_or("", String::as_str),
                            fields.get(i).map_or("", String::as_str)
                        )
                    })
                    .collect();
                if !moved.is_empty() {
                    out.push(JmlRow {
                        change: Change::Mover,
                        record_type: rt.code.clone(),
                        key_name: key_name(*ri),
                        key: key.clone(),
                        name: name_of(&layout, *ri, fields),
                        details: moved.join("; "),
                    });
                }
            }
        }
    }
    for ((ri, key), fields) in &before.records {
        if !after.records.contains_key(&(*ri, key.clone())) {
            let rt = &layout.records[*ri];
            out.push(JmlRow {
                change: Change::Leaver,
                record_type: rt.code.clone(),
                key_name: key_name(*ri),
                key: key.clone(),
                name: name_of(&layout, *ri, fields),
                details: "no longer in the feed".into(),
            });
        }
    }
    out.sort_by(|x, y| {
        x.change
            .cmp(&y.change)
            .then(x.record_type.cmp(&y.record_type))
            .then(x.key.cmp(&y.key))
    });
    Ok(out)
}

/// Writes joiners, movers and leavers as a CSV for Excel (UTF-8 with BOM, formulas neutralised).
pub fn write_csv(rows: &[JmlRow], path: &Path) -> Result<(), ExportError> {
    let body = rows.iter().map(|r| {
        vec![
            r.change.label().to_string(),
            r.record_type.clone(),
            r.key_name.clone(),
            r.key.clone(),
            r.name.clone(),
            r.details.clone(),
        ]
    });
    crate::export::write_excel_csv(
        path,
        &["Change", "Record type", "Key", "Value", "Name", "Details"],
        body,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_decide_movers_and_leavers() {
        assert!(is_mover_field("Position Name"));
        assert!(is_mover_field("Supervisor Assignment Number"));
        assert!(is_mover_field("Cost Centre"));
        assert!(!is_mover_field("Effective Start Date"));
        assert!(is_leaver_field("Actual Termination Date"));
        assert!(is_leaver_field("Effective End Date"));
        assert!(!is_leaver_field("Projected End Date"));
        assert_eq!(neutralise("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(neutralise("-5"), "'-5");
        assert_eq!(neutralise("Smith"), "Smith");
    }
}
