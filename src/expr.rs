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
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

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
    /// The same expression as a tree of plain operations, when it uses only what that tree
    /// knows (numbers, text, comparisons, `&&`, `||`, `!`, `?:`, `in` a list) and agreed
    /// with the CEL interpreter on every trial input; None: the interpreter runs it.
    fast: Option<Arc<Fast>>,
    memo: Arc<Mutex<Memo>>,
}

/// Results already worked out, by the exact text of the fields the expression reads. An
/// expression is a pure function of those fields, so a repeated input (a code, a flag) is
/// answered without running it again; inputs that rarely repeat (amounts) switch the memo
/// off after a while, as it would only cost.
#[derive(Default)]
struct Memo {
    map: HashMap<String, Option<f64>, foldhash::fast::RandomState>,
    key: String,
    asked: u64,
    found: u64,
    off: bool,
}

/// Entries a memo keeps before it starts again.
const MEMO_CAP: usize = 4096;
/// Lookups after which a memo that answers fewer than half is switched off.
const MEMO_TRIAL: u64 = 20_000;

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
            let d = crate::validate::day(f.format.check(v).ok()?)?;
            Box::new(CelString::from(d.format("%Y-%m-%d").to_string()))
        }
        Format::Timestamp(_) => {
            let k = f.format.check(v).ok()?;
            let d = crate::validate::day(k)?;
            let s = k.rem_euclid(86_400) as u32;
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

/// How big an expression a layout may hold: a trust's layout can never make a command recurse
/// past its stack or loop without end. Each is named in the error that refuses a layout.
pub mod bounds {
    /// Characters in one expression.
    pub const LENGTH: usize = 2_000;
    /// Brackets open inside one another: `(`, `[`, `{`.
    pub const DEPTH: usize = 16;
    /// Operators in one expression (`+ - * / % == != < > <= >= && || ! ?`): each can add a
    /// level to the evaluation, which must fit the stack of any thread that judges records.
    pub const OPERATORS: usize = 24;
    /// Macros (`all`, `exists`, `exists_one`, `map`, `filter`) in one expression.
    pub const MACROS: usize = 4;
    /// Macros inside one another's arguments.
    pub const MACRO_DEPTH: usize = 2;
}

/// Checks an expression's size before it is parsed: its length, how deep its brackets nest,
/// how many operators and macros it has and how deep the macros nest. The text in string
/// literals does not count.
pub fn check_bounds(text: &str) -> Result<(), String> {
    use bounds::*;
    let n = text.chars().count();
    if n > LENGTH {
        return Err(format!(
            "an expression of {n} characters is longer than the {LENGTH} a layout's expression may have"
        ));
    }
    let chars: Vec<char> = text.chars().collect();
    let (mut depth, mut deepest, mut ops, mut macros, mut macro_depth) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    // For each open bracket: whether it opened a macro's arguments.
    let mut open: Vec<bool> = Vec::new();
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            if c == '\\' {
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' | '[' | '{' => {
                let word: String = chars[..i]
                    .iter()
                    .rev()
                    .take_while(|x| x.is_alphanumeric() || **x == '_')
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                let is_macro = c == '('
                    && i > word.len()
                    && chars[i - word.len() - 1] == '.'
                    && matches!(
                        word.as_str(),
                        "all" | "exists" | "exists_one" | "map" | "filter"
                    );
                if is_macro {
                    macros += 1;
                    let inside = open.iter().filter(|m| **m).count() + 1;
                    macro_depth = macro_depth.max(inside);
                }
                open.push(is_macro);
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' | ']' | '}' => {
                open.pop();
                depth = depth.saturating_sub(1);
            }
            '+' | '-' | '*' | '/' | '%' | '?' | '!' | '<' | '>' => ops += 1,
            '&' | '|' | '=' if chars.get(i + 1) == Some(&c) => {
                ops += 1;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    if deepest > DEPTH {
        return Err(format!(
            "an expression's brackets nest {deepest} deep; a layout's expression may nest at most {DEPTH}"
        ));
    }
    if ops > OPERATORS {
        return Err(format!(
            "an expression with {ops} operators has more than the {OPERATORS} a layout's expression may have"
        ));
    }
    if macros > MACROS {
        return Err(format!(
            "an expression with {macros} macros (all, exists, map, filter) has more than the {MACROS} a layout's expression may have"
        ));
    }
    if macro_depth > MACRO_DEPTH {
        return Err(format!(
            "an expression's macros nest {macro_depth} deep; a layout's expression may nest them at most {MACRO_DEPTH} deep"
        ));
    }
    Ok(())
}

impl Expr {
    /// Compiles `text` for record type `rt`: it must be within [`bounds`], parse, name only
    /// fields of the record, and give `yields` when tried with typical values. The error says
    /// what to change.
    pub fn compile(text: &str, rt: &RecordType, yields: Yields) -> Result<Self, String> {
        check_bounds(text)?;
        // CEL's parser recurses deeply for each bracket: it runs on a thread of its own with
        // room for that, and a parser that fails in any way refuses the layout, never the
        // program.
        let parsed = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("expression parser".into())
                .stack_size(64 * 1024 * 1024)
                .spawn_scoped(scope, || Program::compile(text).map_err(|e| e.to_string()))
                .map(|h| h.join())
        });
        let program = match parsed {
            Ok(Ok(Ok(p))) => p,
            Ok(Ok(Err(e))) => {
                return Err(format!(
                    "the expression `{text}` is not valid CEL: {}",
                    e.lines().next().unwrap_or_default()
                ));
            }
            _ => return Err(format!("the expression `{text}` could not be read")),
        };
        let mut vars = Vec::new();
        let refs = program.references();
        let mut names: Vec<&str> = refs.variables();
        names.sort_unstable();
        for n in names {
            match rt.fields.iter().position(|f| cel_name(&f.name) == n) {
                Some(i) => vars.push((n.to_string(), i)),
                None => {
                    let known: Vec<String> = rt.fields.iter().map(|f| cel_name(&f.name)).collect();
                    // The likeliest meant: a name that holds the one written, or is held in it.
                    let near = known
                        .iter()
                        .filter(|k| k.contains(n) || n.contains(k.as_str()))
                        .min_by_key(|k| k.len().abs_diff(n.len()))
                        .map_or_else(String::new, |k| format!(" (did you mean `{k}`?)"));
                    return Err(format!(
                        "the expression `{text}` names `{n}`, which is not a field of this record{near}; its fields are {}",
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
            fast: None,
            memo: Arc::default(),
        };
        let vals = e
            .vars
            .iter()
            .map(|(_, i)| typical(&rt.fields[*i]))
            .collect();
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
        let mut e = e;
        e.fast = Fast::compile(e.program.expression(), &e.vars)
            .filter(|f| f.agrees(&e, rt))
            .map(Arc::new);
        Ok(e)
    }

    /// True when the expression runs as plain operations rather than through the interpreter.
    pub fn is_fast(&self) -> bool {
        self.fast.is_some()
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
    /// hold: the field's own issue says what is wrong. `known` gives the comparable value of
    /// a field the record's checks already read (None: read it).
    pub fn holds<F: crate::validate::FieldSource + ?Sized>(
        &self,
        rt: &RecordType,
        fields: &F,
        known: &dyn Fn(usize) -> Option<i128>,
    ) -> bool {
        if let Some(f) = &self.fast {
            let x = Input {
                vars: &self.vars,
                rt,
                fields,
                known,
            };
            return x.judged() && matches!(f.eval(&x), V::Bool(true));
        }
        self.memoised(fields, || {
            let vals = self.values(rt, fields, true)?;
            matches!(self.run(vals), Ok(Value::Bool(true))).then_some(1.0)
        })
        .is_some()
    }

    /// The amount for a record, or None when a field it uses is empty or does not fit its
    /// format (nothing to judge), or the sum cannot be done (a division by zero). `known` as
    /// for [`Expr::holds`].
    pub fn amount<F: crate::validate::FieldSource + ?Sized>(
        &self,
        rt: &RecordType,
        fields: &F,
        known: &dyn Fn(usize) -> Option<i128>,
    ) -> Option<f64> {
        if let Some(f) = &self.fast {
            let x = Input {
                vars: &self.vars,
                rt,
                fields,
                known,
            };
            // Nothing to judge when a field it uses is empty, as for the interpreter.
            if !x.judged_filled() {
                return None;
            }
            return match f.eval(&x) {
                V::Num(x) if x.is_finite() => Some(x),
                _ => None,
            };
        }
        self.memoised(fields, || {
            let vals = self.values(rt, fields, false)?;
            match self.run(vals).ok()? {
                Value::Float(f) if f.is_finite() => Some(f),
                Value::Int(i) => Some(i as f64),
                Value::UInt(u) => Some(u as f64),
                _ => None,
            }
        })
    }

    /// `work`'s answer for these fields, from the memo when it has it.
    fn memoised<F: crate::validate::FieldSource + ?Sized>(
        &self,
        fields: &F,
        work: impl FnOnce() -> Option<f64>,
    ) -> Option<f64> {
        let Ok(mut m) = self.memo.lock() else {
            return work();
        };
        if m.off {
            drop(m);
            return work();
        }
        let mut key = std::mem::take(&mut m.key);
        key.clear();
        for (_, i) in self.vars.iter() {
            // Each value with its length first, so no two inputs share a key.
            let v = fields.field(*i);
            let _ = write!(key, "{}:", v.len());
            key.push_str(v);
        }
        m.asked += 1;
        if let Some(v) = m.map.get(key.as_str()).copied() {
            m.found += 1;
            m.key = key;
            return v;
        }
        if m.asked >= MEMO_TRIAL && m.found * 2 < m.asked {
            m.off = true;
            m.map = HashMap::default();
        }
        drop(m);
        let v = work();
        if let Ok(mut m) = self.memo.lock()
            && !m.off
        {
            if m.map.len() >= MEMO_CAP {
                m.map.clear();
            }
            m.map.insert(key.clone(), v);
            m.key = key;
        }
        v
    }
}

/// A value while a [`Fast`] tree runs. `Err` is CEL's error value: `false && err` is false,
/// `true || err` is true, and anything else that meets it gives it.
#[derive(Debug, Clone, PartialEq)]
enum V<'a> {
    Null,
    Num(f64),
    Str(std::borrow::Cow<'a, str>),
    Bool(bool),
    Err,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// An expression as plain operations over the record's values. Built only from the CEL
/// tree the `cel` crate parsed; the semantics are CEL's for numbers (doubles), text, null
/// and the logical operators, and each compiled tree is checked against the interpreter
/// before it is used ([`Fast::agrees`]).
#[derive(Debug)]
enum Fast {
    Num(f64),
    Str(String),
    Bool(bool),
    Null,
    /// Variable `i` of the expression's field list.
    Var(usize),
    Bin(Op, Box<Fast>, Box<Fast>),
    Neg(Box<Fast>),
    Not(Box<Fast>),
    And(Box<Fast>, Box<Fast>),
    Or(Box<Fast>, Box<Fast>),
    If(Box<Fast>, Box<Fast>, Box<Fast>),
    /// The value is one of the list's.
    In(Box<Fast>, Vec<Fast>),
}

impl Fast {
    fn compile(e: &cel::parser::Expression, vars: &[(String, usize)]) -> Option<Fast> {
        use cel::common::ast::{Expr as E, LiteralValue as L};
        Some(match &e.expr {
            E::Literal(L::Double(d)) => Fast::Num(*d.inner()),
            E::Literal(L::String(t)) => Fast::Str(t.inner().to_string()),
            E::Literal(L::Boolean(b)) => Fast::Bool(*b.inner()),
            E::Literal(L::Null) => Fast::Null,
            E::Ident(n) => Fast::Var(vars.iter().position(|(v, _)| v == n)?),
            E::Call(c) if c.target.is_none() => {
                let arg = |k: usize| Fast::compile(c.args.get(k)?, vars).map(Box::new);
                match (c.func_name.as_str(), c.args.len()) {
                    ("_+_", 2) => Fast::Bin(Op::Add, arg(0)?, arg(1)?),
                    ("_-_", 2) => Fast::Bin(Op::Sub, arg(0)?, arg(1)?),
                    ("_*_", 2) => Fast::Bin(Op::Mul, arg(0)?, arg(1)?),
                    ("_/_", 2) => Fast::Bin(Op::Div, arg(0)?, arg(1)?),
                    ("_==_", 2) => Fast::Bin(Op::Eq, arg(0)?, arg(1)?),
                    ("_!=_", 2) => Fast::Bin(Op::Ne, arg(0)?, arg(1)?),
                    ("_<_", 2) => Fast::Bin(Op::Lt, arg(0)?, arg(1)?),
                    ("_<=_", 2) => Fast::Bin(Op::Le, arg(0)?, arg(1)?),
                    ("_>_", 2) => Fast::Bin(Op::Gt, arg(0)?, arg(1)?),
                    ("_>=_", 2) => Fast::Bin(Op::Ge, arg(0)?, arg(1)?),
                    ("-_", 1) => Fast::Neg(arg(0)?),
                    ("!_", 1) => Fast::Not(arg(0)?),
                    ("_&&_", 2) => Fast::And(arg(0)?, arg(1)?),
                    ("_||_", 2) => Fast::Or(arg(0)?, arg(1)?),
                    ("_?_:_", 3) => Fast::If(arg(0)?, arg(1)?, arg(2)?),
                    ("@in", 2) => match &c.args.get(1)?.expr {
                        E::List(l) if l.optional_indices.is_empty() => Fast::In(
                            arg(0)?,
                            l.elements
                                .iter()
                                .map(|x| Fast::compile(x, vars))
                                .collect::<Option<Vec<_>>>()?,
                        ),
                        _ => return None,
                    },
                    _ => return None,
                }
            }
            _ => return None,
        })
    }

    fn eval<'a, F: crate::validate::FieldSource + ?Sized>(&'a self, x: &Input<'a, F>) -> V<'a> {
        match self {
            Fast::Num(n) => V::Num(*n),
            Fast::Str(t) => V::Str(std::borrow::Cow::Borrowed(t)),
            Fast::Bool(b) => V::Bool(*b),
            Fast::Null => V::Null,
            Fast::Var(k) => {
                let Some((_, i)) = x.vars.get(*k) else {
                    return V::Err;
                };
                let f = &x.rt.fields[*i];
                // A number the record's checks already read (so filled) is not read again.
                if f.is_numeric()
                    && let Some(n) = (x.known)(*i)
                {
                    return V::Num(scaled(n));
                }
                fast_value(f, x.fields.field(*i))
            }
            Fast::Bin(op, a, b) => binary(*op, a.eval(x), b.eval(x)),
            Fast::Neg(a) => match a.eval(x) {
                V::Num(x) => V::Num(-x),
                _ => V::Err,
            },
            Fast::Not(a) => match a.eval(x) {
                V::Bool(x) => V::Bool(!x),
                _ => V::Err,
            },
            Fast::And(a, b) => match (a.eval(x), b.eval(x)) {
                (V::Bool(false), _) | (_, V::Bool(false)) => V::Bool(false),
                (V::Bool(true), V::Bool(true)) => V::Bool(true),
                _ => V::Err,
            },
            Fast::Or(a, b) => match (a.eval(x), b.eval(x)) {
                (V::Bool(true), _) | (_, V::Bool(true)) => V::Bool(true),
                (V::Bool(false), V::Bool(false)) => V::Bool(false),
                _ => V::Err,
            },
            Fast::If(c, a, b) => match c.eval(x) {
                V::Bool(true) => a.eval(x),
                V::Bool(false) => b.eval(x),
                _ => V::Err,
            },
            Fast::In(a, list) => {
                let v = a.eval(x);
                if v == V::Err {
                    return V::Err;
                }
                let mut found = false;
                for l in list {
                    match binary(Op::Eq, v.clone(), l.eval(x)) {
                        V::Bool(true) => found = true,
                        V::Bool(false) => {}
                        _ => return V::Err,
                    }
                }
                V::Bool(found)
            }
        }
    }

    /// Whether this tree gives what the CEL interpreter gives for the expression, on inputs
    /// that try each field typical, empty and at an edge of its kind (drawn from a fixed seed).
    fn agrees(&self, e: &Expr, rt: &RecordType) -> bool {
        let mut rng = fastrand::Rng::with_seed(0x0CE1);
        for _ in 0..64 {
            let mut vals: Vec<String> = vec![String::new(); rt.fields.len()];
            for (_, i) in e.vars.iter() {
                let which = rng.usize(0..6);
                vals[*i] = trial_text(&rt.fields[*i], which, &mut rng);
            }
            let want = match e.values(rt, vals.as_slice(), true) {
                Some(v) => match e.run(v) {
                    Ok(Value::Bool(b)) => V::Bool(b),
                    Ok(Value::Float(x)) => V::Num(x),
                    Ok(Value::Null) => V::Null,
                    Ok(Value::String(t)) => V::Str(std::borrow::Cow::Owned(t.to_string())),
                    Ok(_) => return false,
                    Err(_) => V::Err,
                },
                None => continue,
            };
            let got = self.eval(&Input {
                vars: &e.vars,
                rt,
                fields: vals.as_slice(),
                known: &|_| None,
            });
            let same = match (&want, &got) {
                (V::Num(a), V::Num(b)) => a == b || (a.is_nan() && b.is_nan()),
                (a, b) => a == b,
            };
            if !same {
                return false;
            }
        }
        true
    }
}

/// What a [`Fast`] tree reads: the record, and the values its checks already found.
struct Input<'a, F: ?Sized> {
    vars: &'a [(String, usize)],
    rt: &'a RecordType,
    fields: &'a F,
    known: &'a dyn Fn(usize) -> Option<i128>,
}

impl<F: crate::validate::FieldSource + ?Sized> Input<'_, F> {
    /// False when a field the expression names does not fit its format: the expression is
    /// then not judged, whichever branch would have read it (as the interpreter, which binds
    /// every field first).
    fn judged(&self) -> bool {
        self.vars.iter().all(|(_, i)| {
            let (f, v) = (&self.rt.fields[*i], self.fields.field(*i));
            v.is_empty()
                || (f.is_numeric() && (self.known)(*i).is_some())
                || fast_value(f, v) != V::Err
        })
    }

    /// As [`Input::judged`], and every field filled (an amount of empty fields is nothing to
    /// judge).
    fn judged_filled(&self) -> bool {
        self.vars.iter().all(|(_, i)| {
            let f = &self.rt.fields[*i];
            if f.is_numeric() && (self.known)(*i).is_some() {
                return true;
            }
            let v = self.fields.field(*i);
            !v.is_empty() && fast_value(f, v) != V::Err
        })
    }
}

/// A scaled number as a double (in 64 bits when it fits: the 128-bit conversion is slow).
fn scaled(n: i128) -> f64 {
    const PER_UNIT: f64 = SCALE as f64;
    match i64::try_from(n) {
        Ok(s) => s as f64 / PER_UNIT,
        Err(_) => n as f64 / PER_UNIT,
    }
}

/// A field's value as a [`Fast`] tree sees it (the interpreter's binding, without boxes).
fn fast_value<'a>(f: &Field, v: &'a str) -> V<'a> {
    if v.is_empty() {
        return V::Null;
    }
    match &f.format {
        Format::Numeric { .. } | Format::Padded { .. } => match f.format.check(v) {
            Ok(n) => V::Num(scaled(n)),
            Err(_) => V::Err,
        },
        Format::Date(_) | Format::Timestamp(_) | Format::Time(_) => match bind(f, v) {
            Some(b) => match Value::try_from(b.as_ref()) {
                Ok(Value::String(t)) => V::Str(std::borrow::Cow::Owned(t.to_string())),
                _ => V::Err,
            },
            None => V::Err,
        },
        _ => V::Str(std::borrow::Cow::Borrowed(v)),
    }
}

/// A trial value of a field: typical, empty, or one at an edge of its kind.
fn trial_text(f: &Field, which: usize, rng: &mut fastrand::Rng) -> String {
    match which % 6 {
        0 => String::new(),
        _ => match &f.format {
            Format::Numeric { decimals, .. } => {
                let whole = [0i64, 1, -1, 100, rng.i64(0..100_000)][which % 5];
                if *decimals > 0 {
                    format!("{whole}.{}", rng.u32(0..10))
                } else {
                    whole.to_string()
                }
            }
            Format::Flag { yes, no } => {
                if which.is_multiple_of(2) {
                    yes.clone()
                } else {
                    no.clone()
                }
            }
            Format::Text { .. } | Format::Fixed { .. } if !f.codes.is_empty() => {
                f.codes[rng.usize(0..f.codes.len())].clone()
            }
            Format::Text { .. } => ["A", "D", "C", "zz", "Y"][which % 5].to_string(),
            _ => String::new(),
        },
    }
}

/// CEL's binary operators on the values a [`Fast`] tree meets.
fn binary<'a>(op: Op, a: V<'a>, b: V<'a>) -> V<'a> {
    use V::*;
    match (op, a, b) {
        (_, Err, _) | (_, _, Err) => Err,
        (Op::Add, Num(x), Num(y)) => Num(x + y),
        (Op::Sub, Num(x), Num(y)) => Num(x - y),
        (Op::Mul, Num(x), Num(y)) => Num(x * y),
        (Op::Div, Num(x), Num(y)) => Num(x / y),
        (Op::Add, Str(x), Str(y)) => Str(std::borrow::Cow::Owned(format!("{x}{y}"))),
        (Op::Eq, x, y) => Bool(same(&x, &y)),
        (Op::Ne, x, y) => Bool(!same(&x, &y)),
        (op, Num(x), Num(y)) => Bool(order(op, x.partial_cmp(&y))),
        (op, Str(x), Str(y)) => Bool(order(op, Some(x.cmp(&y)))),
        (op, Bool(x), Bool(y)) => Bool(order(op, Some(x.cmp(&y)))),
        _ => Err,
    }
}

fn same(a: &V<'_>, b: &V<'_>) -> bool {
    match (a, b) {
        (V::Num(x), V::Num(y)) => x == y,
        (V::Str(x), V::Str(y)) => x == y,
        (V::Bool(x), V::Bool(y)) => x == y,
        (V::Null, V::Null) => true,
        _ => false,
    }
}

fn order(op: Op, o: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    matches!(
        (op, o),
        (Op::Lt, Some(Less))
            | (Op::Gt, Some(Greater))
            | (Op::Le, Some(Less | Equal))
            | (Op::Ge, Some(Greater | Equal))
    )
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

#[cfg(test)]
mod fast_tests {
    use super::*;
    use crate::layout::LayoutSet;

    fn absence() -> RecordType {
        static RT: OnceLock<RecordType> = OnceLock::new();
        RT.get_or_init(|| {
            let set = LayoutSet::bundled().expect("layouts");
            set.get("absences").expect("absences").records[0].clone()
        })
        .clone()
    }

    /// Plain conditions and sums run without the interpreter, and agree with it.
    #[test]
    fn plain_expressions_run_fast() {
        let rt = absence();
        for (text, y) in [
            ("absence_type != 'Sickness'", Yields::Bool),
            ("hours_lost / 7.5", Yields::Number),
            ("action in ['A', 'U'] && hours_lost > 0.0", Yields::Bool),
            (
                "days_lost == null || days_lost * 7.5 >= hours_lost",
                Yields::Bool,
            ),
        ] {
            let e = Expr::compile(text, &rt, y).expect(text);
            assert!(e.is_fast(), "{text} should run as plain operations");
        }
    }

    /// The documented pieces of CEL work (they run through the interpreter).
    #[test]
    fn documented_functions_work() {
        let rt = absence();
        let rec = |reason: &str| -> Vec<String> {
            let mut v = vec![String::new(); rt.fields.len()];
            v[rt.field_index("Sickness Reason").expect("field")] = reason.to_string();
            v
        };
        for (text, yes, no) in [
            ("size(sickness_reason) > 3", "S11 Back Problems", "S1"),
            (
                "sickness_reason.startsWith('S1')",
                "S11 Back Problems",
                "S25 Gastro",
            ),
            (
                "sickness_reason.matches('^S1[0-9] ')",
                "S13 Cold",
                "S25 Gastro",
            ),
        ] {
            let e = Expr::compile(text, &rt, Yields::Bool).expect(text);
            assert!(
                e.holds(&rt, rec(yes).as_slice(), &|_| None),
                "{text} on {yes}"
            );
            assert!(
                !e.holds(&rt, rec(no).as_slice(), &|_| None),
                "{text} on {no}"
            );
        }
    }

    /// Each expression run as plain operations, and the same run by the interpreter.
    fn pairs() -> &'static [(&'static str, Yields, Expr, Expr)] {
        static PAIRS: OnceLock<Vec<(&'static str, Yields, Expr, Expr)>> = OnceLock::new();
        PAIRS.get_or_init(|| {
            let rt = absence();
            [
                ("absence_type != 'Sickness'", Yields::Bool),
                ("action in ['A', 'U'] && hours_lost > 0.0", Yields::Bool),
                (
                    "days_lost == null || days_lost * 7.5 >= hours_lost",
                    Yields::Bool,
                ),
                (
                    "!(hours_lost < 1.0) ? action == 'A' : absence_type == 'Sickness'",
                    Yields::Bool,
                ),
                ("hours_lost / 7.5", Yields::Number),
                ("-hours_lost + days_lost * 2.0 - 1.0", Yields::Number),
            ]
            .into_iter()
            .map(|(text, y)| {
                let fast = Expr::compile(text, &rt, y).expect(text);
                assert!(fast.is_fast(), "{text} should run as plain operations");
                let mut slow = fast.clone();
                slow.fast = None;
                slow.memo = Arc::default();
                (text, y, fast, slow)
            })
            .collect()
        })
    }

    /// The fast tree and the interpreter on one record's values.
    fn agree(
        hours: &str,
        days: &str,
        kind: &str,
        action: &str,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        let rt = absence();
        let mut v = vec![String::new(); rt.fields.len()];
        for (name, val) in [
            ("Hours Lost", hours),
            ("Days Lost", days),
            ("Absence Type", kind),
            ("Action", action),
        ] {
            v[rt.field_index(name).expect("field")] = val.to_string();
        }
        for (text, y, fast, slow) in pairs() {
            let (text, y) = (*text, *y);
            let known = |_: usize| None;
            match y {
                Yields::Bool => proptest::prop_assert_eq!(
                    fast.holds(&rt, v.as_slice(), &known),
                    slow.holds(&rt, v.as_slice(), &known),
                    "{} on {:?}",
                    text,
                    v
                ),
                Yields::Number => proptest::prop_assert_eq!(
                    fast.amount(&rt, v.as_slice(), &known),
                    slow.amount(&rt, v.as_slice(), &known),
                    "{} on {:?}",
                    text,
                    v
                ),
            }
        }
        Ok(())
    }

    /// The case the property once found (an invalid number in a branch the tree skipped),
    /// kept as a test of its own.
    #[test]
    fn an_invalid_number_in_a_skipped_branch_agrees() {
        agree("12A", "", "", "").expect("agree");
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 128,
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        })]
        /// For every input, an expression run as plain operations gives what the CEL
        /// interpreter gives.
        #[test]
        fn plain_operations_agree_with_the_interpreter(
            hours in proptest::sample::select(vec!["", "0", "7.50", "-1", "999.99", "12A", "0.01"]),
            days in proptest::sample::select(vec!["", "0", "1.0", "366", "2.5", "x"]),
            kind in proptest::sample::select(vec!["", "Sickness", "Annual Leave", "sickness"]),
            action in proptest::sample::select(vec!["", "A", "U", "D", "Z"]),
        ) {
            agree(hours, days, kind, action)?;
        }
    }
}
