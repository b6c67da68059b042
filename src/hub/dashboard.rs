//! The dashboard: for each interface in use, the last file in and out, when it is next due,
//! whether a daily file is overdue, its sequence state and ESR's rejections outstanding; and
//! the warnings that need an officer (a sequence gap, a transfer that keeps failing). One
//! builder for the window and `esr-desk hub status`.

use crate::catalogue::Catalogue;
use crate::layout::LayoutSet;
use crate::schedule::Cadence;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Europe::London;

/// How late after its usual time a daily file counts as overdue.
pub const GRACE_MINUTES: i64 = 60;

/// One interface's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Interface id.
    pub interface: String,
    /// Its title.
    pub title: String,
    /// Last file in: (when, file name, batch).
    pub last_in: Option<(String, String, i64)>,
    /// Last file out: (when, file name).
    pub last_out: Option<(String, String)>,
    /// Next scheduled run.
    pub next_due: Option<DateTime<Utc>>,
    /// Overdue, in words.
    pub overdue: Option<String>,
    /// Sequence state, in words (latest number, and a gap or repeat standing).
    pub sequence: Option<String>,
    /// True when the sequence state is a gap or a repeat.
    pub sequence_problem: bool,
    /// The gap or repeat standing, in words.
    pub sequence_note: Option<String>,
    /// Organisations (VPD) whose series is out of step and whose extract can be asked for
    /// again in full (a full refresh).
    pub refresh: Vec<String>,
    /// Rows ESR rejected and not yet re-sent, with the batches they belong to.
    pub rejections: Vec<(i64, u64)>,
}

/// The dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dashboard {
    /// Interfaces in use.
    pub lines: Vec<Line>,
    /// What needs an officer, in words.
    pub warnings: Vec<String>,
}

/// An RFC 3339 time from the store in UK time, in `format` (as it was written, if it does not
/// parse).
pub fn uk_time(t: &str, format: &str) -> String {
    DateTime::parse_from_rfc3339(t)
        .map(|d| d.with_timezone(&London).format(format).to_string())
        .unwrap_or_else(|_| t.get(..16).unwrap_or(t).replace('T', " "))
}

fn local(t: &str) -> String {
    uk_time(t, "%d/%m/%Y %H:%M")
}

