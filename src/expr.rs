//! Expressions in layout rules, written in CEL (the Common Expression Language, as used by
//! Kubernetes validation rules) and run by the `cel` crate: a condition such as
//! `debit_or_credit == 'D' && hours > 0.0`, or an amount such as
//! `pensionable_pay_ytd * tier_rate / 100.0`.
//!
//! A field is named by its layout name in lower case, each run of other characters made one
//! `_` ("Debit or Credit" is `debit_or_credit`, "Pay (YTD)" is `pay_ytd`). A number field is a
//! CEL double, a date `'YYYY-MM-DD'` text (so dates compare in order), a time `'HH:MM:SS'`,
//! anything else text; an empty field is `null`. An expression is compiled once, when its
//! layout loads, and tried once with a typical value of each field it names, so a misspelt
//! field or an operation the values cannot take (text times a number) is a layout error
//! naming the rule, not a surprise on the millionth line.

use crate::layout::{Field, RecordType};
use crate::notation::{Format, SCALE};
use cel::common::types::{CelDouble, CelNull, CelString};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::{Context, Program, Value};
use std::sync::{Arc, OnceLock};

/// What an expression must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Yields {
    /// true or false (a condition).
    Bool,
    /// A number (an amount to compare).
    Number,
}

/// A compiled expression over the fields of one record type.
#[derive(Clone)]
pub struct Expr {
    /// The text as written in the layout.
    pub text: String,
    program: Arc<Program>,
    /// (CEL name, field index) of every field the expression names.
    vars: Arc<Vec<(String, usize)>>,
}

impl std::fmt::Debug for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expr").field("text", &self.text).finish()
    }
}

/// The name a field has in expressions: lower case, each run of other characters one `_`.
pub fn cel_name(field: &str) -> String {
    let mut s = String::with_capacity(field.len());
    for c in field.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('_') {
            s.push('_');
        }
    }
    let s = s.trim_matches('_').to_string();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{s}")
    } else {
        s
    }
}

fn root() -> &'static Context<'static, 'static> {
    static ROOT: OnceLock<Context<'static, 'static>> = OnceLock::new();
    ROOT.get_or_init(Context::default)
}

/// One field's value as an expression sees it (None: the value does not fit its format, so
/// the expression cannot be judged).
fn bind(f: &Field, v: &str) -> Option<Box<dyn Val>> {
    if v.is_empty() {
        return Some(Box::new(CelNull));
    }
    Some(match &f.format {
        Format::Numeric { .. } | Format::Padded { .. } => {
            let n = f.format.check(v).ok()?;
            Box::new(CelDouble::from(n as f64 / SCALE as f64))
        }
        Format::Date(_) => {
            let k = f.format.check(v).ok()?;
            let d = chrono::NaiveDate::from_num_days_from_ce_opt(i32::try_from(k / 86_400).ok()?)?;
            Box::new(CelString::from(d.format("%Y-%m-%d").to_string()))
        }
        Format::Timestamp(_) => {
            let k = f.format.check(v).ok()?;
            let d = chrono::NaiveDate::from_num_days_from_ce_opt(i32::try_from(k / 86_400).ok()?)?;
            let s = (k % 86_400) as u32;
            Box::new(CelString::from(format!(
                "{}T{:02}:{:02}:{:02}",
                d.format("%Y-%m-%d"),
                s / 3600,
                s / 60 % 60,
                s % 60
            )))
        }
        Format::Time(_) => {
            let s = f.format.check(v).ok()? as u32;
            Box::new(CelString::from(format!(
                "{:02}:{:02}:{:02}",
                s / 3600,
                s / 60 % 60,
                s % 60
            )))
        }
        _ => Box::new(CelString::from(v.to_string())),
    })
}

/// A typical value of a field, to try an expression with when its layout loads.
fn typical(f: &Field) -> Box<dyn Val> {
    match &f.format {
        Format::Numeric { .. } | Format::Padded { .. } => Box::new(CelDouble::from(1.0)),
        Format::Date(_) => Box::new(CelString::from("2026-04-01")),
        Format::Timestamp(_) => Box::new(CelString::from("2026-04-01T09:00:00")),
        Format::Time(_) => Box::new(CelString::from("09:00:00")),
        Format::Flag { yes, .. } => Box::new(CelString::from(yes.clone())),
        _ => Box::new(CelString::from(
            f.codes.first().cloned().unwrap_or_else(|| "A".into()),
        )),
    }
}

struct Bound<'a> {
    vars: &'a [(String, usize)],
    vals: Vec<Box<dyn Val>>,
}

impl VariableResolver for Bound<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let i = self.vars.iter().position(|(n, _)| n == variable)?;
        Some(CowVal::Borrowed(self.vals.get(i)?.as_ref()))
    }
}

