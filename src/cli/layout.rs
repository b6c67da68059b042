//! `esr-desk layout list|show ID|export-schema ID [--out DIR]`: the layouts in use, a layout as
//! a table to compare with the specification, and Frictionless Table Schemas.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `layout`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
}

/// Layout actions.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Every layout in use, with where it comes from.
    List,
    /// One layout as a table: record type, field, ESR notation, required, rules, codes.
    Show {
        /// Layout or interface id.
        id: String,
    },
    /// Write a Frictionless Table Schema (JSON) for each record type of a layout.
    ExportSchema {
        /// Layout or interface id.
        id: String,
        /// Folder to write `<id>.<TYPE>.schema.json` files into (default: print one JSON object).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs `layout`.
pub fn run(a: Args) -> super::Outcome {
    let set = super::layouts()?;
    let get = |id: &str| {
        set.get(id)
            .cloned()
            .ok_or_else(|| super::failed(format!("no layout {id:?}; see `esr-desk layout list`")))
    };
    match a.action {
        Action::List => {
            let mut out = String::new();
            for l in &set.layouts {
                let src = match &l.source {
                    esr_desk::layout::LayoutSource::Bundled => "bundled".to_string(),
                    esr_desk::layout::LayoutSource::File(p) => {
                        format!("trust file {}", p.display())
                    }
                };
                out.push_str(&format!(
                    "{:<42} {:<24} {:<16} {:<24} {}\n",
                    l.id,
                    l.version,
                    l.evidence.label(),
                    l.file_name.text,
                    src
                ));
            }
            super::emit(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Action::Show { id } => {
            let l = get(&id)?;
            let mut out = format!(
                "{} ({}), version {}\nEvidence: {}\n",
                l.name,
                l.id,
                l.version,
                l.evidence.words()
            );
            if !l.representative.is_empty() {
                out.push_str(&format!("{}\n", l.representative));
            }
            if let Some(g) = &l.grounding {
                out.push_str(&format!("{g}\n"));
            }
            for s in &l.sources {
                out.push_str(&format!("Source: {}\n", s.cite()));
            }
            for r in &l.releases {
                out.push_str(&format!(
                    "Also reads {}: {} fields{}\n",
                    r.name,
                    esr_desk::layout::release_counts(&l, r),
                    r.description
                        .as_deref()
                        .map_or_else(String::new, |d| format!(" ({d})"))
                ));
            }
            let tolerant = esr_desk::layout::tolerated_words(&l);
            if !tolerant.is_empty() {
                out.push_str(&format!(
                    "Kept as warnings, exported as received: {}\n",
                    tolerant.join("; ")
                ));
            }
            for r in esr_desk::layout::describe(&l) {
                out.push_str(&format!(
                    "{:<5} {:>3} {:<32} {:<30} {:<3} {:<40} {}\n",
                    r.record_type,
                    r.position,
                    r.field,
                    r.notation,
                    if r.required { "yes" } else { "" },
                    r.rules,
                    r.codes
                ));
            }
            super::emit(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Action::ExportSchema { id, out } => {
            let l = get(&id)?;
            let schemas = esr_desk::tableschema::export(&l);
            match out {
                None => match serde_json::to_string_pretty(&serde_json::Value::Object(schemas)) {
                    Ok(s) => {
                        super::emit(&(s + "\n"))?;
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(e) => super::fail(e),
                },
                Some(dir) => {
                    if let Err(e) = esr_desk::paths::make_dirs(&dir) {
                        return super::fail(format!("could not create {}: {e}", dir.display()));
                    }
                    for (code, schema) in schemas {
                        let path = dir.join(format!("{}.{code}.schema.json", l.id));
                        let text = serde_json::to_string_pretty(&schema).unwrap_or_default();
                        if let Err(e) =
                            esr_desk::paths::atomic_write(&path, (text + "\n").as_bytes())
                        {
                            return super::fail(format!("could not write {}: {e}", path.display()));
                        }
                        eprintln!("wrote {}", path.display());
                    }
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
    }
}
