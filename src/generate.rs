//! Deterministic synthetic sample files for any layout, clean or with seeded defects.
//!
//! The generator reads only the layout: each field's format, code list, identifier check and
//! `sample` hint decide its values, record rules are honoured, unique keys are kept unique, and
//! the trailer's counts and totals are computed from what was written. With a defect rate, some
//! records are given one defect each (kinds taken in turn so every kind the layout allows
//! appears), and every defect is listed with its line, field and rule. Each record is checked
//! with the validator's own record check as it is written, so a clean record is known clean and
//! a seeded defect is known to give exactly its one issue. Memory stays flat: records are
//! streamed out. All names, numbers and addresses are synthetic (Ofcom drama telephone ranges,
//! made-up identifiers that pass their checks).

use crate::checks::{Check, HCPC_PREFIXES, nhs_check_digit};
use crate::layout::{
    Condition, Control, Field, Generate, Layout, Operand, Role, RuleKind, SpanUnit,
};
use crate::notation::{Format, MAX_DECIMALS, Pattern, SCALE, format_scaled};
use crate::reader::Reader;
use crate::rules::Rule;
use crate::validate::{
    Against, FieldSource, Issue, References, check_record, condition_holds, consistent_hash,
    operand_text, span_between,
};
use crate::writer::{WriteError, encode_record};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;

/// One seeded defect, as listed in `<file>.defects.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seeded {
    /// 1-based physical line.
    pub line: u64,
    /// Field name, or None for record- and file-level defects.
    pub field: Option<String>,
    /// Rule the validator reports (its code in JSON).
    pub rule: Rule,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// Number of detail records.
    pub rows: u64,
    /// Share of detail records given a defect (0 for a clean file).
    pub defect_rate: f64,
    /// Random seed: the same seed gives the same file.
    pub seed: u64,
    /// The trust's VPD code.
    pub vpd: String,
    /// File sequence number.
    pub seq: u64,
    /// Extract date and time written in headers; dates in records fall before it.
    pub when: NaiveDateTime,
    /// The file name written in headers that carry it.
    pub file_name: String,
}

/// What was generated.
#[derive(Debug, Clone, Default)]
pub struct GenSummary {
    /// Records written (all types).
    pub records: u64,
    /// Lines written (records, blank lines, column-name row).
    pub lines: u64,
    /// The seeded defects, in line order.
    pub defects: Vec<Seeded>,
}

/// Errors generating a file.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// Writing failed.
    #[error("could not write the sample: {0}")]
    Io(#[from] std::io::Error),
    /// A value could not be written in the layout's format.
    #[error("layout {layout}: {source}")]
    Write {
        /// Layout id.
        layout: String,
        /// Cause.
        source: WriteError,
    },
    /// The layout asks for something the generator cannot make valid (e.g. a pattern field
    /// with no `sample` hint).
    #[error(
        "layout {layout}: the generator could not make a valid {record} record: {issue}. Add a `sample` hint to that field (see docs/layouts.md)"
    )]
    Unsatisfiable {
        /// Layout id.
        layout: String,
        /// Record type.
        record: String,
        /// The issue the validator found.
        issue: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Required,
    Type,
    Length,
    Code,
    Identifier,
    Range,
    Pattern,
    Order,
    RequiredIf,
    ExtraCell,
    MissingCell,
    UnknownType,
    BlankRow,
    BrokenQuote,
    Encoding,
    Unique,
    EmptyIf,
    HeaderMismatch,
    Period,
    Span,
    Computed,
    Consistency,
}

/// The defects every layout can take, in turn.
const KINDS: [Kind; 16] = [
    Kind::Type,
    Kind::Required,
    Kind::Code,
    Kind::Identifier,
    Kind::Length,
    Kind::Order,
    Kind::Unique,
    Kind::ExtraCell,
    Kind::MissingCell,
    Kind::Range,
    Kind::RequiredIf,
    Kind::Pattern,
    Kind::UnknownType,
    Kind::BlankRow,
    Kind::BrokenQuote,
    Kind::Encoding,
];

/// The defects a layout can take: [`KINDS`], then one for each kind of rule a trust can
/// write that the layout has (so a layout without them is seeded as it always was).
fn kinds_for(layout: &Layout) -> Vec<Kind> {
    let has = |f: &dyn Fn(&RuleKind) -> bool| {
        layout
            .records
            .iter()
            .any(|r| r.rules.iter().any(|x| f(&x.kind)))
    };
    let mut kinds = KINDS.to_vec();
    for (kind, present) in [
        (Kind::EmptyIf, has(&|k| matches!(k, RuleKind::Empty { .. }))),
        (
            Kind::HeaderMismatch,
            has(&|k| matches!(k, RuleKind::SameAsHeader { .. })),
        ),
        (
            Kind::Period,
            has(&|k| matches!(k, RuleKind::Within { .. } | RuleKind::FinancialYear { .. })),
        ),
        (Kind::Span, has(&|k| matches!(k, RuleKind::Span { .. }))),
        (
            Kind::Computed,
            has(&|k| matches!(k, RuleKind::Computed { .. })),
        ),
        (
            Kind::Consistency,
            layout.consistent.iter().any(|c| c.value.is_some()),
        ),
    ] {
        if present {
            kinds.push(kind);
        }
    }
    kinds
}

const SURNAMES: &[&str] = &[
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Wood", "Jackson", "Clarke", "Khan", "Okafor", "Nowak", "O'Brien", "Murphy", "Hughes",
    "Edwards", "Lewis", "Harris", "Begum", "Ahmed", "Singh", "Kowalski", "Adeyemi", "Mensah",
    "Santos", "Reyes", "Fraser", "Campbell",
];
const FORENAMES: &[&str] = &[
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Grace", "Sophie", "Chloé", "Zoë", "Renée", "Siân",
    "Aoife", "Priya", "Fatima", "Oliver", "George", "Harry", "Noah", "Jack", "Leo", "Arthur",
    "Muhammad", "Oscar", "Rhys", "Dafydd", "Kwame", "Tomasz", "José", "Andrew", "Claire", "Helen",
    "Sarah", "David", "James", "Michael", "Rachel", "Joanne", "Mark", "Paul", "Louise",
];
const TOWNS: &[&str] = &[
    "Leeds",
    "Bradford",
    "Manchester",
    "Liverpool",
    "Newcastle",
    "Sheffield",
    "Bristol",
    "Exeter",
    "Maidstone",
    "York",
];
const STREETS: &[&str] = &[
    "Park", "Church", "Station", "Victoria", "Mill", "Green", "Manor", "Queens", "Kings", "Chapel",
];
const ROADS: &[&str] = &["Road", "Street", "Lane", "Avenue", "Close", "Way"];
const OUTWARD: &[&str] = &[
    "LS1", "LS6", "M1", "M20", "B33", "SW1A", "EC1A", "CR2", "DN55", "NE1", "BS7", "L3", "S10",
    "YO1", "EX2", "ME14",
];
const INWARD_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";
const NI_PREFIXES: &[&str] = &["AB", "CE", "JK", "KY", "PR", "SK", "WL", "HT", "LM", "RE"];
const WORDS: &[&str] = &[
    "Ward",
    "Clinic",
    "Theatre",
    "Outpatients",
    "Pharmacy",
    "Radiology",
    "Estates",
    "Finance",
    "Workforce",
    "Therapies",
];
const DIVISIONS: &[&str] = &[
    "Medicine",
    "Surgery",
    "Women and Children",
    "Community",
    "Clinical Support",
    "Corporate",
];
const JOBS: &[&str] = &[
    "Staff Nurse",
    "Healthcare Assistant",
    "Physiotherapist",
    "Consultant",
    "Pharmacist",
    "Administrator",
];

struct Gen<'a> {
    layout: &'a Layout,
    opts: &'a GenOptions,
    rng: fastrand::Rng,
    serial: HashMap<String, u64>,
    next_employee: u64,
    keys: HashSet<u64>,
    last_clean: HashMap<usize, Vec<String>>,
    kind_turn: usize,
    earliest: NaiveDate,
    /// The header record written, which detail rules may read.
    header: Option<Vec<String>>,
    /// Consistent-rule keys written: key hash to value hash (the first value wins).
    groups: HashMap<u64, u64>,
    /// The last key written for each consistent rule (to seed a consistency defect).
    last_group_key: HashMap<usize, String>,
}

fn hash_key(ri: usize, ki: usize, vals: &[&str]) -> u64 {
    let mut h = DefaultHasher::new();
    (ri, ki).hash(&mut h);
    vals.hash(&mut h);
    h.finish()
}

