//! `esr-desk schedule set|list|history` and `esr-desk run-due` (for cron or Windows Task
//! Scheduler: runs whatever is due and exits; 0 when every job ran, 1 when one failed).

use esr_desk::schedule::{
    Cadence, OnRejects, ScheduleSettings, SystemClock, run_due, run_history, save_schedule,
    schedules,
};
use esr_desk::store::Store;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `schedule`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
}

/// Schedule actions.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Create or change an interface's schedule.
    Set {
        /// Interface id.
        interface: String,
        /// When, in UK time: "every 15 min", "hourly at :05", "daily at 01:30", "weekly on Mon at 07:00", "monthly on day 1 at 06:00", "annually on 06/04 at 06:00". Default: the catalogue's frequency.
        #[arg(long)]
        cadence: Option<String>,
        /// Folder where the interface's files arrive.
        #[arg(long)]
        inbox: Option<PathBuf>,
        /// Folder where exports are written.
        #[arg(long)]
        outbox: Option<PathBuf>,
        /// On rejects: hold (default) or valid-rows-only.
        #[arg(long, default_value = "hold")]
        on_rejects: String,
        /// Leave it switched off.
        #[arg(long)]
        disabled: bool,
        /// Check reference rules against the latest stored batch of each referenced
        /// interface at each run (default: report them as not checked).
        #[arg(long)]
        check_references: bool,
        /// Also pull the interface's files from this organisation's NHS Interface Hub (its
        /// Out folder), by VPD code.
        #[arg(long, value_name = "VPD")]
        from_hub: Option<String>,
        /// Deliver clean batches to this organisation's NHS Interface Hub (its In folder).
        #[arg(long, value_name = "VPD")]
        to_hub: Option<String>,
    },
    /// List schedules and when each is next due.
    List,
    /// Run one schedule now, whatever its cadence (same lease, steps and history as run-due).
    Run {
        /// Schedule id (see `schedule list`).
        id: i64,
    },
    /// Recent runs.
    History {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
}

fn open(db: Option<&Path>) -> Result<Store, super::CliError> {
    super::open_store(db)
}

