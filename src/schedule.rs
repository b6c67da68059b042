//! Scheduled runs: pick up, validate and export at each interface's frequency.
//!
//! A schedule belongs to one interface: a cadence in UK local time (Europe/London), an inbox
//! folder where that interface's files arrive, an outbox for exports, and what to do when a
//! file has rejects (hold it for review, or export the valid rows). A run imports every new,
//! settled file in the inbox whose name fits the interface, exports it when clean (or per the
//! policy), and moves the source into `archive/` beside the inbox (it never deletes a file).
//!
//! Two engines share this logic: a thread inside the window ([`spawn_background`]) and
//! `esr-desk run-due` for cron or Windows Task Scheduler. A lease in the store makes sure a
//! schedule never runs twice at once; missed slots are caught up once; one failing schedule
//! never stops the others. The clock is injected ([`Clock`]) so tests never sleep.

use crate::catalogue::Catalogue;
use crate::export::{ExportError, ExportOptions, Trigger, export_batch};
use crate::layout::LayoutSet;
use crate::store::{ImportOptions, Store, StoreError};
use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
    Weekday,
};
use chrono_tz::Europe::London;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The time source. Tests pass a fixed clock; the program uses the system clock.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that says what it is told.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// When a schedule runs, in UK local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// Every n minutes (on the multiples of n past the hour).
    EveryMinutes(u32),
    /// Every hour at this minute.
    Hourly {
        /// Minute past the hour.
        minute: u32,
    },
    /// Every day at a time.
    Daily(NaiveTime),
    /// Every week on a day at a time.
    Weekly(Weekday, NaiveTime),
    /// Every month on a day (the last day in shorter months) at a time.
    Monthly(u32, NaiveTime),
    /// Every year on a date at a time.
    Annually {
        /// Month 1-12.
        month: u32,
        /// Day 1-31.
        day: u32,
        /// Time of day.
        at: NaiveTime,
    },
}

fn hm(t: NaiveTime) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

impl fmt::Display for Cadence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cadence::EveryMinutes(n) => write!(f, "every {n} min"),
            Cadence::Hourly { minute } => write!(f, "hourly at :{minute:02}"),
            Cadence::Daily(t) => write!(f, "daily at {}", hm(*t)),
            Cadence::Weekly(d, t) => write!(f, "weekly on {d} at {}", hm(*t)),
            Cadence::Monthly(d, t) => write!(f, "monthly on day {d} at {}", hm(*t)),
            Cadence::Annually { month, day, at } => {
                write!(f, "annually on {day:02}/{month:02} at {}", hm(*at))
            }
        }
    }
}

/// Errors in schedules.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// A cadence that does not parse.
    #[error(
        "cadence {0:?} is not understood: use e.g. \"every 15 min\", \"hourly at :05\", \"daily at 01:30\", \"weekly on Mon at 07:00\", \"monthly on day 1 at 06:00\", \"annually on 31/05 at 23:00\""
    )]
    Cadence(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// SQLite failed.
    #[error("the store could not be read or written: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// No layout for the interface.
    #[error("interface {0:?} has no layout, so its files cannot be picked up")]
    NoLayout(String),
    /// Unknown interface.
    #[error("unknown interface {0:?}")]
    UnknownInterface(String),
    /// A hub step failed or the hub is not set up.
    #[error("{0}")]
    Hub(String),

    /// A folder problem.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Cause.
        source: std::io::Error,
    },
}

impl std::str::FromStr for Cadence {
    type Err = ScheduleError;
    fn from_str(s: &str) -> Result<Self, ScheduleError> {
        let bad = || ScheduleError::Cadence(s.to_string());
        let t = s.trim().to_lowercase();
        let time = |x: &str| NaiveTime::parse_from_str(x.trim(), "%H:%M").map_err(|_| bad());
        let words: Vec<&str> = t.split_whitespace().collect();
        match words.as_slice() {
            ["every", n, "min" | "mins" | "minutes" | "minute"] => {
                let n: u32 = n.parse().map_err(|_| bad())?;
                if (1..=720).contains(&n) {
                    Ok(Cadence::EveryMinutes(n))
                } else {
                    Err(bad())
                }
            }
            ["hourly", "at", m] => {
                let m: u32 = m.trim_start_matches(':').parse().map_err(|_| bad())?;
                if m < 60 {
                    Ok(Cadence::Hourly { minute: m })
                } else {
                    Err(bad())
                }
            }
            ["daily", "at", x] => Ok(Cadence::Daily(time(x)?)),
            ["weekly", "on", d, "at", x] => Ok(Cadence::Weekly(
                d.parse::<Weekday>().map_err(|_| bad())?,
                time(x)?,
            )),
            ["monthly", "on", "day", d, "at", x] => {
                let d: u32 = d.parse().map_err(|_| bad())?;
                if (1..=31).contains(&d) {
                    Ok(Cadence::Monthly(d, time(x)?))
                } else {
                    Err(bad())
                }
            }
            ["annually", "on", dm, "at", x] => {
                let (d, m) = dm.split_once('/').ok_or_else(bad)?;
                let (day, month): (u32, u32) =
                    (d.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
                NaiveDate::from_ymd_opt(2024, month, day).ok_or_else(bad)?;
                Ok(Cadence::Annually {
                    month,
                    day,
                    at: time(x)?,
                })
            }
            _ => Err(bad()),
        }
    }
}

impl Cadence {
    /// The default cadence for a catalogue frequency, and whether it should start enabled.
    pub fn for_frequency(frequency: &str) -> (Cadence, bool) {
        let six = NaiveTime::from_hms_opt(6, 0, 0).unwrap_or_default();
        match frequency {
            "15 min" => (Cadence::EveryMinutes(15), true),
            "hourly" => (Cadence::Hourly { minute: 0 }, true),
            "daily" => (Cadence::Daily(six), true),
            "weekly" => (Cadence::Weekly(Weekday::Mon, six), true),
            "monthly" => (Cadence::Monthly(1, six), true),
            "annual" => (
                Cadence::Annually {
                    month: 4,
                    day: 6,
                    at: six,
                },
                true,
            ),
            "real time" => (Cadence::EveryMinutes(5), true),
            _ => (Cadence::Daily(six), false),
        }
    }

    /// The first run time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> DateTime<Utc> {
        match *self {
            Cadence::EveryMinutes(n) => {
                // UK offsets are whole hours, so multiples of n past the hour agree in UTC and local time.
                let secs = i64::from(n) * 60;
                let t = after.timestamp();
                let next = (t.div_euclid(secs) + 1) * secs;
                DateTime::from_timestamp(next, 0).unwrap_or(after)
            }
            Cadence::Hourly { minute } => {
                let base = after
                    .with_minute(minute)
                    .and_then(|t| t.with_second(0))
                    .and_then(|t| t.with_nanosecond(0))
                    .unwrap_or(after);
                if base > after {
                    base
                } else {
                    base + Duration::hours(1)
                }
            }
            _ => {
                let local = after.with_timezone(&London).date_naive();
                for d in 0..(366 * 2 + 2) {
                    let day = local + Duration::days(d - 1);
                    if let Some((date, at)) = self.slot_on(day) {
                        let t = local_to_utc(date.and_time(at));
                        if t > after {
                            return t;
                        }
                    }
                }
                after + Duration::days(1)
            }
        }
    }