fn ascii_fold(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'é' | 'è' | 'ë' => Some('e'),
            'â' | 'á' => Some('a'),
            'ï' | 'í' => Some('i'),
            'ó' | 'ö' => Some('o'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

impl<'a> Gen<'a> {
    fn pick<'s>(&mut self, list: &[&'s str]) -> &'s str {
        list[self.rng.usize(..list.len())]
    }

    fn serial(&mut self, key: &str) -> u64 {
        let n = self.serial.entry(key.to_string()).or_insert(0);
        *n += 1;
        *n
    }

    /// The rows of a date-tracked record type one person has are one entity's history: the
    /// first row's key is kept for the rows after it, each period starts the day after the
    /// one before ends, and the last is open (ESR's open end date 47121231).
    fn date_track(
        &mut self,
        ri: usize,
        nth: usize,
        of: usize,
        vals: &mut [String],
        ctx: &mut HashMap<String, String>,
    ) {
        let rt = &self.layout.records[ri];
        let Some(h) = rt.history.clone() else {
            return;
        };
        let tag = format!("\u{0}history.{ri}");
        let text = |f: &Format, d: NaiveDate| match f {
            Format::Date(p) => p.format(d, 0),
            _ => d.format("%Y%m%d").to_string(),
        };
        let before = if nth > 1 {
            ctx.get(&tag).cloned()
        } else {
            None
        };
        let start = match before {
            Some(prev) => {
                let mut parts = prev.split('\u{1}');
                let end = parts
                    .next()
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok());
                // The same entity: its key and every identifier as the row before had them.
                for (fi, f) in rt.fields.iter().enumerate() {
                    let v = parts.next().unwrap_or_default();
                    let n = f.name.to_ascii_lowercase();
                    if h.key.contains(&fi) || n.ends_with(" id") || n.ends_with(" number") {
                        vals[fi] = v.to_string();
                    }
                }
                match end {
                    Some(e) => e + Duration::days(1),
                    None => return,
                }
            }
            None => {
                let latest = self.opts.when.date() - Duration::days(400 * of as i64 + 30);
                let earliest = self.earliest.min(latest - Duration::days(1));
                self.random_date(earliest, latest)
            }
        };
        let end = (nth < of).then(|| start + Duration::days(self.rng.i64(30..400)));
        vals[h.start] = text(&rt.fields[h.start].format, start);
        vals[h.end] = match end {
            Some(e) => text(&rt.fields[h.end].format, e),
            // ESR's open end date where the field is written YYYYMMDD; empty otherwise.
            None => match &rt.fields[h.end].format {
                Format::Date(p) if p.text == "YYYYMMDD" => crate::layout::OPEN_END.to_string(),
                _ => String::new(),
            },
        };
        let mut kept = end.map_or_else(String::new, |e| e.format("%Y%m%d").to_string());
        for v in vals.iter() {
            kept.push('\u{1}');
            kept.push_str(v);
        }
        ctx.insert(tag, kept);
    }

    fn random_date(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let span = (to - from).num_days().max(1);
        from + Duration::days(self.rng.i64(0..span))
    }

    fn number(&mut self, f: &Field, digits: usize, decimals: usize) -> i128 {
        let cap = 10i128.pow((digits - decimals).min(9) as u32) - 1;
        let lo = f.min.unwrap_or(0).max(0);
        let hi = f.max.unwrap_or(cap.min(9999) * SCALE).min(cap * SCALE);
        let step = SCALE / 10i128.pow(decimals.min(MAX_DECIMALS) as u32);
        let steps = ((hi - lo) / step).max(0);
        lo + step * i128::from(self.rng.i64(0..=steps.min(i128::from(i64::MAX)) as i64))
    }

    fn by_format(&mut self, f: &Field) -> String {
        match &f.format {
            Format::Text { max } => {
                let w = format!("{} {}", self.pick(WORDS), self.rng.u32(1..100));
                w.chars().take(*max).collect()
            }
            Format::Fixed { len } => (0..*len).map(|_| self.rng.uppercase()).collect(),
            Format::Numeric { digits, decimals } => {
                let n = self.number(f, *digits, *decimals);
                format_scaled(n, *decimals)
            }
            Format::Padded { digits, decimals } => {
                let n = self.number(f, *digits, *decimals);
                let s = format_scaled(n, *decimals);
                let width = digits + usize::from(*decimals > 0);
                format!("{s:0>width$}")
            }
            Format::Date(p) => {
                let d = self.random_date(self.earliest, self.opts.when.date());
                p.format(d, 0)
            }
            Format::Timestamp(p) => {
                let d = self.random_date(self.earliest, self.opts.when.date());
                p.format(d, self.rng.u32(0..86_400))
            }
            Format::Time(p) => p.format(self.opts.when.date(), self.rng.u32(24..88) * 900 % 86_400),
            Format::Flag { yes, no } => (if self.rng.bool() { yes } else { no }).clone(),
        }
    }

    fn identifier(&mut self, c: Check, ctx: &HashMap<String, String>, nth: usize) -> String {
        match c {
            Check::NiNumber => format!(
                "{}{:06}{}",
                self.pick(NI_PREFIXES),
                self.rng.u32(0..1_000_000),
                self.rng.choice(['A', 'B', 'C', 'D']).unwrap_or('A')
            ),
            Check::NhsNumber => loop {
                let first: String = format!("{:09}", self.rng.u32(400_000_000..999_999_999));
                if let Some(cd) = nhs_check_digit(first.as_bytes()) {
                    break format!("{first}{cd}");
                }
            },
            Check::Gmc => format!("{}", self.rng.u32(1_000_000..9_999_999)),
            Check::Nmc => format!(
                "{:02}{}{:04}{}",
                self.rng.u32(0..100),
                self.rng
                    .choice(['A', 'C', 'D', 'E', 'I', 'O', 'Y'])
                    .unwrap_or('A'),
                self.rng.u32(0..10_000),
                self.rng.uppercase()
            ),
            Check::Hcpc => {
                let p = self.pick(&HCPC_PREFIXES[..15]);
                format!("{p}{:06}", self.rng.u32(0..1_000_000))
            }
            Check::Gdc => format!("{}", self.rng.u32(10_000..300_000)),
            Check::Gphc => format!("2{:06}", self.rng.u32(0..1_000_000)),
            Check::Postcode => {
                let o = self.pick(OUTWARD);
                let a = INWARD_LETTERS[self.rng.usize(..INWARD_LETTERS.len())] as char;
                let b = INWARD_LETTERS[self.rng.usize(..INWARD_LETTERS.len())] as char;
                format!("{o} {}{a}{b}", self.rng.u32(0..10))
            }
            Check::Email => {
                let first = ctx
                    .get("first name")
                    .map(|s| ascii_fold(s))
                    .unwrap_or_else(|| "staff".into());
                let last = ctx
                    .get("last name")
                    .map(|s| ascii_fold(s))
                    .unwrap_or_else(|| self.rng.u32(1000..9999).to_string());
                format!("{first}.{last}{}@nhs.net", self.rng.u32(1..99))
            }
            Check::EsrEmployee => ctx
                .get("employee number")
                .cloned()
                .unwrap_or_else(|| self.employee()),
            Check::EsrAssignment => {
                let emp = ctx
                    .get("employee number")
                    .cloned()
                    .unwrap_or_else(|| self.employee());
                if nth > 1 { format!("{emp}-{nth}") } else { emp }
            }
            Check::Vpd => self.opts.vpd.clone(),
        }
    }

    fn employee(&mut self) -> String {
        self.next_employee += 1 + self.rng.u64(0..3);
        format!("{:08}", self.next_employee)
    }

    fn value(
        &mut self,
        f: &Field,
        ctx: &HashMap<String, String>,
        nth: usize,
        force: bool,
    ) -> String {
        if let Some(v) = &f.value {
            return v.clone();
        }
        if let Some(g) = f.generate {
            return match g {
                Generate::FileName => self.opts.file_name.clone(),
                Generate::Vpd => self.opts.vpd.clone(),
                Generate::Sequence => match f.format {
                    Format::Padded { digits, .. } => format!("{:0digits$}", self.opts.seq),
                    _ => self.opts.seq.to_string(),
                },
                Generate::Now => match &f.format {
                    Format::Date(p) | Format::Timestamp(p) => p.format(
                        self.opts.when.date(),
                        self.opts.when.time().num_seconds_from_midnight(),
                    ),
                    Format::Time(p) => p.format(
                        self.opts.when.date(),
                        self.opts.when.time().num_seconds_from_midnight(),
                    ),
                    _ => self.opts.when.format("%Y%m%d%H%M%S").to_string(),
                },
            };
        }
        let hint = f.sample.as_deref().unwrap_or("");
        let optional = !f.required && !force;
        // A spare field, or one the file leaves empty: always empty.
        if hint == "none" && optional {
            return String::new();
        }
        if optional
            && (hint == "rare" && self.rng.f64() > 0.05 || hint != "rare" && self.rng.f64() < 0.12)
        {
            return String::new();
        }
        if !f.codes.is_empty() {
            // A hint naming some of the codes picks among them (a header's period type that
            // the file name shows too); otherwise any code.
            let hinted: Vec<&str> = hint
                .split('|')
                .filter(|h| f.codes.iter().any(|c| c == h))
                .collect();
            if !hinted.is_empty() {
                return self.pick(&hinted).to_string();
            }
            let i = self.rng.usize(..f.codes.len());
            return f.codes[i].clone();
        }
        if let Some(c) = f.check {
            return self.identifier(c, ctx, nth);
        }
        let when = self.opts.when;
        let v = match hint {
            "surname" => self.pick(SURNAMES).to_string(),
            "forename" => self.pick(FORENAMES).to_string(),
            "full_name" => format!("{} {}", self.pick(FORENAMES), self.pick(SURNAMES)),
            "date_of_birth" => {
                let d = self.random_date(
                    NaiveDate::from_ymd_opt(1960, 1, 1).unwrap_or(when.date()),
                    NaiveDate::from_ymd_opt(2003, 12, 31).unwrap_or(when.date()),
                );
                match &f.format {
                    Format::Date(p) => p.format(d, 0),
                    _ => d.format("%Y%m%d").to_string(),
                }
            }
            "previous_run" | "this_run" => {
                let d = if hint == "this_run" {
                    when.date()
                } else {
                    when.date() - Duration::days(1)
                };
                match &f.format {
                    Format::Date(p) | Format::Timestamp(p) => p.format(d, 0),
                    _ => d.format("%Y%m%d").to_string(),
                }
            }
            "serial" => {
                let n = 100_000 + self.serial(&f.name.to_ascii_lowercase()) * 7;
                n.to_string()
            }
            h if h.starts_with("serial:") => format!(
                "{}{:07}",
                &h[7..],
                self.serial(&f.name.to_ascii_lowercase())
            ),
            "assignment_number" => self.identifier(Check::EsrAssignment, ctx, nth),
            "street" => format!(
                "{} {} {}",
                self.rng.u32(1..200),
                self.pick(STREETS),
                self.pick(ROADS)
            ),
            "town" => self.pick(TOWNS).to_string(),
            "phone" => format!("0113 496 0{:03}", self.rng.u32(0..1000)),
            "mobile" => format!("07700 900{:03}", self.rng.u32(0..1000)),
            "org" => format!("{} {} Division", self.opts.vpd, self.pick(DIVISIONS)),
            "location" => format!(
                "{} Hospital {} {}",
                self.pick(TOWNS),
                self.pick(WORDS),
                self.rng.u32(1..40)
            ),
            "position_number" => format!(
                "NTH/R{}/{:03}/{}/{:03}",
                self.opts.vpd,
                self.rng.u32(1..999),
                self.pick(&["STR", "FY1", "CMT", "GPS"]),
                self.rng.u32(1..999)
            ),
            "position_name" => format!(
                "{}|{}|{}|",
                self.rng.u32(1000..99999),
                self.pick(JOBS),
                self.pick(DIVISIONS)
            ),
            "cost_centre" => format!(
                "{:03}{}{:04}",
                self.rng.u32(100..999),
                self.rng.uppercase(),
                self.rng.u32(0..10_000)
            ),
            "vacancy_reference" => format!(
                "{}-C{:04}-{:04}",
                self.opts.vpd,
                self.rng.u32(1000..9999),
                self.rng.u32(1000..9999)
            ),
            "rare" | "" => self.by_format(f),
            h if h.contains('|') => {
                let opts: Vec<&str> = h.split('|').collect();
                self.pick(&opts).to_string()
            }
            literal => literal.to_string(),
        };
        // Never write the delimiter into a format that cannot quote it.
        let d = self.layout.dialect.delimiter as char;
        let v = if self.layout.dialect.quote.is_none() && v.contains(d) {
            v.replace(d, "/")
        } else {
            v
        };
        match f.format {
            Format::Text { max } => v.chars().take(max).collect(),
            _ => v,
        }
    }

    /// A clean record of type `ri` for the person in `ctx`.
    fn record(
        &mut self,
        ri: usize,
        ctx: &mut HashMap<String, String>,
        owned: &mut HashMap<String, usize>,
        nth: usize,
    ) -> Vec<String> {
        let rt = &self.layout.records[ri];
        let mut vals = Vec::with_capacity(rt.fields.len());
        for f in &rt.fields {
            let key = f.name.to_ascii_lowercase();
            let reuse = f.value.is_none()
                && f.generate.is_none()
                && owned.get(&key).is_some_and(|o| *o != ri);
            // A value from another record type of the same person is reused only when it also
            // fits this field (same-named fields may differ in format or codes).
            let v = match ctx.get(&key) {
                Some(v) if reuse && crate::validate::check_value(f, v).is_ok() => v.clone(),
                _ => self.value(f, ctx, nth, false),
            };
            if rt.role == Role::Detail && !v.is_empty() {
                ctx.insert(key.clone(), v.clone());
                owned.insert(key, ri);
            }
            vals.push(v);
        }
        self.fix_rules(ri, &mut vals, ctx, nth);
        vals
    }

    fn fix_rules(
        &mut self,
        ri: usize,
        vals: &mut [String],
        ctx: &HashMap<String, String>,
        nth: usize,
    ) {
        // Conditions first decide what must be filled or empty, then values are put where
        // the rules want them (order, header, period, span), then presence again in case a
        // moved value decided a condition, and amounts last, as they read the rest.
        self.fix_presence(ri, vals, ctx, nth);
        self.fix_values(ri, vals);
        self.fix_presence(ri, vals, ctx, nth);
        self.fix_computed(ri, vals);
    }

    /// Whether a rule's condition holds for the record being made (the validator's test).
    fn holds(&self, ri: usize, rule: &crate::layout::RecordRule, vals: &[String]) -> bool {
        let rt = &self.layout.records[ri];
        condition_holds(
            rt,
            rule.when.as_ref(),
            vals,
            self.header.as_deref(),
            &|_| None,
        )
    }

    fn fix_presence(
        &mut self,
        ri: usize,
        vals: &mut [String],
        ctx: &HashMap<String, String>,
        nth: usize,
    ) {
        let rt = &self.layout.records[ri];
        for rule in &rt.rules {
            let holds = self.holds(ri, rule, vals);
            match rule.kind {
                RuleKind::Required { field } if holds && vals[field].is_empty() => {
                    vals[field] = self.value(&rt.fields[field], ctx, nth, true);
                }
                RuleKind::Empty { field } if holds => vals[field].clear(),
                _ => {}
            }
        }
    }

    /// The comparable value of an operand, if it fits its format.
    fn read(&self, ri: usize, o: Operand, vals: &[String]) -> Option<i128> {
        let rt = &self.layout.records[ri];
        let header = self.layout.header().map(|h| &self.layout.records[h]);
        let t = operand_text(o, vals, self.header.as_deref());
        if t.is_empty() {
            return None;
        }
        crate::layout::operand_field(o, rt, header)?
            .format
            .check(t)
            .ok()
    }

    fn fix_values(&mut self, ri: usize, vals: &mut [String]) {
        let rt = &self.layout.records[ri];
        for rule in &rt.rules {
            if !self.holds(ri, rule, vals) {
                continue;
            }
            match &rule.kind {
                RuleKind::NotBefore { field, other } => {
                    let fa = &rt.fields[*field];
                    let (Some(a), Some(b)) = (
                        fa.format
                            .check(&vals[*field])
                            .ok()
                            .filter(|_| !vals[*field].is_empty()),
                        self.read(ri, *other, vals),
                    ) else {
                        continue;
                    };
                    if a < b {
                        let delta = self.rng.i64(0..120);
                        vals[*field] = self.shift(&fa.format, b, delta);
                    }
                }
                RuleKind::SameAsHeader { field, header } => {
                    let Some(k) = self.read(ri, Operand::Header(*header), vals) else {
                        continue;
                    };
                    let f = &rt.fields[*field];
                    vals[*field] = if f.is_numeric()
                        || matches!(f.format, Format::Date(_) | Format::Timestamp(_))
                    {
                        self.shift(&f.format, k, 0)
                    } else {
                        operand_text(Operand::Header(*header), &*vals, self.header.as_deref())
                            .to_string()
                    };
                }
                RuleKind::Within { field, from, to } => {
                    let f = &rt.fields[*field];
                    let Some(v) = f
                        .format
                        .check(&vals[*field])
                        .ok()
                        .filter(|_| !vals[*field].is_empty())
                    else {
                        continue;
                    };
                    let lo = from.and_then(|o| self.read(ri, o, vals));
                    let hi = to.and_then(|o| self.read(ri, o, vals));
                    let unit = if matches!(f.format, Format::Date(_) | Format::Timestamp(_)) {
                        86_400
                    } else {
                        SCALE
                    };
                    match (lo, hi) {
                        (Some(x), Some(y)) if v < x || v > y => {
                            let room = ((y - x) / unit).clamp(0, 3650) as i64;
                            let d = self.rng.i64(0..=room);
                            vals[*field] = self.shift(&f.format, x, d);
                        }
                        (Some(x), None) if v < x => {
                            let d = self.rng.i64(0..60);
                            vals[*field] = self.shift(&f.format, x, d);
                        }
                        (None, Some(y)) if v > y => {
                            let d = self.rng.i64(0..60);
                            vals[*field] = self.shift(&f.format, y, -d);
                        }
                        _ => {}
                    }
                }
                RuleKind::FinancialYear { field, .. } => {
                    let f = &rt.fields[*field];
                    if vals[*field].is_empty() {
                        continue;
                    }
                    if let Some((start, end)) = self.year_of(ri, &rule.kind, vals) {
                        let inside = f
                            .format
                            .check(&vals[*field])
                            .is_ok_and(|v| v >= start && v < end);
                        if !inside {
                            let d = self.rng.i64(0..365);
                            vals[*field] = self.shift(&f.format, start, d);
                        }
                    }
                }
                RuleKind::Span {
                    from,
                    to,
                    field,
                    unit,
                    min,
                    max,
                } => {
                    let (Some(a), Some(b)) = (self.read(ri, *from, vals), self.read(ri, *to, vals))
                    else {
                        continue;
                    };
                    let (Some(da), Some(db)) = (crate::validate::day(a), crate::validate::day(b))
                    else {
                        continue;
                    };
                    let span = span_between(da, db, *unit);
                    if min.is_none_or(|m| span >= m) && max.is_none_or(|m| span <= m) {
                        continue;
                    }
                    let lo = min.unwrap_or(0);
                    let hi = max.unwrap_or(lo + 20).min(lo + 30);
                    let want = self.rng.i64(lo..=hi.max(lo));
                    let f = &rt.fields[*field];
                    if Operand::Field(*field) == *to {
                        if let Some(d) = span_to(da, want, *unit, false) {
                            vals[*field] = self.shift(&f.format, days_key(d), 0);
                        }
                    } else if Operand::Field(*field) == *from
                        && let Some(d) = span_to(db, want, *unit, true)
                    {
                        vals[*field] = self.shift(&f.format, days_key(d), 0);
                    }
                }
                _ => {}
            }
        }
    }

    /// The first day and the day after the last (as comparable values) of the financial year
    /// a rule names.
    fn year_of(&self, ri: usize, kind: &RuleKind, vals: &[String]) -> Option<(i128, i128)> {
        let RuleKind::FinancialYear { of, .. } = kind else {
            return None;
        };
        let rt = &self.layout.records[ri];
        let header = self.layout.header().map(|h| &self.layout.records[h]);
        let f = crate::layout::operand_field(*of, rt, header)?;
        let t = operand_text(*of, vals, self.header.as_deref());
        let y = crate::validate::financial_year_of(Some(&f.format), t)?;
        Some((
            days_key(NaiveDate::from_ymd_opt(y, 4, 1)?),
            days_key(NaiveDate::from_ymd_opt(y + 1, 4, 1)?),
        ))
    }

    fn fix_computed(&mut self, ri: usize, vals: &mut [String]) {
        let rt = &self.layout.records[ri];
        for rule in &rt.rules {
            let RuleKind::Computed { field, expr, .. } = &rule.kind else {
                continue;
            };
            if !self.holds(ri, rule, vals) {
                continue;
            }
            if let Some(x) = expr.amount(rt, &*vals, &|_| None) {
                vals[*field] = amount_text(&rt.fields[*field].format, x);
            }
        }
    }

    /// A value of `format` equal to the comparable key `base` moved by `delta` days (dates),
    /// minutes (times) or units (numbers).
    fn shift(&self, format: &Format, base: i128, delta: i64) -> String {
        match format {
            Format::Date(p) | Format::Timestamp(p) => {
                let days = (base / 86_400) as i32;
                let secs = (base % 86_400) as u32;
                let d = NaiveDate::from_num_days_from_ce_opt(days).unwrap_or(self.opts.when.date())
                    + Duration::days(delta);
                p.format(d, secs)
            }
            Format::Time(p) => {
                let secs = (base as i64 + delta * 60).clamp(0, 86_399) as u32;
                p.format(self.opts.when.date(), secs)
            }
            Format::Numeric { decimals, .. } => {
                format_scaled(base + i128::from(delta) * SCALE, *decimals)
            }
            Format::Padded { digits, decimals } => {
                let s = format_scaled(base + i128::from(delta) * SCALE, *decimals);
                let width = digits + usize::from(*decimals > 0);
                format!("{s:0>width$}")
            }
            _ => String::new(),
        }
    }

    fn keys_of(&self, ri: usize, vals: &[String]) -> Vec<u64> {
        let rt = &self.layout.records[ri];
        rt.unique
            .iter()
            .enumerate()
            .filter(|(_, key)| {
                key.iter()
                    .all(|&k| vals.get(k).is_some_and(|v| !v.is_empty()))
            })
            .map(|(ki, key)| {
                let parts: Vec<&str> = key.iter().map(|&k| vals[k].as_str()).collect();
                hash_key(ri, ki, &parts)
            })
            .collect()
    }

    /// How many of the layout's consistent rules a record breaks against what was written.
    fn conflicts(&self, ri: usize, vals: &[String]) -> usize {
        (0..self.layout.consistent.len())
            .filter(|&ci| {
                consistent_hash(self.layout, ci, ri, vals).is_some_and(|(h, v)| {
                    self.groups.get(&h).is_some_and(|first| {
                        self.layout.consistent[ci].value.is_none() || *first != v
                    })
                })
            })
            .count()
    }

    /// The seeded issue of a record that breaks a consistent rule.
    fn conflict_issue(&self, ri: usize, vals: &[String]) -> Option<Issue> {
        let ci = (0..self.layout.consistent.len()).find(|&ci| {
            consistent_hash(self.layout, ci, ri, vals)
                .is_some_and(|(h, v)| self.groups.get(&h).is_some_and(|f| *f != v))
        })?;
        let c = &self.layout.consistent[ci];
        let (_, _, vf) = c.members.iter().find(|(r, ..)| *r == ri)?;
        Some(Issue {
            line: 0,
            record_type: None,
            field: vf.map(|v| self.layout.records[ri].fields[v].name.clone()),
            rule: Rule::ConsistencyError,
            severity: crate::validate::Severity::Error,
            message: String::new(),
            field_index: None,
        })
    }

    /// Remembers a written record's consistent keys (the first value of a key wins).
    fn note_groups(&mut self, ri: usize, vals: &[String]) {
        for (ci, c) in self.layout.consistent.iter().enumerate() {
            if let Some((h, v)) = consistent_hash(self.layout, ci, ri, vals) {
                self.groups.entry(h).or_insert(v);
                if let Some((_, kf, _)) = c.members.iter().find(|(r, ..)| *r == ri) {
                    self.last_group_key.insert(ci, vals[*kf].clone());
                }
            }
        }
    }

    /// Encodes a record and checks it with the validator's record check.
    fn encode_and_check(
        &self,
        ri: usize,
        vals: &[String],
        raw_tweak: Option<(usize, RawTweak)>,
    ) -> Result<(Vec<u8>, Vec<Issue>), WriteError> {
        let d = &self.layout.dialect;
        let mut bytes = Vec::with_capacity(256);
        match raw_tweak {
            None => encode_record(d, vals, &mut bytes)?,
            Some((fi, tweak)) => {
                let mut before = Vec::new();
                encode_record(d, &vals[..fi], &mut before)?;
                let mut field = Vec::new();
                encode_record(d, &vals[fi..=fi], &mut field)?;
                let mut after = Vec::new();
                encode_record(d, &vals[fi + 1..], &mut after)?;
                bytes.extend_from_slice(&before);
                if fi > 0 {
                    bytes.push(d.delimiter);
                }
                match tweak {
                    RawTweak::BrokenQuote => {
                        let q = d.quote.unwrap_or(b'"');
                        bytes.push(q);
                        bytes.extend_from_slice(&field);
                        bytes.extend_from_slice(&[q, b'x']);
                    }
                    RawTweak::BadByte => {
                        bytes.extend_from_slice(&field);
                        bytes.push(if d.encoding == crate::layout::Encoding::Utf8 {
                            0xFF
                        } else {
                            0x81
                        });
                    }
                }
                if fi + 1 < vals.len() {
                    bytes.push(d.delimiter);
                    bytes.extend_from_slice(&after);
                }
            }
        }
        let mut issues = Vec::new();
        let mut reader = Reader::new(&bytes[..], *d);
        if let Ok(Some(line)) = reader.next_line() {
            let refs = References::none();
            let against = Against {
                refs: &refs,
                header: self.header.as_deref(),
                made_frame: false,
            };
            check_record(
                self.layout,
                ri,
                &line.fields,
                0,
                line.problems,
                &against,
                &mut issues,
            );
        }
        Ok((bytes, issues))
    }

    /// Applies one defect of `kind` to `vals`; returns the raw tweak if any, or None when the
    /// kind does not apply to this record type.
    fn apply(
        &mut self,
        kind: Kind,
        ri: usize,
        vals: &mut Vec<String>,
    ) -> Option<Option<(usize, RawTweak)>> {
        let rt = &self.layout.records[ri];
        let free: Vec<usize> = (0..rt.fields.len())
            .filter(|&i| rt.fields[i].value.is_none() && Some(i) != self.layout.discriminator)
            .collect();
        let choose = |rng: &mut fastrand::Rng, c: Vec<usize>| {
            if c.is_empty() {
                None
            } else {
                Some(c[rng.usize(..c.len())])
            }
        };
        match kind {
            Kind::Required => {
                let fi = choose(
                    &mut self.rng,
                    free.iter()
                        .copied()
                        .filter(|&i| rt.fields[i].required)
                        .collect(),
                )?;
                vals[fi].clear();
            }
            Kind::Type => {
                let fi = choose(
                    &mut self.rng,
                    free.iter()
                        .copied()
                        .filter(|&i| {
                            !matches!(
                                rt.fields[i].format,
                                Format::Text { .. } | Format::Fixed { .. }
                            )
                        })
                        .collect(),
                )?;
                vals[fi] = match &rt.fields[fi].format {
                    Format::Date(p) | Format::Timestamp(p) => bad_date(p),
                    Format::Time(_) => vals[fi].replacen(|c: char| c.is_ascii_digit(), "9", 1),
                    Format::Flag { .. } => "?".into(),
                    _ => "12A".into(),
                };
            }
            Kind::Length => {
                let fi = choose(
                    &mut self.rng,
                    free.iter()
                        .copied()
                        .filter(|&i| {
                            matches!(rt.fields[i].format, Format::Text { max } if max <= 240)
                                || matches!(rt.fields[i].format, Format::Fixed { .. })
                        })
                        .collect(),
                )?;
                let n = rt.fields[fi].format.max_len().unwrap_or(1) + 1;
                vals[fi] = "W".repeat(n);
            }
            Kind::Code => {
                let fi = choose(
                    &mut self.rng,
                    free.iter()
                        .copied()
                        .filter(|&i| !rt.fields[i].codes.is_empty())
                        .collect(),
                )?;
                let n = rt.fields[fi].format.max_len().unwrap_or(3);
                let v = match rt.fields[fi].format {
                    Format::Fixed { len } => "Z".repeat(len),
                    _ => "ZZZ".chars().take(n.min(3)).collect(),
                };
                if rt.fields[fi].codes.contains(&v) {
                    return None;
                }
                vals[fi] = v;
            }
            Kind::Identifier => {
                let fi = choose(
                    &mut self.rng,
                    free.iter()
                        .copied()
                        .filter(|&i| rt.fields[i].check.is_some() && rt.fields[i].codes.is_empty())
                        .collect(),
                )?;
                if vals[fi].is_empty() {
                    vals[fi] = self.identifier(rt.fields[fi].check?, &HashMap::new(), 1);
                }
                vals[fi] = corrupt(rt.fields[fi].check?, &vals[fi]);
            }
            Kind::Range => {
                let fi = choose(
                    &mut self.rng,
                    free.iter()
                        .copied()
                        .filter(|&i| {
                            rt.fields[i].is_numeric()
                                && rt.fields[i].min.is_some_and(|m| m >= 0)
                                && matches!(rt.fields[i].format, Format::Numeric { .. })
                        })
                        .collect(),
                )?;
                vals[fi] = "-1".into();
            }
            Kind::Pattern => {
                let fi = choose(
                    &mut self.rng,
                    free.iter()
                        .copied()
                        .filter(|&i| {
                            rt.fields[i].pattern.is_some()
                                && rt.fields[i].codes.is_empty()
                                && rt.fields[i].check.is_none()
                        })
                        .collect(),
                )?;
                let n = rt.fields[fi].format.max_len().unwrap_or(4).min(4);
                vals[fi] = "?".repeat(n);
            }
            Kind::Order => {
                let rules: Vec<(usize, usize)> = rt
                    .rules
                    .iter()
                    .filter_map(|r| match (&r.kind, &r.when) {
                        (
                            RuleKind::NotBefore {
                                field,
                                other: Operand::Field(other),
                            },
                            None,
                        ) => Some((*field, *other)),
                        _ => None,
                    })
                    .collect();
                let (a, b) = *rules.get(self.rng.usize(..rules.len().max(1)))?;
                if vals[b].is_empty() {
                    vals[b] = self.value(&rt.fields[b], &HashMap::new(), 1, true);
                }
                let base = rt.fields[b].format.check(&vals[b]).ok()?;
                let delta = -self.rng.i64(1..30);
                vals[a] = self.shift(&rt.fields[a].format, base, delta);
            }
            Kind::RequiredIf => {
                let rules: Vec<(usize, usize, String)> = rt
                    .rules
                    .iter()
                    .filter_map(|r| match (&r.kind, &r.when) {
                        (
                            RuleKind::Required { field },
                            Some(Condition::Equals {
                                field: Operand::Field(when),
                                values,
                            }),
                        ) => Some((*field, *when, values.first()?.clone())),
                        _ => None,
                    })
                    .collect();
                let (f, w, e) = rules.get(self.rng.usize(..rules.len().max(1)))?.clone();
                vals[w] = e;
                vals[f].clear();
            }
            Kind::EmptyIf => {
                let rules: Vec<(usize, Condition)> = rt
                    .rules
                    .iter()
                    .filter_map(|r| match (&r.kind, &r.when) {
                        (RuleKind::Empty { field }, Some(c))
                            if !matches!(c, Condition::Expr(_)) =>
                        {
                            Some((*field, c.clone()))
                        }
                        _ => None,
                    })
                    .collect();
                let (f, c) = rules.get(self.rng.usize(..rules.len().max(1)))?.clone();
                match c {
                    Condition::Equals {
                        field: Operand::Field(w),
                        values,
                    } => vals[w] = values.first()?.clone(),
                    Condition::Filled {
                        field: Operand::Field(w),
                        filled: true,
                    } if vals[w].is_empty() => {
                        vals[w] = self.value(&rt.fields[w], &HashMap::new(), 1, true);
                    }
                    Condition::Filled {
                        field: Operand::Field(w),
                        filled: false,
                    } => vals[w].clear(),
                    _ => {}
                }
                vals[f] = self.value(&rt.fields[f], &HashMap::new(), 1, true);
                if vals[f].is_empty() {
                    return None;
                }
            }
            Kind::HeaderMismatch => {
                let fields: Vec<(usize, usize)> = rt
                    .rules
                    .iter()
                    .filter_map(|r| match (&r.kind, &r.when) {
                        (RuleKind::SameAsHeader { field, header }, None) => Some((*field, *header)),
                        _ => None,
                    })
                    .collect();
                let (f, h) = *fields.get(self.rng.usize(..fields.len().max(1)))?;
                let fmt = &rt.fields[f].format;
                if matches!(fmt, Format::Date(_) | Format::Timestamp(_))
                    || rt.fields[f].is_numeric()
                {
                    let k = self.read(ri, Operand::Header(h), vals)?;
                    let d = -self.rng.i64(1..30);
                    vals[f] = self.shift(fmt, k, d);
                } else {
                    let other = self.value(&rt.fields[f], &HashMap::new(), 1, true);
                    if other
                        == operand_text(Operand::Header(h), vals.as_slice(), self.header.as_deref())
                    {
                        return None;
                    }
                    vals[f] = other;
                }
            }
            Kind::Period => {
                let rules: Vec<&RuleKind> = rt
                    .rules
                    .iter()
                    .filter(|r| r.when.is_none())
                    .map(|r| &r.kind)
                    .filter(|k| {
                        matches!(k, RuleKind::Within { .. } | RuleKind::FinancialYear { .. })
                    })
                    .collect();
                let kind = *rules.get(self.rng.usize(..rules.len().max(1)))?;
                match kind {
                    RuleKind::FinancialYear { field, .. } => {
                        let (start, _) = self.year_of(ri, kind, vals)?;
                        let d = -self.rng.i64(1..60);
                        vals[*field] = self.shift(&rt.fields[*field].format, start, d);
                    }
                    RuleKind::Within { field, from, to } => {
                        let f = &rt.fields[*field];
                        if let Some(y) = to.and_then(|o| self.read(ri, o, vals)) {
                            let d = self.rng.i64(1..30);
                            vals[*field] = self.shift(&f.format, y, d);
                        } else {
                            let x = from.and_then(|o| self.read(ri, o, vals))?;
                            let d = -self.rng.i64(1..30);
                            vals[*field] = self.shift(&f.format, x, d);
                        }
                    }
                    _ => return None,
                }
            }
            Kind::Span => {
                let rules: Vec<&RuleKind> = rt
                    .rules
                    .iter()
                    .filter(|r| r.when.is_none() && matches!(r.kind, RuleKind::Span { .. }))
                    .map(|r| &r.kind)
                    .collect();
                let RuleKind::Span {
                    from,
                    to,
                    field,
                    unit,
                    min,
                    max,
                } = *rules.get(self.rng.usize(..rules.len().max(1)))?
                else {
                    return None;
                };
                // Too short a span (half the least), or else one too long.
                let want = match (min, max) {
                    (Some(m), _) if *m > 1 => m / 2,
                    (_, Some(m)) => m + 1,
                    _ => return None,
                };
                let fmt = &rt.fields[*field].format;
                if Operand::Field(*field) == *to {
                    let a = crate::validate::day(self.read(ri, *from, vals)?)?;
                    vals[*field] = self.shift(fmt, days_key(span_to(a, want, *unit, false)?), 0);
                } else {
                    let b = crate::validate::day(self.read(ri, *to, vals)?)?;
                    vals[*field] = self.shift(fmt, days_key(span_to(b, want, *unit, true)?), 0);
                }
            }
            Kind::Computed => {
                let rules: Vec<(usize, f64)> = rt
                    .rules
                    .iter()
                    .filter_map(|r| match (&r.kind, &r.when) {
                        (RuleKind::Computed { field, expr, .. }, None) => {
                            Some((*field, expr.amount(rt, vals.as_slice(), &|_| None)?))
                        }
                        _ => None,
                    })
                    .collect();
                let (f, x) = *rules.get(self.rng.usize(..rules.len().max(1)))?;
                let off = f64::from(self.rng.u32(1..9));
                vals[f] = amount_text(&rt.fields[f].format, x + off);
            }
            Kind::Consistency => {
                let (ci, kf) = self
                    .layout
                    .consistent
                    .iter()
                    .enumerate()
                    .find_map(|(ci, c)| {
                        c.value.as_ref()?;
                        c.members
                            .iter()
                            .find(|(r, ..)| *r == ri)
                            .map(|(_, kf, _)| (ci, *kf))
                    })?;
                let key = self.last_group_key.get(&ci)?.clone();
                vals[kf] = key;
                let (h, v) = consistent_hash(self.layout, ci, ri, vals.as_slice())?;
                if self.groups.get(&h).is_none_or(|first| *first == v) {
                    return None;
                }
            }
            Kind::ExtraCell => {
                // A layout that tolerates spare fields also gets, half the time, the empty
                // field a later ESR release adds (a warning); otherwise a stray value (an error).
                let spare = self.layout.spare_fields == crate::layout::Tolerance::Warning
                    && self.rng.bool();
                vals.push(if spare { String::new() } else { "EXTRA".into() });
            }
            Kind::MissingCell => {
                if vals.len() < 3 {
                    return None;
                }
                vals.pop();
            }
            Kind::UnknownType => {
                let d = self.layout.discriminator?;
                let len = rt.fields[d].format.max_len().unwrap_or(3);
                vals[d] = "ZZZZZZ".chars().take(len.clamp(1, 6)).collect();
                if self.layout.record_index(&vals[d]).is_some() {
                    return None;
                }
            }
            Kind::BlankRow => {}
            Kind::BrokenQuote | Kind::Encoding => {
                if kind == Kind::BrokenQuote && self.layout.dialect.quote.is_none() {
                    return None;
                }
                let fi = choose(
                    &mut self.rng,
                    free.iter()
                        .copied()
                        .filter(|&i| {
                            matches!(rt.fields[i].format, Format::Text { .. })
                                && !vals[i].is_empty()
                        })
                        .collect(),
                )?;
                let tweak = if kind == Kind::BrokenQuote {
                    RawTweak::BrokenQuote
                } else {
                    RawTweak::BadByte
                };
                return Some(Some((fi, tweak)));
            }
            Kind::Unique => {
                if rt.unique.is_empty() {
                    return None;
                }
                let prev = self.last_clean.get(&ri)?.clone();
                for &k in &rt.unique[0] {
                    vals[k] = prev.get(k)?.clone();
                }
            }
        }
        Some(None)
    }
}

