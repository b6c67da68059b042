//! Frictionless Table Schema: writing one for each record type of a layout, and validating a
//! plain CSV against a Table Schema, so the tool works with files and schemas from the wider
//! open-data world (<https://specs.frictionlessdata.io/table-schema/>).
//!
//! A Table Schema is turned into a one-record-type layout (a CSV with a row of column names)
//! and checked by the same validator as every ESR file. Supported: types string, integer,
//! number, boolean, date, datetime, time, year, any; constraints required, unique, minLength,
//! maxLength, pattern, enum, minimum, maximum; primaryKey. No UI code here.

use crate::layout::{Layout, LayoutSource, Role};
use crate::notation::{Format, Pattern, SCALE};
use serde_json::{Map, Value, json};

/// Errors reading a Table Schema.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// Not JSON.
    #[error("the Table Schema is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON, but not a Table Schema this tool understands.
    #[error("the Table Schema {0}")]
    Invalid(String),
    /// The layout made from it does not compile.
    #[error(transparent)]
    Layout(#[from] crate::layout::LayoutError),
}

fn strftime(p: &Pattern) -> String {
    p.text
        .replace("YYYY", "%Y")
        .replace("MON", "%b")
        .replace("HH24", "%H")
        .replace("DD", "%d")
        .replace("HH", "%H")
        .replace("MI", "%M")
        .replace("SS", "%S")
        .replacen("MM", "%m", 1)
        .replace("MM", "%M")
}

fn bound(v: i128) -> Value {
    if v % SCALE == 0 {
        json!((v / SCALE) as i64)
    } else {
        json!(v as f64 / SCALE as f64)
    }
}

