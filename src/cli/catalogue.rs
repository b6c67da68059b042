//! `esr-desk catalogue [--json]`: every interface of the catalogue.

use esr_desk::catalogue::{Catalogue, Kind};
use std::process::ExitCode;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print a JSON array, one object per interface and sub-interface.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(a: Args) -> super::Outcome {
    let cat = Catalogue::bundled();
    let layouts = super::layouts()?;
    use std::fmt::Write as _;
    let mut out = String::new();
    if a.json {
        // Each interface as the catalogue has it, with its layout's evidence beside it.
        let with_evidence: Vec<serde_json::Value> = cat
            .interfaces
            .iter()
            .map(|i| {
                let mut v = serde_json::to_value(i).unwrap_or_default();
                if let (Some(o), Some(l)) = (v.as_object_mut(), layouts.get(&i.id)) {
                    o.insert("evidence".into(), l.evidence.code().into());
                }
                v
            })
            .collect();
        return match serde_json::to_string_pretty(&with_evidence) {
            Ok(s) => {
                super::emit(&(s + "\n"))?;
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => super::fail(e),
        };
    }
    let _ = writeln!(
        out,
        "{:<42} {:<6} {:<11} {:<11} {:<16} NAME",
        "ID", "KIND", "DIRECTION", "FREQUENCY", "LAYOUT"
    );
    for i in &cat.interfaces {
        let kind = if i.kind == Kind::Api { "API" } else { "batch" };
        let layout = if i.kind == Kind::Api {
            "-"
        } else {
            layouts.get(&i.id).map_or("none", |l| l.evidence.label())
        };
        let mut title = i.title();
        if i.is_decommissioned() {
            title.push_str(" [decommissioned]");
        }
        let _ = writeln!(
            out,
            "{:<42} {:<6} {:<11} {:<11} {:<16} {}",
            i.id,
            kind,
            i.direction.label(),
            i.frequency,
            layout,
            title
        );
    }
    let _ = writeln!(
        out,
        "\n{} interfaces: {} API, {} batch",
        cat.interfaces.len(),
        cat.interfaces.len() - cat.batch().count(),
        cat.batch().count()
    );
    super::emit(&out)?;
    Ok(ExitCode::SUCCESS)
}
