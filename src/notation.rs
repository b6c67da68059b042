//! ESR field notation: `X(n)`, `F(n)`, `N(n,m)`, `L(n,m)`, dates, timestamps, times and flags.
//!
//! A layout writes each field's format as text (`format = "N(5,2)"`); this module parses that
//! text into a [`Format`] and checks values against it. It is pure and allocation-free on the
//! success path, because it runs for every field of every record.

use chrono::{Datelike, NaiveDate};
use std::fmt;

/// Most digits after the decimal point a numeric format (`N(n,m)`, `L(n,m)`) may have: every
/// value is held exactly as an integer scaled by [`SCALE`] = 10^`MAX_DECIMALS`.
pub const MAX_DECIMALS: usize = 9;

/// Scale used for numeric values: [`MAX_DECIMALS`] (9) decimal places held in an integer, so
/// values and sums are exact.
pub const SCALE: i128 = 10i128.pow(MAX_DECIMALS as u32);

/// Most digits before the decimal point a numeric format may have. A value is then below
/// 10^27 once scaled, so even a total over 10^11 records stays below 10^38, inside `i128`
/// (whose largest value is about 1.7 × 10^38): control totals can never overflow.
pub const MAX_INTEGER_DIGITS: usize = 18;

/// One piece of a date/time pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    /// `YYYY`
    Year,
    /// `MM` (before any hour)
    Month,
    /// `MON`, e.g. `JAN`
    MonthName,
    /// `DD`
    Day,
    /// `HH` or `HH24`
    Hour,
    /// `MM` after an hour, or `MI`
    Minute,
    /// `SS`
    Second,
    /// Any other character, matched literally.
    Lit(u8),
}

/// A fixed-width date, time or timestamp pattern such as `DD/MM/YYYY` or `YYYYMMDD HHMMSS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The pattern as written in the layout.
    pub text: String,
    toks: Vec<Tok>,
    width: usize,
}

const MONTHS: [&[u8; 3]; 12] = [
    b"JAN", b"FEB", b"MAR", b"APR", b"MAY", b"JUN", b"JUL", b"AUG", b"SEP", b"OCT", b"NOV", b"DEC",
];

impl Pattern {
    /// Parses a pattern; only ASCII is allowed.
    pub fn parse(text: &str) -> Result<Self, String> {
        if !text.is_ascii() || text.is_empty() {
            return Err(format!(
                "date/time pattern {text:?} must be non-empty ASCII"
            ));
        }
        let b = text.as_bytes();
        let mut toks = Vec::new();
        let mut i = 0;
        let mut seen_hour = false;
        let mut width = 0;
        while i < b.len() {
            let rest = &b[i..];
            let (tok, len, w) = if rest.starts_with(b"YYYY") {
                (Tok::Year, 4, 4)
            } else if rest.starts_with(b"MON") {
                (Tok::MonthName, 3, 3)
            } else if rest.starts_with(b"HH24") {
                seen_hour = true;
                (Tok::Hour, 4, 2)
            } else if rest.starts_with(b"HH") {
                seen_hour = true;
                (Tok::Hour, 2, 2)
            } else if rest.starts_with(b"MI") {
                (Tok::Minute, 2, 2)
            } else if rest.starts_with(b"MM") {
                (if seen_hour { Tok::Minute } else { Tok::Month }, 2, 2)
            } else if rest.starts_with(b"DD") {
                (Tok::Day, 2, 2)
            } else if rest.starts_with(b"SS") {
                (Tok::Second, 2, 2)
            } else {
                (Tok::Lit(b[i]), 1, 1)
            };
            toks.push(tok);
            i += len;
            width += w;
        }
        Ok(Self {
            text: text.to_string(),
            toks,
            width,
        })
    }