/// A record ready to write: bytes, final values, its seeded issue, and whether its type is unknown.
type Written = (Vec<u8>, Vec<String>, Option<Issue>, bool);

#[derive(Debug, Clone, Copy)]
enum RawTweak {
    BrokenQuote,
    BadByte,
}

/// The comparable value of a day.
fn days_key(d: NaiveDate) -> i128 {
    i128::from(d.num_days_from_ce()) * 86_400
}

/// A day `n` whole units after `base` (before it when `back`), as [`span_between`] counts:
/// three days past the anniversary, so a month that is shorter cannot cut the count.
fn span_to(base: NaiveDate, n: i64, unit: SpanUnit, back: bool) -> Option<NaiveDate> {
    let months = match unit {
        SpanUnit::Days => {
            let d = Duration::days(if back { -n } else { n });
            return base.checked_add_signed(d);
        }
        SpanUnit::Months => n,
        SpanUnit::Years => n.checked_mul(12)?,
    };
    let m = chrono::Months::new(u32::try_from(months).ok()?);
    if back {
        base.checked_sub_months(m)?
            .checked_sub_signed(Duration::days(3))
    } else {
        base.checked_add_months(m)?
            .checked_add_signed(Duration::days(3))
    }
}

/// An amount written in a numeric format, rounded to its places.
fn amount_text(f: &Format, x: f64) -> String {
    let dec = match f {
        Format::Numeric { decimals, .. } | Format::Padded { decimals, .. } => *decimals,
        _ => 0,
    };
    let step = 10f64.powi(dec as i32);
    let scaled = (x * step).round() as i128 * (SCALE / 10i128.pow(dec as u32));
    control_text(f, scaled)
}

