//! `esr-desk audit`: the access log — who opened, revealed, copied, exported and purged what,
//! and when. Counts and file names only, never a field's value.

use super::Outcome;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `audit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only entries from this date or time on (YYYY-MM-DD, or RFC 3339).
    #[arg(long)]
    pub since: Option<String>,
    /// JSON (an array of entries) instead of lines of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `audit`.
pub fn run(a: Args, db: Option<&Path>) -> Outcome {
    if let Some(s) = &a.since
        && chrono::NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").is_err()
    {
        return super::fail(format!(
            "--since {s:?} is not a date: use YYYY-MM-DD (e.g. 2026-11-01)"
        ));
    }
    let store = super::open_store(db)?;
    let log = store
        .access_log(a.since.as_deref())
        .map_err(super::failed)?;
    if a.json {
        let text = serde_json::to_string_pretty(&log).map_err(super::failed)?;
        super::emit(&format!("{text}\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    for e in &log {
        out.push_str(&format!(
            "{}  {:<12} {:<20} {:<8} {:>8}  {}\n",
            e.at.get(..19).unwrap_or(&e.at).replace('T', " "),
            e.who,
            e.action,
            e.batch.map_or("-".into(), |b| format!("batch {b}")),
            e.count.map_or(String::new(), |c| c.to_string()),
            e.detail.clone().unwrap_or_default()
        ));
    }
    if log.is_empty() {
        out.push_str("the access log is empty\n");
    }
    super::emit(&out)?;
    Ok(ExitCode::SUCCESS)
}