    /// A value of this pattern masked for display: the year and the separators are kept,
    /// every other character is a dot (`••/••/1984`). A value that does not fit the pattern
    /// shows only dots.
    pub fn mask(&self, v: &str) -> String {
        const DOT: char = '\u{2022}';
        let chars: Vec<char> = v.chars().collect();
        let dots = || std::iter::repeat_n(DOT, chars.len().min(12)).collect();
        if chars.len() != self.width {
            return dots();
        }
        // The shape must be the pattern's (separators where it has them, digits where it
        // has numbers), or a value in another form (1984-01-26 against DD/MM/YYYY) would show
        // its digits.
        let mut out = String::with_capacity(self.width * 3);
        let mut at = 0;
        for t in &self.toks {
            let w = match t {
                Tok::Year => 4,
                Tok::MonthName => 3,
                Tok::Lit(_) => 1,
                _ => 2,
            };
            let part = &chars[at..at + w];
            let fits = match t {
                Tok::Lit(c) => part[0] == char::from(*c),
                Tok::MonthName => part.iter().all(|c| c.is_ascii_alphabetic()),
                _ => part.iter().all(char::is_ascii_digit),
            };
            if !fits {
                return dots();
            }
            for c in part {
                out.push(if matches!(t, Tok::Year | Tok::Lit(_)) {
                    *c
                } else {
                    DOT
                });
            }
            at += w;
        }
        out
    }

    /// True when the pattern has a year, month and day.
    pub fn has_date(&self) -> bool {
        self.toks.iter().any(|t| matches!(t, Tok::Year))
            && self
                .toks
                .iter()
                .any(|t| matches!(t, Tok::Month | Tok::MonthName))
            && self.toks.iter().any(|t| matches!(t, Tok::Day))
    }

    /// The width of every value of this pattern.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Parses `v`; returns a sortable key (seconds since 0001-01-01 for dates, seconds of the
    /// day for times) or None when it is not a real date/time of this pattern.
    pub fn parse_value(&self, v: &str) -> Option<i64> {
        let b = v.as_bytes();
        if b.len() != self.width {
            return None;
        }
        let (mut y, mut mo, mut d, mut h, mut mi, mut s) = (None, None, None, 0u32, 0u32, 0u32);
        let mut i = 0;
        for t in &self.toks {
            match *t {
                Tok::Lit(c) => {
                    if b[i] != c {
                        return None;
                    }
                    i += 1;
                }
                Tok::Year => {
                    y = Some(digits(&b[i..i + 4])? as i32);
                    i += 4;
                }
                Tok::MonthName => {
                    let m = &b[i..i + 3];
                    let up = [
                        m[0].to_ascii_uppercase(),
                        m[1].to_ascii_uppercase(),
                        m[2].to_ascii_uppercase(),
                    ];
                    mo = Some(MONTHS.iter().position(|n| **n == up)? as u32 + 1);
                    i += 3;
                }
                tok => {
                    let n = digits(&b[i..i + 2])?;
                    match tok {
                        Tok::Month => mo = Some(n),
                        Tok::Day => d = Some(n),
                        Tok::Hour => h = n,
                        Tok::Minute => mi = n,
                        _ => s = n,
                    }
                    i += 2;
                }
            }
        }
        if h > 23 || mi > 59 || s > 59 {
            return None;
        }
        let secs = i64::from(h * 3600 + mi * 60 + s);
        match (y, mo, d) {
            (Some(y), Some(mo), Some(d)) => {
                let date = NaiveDate::from_ymd_opt(y, mo, d)?;
                Some(i64::from(date.num_days_from_ce()) * 86_400 + secs)
            }
            (None, None, None) => Some(secs),
            _ => None,
        }
    }

    /// Formats a date (and time of day in seconds) with this pattern.
    pub fn format(&self, date: NaiveDate, secs_of_day: u32) -> String {
        let mut out = String::with_capacity(self.width);
        for t in &self.toks {
            match *t {
                Tok::Lit(c) => out.push(c as char),
                Tok::Year => out.push_str(&format!("{:04}", date.year())),
                Tok::Month => out.push_str(&format!("{:02}", date.month())),
                Tok::MonthName => {
                    let m = MONTHS[date.month0() as usize];
                    out.push_str(std::str::from_utf8(m).unwrap_or("JAN"));
                }
                Tok::Day => out.push_str(&format!("{:02}", date.day())),
                Tok::Hour => out.push_str(&format!("{:02}", secs_of_day / 3600)),
                Tok::Minute => out.push_str(&format!("{:02}", secs_of_day / 60 % 60)),
                Tok::Second => out.push_str(&format!("{:02}", secs_of_day % 60)),
            }
        }
        out
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut n = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(c - b'0');
    }
    Some(n)
}