impl Expr {
    /// Compiles `text` for record type `rt`: it must parse, name only fields of the record,
    /// and give `yields` when tried with typical values. The error says what to change.
    pub fn compile(text: &str, rt: &RecordType, yields: Yields) -> Result<Self, String> {
        let program = Program::compile(text).map_err(|e| {
            format!(
                "the expression `{text}` is not valid CEL: {}",
                e.to_string().lines().next().unwrap_or_default()
            )
        })?;
        let mut vars = Vec::new();
        let refs = program.references();
        let mut names: Vec<&str> = refs.variables();
        names.sort_unstable();
        for n in names {
            match rt.fields.iter().position(|f| cel_name(&f.name) == n) {
                Some(i) => vars.push((n.to_string(), i)),
                None => {
                    let known: Vec<String> = rt.fields.iter().map(|f| cel_name(&f.name)).collect();
                    return Err(format!(
                        "the expression `{text}` names `{n}`, which is not a field of this record; its fields are {}",
                        known.join(", ")
                    ));
                }
            }
        }
        drop(refs);
        let e = Expr {
            text: text.to_string(),
            program: Arc::new(program),
            vars: Arc::new(vars),
        };
        let vals = e.vars.iter().map(|(_, i)| typical(&rt.fields[*i])).collect();
        let got = e.run(vals).map_err(|why| {
            format!("the expression `{text}` cannot be worked out with this record's fields: {why}")
        })?;
        match (yields, got) {
            (Yields::Bool, Value::Bool(_)) => {}
            (Yields::Number, Value::Float(_) | Value::Int(_) | Value::UInt(_)) => {}
            (Yields::Bool, other) => {
                return Err(format!(
                    "the condition `{text}` gives {} where it must give true or false",
                    kind_of(&other)
                ));
            }
            (Yields::Number, other) => {
                return Err(format!(
                    "the expression `{text}` gives {} where it must give a number",
                    kind_of(&other)
                ));
            }
        }
        Ok(e)
    }

    /// The fields the expression names.
    pub fn fields(&self) -> impl Iterator<Item = usize> + '_ {
        self.vars.iter().map(|(_, i)| *i)
    }

    fn run(&self, vals: Vec<Box<dyn Val>>) -> Result<Value, String> {
        let bound = Bound {
            vars: &self.vars,
            vals,
        };
        let mut c = root().new_inner_scope();
        c.set_variable_resolver(&bound);
        self.program.execute(&c).map_err(|e| e.to_string())
    }

    fn values<F: crate::validate::FieldSource + ?Sized>(
        &self,
        rt: &RecordType,
        fields: &F,
        empty_ok: bool,
    ) -> Option<Vec<Box<dyn Val>>> {
        self.vars
            .iter()
            .map(|(_, i)| {
                let v = if *i < fields.count() {
                    fields.field(*i)
                } else {
                    ""
                };
                if v.is_empty() && !empty_ok {
                    return None;
                }
                bind(&rt.fields[*i], v)
            })
            .collect()
    }

    /// Whether the condition holds for a record. A condition that cannot be judged (a field it
    /// names does not fit its format, or it compares an empty field with a number) does not
    /// hold: the field's own issue says what is wrong.
    pub fn holds<F: crate::validate::FieldSource + ?Sized>(
        &self,
        rt: &RecordType,
        fields: &F,
    ) -> bool {
        let Some(vals) = self.values(rt, fields, true) else {
            return false;
        };
        matches!(self.run(vals), Ok(Value::Bool(true)))
    }

    /// The amount for a record, or None when a field it uses is empty or does not fit its
    /// format (nothing to judge), or the sum cannot be done (a division by zero).
    pub fn amount<F: crate::validate::FieldSource + ?Sized>(
        &self,
        rt: &RecordType,
        fields: &F,
    ) -> Option<f64> {
        let vals = self.values(rt, fields, false)?;
        match self.run(vals).ok()? {
            Value::Float(f) if f.is_finite() => Some(f),
            Value::Int(i) => Some(i as f64),
            Value::UInt(u) => Some(u as f64),
            _ => None,
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "true or false",
        Value::Float(_) | Value::Int(_) | Value::UInt(_) => "a number",
        Value::String(_) => "text",
        Value::Null => "nothing (null)",
        Value::List(_) => "a list",
        Value::Map(_) => "a map",
        _ => "another kind of value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_case_with_underscores() {
        assert_eq!(cel_name("Debit or Credit"), "debit_or_credit");
        assert_eq!(cel_name("Pay (YTD)"), "pay_ytd");
        assert_eq!(cel_name("Debit/Credit"), "debit_credit");
        assert_eq!(cel_name("2nd Name"), "_2nd_name");
    }
}