    /// The local date and time this cadence runs on `day`, if it runs that day.
    fn slot_on(&self, day: NaiveDate) -> Option<(NaiveDate, NaiveTime)> {
        match *self {
            Cadence::Daily(t) => Some((day, t)),
            Cadence::Weekly(w, t) => (day.weekday() == w).then_some((day, t)),
            Cadence::Monthly(d, t) => {
                let last = last_day_of_month(day);
                (day.day() == d.min(last)).then_some((day, t))
            }
            Cadence::Annually { month, day: d, at } => {
                let last = last_day_of_month(day);
                (day.month() == month && day.day() == d.min(last)).then_some((day, at))
            }
            _ => None,
        }
    }
}

fn last_day_of_month(d: NaiveDate) -> u32 {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|n| n.pred_opt())
        .map_or(28, |n| n.day())
}

/// A UK local time as UTC: on the autumn change the first of the two instants; in the spring gap
/// the same wall-clock time an hour later (01:30 becomes 02:30 BST), so a slot is never lost.
pub fn local_to_utc(t: NaiveDateTime) -> DateTime<Utc> {
    match London.from_local_datetime(&t).earliest() {
        Some(x) => x.with_timezone(&Utc),
        None => London
            .from_local_datetime(&(t + Duration::hours(1)))
            .earliest()
            .map_or_else(|| Utc.from_utc_datetime(&t), |x| x.with_timezone(&Utc)),
    }
}

/// What to do with a file that has rejects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnRejects {
    /// Keep the batch for review in the app (the default).
    Hold,
    /// Export the valid rows and hold the rejected ones back.
    ValidRowsOnly,
}

impl OnRejects {
    fn as_str(self) -> &'static str {
        match self {
            OnRejects::Hold => "hold",
            OnRejects::ValidRowsOnly => "valid_rows_only",
        }
    }
}

/// A schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Id.
    pub id: i64,
    /// Interface id.
    pub interface: String,
    /// Runs when due.
    pub enabled: bool,
    /// When.
    pub cadence: Cadence,
    /// Where files arrive.
    pub inbox: Option<PathBuf>,
    /// Where exports go.
    pub outbox: Option<PathBuf>,
    /// What to do on rejects.
    pub on_rejects: OnRejects,
    /// Check reference rules against the latest stored batch of each referenced interface,
    /// as it is when the run starts (false: report them as not checked).
    pub check_references: bool,
    /// The last run's start, if any.
    pub last_run_at: Option<DateTime<Utc>>,
    /// When the schedule was made.
    pub created_at: DateTime<Utc>,
    /// When its inbox was last looked at (runs that found nothing leave no history row).
    pub last_checked_at: Option<DateTime<Utc>>,
    /// Pull the interface's files from this organisation's hub (`Out`) too.
    pub hub_from: Option<String>,
    /// Deliver clean batches to this organisation's hub (`In`).
    pub hub_to: Option<String>,
}

impl Schedule {
    /// When it is next due.
    pub fn next_due(&self) -> DateTime<Utc> {
        self.cadence
            .next_after(self.last_run_at.unwrap_or(self.created_at))
    }

    /// True when enabled and due at `now`.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.enabled && self.next_due() <= now
    }
}

fn parse_time(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Settings for `save_schedule`.
#[derive(Debug, Clone)]
pub struct ScheduleSettings {
    /// Interface id.
    pub interface: String,
    /// Runs when due.
    pub enabled: bool,
    /// When.
    pub cadence: Cadence,
    /// Inbox.
    pub inbox: Option<PathBuf>,
    /// Outbox.
    pub outbox: Option<PathBuf>,
    /// Rejects policy.
    pub on_rejects: OnRejects,
    /// Check references against the latest batch of each referenced interface.
    pub check_references: bool,
    /// Pull from this organisation's hub.
    pub hub_from: Option<String>,
    /// Deliver to this organisation's hub.
    pub hub_to: Option<String>,
}

/// Creates or updates the schedule of an interface.
pub fn save_schedule(
    store: &Store,
    s: &ScheduleSettings,
    clock: &dyn Clock,
) -> Result<Schedule, ScheduleError> {
    if Catalogue::bundled().get(&s.interface).is_none() {
        return Err(ScheduleError::UnknownInterface(s.interface.clone()));
    }
    for vpd in [&s.hub_from, &s.hub_to].into_iter().flatten() {
        crate::hub::Org::get(store, vpd)
            .and_then(|o| o.hub().map(|_| ()))
            .map_err(|e| ScheduleError::Hub(e.to_string()))?;
    }
    store.upsert_schedule(&crate::store::schedules::ScheduleRow {
        id: 0,
        interface: s.interface.clone(),
        enabled: s.enabled,
        cadence: s.cadence.to_string(),
        inbox: s.inbox.as_ref().map(|p| p.display().to_string()),
        outbox: s.outbox.as_ref().map(|p| p.display().to_string()),
        on_rejects: s.on_rejects.as_str().to_string(),
        last_run_at: None,
        created_at: Some(time_text(clock.now())),
        check_references: s.check_references,
        last_checked_at: None,
        hub_from: s.hub_from.as_deref().map(str::to_ascii_uppercase),
        hub_to: s.hub_to.as_deref().map(str::to_ascii_uppercase),
    })?;
    schedules(store)?
        .into_iter()
        .find(|x| x.interface == s.interface)
        .ok_or_else(|| ScheduleError::UnknownInterface(s.interface.clone()))
}

impl ScheduleSettings {
    /// What is wrong with the schedule's folders, checked when it is saved rather than
    /// discovered at its first run: an inbox that does not exist (no file can arrive), an
    /// outbox that does not exist (made at the first export), an inbox used as the outbox.
    pub fn folder_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(d) = &self.inbox
            && !d.is_dir()
        {
            out.push(format!(
                "the inbox folder {} does not exist: no file can arrive until it does",
                d.display()
            ));
        }
        if let Some(d) = &self.outbox
            && !d.is_dir()
        {
            out.push(format!(
                "the outbox folder {} does not exist yet: it will be made at the first export",
                d.display()
            ));
        }
        if self.inbox.is_some() && self.inbox == self.outbox {
            out.push("the inbox and the outbox are the same folder: exports would be picked up as new files".into());
        }
        if self.enabled && self.inbox.is_none() && self.hub_from.is_none() {
            out.push("no inbox folder or hub is set: the schedule has nothing to pick up".into());
        }
        out
    }
}