/// A field format in ESR notation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// `X(n)`: text up to n characters.
    Text {
        /// Most characters allowed.
        max: usize,
    },
    /// `F(n)`: text of exactly n characters.
    Fixed {
        /// Exact length.
        len: usize,
    },
    /// `N(n,m)`: number of up to n digits in all, at most m of them after a decimal point (so
    /// at most n-m before it: `N(5,2)` holds up to 999.99, as Oracle's NUMBER(5,2)).
    Numeric {
        /// Most digits in all.
        digits: usize,
        /// Most digits after the point.
        decimals: usize,
    },
    /// `L(n,m)`: exactly n digits, zero-padded on the left, the last m after a decimal point.
    Padded {
        /// Digits in all.
        digits: usize,
        /// Digits after the point.
        decimals: usize,
    },
    /// `date(PATTERN)`.
    Date(Pattern),
    /// `timestamp(PATTERN)`: a date and a time.
    Timestamp(Pattern),
    /// `time(PATTERN)`.
    Time(Pattern),
    /// `flag` (Y/N) or `flag(T/F)`.
    Flag {
        /// The "yes" value.
        yes: String,
        /// The "no" value.
        no: String,
    },
}

/// Why a value does not fit its format: the rule code and a reason to follow the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatProblem {
    /// `type-error` or `length-error`.
    pub rule: crate::rules::Rule,
    /// Reason in plain English, e.g. "is not a real date (expected DD/MM/YYYY)".
    pub reason: String,
}