fn bad_date(p: &Pattern) -> String {
    // 31 February: formatted from 28 February with the day changed.
    let d = NaiveDate::from_ymd_opt(2026, 2, 28).unwrap_or_default();
    let good = p.format(d, 0);
    match p.text.find("DD") {
        Some(at) => format!("{}31{}", &good[..at], &good[at + 2..]),
        None => good.replacen("FEB", "FEX", 1),
    }
}

fn corrupt(c: Check, v: &str) -> String {
    let mut s: Vec<char> = v.chars().collect();
    if s.is_empty() {
        return "X".into();
    }
    let last = s.len() - 1;
    match c {
        Check::NiNumber => return format!("QQ{}", s.iter().skip(2).collect::<String>()),
        Check::NhsNumber => {
            let d = s[last].to_digit(10).unwrap_or(0);
            s[last] = char::from_digit((d + 1) % 10, 10).unwrap_or('0');
            let candidate: String = s.iter().collect();
            if crate::checks::nhs_number(&candidate).is_ok() {
                s[last] = char::from_digit((d + 2) % 10, 10).unwrap_or('0');
            }
        }
        Check::Nmc => s[last] = '1',
        Check::Hcpc => {
            return format!(
                "XX{}",
                s.iter()
                    .skip_while(|c| c.is_ascii_uppercase())
                    .collect::<String>()
            );
        }
        Check::Gphc => s[0] = '3',
        Check::Postcode => s[last] = 'C',
        Check::Email => return v.replace('@', "#"),
        Check::EsrAssignment => s[0] = 'X',
        Check::Vpd => s[last] = 'x',
        Check::Gmc | Check::Gdc | Check::EsrEmployee => s[last] = 'X',
    }
    s.into_iter().collect()
}