/// Every schedule that can be read (see [`read_schedules`] for those that cannot).
pub fn schedules(store: &Store) -> Result<Vec<Schedule>, ScheduleError> {
    Ok(read_schedules(store)?.0)
}

/// A saved schedule that cannot be read (its cadence does not parse), by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// Schedule id.
    pub id: i64,
    /// Interface.
    pub interface: String,
    /// Why.
    pub why: String,
}

/// Every schedule: those that can be read, and those that cannot (one bad row never hides
/// the others).
pub fn read_schedules(store: &Store) -> Result<(Vec<Schedule>, Vec<Unreadable>), ScheduleError> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for row in store.schedule_rows()? {
        let crate::store::schedules::ScheduleRow {
            id,
            interface,
            enabled,
            cadence,
            inbox,
            outbox,
            on_rejects,
            last_run_at: last,
            created_at: created,
            check_references: refs,
            last_checked_at: checked,
            hub_from,
            hub_to,
        } = row;
        let cadence = match cadence.parse::<Cadence>() {
            Ok(c) => c,
            Err(e) => {
                bad.push(Unreadable {
                    id,
                    interface,
                    why: format!("its cadence {cadence:?} cannot be read: {e}"),
                });
                continue;
            }
        };
        out.push(Schedule {
            id,
            interface,
            enabled,
            cadence,
            inbox: inbox.map(PathBuf::from),
            outbox: outbox.map(PathBuf::from),
            on_rejects: if on_rejects == "valid_rows_only" {
                OnRejects::ValidRowsOnly
            } else {
                OnRejects::Hold
            },
            check_references: refs,
            last_run_at: parse_time(last),
            created_at: parse_time(created).unwrap_or(DateTime::<Utc>::MIN_UTC),
            last_checked_at: parse_time(checked),
            hub_from,
            hub_to,
        });
    }
    Ok((out, bad))
}

/// How long a lease lasts without a heartbeat; a run renews it after every file, so a run
/// that dies holding one frees it after this.
pub const LEASE_MINUTES: i64 = 3;

/// A lease owner unique to this process, thread and call: two engines in one process (the
/// window's scheduler and "Run due now") never share one.
pub fn lease_owner(face: &str) -> String {
    format!(
        "{face} (process {}, {:?}, #{:08x})",
        std::process::id(),
        std::thread::current().id(),
        fastrand::u32(..)
    )
}