/// Table Schemas, one per record type of a layout, keyed by record type code.
pub fn export(layout: &Layout) -> Map<String, Value> {
    let mut out = Map::new();
    for rt in &layout.records {
        let mut fields = Vec::new();
        for (fi, f) in rt.fields.iter().enumerate() {
            let mut c = Map::new();
            if f.required {
                c.insert("required".into(), json!(true));
            }
            let mut field = Map::new();
            field.insert("name".into(), json!(f.name));
            field.insert(
                "description".into(),
                json!(format!(
                    "ESR notation {}{}",
                    f.format,
                    f.description
                        .as_ref()
                        .map(|d| format!(". {d}"))
                        .unwrap_or_default()
                )),
            );
            match &f.format {
                Format::Text { max } => {
                    field.insert("type".into(), json!("string"));
                    c.insert("maxLength".into(), json!(max));
                }
                Format::Fixed { len } => {
                    field.insert("type".into(), json!("string"));
                    c.insert("minLength".into(), json!(len));
                    c.insert("maxLength".into(), json!(len));
                }
                Format::Numeric { digits, decimals } => {
                    field.insert(
                        "type".into(),
                        json!(if *decimals == 0 { "integer" } else { "number" }),
                    );
                    let whole = "9".repeat(digits - decimals);
                    c.entry("maximum")
                        .or_insert(json!(whole.parse::<f64>().unwrap_or(f64::MAX)));
                }
                Format::Padded { digits, decimals } => {
                    field.insert("type".into(), json!("string"));
                    let pat = if *decimals == 0 {
                        format!("[0-9]{{{digits}}}")
                    } else {
                        format!("[0-9]{{{}}}\\.[0-9]{{{decimals}}}", digits - decimals)
                    };
                    c.insert("pattern".into(), json!(pat));
                }
                Format::Date(p) => {
                    field.insert("type".into(), json!("date"));
                    field.insert("format".into(), json!(strftime(p)));
                }
                Format::Timestamp(p) => {
                    field.insert("type".into(), json!("datetime"));
                    field.insert("format".into(), json!(strftime(p)));
                }
                Format::Time(p) => {
                    field.insert("type".into(), json!("time"));
                    field.insert("format".into(), json!(strftime(p)));
                }
                Format::Flag { yes, no } => {
                    field.insert("type".into(), json!("boolean"));
                    field.insert("trueValues".into(), json!([yes]));
                    field.insert("falseValues".into(), json!([no]));
                }
            }
            if let Some(v) = &f.value {
                c.insert("enum".into(), json!([v]));
            } else if !f.codes.is_empty() {
                c.insert("enum".into(), json!(f.codes));
            }
            if let Some(m) = f.min {
                c.insert("minimum".into(), bound(m));
            }
            if let Some(m) = f.max {
                c.insert("maximum".into(), bound(m));
            }
            if let Some(p) = &f.pattern {
                let s = p.as_str();
                let inner = s
                    .strip_prefix("^(?:")
                    .and_then(|x| x.strip_suffix(")$"))
                    .unwrap_or(s);
                c.insert("pattern".into(), json!(inner));
            }
            if let Some(check) = f.check {
                let d = field
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                field.insert(
                    "description".into(),
                    json!(format!("{d}. Must be a valid {}", check.label())),
                );
            }
            if rt.unique.iter().any(|k| k.len() == 1 && k[0] == fi) {
                c.insert("unique".into(), json!(true));
            }
            if !c.is_empty() {
                field.insert("constraints".into(), Value::Object(c));
            }
            fields.push(Value::Object(field));
        }
        let mut schema = Map::new();
        schema.insert(
            "name".into(),
            json!(format!("{}-{}", layout.id, rt.code.to_lowercase())),
        );
        schema.insert(
            "title".into(),
            json!(format!("{} — {}", layout.name, rt.name)),
        );
        schema.insert(
            "description".into(),
            json!(format!(
                "Record type {} ({:?}) of layout {} {}. {}",
                rt.code, rt.role, layout.id, layout.version, layout.representative
            )),
        );
        schema.insert("fields".into(), Value::Array(fields));
        if let Some(k) = rt.unique.iter().find(|k| k.len() > 1) {
            schema.insert(
                "primaryKey".into(),
                json!(
                    k.iter()
                        .map(|&i| rt.fields[i].name.clone())
                        .collect::<Vec<_>>()
                ),
            );
        }
        let _ = Role::Detail;
        out.insert(rt.code.clone(), Value::Object(schema));
    }
    out
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn pattern_from_strftime(f: &str) -> String {
    f.replace("%Y", "YYYY")
        .replace("%m", "MM")
        .replace("%d", "DD")
        .replace("%H", "HH")
        .replace("%M", "MI")
        .replace("%S", "SS")
        .replace("%b", "MON")
}

fn number_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// A layout for plain CSV files described by a Table Schema (comma-delimited, UTF-8, a row of
/// column names first).
pub fn layout_from_schema(text: &str, name: &str) -> Result<Layout, SchemaError> {
    let v: Value = serde_json::from_str(text)?;
    let fields = v
        .get("fields")
        .and_then(Value::as_array)
        .ok_or_else(|| SchemaError::Invalid("has no \"fields\" list".into()))?;
    if fields.is_empty() {
        return Err(SchemaError::Invalid("has an empty \"fields\" list".into()));
    }
    let id = v
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(name)
        .to_string();
    let mut t = String::new();
    t.push_str(&format!(
        "id = {}\nname = {}\nversion = \"table-schema\"\n",
        toml_str(&id),
        toml_str(v.get("title").and_then(Value::as_str).unwrap_or(&id))
    ));
    t.push_str(
        "representative = \"Made from a Frictionless Table Schema; not an ESR specification.\"\n",
    );
    t.push_str("delimiter = \",\"\nquote = '\"'\nencoding = \"utf-8\"\nline_ending = \"lf\"\ncolumn_names = true\nfile_name = \"{A|B}\"\n\n[[record]]\ntype = \"ROW\"\nname = \"Row\"\n");
    let mut unique: Vec<Vec<String>> = Vec::new();
    let pk: Vec<String> = match v.get("primaryKey") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    if !pk.is_empty() {
        unique.push(pk.clone());
    }
    let mut body = String::new();
    for f in fields {
        let fname = f
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| SchemaError::Invalid("has a field without a name".into()))?;
        let ftype = f.get("type").and_then(Value::as_str).unwrap_or("string");
        let format = f
            .get("format")
            .and_then(Value::as_str)
            .filter(|x| *x != "default" && *x != "any");
        let c = f.get("constraints").cloned().unwrap_or(Value::Null);
        let max_len = c.get("maxLength").and_then(Value::as_u64);
        let mut line = format!("  {{ name = {}", toml_str(fname));
        let fmt = match ftype {
            "string" | "any" => format!("X({})", max_len.unwrap_or(100_000)),
            "integer" => "N(18)".to_string(),
            "number" => "N(27,9)".to_string(),
            "boolean" => {
                let tv = f
                    .get("trueValues")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                    .and_then(Value::as_str)
                    .unwrap_or("true");
                let fv = f
                    .get("falseValues")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                    .and_then(Value::as_str)
                    .unwrap_or("false");
                format!("flag({tv}/{fv})")
            }
            "date" => format!(
                "date({})",
                format.map_or("YYYY-MM-DD".to_string(), pattern_from_strftime)
            ),
            "datetime" => format!(
                "timestamp({})",
                format.map_or("YYYY-MM-DDTHH:MI:SSZ".to_string(), pattern_from_strftime)
            ),
            "time" => format!(
                "time({})",
                format.map_or("HH:MI:SS".to_string(), pattern_from_strftime)
            ),
            "year" => "L(4)".to_string(),
            other => {
                return Err(SchemaError::Invalid(format!(
                    "field {fname:?} has type {other:?}, which is not supported"
                )));
            }
        };
        line.push_str(&format!(", format = {}", toml_str(&fmt)));
        let required = c.get("required").and_then(Value::as_bool).unwrap_or(false)
            || pk.iter().any(|k| k == fname);
        if required {
            line.push_str(", required = true");
        }
        if let Some(n) = c.get("minLength").and_then(Value::as_u64) {
            line.push_str(&format!(", min_length = {n}"));
        }
        if let Some(p) = c.get("pattern").and_then(Value::as_str) {
            line.push_str(&format!(", pattern = {}", toml_str(p)));
        }
        if let Some(e) = c.get("enum").and_then(Value::as_array) {
            let codes: Vec<String> = e
                .iter()
                .map(|x| toml_str(&x.as_str().map_or_else(|| x.to_string(), str::to_string)))
                .collect();
            line.push_str(&format!(", codes = [{}]", codes.join(", ")));
        }
        if matches!(ftype, "integer" | "number") {
            if let Some(m) = c.get("minimum").and_then(number_text) {
                line.push_str(&format!(", min = {}", toml_str(&m)));
            }
            if let Some(m) = c.get("maximum").and_then(number_text) {
                line.push_str(&format!(", max = {}", toml_str(&m)));
            }
        }
        if c.get("unique").and_then(Value::as_bool).unwrap_or(false) {
            unique.push(vec![fname.to_string()]);
        }
        line.push_str(" },\n");
        body.push_str(&line);
    }
    if !unique.is_empty() {
        let keys: Vec<String> = unique
            .iter()
            .map(|k| {
                format!(
                    "[{}]",
                    k.iter().map(|x| toml_str(x)).collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        t.push_str(&format!("unique = [{}]\n", keys.join(", ")));
    }
    t.push_str("field = [\n");
    t.push_str(&body);
    t.push_str("]\n");
    Ok(Layout::parse(&t, name, LayoutSource::File(name.into()))?)
}