/// Writes a sample file for `layout` to `out`.
pub fn generate<W: Write>(
    layout: &Layout,
    opts: &GenOptions,
    out: W,
) -> Result<GenSummary, GenError> {
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, out);
    let kinds = kinds_for(layout);
    let mut g = Gen {
        layout,
        opts,
        rng: fastrand::Rng::with_seed(opts.seed),
        serial: HashMap::new(),
        next_employee: 10_000_000 + (opts.seed % 1000) * 10_000,
        keys: HashSet::new(),
        last_clean: HashMap::new(),
        kind_turn: (opts.seed % kinds.len() as u64) as usize,
        header: None,
        groups: HashMap::new(),
        last_group_key: HashMap::new(),
        earliest: NaiveDate::from_ymd_opt(opts.when.year() - 8, 1, 1).unwrap_or(opts.when.date()),
    };
    let werr = |source| GenError::Write {
        layout: layout.id.clone(),
        source,
    };
    let eol = layout.dialect.line_ending.as_str().as_bytes();
    let mut sum = GenSummary::default();
    let mut buf = Vec::new();
    let unsat = |ri: usize, issues: &[Issue]| GenError::Unsatisfiable {
        layout: layout.id.clone(),
        record: layout.records[ri].code.clone(),
        issue: issues
            .first()
            .map_or_else(String::new, |i| i.message.clone()),
    };

    if layout.column_names {
        buf.clear();
        encode_record(&layout.dialect, layout.column_row(), &mut buf).map_err(werr)?;
        out.write_all(&buf)?;
        out.write_all(eol)?;
        sum.lines += 1;
    }
    if let Some(h) = layout.header() {
        let mut ctx = HashMap::new();
        let mut owned = HashMap::new();
        let vals = g.record(h, &mut ctx, &mut owned, 1);
        let (bytes, issues) = g.encode_and_check(h, &vals, None).map_err(werr)?;
        if !issues.is_empty() {
            return Err(unsat(h, &issues));
        }
        g.header = Some(vals);
        out.write_all(&bytes)?;
        out.write_all(eol)?;
        sum.lines += 1;
        sum.records += 1;
    }

    let details: Vec<usize> = layout.details().collect();
    let mut body = 0u64;
    let mut by_type = vec![0u64; layout.records.len()];
    let mut sums: HashMap<(usize, usize), i128> = HashMap::new();
    let summed = crate::validate::summed_fields(layout);
    let mut detail_count = 0u64;
    let balances: Vec<(usize, usize)> = layout
        .trailer()
        .map(|t| {
            layout.records[t]
                .rules
                .iter()
                .filter_map(|r| match r {
                    crate::layout::RecordRule {
                        kind: RuleKind::Equal { field, other },
                        ..
                    } if !sum_targets(layout, *field).is_empty()
                        && !sum_targets(layout, *other).is_empty() =>
                    {
                        Some((*field, *other))
                    }
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut last_with: HashMap<(usize, usize), Vec<String>> = HashMap::new();
    while detail_count < opts.rows {
        // One person: records of each detail type per its sample_count.
        let mut ctx: HashMap<String, String> = HashMap::new();
        let mut owned: HashMap<String, usize> = HashMap::new();
        let mut plan = Vec::new();
        for &ri in &details {
            let c = layout.records[ri].sample_count;
            let mut n = c.floor() as usize;
            if g.rng.f64() < c.fract() {
                n += 1;
            }
            // Every record type the layout lists appears: the first person has one of each.
            if details.len() == 1 || (detail_count == 0 && c > 0.0) {
                n = n.max(1);
            }
            for k in 0..n {
                plan.push((ri, k + 1, n));
            }
        }
        for (ri, nth, of) in plan {
            if detail_count >= opts.rows {
                break;
            }
            // A clean record whose keys are new, with its bytes and what the check found.
            let mut vals = Vec::new();
            let mut checked = (Vec::new(), Vec::new());
            let mut tries = 0;
            loop {
                let mut candidate = g.record(ri, &mut ctx, &mut owned, nth);
                g.date_track(ri, nth, of, &mut candidate, &mut ctx);
                let keys = g.keys_of(ri, &candidate);
                if keys.iter().all(|k| !g.keys.contains(k)) && g.conflicts(ri, &candidate) == 0 {
                    // Rules can pull against each other for an unlucky draw (a leaving date
                    // in the year's period but after a late enrolment): draw again.
                    checked = g.encode_and_check(ri, &candidate, None).map_err(werr)?;
                    if checked.1.is_empty() || tries >= 20 {
                        vals = candidate;
                        break;
                    }
                }
                tries += 1;
                // Keys reused from the person (e.g. a second record of the same person) can
                // collide: start a fresh context for the retry.
                ctx.clear();
                owned.clear();
                if tries > 20 {
                    break;
                }
            }
            if vals.is_empty() {
                continue;
            }
            let mut written: Option<Written> = None;
            if opts.defect_rate > 0.0 && g.rng.f64() < opts.defect_rate {
                for attempt in 0..kinds.len() {
                    let kind = kinds[(g.kind_turn + attempt) % kinds.len()];
                    let mut bad = vals.clone();
                    let Some(tweak) = g.apply(kind, ri, &mut bad) else {
                        continue;
                    };
                    if kind == Kind::BlankRow {
                        g.kind_turn = (g.kind_turn + attempt + 1) % kinds.len();
                        let (bytes, issues) = g.encode_and_check(ri, &vals, None).map_err(werr)?;
                        if !issues.is_empty() {
                            return Err(unsat(ri, &issues));
                        }
                        out.write_all(eol)?;
                        sum.lines += 1;
                        sum.defects.push(Seeded {
                            line: sum.lines,
                            field: None,
                            rule: Rule::BlankRow,
                        });
                        written = Some((bytes, vals.clone(), None, false));
                        break;
                    }
                    if kind == Kind::UnknownType {
                        let mut bytes = Vec::new();
                        encode_record(&layout.dialect, &bad, &mut bytes).map_err(werr)?;
                        let field = layout
                            .discriminator
                            .and_then(|d| layout.records.first().and_then(|r0| r0.fields.get(d)))
                            .map(|f| f.name.clone());
                        let issue = Issue {
                            line: 0,
                            record_type: None,
                            field,
                            rule: Rule::UnknownRecordType,
                            severity: layout.unknown_records.severity(),
                            message: String::new(),
                            field_index: None,
                        };
                        g.kind_turn = (g.kind_turn + attempt + 1) % kinds.len();
                        written = Some((bytes, bad, Some(issue), true));
                        break;
                    }
                    let (bytes, issues) = g.encode_and_check(ri, &bad, tweak).map_err(werr)?;
                    let keys = g.keys_of(ri, &bad);
                    let dup = keys.iter().any(|k| g.keys.contains(k));
                    let ok = if kind == Kind::Unique {
                        issues.is_empty()
                            && dup
                            && keys.len()
                                == layout.records[ri]
                                    .unique
                                    .iter()
                                    .filter(|k| {
                                        k.iter().all(|&i| bad.get(i).is_some_and(|v| !v.is_empty()))
                                    })
                                    .count()
                            && g.keys_of(ri, &bad)
                                .iter()
                                .filter(|k| g.keys.contains(k))
                                .count()
                                == 1
                    } else if kind == Kind::Consistency {
                        issues.is_empty() && !dup && g.conflicts(ri, &bad) == 1
                    } else {
                        issues.len() == 1 && !dup && g.conflicts(ri, &bad) == 0
                    };
                    if ok {
                        g.kind_turn = (g.kind_turn + attempt + 1) % kinds.len();
                        let issue = if kind == Kind::Unique {
                            let k0 = layout.records[ri].unique[0][0];
                            Some(Issue {
                                line: 0,
                                record_type: None,
                                field: Some(layout.records[ri].fields[k0].name.clone()),
                                rule: Rule::UniqueError,
                                severity: crate::validate::Severity::Error,
                                message: String::new(),
                                field_index: None,
                            })
                        } else if kind == Kind::Consistency {
                            g.conflict_issue(ri, &bad)
                        } else {
                            issues.into_iter().next()
                        };
                        written = Some((bytes, bad, issue, false));
                        break;
                    }
                }
            }
            let (bytes, final_vals, issue, unknown) = match written {
                Some(w) => w,
                None => {
                    let (bytes, issues) = std::mem::take(&mut checked);
                    if !issues.is_empty() {
                        return Err(unsat(ri, &issues));
                    }
                    g.last_clean.insert(ri, vals.clone());
                    for &(sr, sf) in &summed {
                        let only_this = summed
                            .iter()
                            .filter(|&&(r2, f2)| r2 == ri && f2 != sf)
                            .all(|&(_, f2)| vals.field(f2).is_empty());
                        if sr == ri && !vals.field(sf).is_empty() && only_this {
                            last_with.insert((sr, sf), vals.clone());
                        }
                    }
                    (bytes, vals, None, false)
                }
            };
            out.write_all(&bytes)?;
            out.write_all(eol)?;
            sum.lines += 1;
            sum.records += 1;
            body += 1;
            detail_count += 1;
            if let Some(i) = issue {
                sum.defects.push(Seeded {
                    line: sum.lines,
                    field: i.field,
                    rule: i.rule,
                });
            }
            if unknown {
                continue;
            }
            by_type[ri] += 1;
            for k in g.keys_of(ri, &final_vals) {
                g.keys.insert(k);
            }
            g.note_groups(ri, &final_vals);
            for &(sr, sf) in &summed {
                if sr == ri
                    && let Ok(v) = layout.records[ri].fields[sf]
                        .format
                        .check(final_vals.field(sf))
                {
                    *sums.entry((sr, sf)).or_default() += v;
                }
            }
        }
    }

    // Totals that must be equal (debits and credits) are made to balance with extra lines
    // cloned from a line that carries only the smaller side.
    for (a, b) in &balances {
        let total = |fi: usize| -> i128 {
            sum_targets(layout, fi)
                .iter()
                .map(|k| sums.get(k).copied().unwrap_or(0))
                .sum()
        };
        let diff = total(*a) - total(*b);
        if diff == 0 {
            continue;
        }
        let side = if diff > 0 { *b } else { *a };
        let Some(&(ri, fi)) = sum_targets(layout, side)
            .iter()
            .find(|k| last_with.contains_key(k))
        else {
            return Err(GenError::Unsatisfiable {
                layout: layout.id.clone(),
                record: layout.records[layout.trailer().unwrap_or(0)].code.clone(),
                issue: "its totals must balance, but no line carries only one side to balance with"
                    .into(),
            });
        };
        let template = last_with.get(&(ri, fi)).cloned().unwrap_or_default();
        let f = &layout.records[ri].fields[fi];
        let cap = match f.format {
            Format::Numeric { digits, decimals } | Format::Padded { digits, decimals } => {
                (10i128.pow((digits - decimals).min(18) as u32) - 1) * SCALE
            }
            _ => i128::MAX,
        };
        let cap = f.max.map_or(cap, |m| m.min(cap)).max(SCALE);
        let mut need = diff.abs();
        while need > 0 {
            let chunk = need.min(cap);
            let mut vals = template.clone();
            vals[fi] = control_text(&f.format, chunk);
            let mut tries = 0;
            loop {
                for key in &layout.records[ri].unique {
                    for &k in key {
                        vals[k] = g.value(&layout.records[ri].fields[k], &HashMap::new(), 1, true);
                    }
                }
                if g.keys_of(ri, &vals).iter().all(|k| !g.keys.contains(k)) {
                    break;
                }
                tries += 1;
                if tries > 20 {
                    return Err(GenError::Unsatisfiable {
                        layout: layout.id.clone(),
                        record: layout.records[ri].code.clone(),
                        issue: "no fresh key for a balancing line".into(),
                    });
                }
            }
            let (bytes, issues) = g.encode_and_check(ri, &vals, None).map_err(werr)?;
            if !issues.is_empty() {
                return Err(unsat(ri, &issues));
            }
            out.write_all(&bytes)?;
            out.write_all(eol)?;
            sum.lines += 1;
            sum.records += 1;
            body += 1;
            by_type[ri] += 1;
            for k in g.keys_of(ri, &vals) {
                g.keys.insert(k);
            }
            g.note_groups(ri, &vals);
            *sums.entry((ri, fi)).or_default() += chunk;
            need -= chunk;
        }
    }

    if let Some(t) = layout.trailer() {
        let rt = &layout.records[t];
        let mut vals = Vec::new();
        let mut seeded = Vec::new();
        // The trailer-total defect moves every total that must equal the first one, so the
        // file still balances and the defect is only trailer-total.
        let first_sum = rt
            .fields
            .iter()
            .position(|f| matches!(f.control, Some(Control::Sum(_))));
        let bumped: Vec<usize> = first_sum
            .map(|f0| {
                let mut v = vec![f0];
                for (a, b) in &balances {
                    if *a == f0 {
                        v.push(*b);
                    } else if *b == f0 {
                        v.push(*a);
                    }
                }
                v
            })
            .unwrap_or_default();
        for (fi, f) in rt.fields.iter().enumerate() {
            let v = match &f.control {
                Some(c @ (Control::Count(_) | Control::Lines)) => {
                    let mut n = i128::from(match c {
                        Control::Count(Some(w)) => by_type[*w],
                        Control::Lines => body + layout.frame_lines(),
                        _ => body,
                    });
                    if opts.defect_rate > 0.0
                        && !seeded.iter().any(|(_, r)| *r == Rule::TrailerCount)
                    {
                        n += 3;
                        seeded.push((fi, Rule::TrailerCount));
                    }
                    control_text(&f.format, n * SCALE)
                }
                Some(Control::Sum(targets)) => {
                    let mut n: i128 = targets
                        .iter()
                        .map(|k| sums.get(k).copied().unwrap_or(0))
                        .sum();
                    if opts.defect_rate > 0.0 && bumped.contains(&fi) {
                        n += 10 * SCALE;
                        seeded.push((fi, Rule::TrailerTotal));
                    }
                    control_text(&f.format, n)
                }
                None => g.value(f, &HashMap::new(), 1, false),
            };
            vals.push(v);
        }
        let (bytes, issues) = g.encode_and_check(t, &vals, None).map_err(werr)?;
        if !issues.is_empty() {
            return Err(unsat(t, &issues));
        }
        out.write_all(&bytes)?;
        out.write_all(eol)?;
        sum.lines += 1;
        sum.records += 1;
        for (fi, rule) in seeded {
            sum.defects.push(Seeded {
                line: sum.lines,
                field: Some(rt.fields[fi].name.clone()),
                rule,
            });
        }
    }
    out.flush()?;
    Ok(sum)
}

/// The (record type, field) pairs a trailer field sums, if it is a sum control.
fn sum_targets(layout: &Layout, trailer_field: usize) -> Vec<(usize, usize)> {
    layout
        .trailer()
        .and_then(|t| layout.records[t].fields.get(trailer_field))
        .and_then(|f| {
            if let Some(Control::Sum(v)) = &f.control {
                Some(v.clone())
            } else {
                None
            }
        })
        .unwrap_or_default()
}

fn control_text(f: &Format, n: i128) -> String {
    match f {
        Format::Numeric { decimals, .. } => format_scaled(n, *decimals),
        Format::Padded { digits, decimals } => {
            let s = format_scaled(n, *decimals);
            let width = digits + usize::from(*decimals > 0);
            format!("{s:0>width$}")
        }
        _ => format_scaled(n, 0),
    }
}

/// The default file name for a generated sample: the layout's pattern with these values.
pub fn default_file_name(layout: &Layout, opts: &GenOptions) -> Result<String, String> {
    layout.file_name.render(&crate::layout::NameValues {
        vpd: &opts.vpd,
        when: opts.when,
        seq: opts.seq,
        choices: Vec::new(),
        header: layout.name_header(None),
    })
}