/// Renews the lease `owner` holds (the heartbeat of a run).
pub fn renew_lease(
    store: &Store,
    schedule: i64,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<(), ScheduleError> {
    Ok(store.renew_lease(
        schedule,
        owner,
        &time_text(now + Duration::minutes(LEASE_MINUTES)),
    )?)
}

/// Who holds a schedule's lease and until when, if anyone.
pub fn lease_holder(
    store: &Store,
    schedule: i64,
) -> Result<Option<(String, DateTime<Utc>)>, ScheduleError> {
    Ok(store
        .lease(schedule)?
        .and_then(|(o, until)| parse_time(until).map(|u| (o, u))))
}

/// Marks as interrupted the runs of a schedule that started and never finished, once no
/// living run holds its lease. Returns how many.
fn mark_interrupted(
    store: &Store,
    schedule: i64,
    now: DateTime<Utc>,
) -> Result<usize, ScheduleError> {
    Ok(store.mark_runs_interrupted(
        schedule,
        &time_text(now),
        "interrupted: the run stopped before it finished (the program was closed or killed); its files were picked up again by a later run",
    )?)
}

/// Takes the schedule's lease for `owner`; false when someone else holds it.
pub fn acquire_lease(
    store: &Store,
    schedule: i64,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<bool, ScheduleError> {
    Ok(store.take_lease(
        schedule,
        owner,
        &time_text(now + Duration::minutes(LEASE_MINUTES)),
        &time_text(now),
    )?)
}

/// The schedule's run lock on this computer, when no other process holds it: held for the
/// length of a run (None: a live process runs the schedule now).
fn run_lock(store: &Store, schedule: i64) -> Result<Option<std::fs::File>, ScheduleError> {
    let dir = store.dir().join("locks");
    let path = dir.join(format!("schedule-{schedule}.lock"));
    let ctx = || format!("the run lock {}", path.display());
    crate::paths::private_dir(&dir).map_err(io(ctx()))?;
    let f = crate::paths::private_file(&path).map_err(io(ctx()))?;
    match f.try_lock() {
        Ok(()) => {
            crate::paths::hold_note(&f, &format!("a run of schedule {schedule}"));
            Ok(Some(f))
        }
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(io(ctx())(e)),
    }
}

/// Gives the lease back.
pub fn release_lease(store: &Store, schedule: i64, owner: &str) -> Result<(), ScheduleError> {
    Ok(store.release_lease(schedule, owner)?)
}

/// What one schedule's run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// Schedule.
    pub schedule: i64,
    /// Interface.
    pub interface: String,
    /// ok / held / failed / nothing to do / skipped.
    pub outcome: crate::store::RunOutcome,
    /// Files picked up.
    pub files: u64,
    /// Batches made.
    pub batches: u64,
    /// Exports written.
    pub exports: u64,
    /// What happened, in words.
    pub message: String,
}

impl RunReport {
    /// The run in a line or two for the window: its interface, how it ended and what it
    /// said.
    pub fn summary(&self) -> String {
        if self.message.is_empty() {
            format!("{}: {}", self.interface, self.outcome)
        } else {
            format!(
                "{}: {} — {}",
                self.interface,
                self.outcome,
                self.message.lines().collect::<Vec<_>>().join("; ")
            )
        }
    }
}

/// A file counts as settled when it has not been modified for this long.
pub const SETTLE_SECONDS: i64 = 60;

/// "2 files are waiting 1 minute in case they are still being written (A, B); they are taken
/// by the first run from 10:42": the files an inbox holds that a run left to settle, and when
/// they will be taken.
fn settling_note(settling: &[(String, DateTime<Utc>)], clock: &dyn Clock) -> String {
    let from = settling
        .iter()
        .map(|(_, t)| *t)
        .max()
        .unwrap_or_else(|| clock.now());
    let names: Vec<&str> = settling.iter().map(|(n, _)| n.as_str()).collect();
    let when = from.with_timezone(&London).format("%H:%M:%S");
    let wait = if SETTLE_SECONDS % 60 == 0 {
        let m = SETTLE_SECONDS / 60;
        format!("{m} minute{}", if m == 1 { "" } else { "s" })
    } else {
        format!("{SETTLE_SECONDS} seconds")
    };
    format!(
        "{} file{} {} waiting {wait} in case {} still being written ({}); {} taken by the first run from {when}",
        settling.len(),
        if settling.len() == 1 { "" } else { "s" },
        if settling.len() == 1 { "is" } else { "are" },
        if settling.len() == 1 {
            "it is"
        } else {
            "they are"
        },
        names.join(", "),
        if settling.len() == 1 {
            "it is"
        } else {
            "they are"
        },
    )
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> ScheduleError {
    move |source| ScheduleError::Io { context, source }
}

fn archive(file: &Path, inbox: &Path) -> Result<PathBuf, ScheduleError> {
    let dir = inbox.join("archive");
    // The archive keeps staff data: the owner's alone, as are the files moved into it.
    crate::paths::private_dir(&dir).map_err(io(format!("could not create {}", dir.display())))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut target = dir.join(&name);
    let mut k = 1;
    while target.exists() {
        target = dir.join(format!("{name}.{k}"));
        k += 1;
    }
    std::fs::rename(file, &target).map_err(io(format!(
        "could not move {} to the archive",
        file.display()
    )))?;
    crate::paths::make_private(&target)
        .map_err(io(format!("could not make {} private", target.display())))?;
    Ok(target)
}

/// Runs one schedule now (its lease must be held). Records the run in the history.
pub fn run_schedule(
    store: &mut Store,
    s: &Schedule,
    layouts: &LayoutSet,
    clock: &dyn Clock,
    owner: &str,
) -> Result<RunReport, ScheduleError> {
    run_schedule_until(store, s, layouts, clock, owner, &AtomicBool::new(false))
}

/// [`run_schedule`] that stops at its next step once `halt` is set.
fn run_schedule_until(
    store: &mut Store,
    s: &Schedule,
    layouts: &LayoutSet,
    clock: &dyn Clock,
    owner: &str,
    halt: &AtomicBool,
) -> Result<RunReport, ScheduleError> {
    let started = clock.now();
    let mut report = RunReport {
        schedule: s.id,
        interface: s.interface.clone(),
        outcome: crate::store::RunOutcome::NothingToDo,
        files: 0,
        batches: 0,
        exports: 0,
        message: String::new(),
    };
    // The run enters the history when it takes on its first file (a killed run is then found
    // as interrupted); a check that finds nothing leaves only the schedule's "last checked".
    let mut ctl = RunCtl { halt, id: None };
    let result = run_inner(store, s, layouts, clock, owner, &mut report, &mut ctl);
    let run_id = ctl.id;
    if let Err(e) = &result {
        report.outcome = crate::store::RunOutcome::Failed;
        report.message = e.to_string();
    }
    let end = crate::store::schedules::RunEnd {
        files: report.files,
        batches: report.batches,
        exports: report.exports,
        outcome: report.outcome,
        message: &report.message,
    };
    let run = match run_id {
        Some(id) => Some(id),
        // A failure before any file is worth a row of its own.
        None if report.outcome == crate::store::RunOutcome::Failed => {
            Some(store.start_schedule_run(s.id, &time_text(started), &format!("run by {owner}"))?)
        }
        None => None,
    };
    match run {
        Some(id) => store.finish_schedule_run(
            id,
            s.id,
            &time_text(started),
            &time_text(clock.now()),
            end,
        )?,
        None => store.schedule_checked(s.id, &time_text(started), &time_text(clock.now()))?,
    }
    Ok(report)
}

/// A run under way: the flag that stops it, and its history row once it has one.
struct RunCtl<'a> {
    halt: &'a AtomicBool,
    id: Option<i64>,
}

fn run_inner(
    store: &mut Store,
    s: &Schedule,
    layouts: &LayoutSet,
    clock: &dyn Clock,
    owner: &str,
    report: &mut RunReport,
    ctl: &mut RunCtl<'_>,
) -> Result<(), ScheduleError> {
    let halt = ctl.halt;
    let started = clock.now();
    let layout = layouts
        .get(&s.interface)
        .ok_or_else(|| ScheduleError::NoLayout(s.interface.clone()))?
        .clone();
    let mut notes = Vec::new();
    let mut held = 0;
    let mut failed = 0;
    let mut halted = false;
    // Files left to settle (name, from when they may be taken), and files imported before.
    let mut settling: Vec<(String, DateTime<Utc>)> = Vec::new();
    let mut already = 0u64;
    if let Some(vpd) = &s.hub_from
        && !halt.load(Ordering::SeqCst)
    {
        let mut tally = Tally {
            notes: &mut notes,
            held: &mut held,
            failed: &mut failed,
            report,
        };
        pull_from_hub(
            store, s, layouts, clock, owner, vpd, ctl, started, &mut tally,
        )?;
    }
    if s.inbox.is_none() && s.hub_from.is_none() {
        notes.push("no inbox folder is set".into());
    }
    // What a killed run left in the outbox goes before anything is written there.
    if let Some(outbox) = &s.outbox {
        crate::export::clean_orphans(outbox);
    }
    // Batches an earlier run imported and could not deliver come first.
    for (batch, source) in store.due_batches(s.id)? {
        if halt.load(Ordering::SeqCst) {
            halted = true;
            break;
        }
        take_on(store, s, ctl, started, owner, clock)?;
        report.files += 1;
        let name = format!("{source} (batch {batch}, imported by an earlier run)");
        let mut tally = Tally {
            notes: &mut notes,
            held: &mut held,
            failed: &mut failed,
            report,
        };
        let settled = deliver(store, s, batch, &name, clock, &mut tally)?;
        settle(store, batch, &settled)?;
    }
    if let Some(inbox) = &s.inbox
        && !halted
    {
        let entries = std::fs::read_dir(inbox)
            .map_err(io(format!("could not read the inbox {}", inbox.display())))?;
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .filter(|p| {
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .is_some_and(|n| {
                        // The interface's own files, and workbooks (a spreadsheet dropped in the
                        // interface's inbox is read with its saved mapping).
                        !n.starts_with('.')
                            && (layouts
                                .of_interface(&s.interface)
                                .any(|l| l.file_name.matches(&n))
                                || crate::workbook::is_workbook(p))
                    })
            })
            .collect();
        files.sort();
        for file in files {
            if halt.load(Ordering::SeqCst) {
                halted = true;
                break;
            }
            let meta = std::fs::metadata(&file)
                .map_err(io(format!("could not read {}", file.display())))?;
            let modified: DateTime<Utc> = meta
                .modified()
                .map(DateTime::<Utc>::from)
                .unwrap_or(started_epoch());
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if (clock.now() - modified).num_seconds() < SETTLE_SECONDS {
                let from = modified + chrono::Duration::seconds(SETTLE_SECONDS);
                settling.push((name, from));
                continue;
            }
            // For an interface with a layout each way, the one whose file name this fits.
            let layout = layouts
                .for_file(&s.interface, &name)
                .unwrap_or(&layout)
                .clone();
            report.files += 1;
            take_on(store, s, ctl, started, owner, clock)?;
            let against = if s.check_references {
                let mut ids = Vec::new();
                for r in crate::validate::reference_rules(&layout) {
                    match store.latest_batch(&r.interface)? {
                        Some(b) if !ids.contains(&b) => ids.push(b),
                        Some(_) => {}
                        None => notes.push(format!(
                            "{name}: no {} batch is stored yet to check references against",
                            r.interface
                        )),
                    }
                }
                ids
            } else {
                Vec::new()
            };
            // A workbook is read with the sheet and mapping saved for it (else by column names).
            let made = if crate::workbook::is_workbook(&file) {
                match store.prepare_table(&file, &layout, crate::mapping::ReadChoice::default()) {
                    Ok(p) => Some(crate::store::Made {
                        converted: p.converted,
                        from: p.from,
                    }),
                    Err(e) => {
                        failed += 1;
                        notes.push(format!(
                            "{name}: could not be read: {e}; left in the inbox (map its columns once in the window, or save a mapping with `esr-desk mapping save`)"
                        ));
                        continue;
                    }
                }
            } else {
                None
            };
            let imported = store.import(
                &file,
                &layout,
                ImportOptions {
                    against,
                    cancel: Some(halt),
                    made,
                    ..ImportOptions::default()
                },
            );
            let (batch_id, unchecked) = match imported {
                Ok(o) => {
                    report.batches += 1;
                    (o.batch_id, o.unchecked)
                }
                Err(StoreError::Duplicate { existing, .. }) => {
                    // Imported before. From this inbox and never exported nor held: an earlier
                    // run stopped between the import and the export, so this run finishes its
                    // work on that batch (the import is not repeated). Otherwise it is done.
                    let info = store.batch(existing)?;
                    let ours = info.source_path == file.display().to_string();
                    // Delivered already (a valid-rows export leaves the batch's status as it was):
                    // the export history says so, and a file is never delivered twice.
                    let delivered = store
                        .export_runs(Some(existing), None)?
                        .iter()
                        .any(|r| r.outcome == crate::store::ExportRunOutcome::Ok);
                    let unfinished = (!delivered
                        && matches!(
                            info.status,
                            crate::store::BatchStatus::Clean | crate::store::BatchStatus::Rejects
                        ))
                        || hub_pending(store, s, existing)?;
                    if ours && unfinished {
                        notes.push(format!(
                            "{name}: resuming batch {existing}, imported by a run that did not finish"
                        ));
                        (existing, Vec::new())
                    } else {
                        // The same bytes again: a decision the officer sees in the history,
                        // never an "ok" run that exported nothing.
                        archive(&file, inbox)?;
                        already += 1;
                        notes.push(format!(
                            "{name}: the same file was imported before as batch {existing} ({}); archived and not exported again. To send it again, open batch {existing} and export it",
                            info.status_words().to_lowercase()
                        ));
                        continue;
                    }
                }
                Err(StoreError::Cancelled) => {
                    report.files -= 1;
                    halted = true;
                    notes.push(format!(
                        "{name}: not imported, the window was closed; left in the inbox for the next run"
                    ));
                    break;
                }
                Err(e) => {
                    failed += 1;
                    notes.push(format!(
                        "{name}: could not be imported: {e}; left in the inbox"
                    ));
                    continue;
                }
            };
            for u in &unchecked {
                notes.push(format!("{name}: warning: {}", u.message()));
            }
            // A numbered extract: its place in its series (recorded once per file).
            if let Some(f) =
                crate::hub::sequence::observe(store, &layout, &name, Some(batch_id), None)?
            {
                notes.push(format!("{name}: sequence: {f}"));
            }
            crate::failpoint::hit("schedule.imported");
            // From here the store owes the batch its delivery: the source file can go to
            // the archive, and a run that fails from now on leaves the batch due, never
            // hidden.
            store.mark_due(s.id, batch_id, &name)?;
            crate::failpoint::hit("schedule.due");
            archive(&file, inbox)?;
            let mut tally = Tally {
                notes: &mut notes,
                held: &mut held,
                failed: &mut failed,
                report,
            };
            let settled = deliver(store, s, batch_id, &name, clock, &mut tally)?;
            settle(store, batch_id, &settled)?;
            crate::failpoint::hit("schedule.delivered");
            tracing::info!(
                schedule = s.id,
                batch = batch_id,
                file = report.files,
                "file taken on and archived"
            );
        }
    }
    if !settling.is_empty() {
        notes.push(settling_note(&settling, clock));
    }
    report.outcome = if halted {
        crate::store::RunOutcome::Interrupted
    } else if failed > 0 {
        crate::store::RunOutcome::Failed
    } else if held > 0 {
        crate::store::RunOutcome::Held
    } else if report.files > 0 && already == report.files && report.batches == 0 {
        crate::store::RunOutcome::AlreadyImported
    } else if report.files > 0 {
        crate::store::RunOutcome::Ok
    } else if !settling.is_empty() {
        crate::store::RunOutcome::Waiting
    } else {
        crate::store::RunOutcome::NothingToDo
    };
    report.message = notes.join("\n");
    Ok(())
}

/// Pulls the interface's new files from the organisation's hub and takes each on like an
/// inbox file (export, deliver or hold), then marks its transfer done. Files an earlier run
/// pulled and did not finish are finished first; a hub that cannot be reached fails this
/// part of the run only, and the next run tries again.
#[allow(clippy::too_many_arguments)]
fn pull_from_hub(
    store: &mut Store,
    s: &Schedule,
    layouts: &LayoutSet,
    clock: &dyn Clock,
    owner: &str,
    vpd: &str,
    ctl: &mut RunCtl<'_>,
    started: DateTime<Utc>,
    t: &mut Tally<'_>,
) -> Result<(), ScheduleError> {
    let opts = crate::hub::transfer::HubOptions {
        interface: Some(&s.interface),
        trigger: Some(Trigger::Scheduled),
        ..crate::hub::transfer::HubOptions::default()
    };
    let pulled = crate::hub::Org::get(store, vpd)
        .and_then(|org| crate::hub::transfer::pull(store, layouts, &org, &opts));
    let report = match pulled {
        Ok(r) => r,
        Err(e) => {
            *t.failed += 1;
            t.notes.push(format!(
                "hub {vpd}: {e}; nothing was lost: the next run tries again"
            ));
            return Ok(());
        }
    };
    for (name, why) in &report.failed {
        *t.failed += 1;
        t.notes.push(format!(
            "{name} (hub {vpd}): {why}; the next run tries again"
        ));
    }
    for p in report.pulled {
        take_on(store, s, ctl, started, owner, clock)?;
        t.report.files += 1;
        t.report.batches += 1;
        let name = format!("{} (hub {vpd})", p.name);
        t.notes
            .push(format!("{name}: imported as batch {}", p.batch));
        for n in &p.notes {
            t.notes.push(format!("{name}: {n}"));
        }
        let answer = layouts
            .get(&p.layout_id)
            .is_some_and(|l| l.answer.is_some());
        let settled = if answer {
            Settled::Done
        } else {
            deliver(store, s, p.batch, &name, clock, t)?
        };
        // A pulled file is finished once delivered; one that waits is offered again by the
        // next run's pull (its transfer stays at "imported").
        if settled == Settled::Done {
            crate::hub::transfer::finish_pull(store, p.transfer)
                .map_err(|e| ScheduleError::Hub(e.to_string()))?;
        }
    }
    Ok(())
}

/// A run takes on a file: it enters the history with its first (a killed run is then found
/// as interrupted), and renews its lease (the heartbeat) with each.
fn take_on(
    store: &Store,
    s: &Schedule,
    ctl: &mut RunCtl<'_>,
    started: DateTime<Utc>,
    owner: &str,
    clock: &dyn Clock,
) -> Result<(), ScheduleError> {
    if ctl.id.is_none() {
        ctl.id = Some(store.start_schedule_run(
            s.id,
            &time_text(started),
            &format!("run by {owner}"),
        )?);
    }
    renew_lease(store, s.id, owner, clock.now())
}

/// What a run has found so far, for [`deliver`] to add to.
struct Tally<'a> {
    notes: &'a mut Vec<String>,
    held: &'a mut u32,
    failed: &'a mut u32,
    report: &'a mut RunReport,
}

