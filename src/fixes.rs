//! Suggested fixes: for a cell the layout rejects, the one mechanical correction that makes it
//! pass, if there is one: spaces trimmed, a listed code's spelling, capitals, a date rewritten
//! in the layout's pattern, digits zero-padded to their width. A suggestion is offered only
//! when the corrected value passes the same check ([`crate::validate::check_value`]); nothing
//! here guesses a value the cell did not already hold.

use crate::layout::Field;
use crate::notation::{Format, Pattern};
use crate::validate::check_value;

/// The kind of correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FixKind {
    /// Spaces at either end removed.
    Trim,
    /// A listed code typed in other capitals, or with spaces: the list's spelling.
    ListedCode,
    /// Lower-case letters where the form wants capitals.
    UpperCase,
    /// A date in another common pattern, rewritten in the layout's.
    DateFormat,
    /// Digits that lost their leading zeros (as Excel does), padded back.
    ZeroPad,
}

impl FixKind {
    /// What the fix does, for a button.
    pub fn title(self) -> &'static str {
        match self {
            FixKind::Trim => "Trim spaces",
            FixKind::ListedCode => "Use the listed code",
            FixKind::UpperCase => "Capital letters",
            FixKind::DateFormat => "Rewrite the date",
            FixKind::ZeroPad => "Put back leading zeros",
        }
    }
}

/// A suggested correction of one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// What kind.
    pub kind: FixKind,
    /// The corrected value.
    pub value: String,
}

/// Date patterns a wrong date is tried against (UK order only: 03/04 is the 3rd of April).
const DATE_PATTERNS: [&str; 8] = [
    "DD/MM/YYYY",
    "YYYY-MM-DD",
    "YYYYMMDD",
    "DD-MM-YYYY",
    "DD.MM.YYYY",
    "DD-MON-YYYY",
    "YYYY/MM/DD",
    "DDMMYYYY",
];

/// The fix that makes `value` pass `field`'s check, if a mechanical one does.
pub fn suggest(field: &Field, value: &str) -> Option<Fix> {
    if check_value(field, value).is_ok() || field.generate.is_some() || field.control.is_some() {
        return None;
    }
    let passes = |v: &str| !v.is_empty() && check_value(field, v).is_ok();
    let trimmed = value.trim();
    let mut candidates: Vec<Fix> = Vec::new();
    if trimmed != value {
        candidates.push(Fix {
            kind: FixKind::Trim,
            value: trimmed.to_string(),
        });
    }
    if let Some(code) = field
        .codes
        .iter()
        .find(|c| c.trim().eq_ignore_ascii_case(trimmed))
    {
        candidates.push(Fix {
            kind: FixKind::ListedCode,
            value: code.clone(),
        });
    }
    let upper = trimmed.to_uppercase();
    if upper != trimmed {
        candidates.push(Fix {
            kind: FixKind::UpperCase,
            value: upper,
        });
    }
    if let Format::Date(want) = &field.format
        && let Some(v) = redate(want, trimmed)
    {
        candidates.push(Fix {
            kind: FixKind::DateFormat,
            value: v,
        });
    }
    let width = match field.format {
        Format::Fixed { len } => Some(len),
        Format::Padded {
            digits,
            decimals: 0,
        } => Some(digits),
        _ => None,
    };
    if let Some(w) = width
        && !trimmed.is_empty()
        && trimmed.len() < w
        && trimmed.bytes().all(|b| b.is_ascii_digit())
    {
        candidates.push(Fix {
            kind: FixKind::ZeroPad,
            value: format!("{trimmed:0>w$}"),
        });
    }
    candidates.into_iter().find(|c| passes(&c.value))
}

/// `v` read as a date in exactly one of the common patterns, written in `want`'s.
fn redate(want: &Pattern, v: &str) -> Option<String> {
    let mut found = None;
    for p in DATE_PATTERNS {
        let Ok(p) = Pattern::parse(p) else { continue };
        if p.text == want.text {
            continue;
        }
        if let Some(secs) = p.parse_value(&v.to_uppercase()) {
            let date = crate::validate::day(i128::from(secs))?;
            let text = want.format(date, 0);
            match &found {
                Some(f) if *f != text => return None, // two readings: not mechanical
                _ => found = Some(text),
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::LayoutSet;

    fn field(layout: &str, name: &str) -> Field {
        let set = LayoutSet::bundled().expect("layouts");
        let l = set.get(layout).expect("layout");
        l.records
            .iter()
            .flat_map(|r| r.fields.iter())
            .find(|f| f.name == name)
            .cloned()
            .expect("field")
    }

    #[test]
    fn only_fixes_that_pass_are_suggested() {
        let ty = field("absences", "Absence Type");
        assert_eq!(
            suggest(&ty, " Sickness "),
            Some(Fix {
                kind: FixKind::Trim,
                value: "Sickness".into()
            })
        );
        assert_eq!(
            suggest(&ty, "sickness").map(|f| f.kind),
            Some(FixKind::ListedCode)
        );
        assert_eq!(suggest(&ty, "Sick"), None, "no guessing");
        assert_eq!(suggest(&ty, "Sickness"), None, "nothing to fix");
        let start = field("absences", "Start Date");
        let want = match &start.format {
            Format::Date(p) => p.text.clone(),
            _ => panic!("a date"),
        };
        assert_eq!(want, "DD/MM/YYYY");
        assert_eq!(
            suggest(&start, "2026-11-02").map(|f| f.value),
            Some("02/11/2026".into())
        );
        assert_eq!(suggest(&start, "2026-13-45"), None);
        let emp = field("absences", "Employee Number");
        assert_eq!(
            suggest(&emp, "1012001"),
            Some(Fix {
                kind: FixKind::ZeroPad,
                value: "01012001".into()
            })
        );
    }

    #[test]
    fn every_suggestion_passes_its_check() {
        let set = LayoutSet::bundled().expect("layouts");
        let samples = [
            " x ",
            "abc",
            "2026-01-31",
            "31-JAN-2026",
            "123",
            "rx1",
            "n0a",
            "  ",
        ];
        for l in &set.layouts {
            for f in l.records.iter().flat_map(|r| r.fields.iter()) {
                for v in samples {
                    if let Some(fix) = suggest(f, v) {
                        assert!(
                            check_value(f, &fix.value).is_ok(),
                            "{}: {v:?} -> {:?}",
                            f.name,
                            fix
                        );
                    }
                }
            }
        }
    }
}