fn file_name(p: &str) -> String {
    std::path::Path::new(p)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Builds the dashboard at `now`.
pub fn build(
    store: &Store,
    layouts: &LayoutSet,
    now: DateTime<Utc>,
) -> Result<Dashboard, StoreError> {
    let cat = Catalogue::bundled();
    let batches = store.batches(None)?;
    let (schedules, _) = crate::schedule::read_schedules(store).map_err(|e| match e {
        crate::schedule::ScheduleError::Store(s) => s,
        other => StoreError::Table(other.to_string()),
    })?;
    let runs = store.export_runs(None, None)?;
    let mut series = Vec::new();
    for name in store.series()? {
        let layout = name.split('/').next().and_then(|l| layouts.get(l));
        if let Some(st) = super::sequence::state(layout, &store.seen_in_series(&name)?) {
            series.push((layout.map(|l| l.interface.clone()), st));
        }
    }
    let outstanding = store.rejections_outstanding()?;
    let orgs = store.orgs()?;
    let mut ids: Vec<String> = batches.iter().map(|b| b.interface.clone()).collect();
    ids.extend(schedules.iter().map(|s| s.interface.clone()));
    ids.sort();
    ids.dedup();
    let mut d = Dashboard::default();
    for id in ids {
        let title = cat.get(&id).map_or_else(
            || {
                layouts
                    .get(&id)
                    .map_or_else(|| id.clone(), |l| l.name.clone())
            },
            |i| i.title(),
        );
        let last_in = batches
            .iter()
            .filter(|b| b.interface == id)
            .max_by(|a, b| a.imported_at.cmp(&b.imported_at).then(a.id.cmp(&b.id)))
            .map(|b| (b.imported_at.clone(), b.source_name.clone(), b.id));
        let last_out = runs
            .iter()
            .filter(|r| r.interface == id && r.outcome == crate::store::ExportRunOutcome::Ok)
            .max_by(|a, b| a.started_at.cmp(&b.started_at))
            .map(|r| {
                (
                    r.finished_at
                        .clone()
                        .unwrap_or_else(|| r.started_at.clone()),
                    r.path.as_deref().map(file_name).unwrap_or_default(),
                )
            });
        let schedule = schedules.iter().find(|s| s.interface == id);
        let next_due = schedule
            .filter(|s| s.enabled)
            .map(crate::schedule::Schedule::next_due);
        let overdue = schedule
            .filter(|s| s.enabled)
            .and_then(|s| match s.cadence {
                Cadence::Daily(t) => Some(t),
                _ => None,
            })
            .and_then(|t| {
                let today = now.with_timezone(&London).date_naive();
                let due = crate::schedule::local_to_utc(today.and_time(t));
                let seen_today = last_in.as_ref().is_some_and(|(at, _, _)| {
                    DateTime::parse_from_rfc3339(at)
                        .is_ok_and(|x| x.with_timezone(&London).date_naive() == today)
                });
                (now > due + Duration::minutes(GRACE_MINUTES) && !seen_today)
                    .then(|| format!("not in by {}", t.format("%H:%M")))
            });
        let mine: Vec<&super::sequence::SeriesState> = series
            .iter()
            .filter(|(i, _)| i.as_deref() == Some(id.as_str()))
            .map(|(_, st)| st)
            .collect();
        let can_refresh = layouts.of_interface(&id).any(|l| l.full_refresh);
        let mut refresh: Vec<String> = mine
            .iter()
            .filter(|s| can_refresh && s.out_of_step())
            .filter_map(|s| s.latest.series.split('/').nth(1).map(str::to_string))
            .filter(|v| orgs.iter().any(|o| &o.vpd == v && o.hub_url.is_some()))
            .collect();
        refresh.sort();
        refresh.dedup();
        let findings: Vec<String> = mine.iter().filter_map(|s| s.problem()).collect();
        let sequence_problem = !findings.is_empty();
        let sequence = (!mine.is_empty()).then(|| {
            mine.iter()
                .map(|s| {
                    format!(
                        "{}{:0w$}",
                        s.latest
                            .kind
                            .as_deref()
                            .map_or_else(String::new, |k| format!("{k} ")),
                        s.latest.seq,
                        w = s.width
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        });
        let sequence_note = sequence_problem.then(|| findings.join("; "));
        let rejections: Vec<(i64, u64)> = outstanding
            .iter()
            .filter(|(b, _)| batches.iter().any(|x| x.id == *b && x.interface == id))
            .copied()
            .collect();
        if let Some(o) = &overdue {
            d.warnings.push(format!(
                "{title}: no file received today; it usually arrives by {}",
                o.trim_start_matches("not in by ")
            ));
        }
        for st in &mine {
            if let Some(p) = st.problem() {
                d.warnings.push(format!(
                    "{title}: sequence out of step, {p}; the latest is {} (batch {}). Ask ESR for the missing files, or request a full refresh",
                    st.latest.file,
                    st.latest.batch_id.map_or_else(|| "?".into(), |b| b.to_string())
                ));
            }
        }
        for (b, n) in &rejections {
            d.warnings.push(format!(
                "{title}: ESR rejected {n} row{} of batch {b}: re-send them after fixing",
                if *n == 1 { "" } else { "s" }
            ));
        }
        d.lines.push(Line {
            interface: id,
            title,
            last_in,
            last_out,
            next_due,
            overdue,
            sequence,
            sequence_problem,
            sequence_note,
            refresh,
            rejections,
        });
    }
    for t in store.transfers(200)? {
        if t.state != "done"
            && let Some(e) = &t.last_error
        {
            d.warnings.push(format!(
                "hub {} {} of {} stopped at '{}' after {} tr{}: {e}",
                t.vpd,
                if t.way == crate::store::hub::Way::Pull {
                    "download"
                } else {
                    "upload"
                },
                t.remote_name,
                t.state,
                t.attempts,
                if t.attempts == 1 { "y" } else { "ies" }
            ));
        }
    }
    Ok(d)
}

impl Dashboard {
    /// As text for the command line.
    pub fn to_text(&self) -> String {
        let mut out = String::from(
            "interface\tlast in\tlast out\tnext due\toverdue\tsequence\tESR rejections outstanding\n",
        );
        for l in &self.lines {
            out.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                l.interface,
                l.last_in
                    .as_ref()
                    .map(|(at, f, b)| format!("{f} (batch {b}, {})", local(at)))
                    .unwrap_or_else(|| "-".into()),
                l.last_out
                    .as_ref()
                    .map(|(at, f)| format!("{f} ({})", local(at)))
                    .unwrap_or_else(|| "-".into()),
                l.next_due
                    .map(|t| t
                        .with_timezone(&London)
                        .format("%d/%m/%Y %H:%M")
                        .to_string())
                    .unwrap_or_else(|| "-".into()),
                l.overdue.as_deref().unwrap_or("-"),
                match (&l.sequence, &l.sequence_note) {
                    (Some(s), Some(n)) => format!("{s} ({n})"),
                    (Some(s), None) => s.clone(),
                    _ => "-".into(),
                },
                l.rejections.iter().map(|(_, n)| n).sum::<u64>()
            ));
        }
        if !self.warnings.is_empty() {
            out.push_str("\nwarnings:\n");
            for w in &self.warnings {
                out.push_str(&format!("- {w}\n"));
            }
        }
        out
    }
}