/// True when a batch was exported into `outbox` before (by a run that did not finish).
fn exported_to(store: &Store, batch: i64, outbox: &Path) -> Result<bool, ScheduleError> {
    Ok(store
        .export_runs(Some(batch), None)?
        .iter()
        .filter(|r| r.outcome == crate::store::ExportRunOutcome::Ok)
        .filter_map(|r| r.path.as_deref())
        .any(|p| Path::new(p).parent() == Some(outbox)))
}

/// True when the schedule delivers to a hub and this batch, ready to go, is not delivered
/// there yet.
fn hub_pending(store: &mut Store, s: &Schedule, batch: i64) -> Result<bool, ScheduleError> {
    if s.hub_to.is_none() {
        return Ok(false);
    }
    if store.push_of(batch)?.is_some_and(|t| t.state == "done") {
        return Ok(false);
    }
    let ready =
        crate::export::readiness(store, batch).map_err(|e| ScheduleError::Hub(e.to_string()))?;
    Ok(ready.is_ready())
}

/// Takes a batch on from its import: exports it to the outbox when it may go (once: an export
/// made by a run that did not finish stands), delivers it to the hub when the schedule says
/// so (exactly once, see `hub::transfer`), or holds it for review, saying why.
fn deliver(
    store: &mut Store,
    s: &Schedule,
    batch_id: i64,
    name: &str,
    clock: &dyn Clock,
    t: &mut Tally<'_>,
) -> Result<Settled, ScheduleError> {
    let mut settled = Settled::Done;
    let ready = crate::export::readiness(store, batch_id).map_err(|e| ScheduleError::Io {
        context: name.to_string(),
        source: std::io::Error::other(e.to_string()),
    })?;
    // File-level problems (the received trailer, the file's structure) and a rejected
    // header or trailer hold the file whatever the policy: valid rows only holds back
    // records, never doubt about the file itself.
    let may_go =
        ready.is_ready() || (s.on_rejects == OnRejects::ValidRowsOnly && ready.valid_rows_may_go());
    let blocking = ready.blocking.clone();
    let export = if may_go {
        match &s.outbox {
            Some(outbox) if exported_to(store, batch_id, outbox)? => {
                t.notes.push(format!(
                    "{name}: batch {batch_id} was exported to the outbox by a run that did not finish; not exported again"
                ));
                Some(Err(None))
            }
            Some(outbox) => {
                let mut o = ExportOptions::new(outbox);
                o.trigger = Trigger::Scheduled;
                o.valid_rows_only = s.on_rejects == OnRejects::ValidRowsOnly;
                o.now = clock
                    .now()
                    .with_timezone(&London)
                    .naive_local()
                    .with_nanosecond(0)
                    .unwrap_or_else(|| clock.now().naive_utc());
                Some(export_batch(store, batch_id, &o).map_err(Some))
            }
            None => None,
        }
    } else {
        None
    };
    match export {
        Some(Ok(e)) => {
            t.report.exports += 1;
            let fname = e
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if e.held_back.is_empty() {
                t.notes
                    .push(format!("{name}: batch {} exported as {fname}", batch_id));
            } else {
                t.notes.push(format!(
                    "{name}: batch {} exported as {fname}; {} rejected rows held back for review",
                    batch_id,
                    e.held_back.len()
                ));
                *t.held += 1;
            }
        }
        Some(Err(None)) => {}
        Some(Err(Some(e))) => {
            *t.failed += 1;
            t.notes.push(format!(
                "{name}: failed after import: batch {batch_id} waits for export ({e}); the next run exports or holds it"
            ));
            settled = Settled::Waits(e.to_string());
        }
        None if !may_go => {
            *t.held += 1;
            store.set_status(batch_id, crate::store::BatchStatus::Held)?;
            let mut why = Vec::new();
            if let Some(first) = ready.file_problems.first() {
                why.push(format!(
                    "{} file-level problem{} (line {}: {})",
                    ready.file_problems.len(),
                    if ready.file_problems.len() == 1 {
                        ""
                    } else {
                        "s"
                    },
                    first.line,
                    first.message
                ));
            }
            if let Some((what, line)) = ready.header_trailer {
                why.push(format!("the {what} record (line {line}) has errors"));
            }
            if !blocking.is_empty() {
                why.push(format!("{} rejected records", blocking.len()));
            }
            t.notes.push(format!(
                "{name}: batch {} held for review: {}",
                batch_id,
                why.join("; ")
            ));
        }
        None if s.hub_to.is_some() => {}
        None => t.notes.push(format!(
            "{name}: batch {} is clean; no outbox is set, so nothing was exported",
            batch_id
        )),
    }
    if let Some(vpd) = &s.hub_to
        && may_go
        && hub_pending(store, s, batch_id)?
    {
        {
            let pushed = crate::hub::Org::get(store, vpd).and_then(|org| {
                crate::hub::transfer::push(
                    store,
                    batch_id,
                    &org,
                    &crate::hub::transfer::HubOptions {
                        trigger: Some(Trigger::Scheduled),
                        ..crate::hub::transfer::HubOptions::default()
                    },
                )
            });
            match pushed {
                Ok(p) => t.notes.push(format!(
                    "{name}: batch {batch_id} delivered to hub {vpd} as {}",
                    p.name
                )),
                Err(e) => {
                    *t.failed += 1;
                    t.notes.push(format!(
                        "{name}: batch {batch_id} not delivered to hub {vpd}: {e}; the next run tries again (nothing is sent twice)"
                    ));
                    settled = Settled::Waits(e.to_string());
                }
            }
        }
    }
    Ok(settled)
}