impl Format {
    /// Parses ESR notation as written in a layout file.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let (head, arg) = match t.find('(') {
            Some(p) if t.ends_with(')') => (&t[..p], Some(&t[p + 1..t.len() - 1])),
            Some(_) => {
                return Err(format!(
                    "format {text:?} has an opening bracket but no closing one"
                ));
            }
            None => (t, None),
        };
        let nums = |a: Option<&str>| -> Result<(usize, usize), String> {
            let a = a.ok_or_else(|| format!("format {text:?} needs a size, e.g. {head}(10)"))?;
            let mut parts = a.split(',').map(|p| p.trim().parse::<usize>());
            let n = parts
                .next()
                .and_then(Result::ok)
                .ok_or_else(|| format!("format {text:?}: size is not a number"))?;
            let m = match parts.next() {
                None => 0,
                Some(Ok(m)) => m,
                Some(Err(_)) => return Err(format!("format {text:?}: decimals is not a number")),
            };
            if n == 0 || m > n {
                return Err(format!(
                    "format {text:?}: size must be at least 1 and decimals no more than the size"
                ));
            }
            Ok((n, m))
        };
        // Numbers are held exactly (scaled by SCALE in an i128): refuse formats whose values
        // could not be, rather than cut or cap them silently later.
        let numeric = |(n, m): (usize, usize)| -> Result<(usize, usize), String> {
            if m > MAX_DECIMALS {
                return Err(format!(
                    "format {text:?} has {m} decimal places; at most {MAX_DECIMALS} are supported (numbers are kept exact to {MAX_DECIMALS} places)"
                ));
            }
            if n - m > MAX_INTEGER_DIGITS {
                return Err(format!(
                    "format {text:?} allows {} digits before the decimal point; at most {MAX_INTEGER_DIGITS} are supported (so that totals over many records stay exact)",
                    n - m
                ));
            }
            Ok((n, m))
        };
        match head.to_ascii_lowercase().as_str() {
            "x" => Ok(Format::Text { max: nums(arg)?.0 }),
            "f" => Ok(Format::Fixed { len: nums(arg)?.0 }),
            "n" => {
                let (digits, decimals) = numeric(nums(arg)?)?;
                Ok(Format::Numeric { digits, decimals })
            }
            "l" => {
                let (digits, decimals) = numeric(nums(arg)?)?;
                Ok(Format::Padded { digits, decimals })
            }
            "date" | "timestamp" | "time" => {
                let p = Pattern::parse(arg.ok_or_else(|| {
                    format!("format {text:?} needs a pattern, e.g. date(YYYYMMDD)")
                })?)?;
                match head {
                    "date" if p.has_date() => Ok(Format::Date(p)),
                    "timestamp" if p.has_date() => Ok(Format::Timestamp(p)),
                    "time" if !p.has_date() => Ok(Format::Time(p)),
                    _ => Err(format!(
                        "format {text:?}: the pattern does not fit a {head}"
                    )),
                }
            }
            "flag" => match arg {
                None => Ok(Format::Flag {
                    yes: "Y".into(),
                    no: "N".into(),
                }),
                Some(a) => {
                    let (y, n) = a.split_once('/').ok_or_else(|| {
                        format!("format {text:?}: write flag(YES/NO), e.g. flag(Y/N)")
                    })?;
                    Ok(Format::Flag {
                        yes: y.trim().to_string(),
                        no: n.trim().to_string(),
                    })
                }
            },
            _ => Err(format!(
                "format {text:?} is not ESR notation: use X(n), F(n), N(n,m), L(n,m), date(..), timestamp(..), time(..) or flag"
            )),
        }
    }

    /// Checks a non-empty value. On success returns a comparable number where the format has
    /// one (scaled numbers, date/time keys), otherwise 0.
    pub fn check(&self, v: &str) -> Result<i128, FormatProblem> {
        match self {
            Format::Text { max } => {
                let n = char_len(v);
                if n > *max {
                    return Err(length(format!(
                        "is {n} characters long; at most {max} are allowed (X({max}))"
                    )));
                }
                Ok(0)
            }
            Format::Fixed { len } => {
                let n = char_len(v);
                if n != *len {
                    return Err(length(format!(
                        "is {n} characters long; exactly {len} are required (F({len}))"
                    )));
                }
                Ok(0)
            }
            Format::Numeric { digits, decimals } => {
                parse_number(v, *digits, *decimals, false).map_err(|r| typed(r, self))
            }
            Format::Padded { digits, decimals } => {
                parse_number(v, *digits, *decimals, true).map_err(|r| typed(r, self))
            }
            Format::Date(p) | Format::Timestamp(p) | Format::Time(p) => match p.parse_value(v) {
                Some(k) => Ok(i128::from(k)),
                None => {
                    let what = match self {
                        Format::Date(_) => "a real date",
                        Format::Timestamp(_) => "a real date and time",
                        _ => "a real time",
                    };
                    Err(FormatProblem {
                        rule: crate::rules::Rule::TypeError,
                        reason: format!("is not {what} (expected {})", p.text),
                    })
                }
            },
            Format::Flag { yes, no } => {
                if v == yes || v == no {
                    Ok(0)
                } else {
                    Err(FormatProblem {
                        rule: crate::rules::Rule::TypeError,
                        reason: format!("must be {yes} or {no}"),
                    })
                }
            }
        }
    }

    /// Largest number of characters a value can have, where bounded.
    pub fn max_len(&self) -> Option<usize> {
        match self {
            Format::Text { max } => Some(*max),
            Format::Fixed { len } => Some(*len),
            Format::Numeric { digits, decimals } => Some(digits + usize::from(*decimals > 0) + 1),
            Format::Padded { digits, decimals } => Some(digits + usize::from(*decimals > 0)),
            Format::Date(p) | Format::Timestamp(p) | Format::Time(p) => Some(p.width()),
            Format::Flag { yes, no } => Some(yes.len().max(no.len())),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Format::Text { max } => write!(f, "X({max})"),
            Format::Fixed { len } => write!(f, "F({len})"),
            Format::Numeric {
                digits,
                decimals: 0,
            } => write!(f, "N({digits})"),
            Format::Numeric { digits, decimals } => write!(f, "N({digits},{decimals})"),
            Format::Padded {
                digits,
                decimals: 0,
            } => write!(f, "L({digits})"),
            Format::Padded { digits, decimals } => write!(f, "L({digits},{decimals})"),
            Format::Date(p) => write!(f, "date({})", p.text),
            Format::Timestamp(p) => write!(f, "timestamp({})", p.text),
            Format::Time(p) => write!(f, "time({})", p.text),
            Format::Flag { yes, no } => write!(f, "flag({yes}/{no})"),
        }
    }
}

fn length(reason: String) -> FormatProblem {
    FormatProblem {
        rule: crate::rules::Rule::LengthError,
        reason,
    }
}

fn typed(reason: String, f: &Format) -> FormatProblem {
    FormatProblem {
        rule: crate::rules::Rule::TypeError,
        reason: format!("{reason} ({f})"),
    }
}

/// Number of characters (not bytes).
pub fn char_len(v: &str) -> usize {
    if v.is_ascii() {
        v.len()
    } else {
        v.chars().count()
    }
}

