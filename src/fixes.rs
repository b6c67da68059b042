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
    /// An Excel serial number left where a date belongs (the column formatted General).
    ExcelSerial,
    /// A date with a two-digit year, read with the stated pivot.
    TwoDigitYear,
    /// A number Excel wrote in scientific notation, written out in full (only where every
    /// digit is still there).
    Expand,
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
            FixKind::ExcelSerial => "Turn Excel serial numbers into dates",
            FixKind::TwoDigitYear => "Read two-digit years (00–49 as 20xx, 50–99 as 19xx)",
            FixKind::Expand => "Write out numbers Excel shortened (1.23E+11)",
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
    if let Some(code) = near_code(&field.codes, trimmed) {
        candidates.push(Fix {
            kind: FixKind::ListedCode,
            value: code.to_string(),
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
    if let Format::Date(want) = &field.format {
        if let Some(v) = from_serial(want, trimmed) {
            candidates.push(Fix {
                kind: FixKind::ExcelSerial,
                value: v,
            });
        }
        if let Some(v) = two_digit_year(want, trimmed) {
            candidates.push(Fix {
                kind: FixKind::TwoDigitYear,
                value: v,
            });
        }
    }
    let expanded = expand(trimmed);
    if let Some(Ok(v)) = &expanded {
        candidates.push(Fix {
            kind: FixKind::Expand,
            value: v.clone(),
        });
    }
    let digits_of = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    let unpadded = match &expanded {
        Some(Ok(v)) => v.as_str(),
        _ => trimmed,
    };
    // Zeros put back in a number Excel also shortened: the fix is the writing out.
    let pad_kind = if matches!(expanded, Some(Ok(_))) {
        FixKind::Expand
    } else {
        FixKind::ZeroPad
    };
    match field.format {
        Format::Fixed { len: w }
        | Format::Padded {
            digits: w,
            decimals: 0,
        } if digits_of(unpadded) && unpadded.len() < w => {
            candidates.push(Fix {
                kind: pad_kind,
                value: format!("{unpadded:0>w$}"),
            });
        }
        Format::Padded { digits, decimals } if decimals > 0 => {
            // 12.5 for an L(9,2) field: 000012.50.
            if let Ok(n) = crate::notation::parse_number(unpadded, digits, decimals, false) {
                let s = crate::notation::format_scaled(n, decimals);
                let w = digits + 1;
                if s.len() < w {
                    candidates.push(Fix {
                        kind: pad_kind,
                        value: format!("{s:0>w$}"),
                    });
                }
            }
        }
        _ => {}
    }
    candidates.into_iter().find(|c| passes(&c.value))
}

/// Why a value cannot be mended mechanically, in plain words, when it is a number Excel
/// shortened and lost digits of (1.2E+11 holds 2 of the number's 12 digits).
pub fn unrecoverable(field: &Field, value: &str) -> Option<String> {
    if check_value(field, value).is_ok() {
        return None;
    }
    match expand(value.trim())? {
        Ok(_) => None,
        Err((kept, digits)) => Some(format!(
            "Excel wrote this number as {} and kept only {kept} of its {digits} digits: the rest cannot be worked out. Type it again from the source system (and format the column as Text before saving)",
            value.trim()
        )),
    }
}

/// A number in scientific notation (1.23456789012E+11) written out: Ok(the digits) when every
/// digit is there, Err((digits kept, digits the number has)) when Excel dropped some; None
/// when it is not in scientific notation.
fn expand(v: &str) -> Option<Result<String, (usize, usize)>> {
    let (mantissa, exp) = v.split_once(['e', 'E'])?;
    let exp: i32 = exp.strip_prefix('+').unwrap_or(exp).parse().ok()?;
    let (neg, m) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let (int, frac) = m.split_once('.').unwrap_or((m, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || !(-30..=30).contains(&exp)
    {
        return None;
    }
    let digits = format!("{int}{frac}");
    let point = int.len() as i32 + exp; // digits before the decimal point
    let significant = digits.trim_start_matches('0').len();
    let out = if point <= 0 {
        format!("0.{}{}", "0".repeat((-point) as usize), digits)
    } else if point as usize >= digits.len() {
        let missing = point as usize - digits.len();
        if missing > 0 {
            // The zeros Excel shows may or may not be the number's own digits.
            return Some(Err((significant, significant + missing)));
        }
        digits.clone()
    } else {
        let (a, b) = digits.split_at(point as usize);
        format!("{a}.{b}")
    };
    let out = if neg { format!("-{out}") } else { out };
    Some(Ok(out))
}

/// The listed code a value misses narrowly: the same letters and digits in other capitals or
/// with other spaces and punctuation ("annual-leave"), or, for codes of five letters or more,
/// one letter wrong, missing or extra ("Sickeness"), when exactly one code is that near.
fn near_code<'c>(codes: &'c [String], v: &str) -> Option<&'c str> {
    if v.is_empty() {
        return None;
    }
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let nv = norm(v);
    if let Some(c) = codes.iter().find(|c| norm(c) == nv && !nv.is_empty()) {
        return Some(c);
    }
    let near: Vec<&String> = codes
        .iter()
        .filter(|c| {
            let nc = norm(c);
            nc.chars().count() >= 5 && one_edit(&nc, &nv)
        })
        .collect();
    match near.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// True when `a` and `b` differ by one letter changed, added or removed.
fn one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    match long.len() - short.len() {
        0 => a.iter().zip(&b).filter(|(x, y)| x != y).count() == 1,
        1 => {
            let i = short
                .iter()
                .zip(long.iter())
                .position(|(x, y)| x != y)
                .unwrap_or(short.len());
            short[i..] == long[i + 1..]
        }
        _ => false,
    }
}

/// A five-digit whole number read as an Excel serial date (1900 system), written in `want`.
fn from_serial(want: &Pattern, v: &str) -> Option<String> {
    if v.len() != 5 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let serial: f64 = v.parse().ok()?;
    let dt = calamine::ExcelDateTime::new(serial, calamine::ExcelDateTimeType::DateTime, false);
    let (date, _) = crate::workbook::excel_date(&dt)?;
    Some(want.format(date, 0))
}

/// A date with a two-digit year (DD/MM/YY, DD-MM-YY, DD.MM.YY): 00–49 read as 2000–2049 and
/// 50–99 as 1950–1999, written in `want`.
fn two_digit_year(want: &Pattern, v: &str) -> Option<String> {
    let parts: Vec<&str> = v.split(['/', '-', '.']).collect();
    let [d, m, y] = parts.as_slice() else {
        return None;
    };
    if y.len() != 2 || d.is_empty() || d.len() > 2 || m.is_empty() || m.len() > 2 {
        return None;
    }
    let (d, m, y): (u32, u32, i32) = (d.parse().ok()?, m.parse().ok()?, y.parse().ok()?);
    let year = if y < 50 { 2000 + y } else { 1900 + y };
    let date = chrono::NaiveDate::from_ymd_opt(year, m, d)?;
    Some(want.format(date, 0))
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

    #[test]
    fn what_excel_did_is_mended_exactly_or_said_plainly() {
        let start = field("absences", "Start Date");
        // 46328 is 2 November 2026 in Excel's 1900 system.
        assert_eq!(
            suggest(&start, "46328"),
            Some(Fix {
                kind: FixKind::ExcelSerial,
                value: "02/11/2026".into()
            })
        );
        assert_eq!(
            suggest(&start, "02/11/26"),
            Some(Fix {
                kind: FixKind::TwoDigitYear,
                value: "02/11/2026".into()
            })
        );
        assert_eq!(
            suggest(&start, "02/11/61").map(|f| f.value),
            Some("02/11/1961".into())
        );
        assert_eq!(suggest(&start, "31/02/26"), None, "no such day");
        let ty = field("absences", "Absence Type");
        assert_eq!(
            suggest(&ty, "annual-leave").map(|f| f.value),
            Some("Annual Leave".into())
        );
        assert_eq!(
            suggest(&ty, "Sickeness").map(|f| f.value),
            Some("Sickness".into())
        );
        assert_eq!(suggest(&ty, "Leave"), None, "too far from any code");
        let emp = field("absences", "Employee Number");
        // Every digit there: written out (and its lost leading zero put back).
        assert_eq!(
            suggest(&emp, "1.012001E+6").map(|f| f.value),
            Some("01012001".into())
        );
        // Digits lost: no fix, and a plain reason.
        assert_eq!(suggest(&emp, "1.2E+7"), None);
        let why = unrecoverable(&emp, "1.2E+7").expect("said");
        assert!(why.contains("only 2 of its 8 digits"), "{why}");
        assert_eq!(unrecoverable(&emp, "01012001"), None);
        assert_eq!(expand("1.5E-2"), Some(Ok("0.015".into())));
        assert_eq!(
            expand("-2.5e3"),
            Some(Err((2, 4))),
            "2537 or 2500: cannot tell"
        );
        assert_eq!(expand("-2.537e3"), Some(Ok("-2537".into())));
        assert_eq!(expand("12345"), None);
    }
}