/// Whether a batch a run took on is delivered (exported, held for review, sent to the hub,
/// or clean with nowhere to go), or still waits for a later run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Settled {
    /// Nothing more is owed.
    Done,
    /// A step failed; the batch stays due.
    Waits(String),
}

/// After [`deliver`]: a delivered batch is no longer due; one that waits keeps why.
fn settle(store: &Store, batch: i64, settled: &Settled) -> Result<(), ScheduleError> {
    match settled {
        Settled::Done => store.clear_due(batch)?,
        Settled::Waits(why) => {
            // A full disk may refuse even this: the batch stays due all the same.
            let _ = store.due_waits(batch, why);
        }
    }
    Ok(())
}

fn started_epoch() -> DateTime<Utc> {
    DateTime::<Utc>::MIN_UTC
}

/// Runs every enabled schedule that is due. A schedule whose lease another process holds is
/// skipped; a failing schedule is reported and the others still run.
pub fn run_due(
    store: &mut Store,
    layouts: &LayoutSet,
    clock: &dyn Clock,
    owner: &str,
) -> Result<Vec<RunReport>, ScheduleError> {
    run_due_until(store, layouts, clock, owner, &AtomicBool::new(false))
}

/// [`run_due`] that stops at its next step once `halt` is set (the window closing): the
/// schedules not yet started are left for the next check.
pub fn run_due_until(
    store: &mut Store,
    layouts: &LayoutSet,
    clock: &dyn Clock,
    owner: &str,
    halt: &AtomicBool,
) -> Result<Vec<RunReport>, ScheduleError> {
    let mut out = Vec::new();
    let (readable, unreadable) = read_schedules(store)?;
    for u in unreadable {
        tracing::warn!(schedule = u.id, "schedule cannot be read; not run");
        out.push(RunReport {
            schedule: u.id,
            interface: u.interface.clone(),
            outcome: crate::store::RunOutcome::Failed,
            files: 0,
            batches: 0,
            exports: 0,
            message: format!(
                "schedule {} ({}) was not run: {}; set it again with `esr-desk schedule set {}`",
                u.id, u.interface, u.why, u.interface
            ),
        });
    }
    for s in readable {
        if halt.load(Ordering::SeqCst) {
            break;
        }
        let now = clock.now();
        // Due, or left unfinished by a run that was killed: run-due resumes interrupted work
        // whether or not the schedule is due.
        if !s.is_due(now) && !has_unfinished_run(store, s.id)? {
            continue;
        }
        out.push(run_one(store, &s, layouts, clock, owner, false, halt)?);
    }
    Ok(out)
}