/// Parses a decimal number into an integer scaled by [`SCALE`]. `padded` asks for the exact
/// zero-padded width of `L(n,m)`. A leading minus sign is accepted for `N` fields.
///
/// The result is exact or an error, never cut or capped: a value with more than
/// [`MAX_DECIMALS`] decimal places, or too large for `i128` once scaled, is refused.
pub fn parse_number(v: &str, digits: usize, decimals: usize, padded: bool) -> Result<i128, String> {
    let (neg, body) = match v.strip_prefix('-') {
        Some(rest) if !padded => (true, rest),
        _ => (false, v),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || frac.is_some_and(|f| f.is_empty() || !all_digits(f)) {
        return Err("is not a number".to_string());
    }
    let frac = frac.unwrap_or("");
    if frac.len() > decimals {
        return Err(if decimals == 0 {
            "must be a whole number".to_string()
        } else {
            format!(
                "has {} decimal places; at most {decimals} are allowed",
                frac.len()
            )
        });
    }
    if frac.len() > MAX_DECIMALS {
        return Err(format!(
            "has {} decimal places; at most {MAX_DECIMALS} can be held exactly",
            frac.len()
        ));
    }
    if padded {
        if int.len() + frac.len() != digits || frac.len() != decimals {
            return Err(format!(
                "must be exactly {digits} digits, padded with leading zeros"
            ));
        }
    } else if int.trim_start_matches('0').len() > digits.saturating_sub(decimals) {
        return Err(if decimals == 0 {
            format!("has more than {digits} digits")
        } else {
            format!(
                "has more than {} digits before the decimal point",
                digits.saturating_sub(decimals)
            )
        });
    }
    const TOO_LARGE: &str = "is too large to be held exactly";
    let mut n: i128 = 0;
    for b in int.bytes() {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(i128::from(b - b'0')))
            .ok_or(TOO_LARGE)?;
    }
    n = n.checked_mul(SCALE).ok_or(TOO_LARGE)?;
    // frac has at most MAX_DECIMALS digits: read as a whole number, then scaled up to them.
    let mut f: i128 = 0;
    for b in frac.bytes() {
        f = f * 10 + i128::from(b - b'0');
    }
    n = n
        .checked_add(f * 10i128.pow((MAX_DECIMALS - frac.len()) as u32))
        .ok_or(TOO_LARGE)?;
    Ok(if neg { -n } else { n })
}

/// Formats a scaled number with exactly `decimals` places (trailing zeros added past
/// [`MAX_DECIMALS`]). Places beyond `decimals` are cut, not rounded: use it for values of a
/// format with `decimals` places (which have no more), and [`format_exact`] where a value may
/// carry more places than the format it is shown for.
pub fn format_scaled(n: i128, decimals: usize) -> String {
    let neg = n < 0;
    let a = n.unsigned_abs();
    let int = a / SCALE as u128;
    let frac = a % SCALE as u128;
    let mut s = if neg {
        format!("-{int}")
    } else {
        int.to_string()
    };
    if decimals > 0 {
        let f = format!("{frac:0w$}", w = MAX_DECIMALS);
        s.push('.');
        s.push_str(&f[..decimals.min(MAX_DECIMALS)]);
        for _ in MAX_DECIMALS..decimals {
            s.push('0');
        }
    }
    s
}