/// Runs `schedule`.
pub fn run(a: Args, db: Option<&Path>) -> super::Outcome {
    let store = open(db)?;
    match a.action {
        Action::Set {
            interface,
            cadence,
            inbox,
            outbox,
            on_rejects,
            disabled,
            check_references,
            from_hub,
            to_hub,
        } => {
            let Some(entry) = esr_desk::catalogue::Catalogue::bundled()
                .get(&interface)
                .cloned()
            else {
                return super::fail(format!("unknown interface {interface:?}"));
            };
            let (default, _) = Cadence::for_frequency(&entry.frequency);
            let cadence = match cadence.map(|c| c.parse::<Cadence>()) {
                None => default,
                Some(Ok(c)) => c,
                Some(Err(e)) => return super::fail(e),
            };
            let on_rejects = match on_rejects.as_str() {
                "hold" => OnRejects::Hold,
                "valid-rows-only" | "valid_rows_only" => OnRejects::ValidRowsOnly,
                other => {
                    return super::fail(format!(
                        "--on-rejects {other:?}: use hold or valid-rows-only"
                    ));
                }
            };
            let settings = ScheduleSettings {
                interface: entry.id.clone(),
                enabled: !disabled,
                cadence,
                inbox,
                outbox,
                on_rejects,
                check_references,
                hub_from: from_hub,
                hub_to: to_hub,
            };
            match save_schedule(&store, &settings, &SystemClock) {
                Ok(s) => {
                    for w in settings.folder_warnings() {
                        eprintln!("esr-desk: warning: {w}");
                    }
                    super::emit(&format!(
                        "{}: {} ({}), next due {}\n",
                        s.interface,
                        s.cadence,
                        if s.enabled { "on" } else { "off" },
                        s.next_due()
                            .with_timezone(&chrono_tz::Europe::London)
                            .format("%d/%m/%Y %H:%M %Z")
                    ))?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => super::fail(e),
            }
        }
        Action::List => match schedules(&store) {
            Ok(list) => {
                // The id first: `schedule run ID` takes it.
                let mut out = String::new();
                if !list.is_empty() {
                    out.push_str(&format!(
                        "{:<4} {:<40} {:<28} {:<4} next\n",
                        "ID", "INTERFACE", "CADENCE", "ON"
                    ));
                }
                for s in list {
                    out.push_str(&format!(
                        "{:<4} {:<40} {:<28} {:<4} next {}  inbox {}  outbox {}{}\n",
                        s.id,
                        s.interface,
                        s.cadence.to_string(),
                        if s.enabled { "on" } else { "off" },
                        s.next_due()
                            .with_timezone(&chrono_tz::Europe::London)
                            .format("%d/%m/%Y %H:%M %Z"),
                        s.inbox
                            .as_ref()
                            .map_or("-".into(), |p| p.display().to_string()),
                        s.outbox
                            .as_ref()
                            .map_or("-".into(), |p| p.display().to_string()),
                        match (&s.hub_from, &s.hub_to) {
                            (None, None) => String::new(),
                            (f, t) => format!(
                                "  hub: from {} to {}",
                                f.as_deref().unwrap_or("-"),
                                t.as_deref().unwrap_or("-")
                            ),
                        }
                    ));
                }
                super::emit(&out)?;
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => super::fail(e),
        },
        Action::Run { id } => {
            let mut store = store;
            run_now_cmd(&mut store, id)
        }
        Action::History { limit } => match run_history(&store, limit) {
            Ok(runs) => {
                let mut out = String::new();
                for r in runs {
                    out.push_str(&format!(
                        "{} {:<40} {:<14} files {} batches {} exports {}\n",
                        r.started_at, r.interface, r.outcome, r.files, r.batches, r.exports
                    ));
                    if let Some(m) = r.message.filter(|m| !m.is_empty()) {
                        for line in m.lines() {
                            out.push_str(&format!("    {line}\n"));
                        }
                    }
                }
                super::emit(&out)?;
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => super::fail(e),
        },
    }
}

/// Runs `run-due`.
pub fn run_due_cmd(db: Option<&Path>) -> super::Outcome {
    let mut store = open(db)?;
    let layouts = super::layouts()?;
    let owner = esr_desk::schedule::lease_owner("run-due");
    let reports = match run_due(&mut store, &layouts, &SystemClock, &owner) {
        Ok(r) => r,
        Err(e) => return super::fail(e),
    };
    // The daily retention purge rides on the same cron or Task Scheduler job.
    match store.purge_if_due(chrono::Utc::now()) {
        Ok(Some(p)) if !p.batches.is_empty() || !p.files.is_empty() => eprintln!(
            "esr-desk: purged {} batch(es) and {} archived file(s) under the retention rules",
            p.batches.len(),
            p.files.len()
        ),
        Ok(_) => {}
        Err(e) => return super::fail(format!("the retention purge failed: {e}")),
    }
    print_reports(&reports)
}

/// Runs `schedule run ID`.
fn run_now_cmd(store: &mut Store, id: i64) -> super::Outcome {
    let layouts = super::layouts()?;
    let owner = esr_desk::schedule::lease_owner("schedule run");
    match esr_desk::schedule::run_now(store, id, &layouts, &SystemClock, &owner) {
        Ok(r) => print_reports(&[r]),
        Err(e) => super::fail(e),
    }
}

fn print_reports(reports: &[esr_desk::schedule::RunReport]) -> super::Outcome {
    let mut out = String::new();
    for r in reports {
        out.push_str(&format!(
            "{}: {} (files {}, batches {}, exports {})\n",
            r.interface, r.outcome, r.files, r.batches, r.exports
        ));
        for line in r.message.lines() {
            out.push_str(&format!("    {line}\n"));
        }
    }
    if reports.is_empty() {
        out.push_str("nothing is due\n");
    }
    super::emit(&out)?;
    if reports
        .iter()
        .any(|r| r.outcome == esr_desk::store::RunOutcome::Failed)
    {
        Ok(ExitCode::from(1))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}