/// True when a run of the schedule started and has not finished (running, or killed).
fn has_unfinished_run(store: &Store, schedule: i64) -> Result<bool, ScheduleError> {
    Ok(store.has_unfinished_run(schedule)?)
}

/// Runs one schedule under its lease: due (or `now`, whatever its cadence), or resuming a run
/// that was interrupted. The one path for `run-due`, `schedule run ID` and the window.
fn run_one(
    store: &mut Store,
    s: &Schedule,
    layouts: &LayoutSet,
    clock: &dyn Clock,
    owner: &str,
    now_whatever_cadence: bool,
    halt: &AtomicBool,
) -> Result<RunReport, ScheduleError> {
    let now = clock.now();
    let report = |outcome, message: String| RunReport {
        schedule: s.id,
        interface: s.interface.clone(),
        outcome,
        files: 0,
        batches: 0,
        exports: 0,
        message,
    };
    // A process on this computer running the schedule holds its run lock (the operating
    // system's, let go at once when the process ends, however it ends).
    let Some(_running) = run_lock(store, s.id)? else {
        let message = match lease_holder(store, s.id)? {
            Some((who, _)) => format!("running now: {who} is running it; this run was not started"),
            None => "running now in another window or process on this computer".into(),
        };
        return Ok(report(crate::store::RunOutcome::Skipped, message));
    };
    if !acquire_lease(store, s.id, owner, now)? {
        // The lease is held, yet no process runs the schedule: its holder stopped without
        // giving it back (it was killed, or the computer stopped). The store is this
        // computer's alone, so the lease is taken over at once rather than left to run out.
        tracing::warn!(schedule = s.id, "a stopped run's lease was taken over");
        store.take_over_lease(
            s.id,
            owner,
            &time_text(now + Duration::minutes(LEASE_MINUTES)),
        )?;
    }
    if lease_holder(store, s.id)?.is_none_or(|(o, _)| o != owner) {
        let message = match lease_holder(store, s.id)? {
            Some((who, until)) => format!(
                "running elsewhere: {who} holds it until {} (UK time), renewing it after every file; if nothing is running it frees itself then",
                until.with_timezone(&London).format("%d/%m/%Y %H:%M:%S")
            ),
            None => "running elsewhere".into(),
        };
        return Ok(report(crate::store::RunOutcome::Skipped, message));
    }
    // Holding the lease, no other run of this schedule is alive: one still marked as running
    // was interrupted, and this run picks its work up.
    let interrupted = mark_interrupted(store, s.id, now)?;
    // Re-read after taking the lease: another engine may have just run it.
    let fresh = schedules(store)?.into_iter().find(|x| x.id == s.id);
    let result = match fresh.filter(|f| now_whatever_cadence || interrupted > 0 || f.is_due(now)) {
        Some(f) => run_schedule_until(store, &f, layouts, clock, owner, halt)
            .unwrap_or_else(|e| report(crate::store::RunOutcome::Failed, e.to_string())),
        None => report(crate::store::RunOutcome::Skipped, "already run".into()),
    };
    release_lease(store, s.id, owner)?;
    tracing::info!(
        schedule = s.id,
        outcome = %result.outcome,
        files = result.files,
        batches = result.batches,
        exports = result.exports,
        "scheduled run"
    );
    Ok(result)
}

/// Runs one schedule now, whatever its cadence, with the same lease, steps and history as
/// [`run_due`] (`esr-desk schedule run ID`, the window's Run now).
pub fn run_now(
    store: &mut Store,
    id: i64,
    layouts: &LayoutSet,
    clock: &dyn Clock,
    owner: &str,
) -> Result<RunReport, ScheduleError> {
    let (readable, unreadable) = read_schedules(store)?;
    if let Some(u) = unreadable.iter().find(|u| u.id == id) {
        return Err(ScheduleError::Io {
            context: format!("schedule {id} ({})", u.interface),
            source: std::io::Error::other(u.why.clone()),
        });
    }
    let s = readable
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| ScheduleError::Io {
            context: format!("schedule {id}"),
            source: std::io::Error::other(
                "there is no such schedule (see `esr-desk schedule list`)",
            ),
        })?;
    run_one(
        store,
        &s,
        layouts,
        clock,
        owner,
        true,
        &AtomicBool::new(false),
    )
}

pub use crate::store::schedules::RunEntry;