/// Formats a scaled number with at least `min_decimals` places and as many more as it needs to
/// be shown exactly (so a total of 0.125 shown for an `N(10,2)` field reads 0.125, not 0.12).
pub fn format_exact(n: i128, min_decimals: usize) -> String {
    let mut frac = (n.unsigned_abs() % SCALE as u128) as u64;
    let mut needed = if frac == 0 { 0 } else { MAX_DECIMALS };
    while needed > 0 && frac.is_multiple_of(10) {
        frac /= 10;
        needed -= 1;
    }
    format_scaled(n, min_decimals.max(needed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notation_parses_and_prints() {
        for t in [
            "X(30)",
            "F(3)",
            "N(5,2)",
            "N(8)",
            "L(8)",
            "L(7,2)",
            "date(DD/MM/YYYY)",
            "timestamp(YYYYMMDD HHMMSS)",
            "time(HH:MM)",
            "flag(Y/N)",
        ] {
            assert_eq!(Format::parse(t).expect(t).to_string(), t);
        }
        assert!(Format::parse("Q(3)").is_err());
        assert!(Format::parse("X(").is_err());
        assert!(Format::parse("N(2,3)").is_err());
        assert!(Format::parse("date(HH:MM)").is_err());
    }

    #[test]
    fn values_are_checked() {
        let x = Format::parse("X(5)").expect("X");
        assert!(x.check("abcde").is_ok());
        assert_eq!(
            x.check("abcdef").map_err(|p| p.rule),
            Err(crate::rules::Rule::LengthError)
        );
        assert!(x.check("ééééé").is_ok());
        let n = Format::parse("N(5,2)").expect("N");
        assert_eq!(n.check("123.45"), Ok(12_345 * SCALE / 100));
        assert_eq!(n.check("-1.5"), Ok(-15 * SCALE / 10));
        assert!(n.check("1234.5").is_err());
        assert!(n.check("1.234").is_err());
        assert!(n.check("1e5").is_err());
        assert!(n.check("").is_err());
        let l = Format::parse("L(6)").expect("L");
        assert!(l.check("000123").is_ok());
        assert!(l.check("123").is_err());
        let l2 = Format::parse("L(7,2)").expect("L2");
        assert_eq!(l2.check("00123.45"), Ok(12_345 * SCALE / 100));
        let d = Format::parse("date(DD/MM/YYYY)").expect("date");
        assert!(d.check("29/02/2024").is_ok());
        let e = d.check("31/02/2026").expect_err("no such date");
        assert_eq!(e.reason, "is not a real date (expected DD/MM/YYYY)");
        let m = Format::parse("date(DD-MON-YYYY)").expect("mon");
        assert!(m.check("01-JAN-2024").is_ok());
        assert!(m.check("01-JAM-2024").is_err());
        let ts = Format::parse("timestamp(YYYYMMDD HHMMSS)").expect("ts");
        assert!(ts.check("20210409 072050").is_ok());
        assert!(ts.check("20210409 252050").is_err());
        let t = Format::parse("time(HH:MM)").expect("time");
        assert_eq!(t.check("07:30"), Ok(7 * 3600 + 30 * 60));
        assert!(t.check("7:30").is_err());
        let f = Format::parse("flag").expect("flag");
        assert!(f.check("Y").is_ok());
        assert!(f.check("y").is_err());
    }

    #[test]
    fn dates_order_and_format() {
        let p = Pattern::parse("YYYYMMDD").expect("p");
        let a = p.parse_value("20240131").expect("a");
        let b = p.parse_value("20240201").expect("b");
        assert!(a < b);
        let d = NaiveDate::from_ymd_opt(2026, 3, 9).expect("date");
        assert_eq!(
            Pattern::parse("DD-MON-YYYY HH:MM")
                .expect("p")
                .format(d, 3600 + 120),
            "09-MAR-2026 01:02"
        );
        assert_eq!(format_scaled(12_345 * SCALE / 100, 2), "123.45");
        assert_eq!(format_scaled(-5 * SCALE, 0), "-5");
    }

    #[test]
    fn numeric_formats_beyond_exact_range_are_refused() {
        // Up to 9 decimals and 18 digits before the point are held exactly.
        for ok in ["N(10,8)", "N(9,9)", "N(27,9)", "N(18)", "L(27,9)", "L(18)"] {
            assert!(Format::parse(ok).is_ok(), "{ok}");
        }
        let e = Format::parse("N(12,10)").expect_err("10 decimals");
        assert!(e.contains("at most 9 are supported"), "{e}");
        assert!(Format::parse("L(12,10)").is_err());
        let e = Format::parse("N(19)").expect_err("19 whole digits");
        assert!(e.contains("at most 18 are supported"), "{e}");
        assert!(Format::parse("N(30,6)").is_err());
        assert!(Format::parse("L(40)").is_err());
    }

    #[test]
    fn eight_decimal_totals_are_not_cut() {
        // The trailer total and the lines' sum differ in the 7th and 8th places.
        let f = Format::parse("N(10,8)").expect("N(10,8)");
        let stated = f.check("0.12345600").expect("stated");
        let lines = f.check("0.12345679").expect("lines");
        assert_ne!(stated, lines);
        assert_eq!(lines - stated, 79 * SCALE / 100_000_000);
        assert_eq!(format_scaled(lines, 8), "0.12345679");
        let nine = Format::parse("N(10,9)").expect("N(10,9)");
        assert_eq!(nine.check("0.000000001"), Ok(1));
        assert_eq!(format_scaled(1, 9), "0.000000001");
    }

    #[test]
    fn huge_numbers_are_refused_not_capped() {
        let huge = "9".repeat(60);
        let e = parse_number(&huge, 80, 0, false).expect_err("overflow");
        assert!(e.contains("too large"), "{e}");
        let e = parse_number(&format!("-{huge}"), 80, 0, false).expect_err("overflow");
        assert!(e.contains("too large"), "{e}");
        // i128 holds about 1.7e38: 29 whole digits still fit once scaled, 30 do not.
        assert!(parse_number(&"9".repeat(29), 40, 0, false).is_ok());
        assert!(parse_number(&"9".repeat(30), 40, 0, false).is_err());
        assert!(parse_number(&format!("{}.5", "9".repeat(29)), 40, 1, false).is_ok());
        assert_eq!(
            parse_number(&"9".repeat(18), 18, 0, false),
            Ok((10i128.pow(18) - 1) * SCALE)
        );
        // More places than can be held exactly is an error even when the caller allows them.
        let e = parse_number("0.1234567891", 20, 12, false).expect_err("10 places");
        assert!(e.contains("at most 9"), "{e}");
    }

    #[test]
    fn parse_then_format_round_trips_for_every_decimals() {
        let mut rng = fastrand::Rng::with_seed(0x5ca1e);
        let digit = |rng: &mut fastrand::Rng| char::from(b'0' + rng.u8(0..10));
        for (decimals, whole) in (0..=MAX_DECIMALS).flat_map(|d| [(d, 1), (d, 7), (d, 18)]) {
            let digits = whole + decimals;
            let n_fmt = Format::parse(&format!("N({digits},{decimals})")).expect("N");
            let l_fmt = Format::parse(&format!("L({digits},{decimals})")).expect("L");
            for _ in 0..1_000 {
                // N: an optional sign, 1..=whole digits without leading zeros, all places.
                let len = rng.usize(1..=whole);
                let mut int: String = (0..len).map(|_| digit(&mut rng)).collect();
                let trimmed = int.trim_start_matches('0');
                int = if trimmed.is_empty() {
                    "0".into()
                } else {
                    trimmed.into()
                };
                let frac: String = (0..decimals).map(|_| digit(&mut rng)).collect();
                let neg = rng.bool() && (int != "0" || frac.bytes().any(|b| b != b'0'));
                let text = match (neg, decimals) {
                    (false, 0) => int.clone(),
                    (true, 0) => format!("-{int}"),
                    (false, _) => format!("{int}.{frac}"),
                    (true, _) => format!("-{int}.{frac}"),
                };
                let v = n_fmt.check(&text).expect(&text);
                assert_eq!(format_scaled(v, decimals), text, "N({digits},{decimals})");
                assert_eq!(format_exact(v, decimals), text, "exact {text}");
                // The scaled value is the digits read as one integer, times 10^(9 - places).
                let whole_value: i128 = format!("{int}{frac}").parse().expect("int");
                let expect = whole_value * 10i128.pow((MAX_DECIMALS - decimals) as u32);
                assert_eq!(v, if neg { -expect } else { expect }, "{text}");

                // L: exactly `digits` digits, zero-padded.
                let all: String = (0..digits).map(|_| digit(&mut rng)).collect();
                let padded = if decimals == 0 {
                    all.clone()
                } else {
                    format!("{}.{}", &all[..whole], &all[whole..])
                };
                let v = l_fmt.check(&padded).expect(&padded);
                let width = digits + usize::from(decimals > 0);
                assert_eq!(
                    format!("{:0>width$}", format_scaled(v, decimals)),
                    padded,
                    "L({digits},{decimals})"
                );
            }
        }
    }

    #[test]
    fn format_exact_shows_every_place() {
        assert_eq!(format_exact(125 * SCALE / 1000, 2), "0.125");
        assert_eq!(format_exact(12 * SCALE / 100, 2), "0.12");
        assert_eq!(format_exact(5 * SCALE, 0), "5");
        assert_eq!(format_exact(-1, 2), "-0.000000001");
    }
}