/// Run history, newest first.
pub fn run_history(store: &Store, limit: u64) -> Result<Vec<RunEntry>, ScheduleError> {
    Ok(store.run_history(limit)?)
}

/// The batches held for review.
pub fn held_batches(store: &Store) -> Result<Vec<i64>, ScheduleError> {
    Ok(store.held_batch_ids()?)
}

/// The in-app engine: a thread that runs due schedules every `every` until stopped. It opens
/// its own connection to the store. Dropping the handle stops it.
pub struct Background {
    stop: Option<std::sync::mpsc::Sender<()>>,
    halt: std::sync::Arc<AtomicBool>,
    running: std::sync::Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// True while a run is under way.
    pub fn running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Stops the engine without waiting for it: a run under way stops at its next step (an
    /// import stores nothing, the file stays in the inbox for the next run, and the run is
    /// recorded as interrupted).
    pub fn stop(&mut self) {
        self.halt.store(true, Ordering::SeqCst);
        self.stop.take();
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop();
        if let Some(t) = self.thread.take() {
            // Wait a little for a clean stop; never hold the window up for long.
            let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
            while !t.is_finished() && std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

/// Starts the in-app scheduler; `on_run` hears about every run (for the window's notices).
pub fn spawn_background(
    db: PathBuf,
    every: std::time::Duration,
    on_run: impl Fn(Result<Vec<RunReport>, String>) + Send + 'static,
) -> Background {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let halt = std::sync::Arc::new(AtomicBool::new(false));
    let running = std::sync::Arc::new(AtomicBool::new(false));
    let (h, r) = (halt.clone(), running.clone());
    let thread = std::thread::spawn(move || {
        loop {
            let owner = lease_owner("the window's scheduler");
            // The retention rules are applied when the window starts and once a day after.
            match Store::open(&db).and_then(|mut s| s.purge_if_due(Utc::now())) {
                Ok(Some(r)) if !r.batches.is_empty() || !r.files.is_empty() => {
                    tracing::info!(
                        batches = r.batches.len(),
                        files = r.files.len(),
                        "retention purge"
                    );
                }
                Ok(_) => {}
                Err(e) => on_run(Err(format!("the retention purge failed: {e}"))),
            }
            // Errors are handed on, never swallowed: the window shows them.
            match Store::open(&db) {
                Ok(mut store) => {
                    let layouts = crate::paths::layout_set().unwrap_or_default();
                    r.store(true, Ordering::SeqCst);
                    let result = run_due_until(&mut store, &layouts, &SystemClock, &owner, &h);
                    r.store(false, Ordering::SeqCst);
                    match result {
                        Ok(reports) if reports.is_empty() => {}
                        Ok(reports) => on_run(Ok(reports)),
                        Err(e) => {
                            tracing::error!("scheduled runs stopped with an error");
                            on_run(Err(e.to_string()));
                        }
                    }
                }
                Err(e) => on_run(Err(e.to_string())),
            }
            if h.load(Ordering::SeqCst) {
                break;
            }
            match rx.recv_timeout(every) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                _ => break,
            }
        }
    });
    Background {
        stop: Some(tx),
        halt,
        running,
        thread: Some(thread),
    }
}

/// Looks up a schedule by interface.
pub fn schedule_for(store: &Store, interface: &str) -> Result<Option<Schedule>, ScheduleError> {
    Ok(schedules(store)?
        .into_iter()
        .find(|s| s.interface == interface))
}

/// Maps an export failure into words for a run report.
pub fn export_words(e: &ExportError) -> String {
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn cadences_parse_and_print() {
        for t in [
            "every 15 min",
            "hourly at :05",
            "daily at 01:30",
            "weekly on Mon at 07:00",
            "monthly on day 31 at 06:00",
            "annually on 06/04 at 06:00",
        ] {
            assert_eq!(t.parse::<Cadence>().expect(t).to_string(), t);
        }
        assert!("daily at 25:00".parse::<Cadence>().is_err());
        assert!("fortnightly".parse::<Cadence>().is_err());
    }

    #[test]
    fn daily_0130_runs_once_on_both_clock_change_days() {
        let c: Cadence = "daily at 01:30".parse().expect("cadence");
        // Spring 2026: clocks go forward at 01:00 GMT on 29 March; 01:30 does not exist.
        let mut t = utc("2026-03-28T12:00:00Z");
        let mut runs = Vec::new();
        for _ in 0..3 {
            t = c.next_after(t);
            runs.push(t);
        }
        assert_eq!(
            runs[0],
            utc("2026-03-29T01:30:00Z"),
            "28 Mar is GMT... the next slot is 29 Mar at 02:30 BST = 01:30 UTC"
        );
        assert_eq!(runs[1], utc("2026-03-30T00:30:00Z"), "30 Mar 01:30 BST");
        // Autumn 2026: clocks go back at 02:00 BST on 25 October; 01:30 happens twice.
        let mut t = utc("2026-10-24T12:00:00Z");
        let mut runs = Vec::new();
        for _ in 0..3 {
            t = c.next_after(t);
            runs.push(t);
        }
        assert_eq!(
            runs[0],
            utc("2026-10-25T00:30:00Z"),
            "the first 01:30 (BST)"
        );
        assert_eq!(
            runs[1],
            utc("2026-10-26T01:30:00Z"),
            "not again at the second 01:30 (GMT); next day in GMT"
        );
    }

    #[test]
    fn every_cadence_has_a_next_slot() {
        let t = utc("2026-01-31T10:07:00Z");
        assert_eq!(
            "every 15 min".parse::<Cadence>().expect("c").next_after(t),
            utc("2026-01-31T10:15:00Z")
        );
        assert_eq!(
            "hourly at :05".parse::<Cadence>().expect("c").next_after(t),
            utc("2026-01-31T11:05:00Z")
        );
        assert_eq!(
            "daily at 06:00"
                .parse::<Cadence>()
                .expect("c")
                .next_after(t),
            utc("2026-02-01T06:00:00Z")
        );
        assert_eq!(
            "weekly on Mon at 07:00"
                .parse::<Cadence>()
                .expect("c")
                .next_after(t),
            utc("2026-02-02T07:00:00Z")
        );
        assert_eq!(
            "monthly on day 31 at 06:00"
                .parse::<Cadence>()
                .expect("c")
                .next_after(t),
            utc("2026-02-28T06:00:00Z"),
            "last day of a short month"
        );
        assert_eq!(
            "annually on 06/04 at 06:00"
                .parse::<Cadence>()
                .expect("c")
                .next_after(t),
            utc("2026-04-06T05:00:00Z"),
            "06:00 BST"
        );
        // Summer: local time is BST.
        assert_eq!(
            "daily at 06:00"
                .parse::<Cadence>()
                .expect("c")
                .next_after(utc("2026-07-01T10:00:00Z")),
            utc("2026-07-02T05:00:00Z")
        );
    }
}
