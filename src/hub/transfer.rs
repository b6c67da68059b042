//! Hub transfers as persisted state machines: each file pulled or pushed is a row of
//! `hub_transfer` whose `state` is the last step finished, committed before the next begins.
//! A run killed anywhere is finished by the next run from that step, and nothing is done twice.
//!
//! Pull (a file in the hub's `Out`):
//! `listed` → downloaded to a hidden `.part` name, checked against the hub's size, then renamed
//! → `downloaded` → imported (the same bytes already imported are taken as that batch) and
//! the sequence watch and answer matching run → `imported` → the caller finishes it (the
//! command line at once; a schedule after exporting it or holding it) → `done`.
//!
//! Push (a batch into `In`):
//! `exporting` → exported once into the organisation's `sent` folder (a rerun adopts that
//! export) → `exported` → uploaded under a temporary name (`NAME.part`) and its size checked
//! → `uploaded` → renamed to its own name → `renamed` → checked on the hub → `done`.
//! Once `uploaded`, the file is never sent again: a rerun only renames, or finds the rename
//! made (or ESR already took the file). A file is never uploaded under its own name twice.

use super::{HubError, IN, OUT, Org, Retry, Session};
use crate::export::{ExportOptions, Trigger};
use crate::layout::{Direction, Layout, LayoutSet};
use crate::store::hub::{Transfer, TransferFacts, Way};
use crate::store::{ImportOptions, Store, StoreError};
use std::path::{Path, PathBuf};

/// How a pull or a push runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct HubOptions<'a> {
    /// Only files of this interface (or layout) id.
    pub interface: Option<&'a str>,
    /// Network retries.
    pub retry: Retry,
    /// Manual or scheduled (for the export history).
    pub trigger: Option<Trigger>,
}

/// A connection opened when first needed and dropped after a failure, so a retry starts
/// afresh.
struct Link<'a> {
    org: &'a Org,
    session: Option<Session>,
}

impl<'a> Link<'a> {
    fn new(org: &'a Org) -> Self {
        Self { org, session: None }
    }

    /// Runs one network step with retries, reconnecting after a failure.
    fn step<T>(
        &mut self,
        store: &Store,
        retry: &Retry,
        mut f: impl FnMut(&mut Session) -> Result<T, HubError>,
    ) -> Result<T, HubError> {
        let org = self.org;
        let session = &mut self.session;
        retry.run(|| {
            if session.is_none() {
                *session = Some(org.connect(store)?);
            }
            let s = session
                .as_mut()
                .ok_or_else(|| HubError::Local("no session".into()))?;
            let r = f(s);
            if r.is_err() {
                *session = None;
            }
            r
        })
    }

    fn close(self) {
        if let Some(s) = self.session {
            s.close();
        }
    }
}

/// Runs `f` on a transfer, read afresh once this process holds the transfer's lock: one
/// process (the window, a schedule, the command line) works on a file at a time. The lock is
/// the operating system's on a file in the organisation's `locks` folder, so a process that
/// dies lets go of it at once.
fn with_claim<T>(
    store: &mut Store,
    id: i64,
    f: impl FnOnce(&mut Store, Transfer) -> Result<T, HubError>,
) -> Result<T, HubError> {
    let t = store
        .transfer(id)?
        .ok_or_else(|| HubError::Local(format!("transfer {id} is no longer recorded")))?;
    let dir = super::work_dir(store, &t.vpd, "locks")?;
    let path = dir.join(format!("{id}.lock"));
    // Opened, never truncated (another process may hold the lock on it), owner-only.
    let lock = crate::paths::private_file(&path)
        .map_err(|e| HubError::Local(format!("could not open {}: {e}", path.display())))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Err(HubError::Busy(t.remote_name)),
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(HubError::Local(format!(
                "could not lock {}: {e}",
                path.display()
            )));
        }
    }
    // Read again under the lock: another run may have moved it on meanwhile.
    let r = match store.transfer(id)? {
        Some(t) => f(store, t),
        None => Err(HubError::Local(format!(
            "transfer {id} is no longer recorded"
        ))),
    };
    drop(lock);
    r
}

fn remote(folder: &str, name: &str) -> String {
    format!("{folder}/{name}")
}

// ------------------------------------------------------------------------------------ pull

/// A file pulled and imported, waiting for its caller to finish it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// The transfer.
    pub transfer: i64,
    /// The file's name.
    pub name: String,
    /// The local copy.
    pub path: PathBuf,
    /// Its layout.
    pub layout_id: String,
    /// Its batch.
    pub batch: i64,
    /// What the sequence watch and answer matching said, and any resumption.
    pub notes: Vec<String>,
}

/// What a pull did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullReport {
    /// Files imported (new, or finished from an interrupted run).
    pub pulled: Vec<Pulled>,
    /// Files in `Out` that no layout of the wanted interfaces fits (left alone).
    pub not_ours: Vec<String>,
    /// Files that failed a step, with why (they are tried again next time).
    pub failed: Vec<(String, String)>,
}

/// The layout for a file in `Out`: one that fits its name, is not a layout of files into ESR,
/// and belongs to the wanted interface (or is ESR's answer to one of its layouts, or to any).
pub fn layout_for_pull<'a>(
    layouts: &'a LayoutSet,
    name: &str,
    interface: Option<&str>,
) -> Option<&'a Layout> {
    layouts
        .layouts
        .iter()
        .filter(|l| interface.is_none_or(|i| belongs(layouts, l, i)))
        .filter(|l| l.direction != Some(Direction::In))
        .find(|l| l.file_name.matches(name))
}

/// True when a layout is of an interface, or answers one of its layouts (or any layout).
fn belongs(layouts: &LayoutSet, l: &Layout, interface: &str) -> bool {
    l.interface.eq_ignore_ascii_case(interface)
        || l.id.eq_ignore_ascii_case(interface)
        || l.answer.as_ref().is_some_and(|a| {
            a.answers.iter().any(|x| {
                x == "*"
                    || layouts
                        .get(x)
                        .is_some_and(|al| al.interface.eq_ignore_ascii_case(interface))
            })
        })
}

/// Pulls new files from the organisation's `Out`, and finishes pulls an earlier run left.
/// Each file is imported as a batch; the caller finishes each with [`finish_pull`].
pub fn pull(
    store: &mut Store,
    layouts: &LayoutSet,
    org: &Org,
    opts: &HubOptions<'_>,
) -> Result<PullReport, HubError> {
    let mut report = PullReport::default();
    let mut link = Link::new(org);
    // A hub that cannot be listed still lets the steps that need no network (an import of a
    // file already downloaded) finish; the failure is reported with the files.
    let listed = match link.step(store, &opts.retry, |s| s.list(OUT)) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "hub Out could not be listed");
            report
                .failed
                .push((format!("the {OUT} folder of {}", org.vpd), e.to_string()));
            Vec::new()
        }
    };
    for name in &listed {
        if store.transfer_named(&org.vpd, Way::Pull, name)?.is_some() {
            continue;
        }
        match layout_for_pull(layouts, name, opts.interface) {
            Some(l) => {
                let t = store.start_transfer(&org.vpd, Way::Pull, name, None, "listed")?;
                store.advance_transfer(
                    t.id,
                    "listed",
                    &TransferFacts {
                        layout_id: Some(&l.id),
                        ..TransferFacts::default()
                    },
                )?;
            }
            None => report.not_ours.push(name.clone()),
        }
    }
    let todo: Vec<Transfer> = store
        .unfinished_transfers(&org.vpd, Way::Pull)?
        .into_iter()
        .filter(|t| {
            opts.interface.is_none_or(|i| {
                t.layout_id
                    .as_deref()
                    .and_then(|id| layouts.get(id))
                    .is_some_and(|l| belongs(layouts, l, i))
            })
        })
        .collect();
    // ESR's numbered extracts are taken in their series' order: a file whose download failed
    // holds back the later files of its series, so they are never imported out of order and
    // the sequence watch never reports a gap for a file that is only late.
    let series_of = |t: &Transfer| {
        t.layout_id
            .as_deref()
            .and_then(|id| layouts.get(id))
            .and_then(|l| super::sequence::numbered(l, &t.remote_name, Some(&org.vpd)))
            .map(|(series, seq, _)| (series, seq))
    };
    let mut todo = todo;
    todo.sort_by_key(|t| (series_of(t), t.id));
    let mut held_back: std::collections::HashMap<String, String> = Default::default();
    let offline = !report.failed.is_empty();
    for t in todo {
        // With the hub out of reach, only what needs no download goes on.
        if offline && t.state == "listed" {
            continue;
        }
        let series = series_of(&t).map(|(s, _)| s);
        if let Some(first) = series.as_ref().and_then(|s| held_back.get(s)) {
            report.failed.push((
                t.remote_name.clone(),
                format!("waits for {first}, which comes before it and did not arrive; the next pull takes both in order"),
            ));
            continue;
        }
        let done = with_claim(store, t.id, |store, t| {
            if t.state == "done" {
                return Ok(None);
            }
            pull_one(store, layouts, org, &mut link, opts, &t).map(Some)
        });
        match done {
            Ok(Some(p)) => report.pulled.push(p),
            Ok(None) => {}
            Err(HubError::Busy(_)) => {}
            Err(e) => {
                let why = e.to_string();
                store.transfer_failed(t.id, &why)?;
                tracing::warn!(transfer = t.id, error = %e, "hub pull step failed");
                if let Some(s) = series {
                    held_back.entry(s).or_insert_with(|| t.remote_name.clone());
                }
                report.failed.push((t.remote_name.clone(), why));
            }
        }
    }
    link.close();
    Ok(report)
}

fn pull_one(
    store: &mut Store,
    layouts: &LayoutSet,
    org: &Org,
    link: &mut Link<'_>,
    opts: &HubOptions<'_>,
    t: &Transfer,
) -> Result<Pulled, HubError> {
    let layout = t
        .layout_id
        .as_deref()
        .and_then(|id| layouts.get(id))
        .ok_or_else(|| {
            HubError::Setup(format!(
                "{}: its layout {:?} is no longer loaded",
                t.remote_name, t.layout_id
            ))
        })?
        .clone();
    let mut notes = Vec::new();
    let mut state = t.state.clone();
    let dir = super::work_dir(store, &org.vpd, "in")?;
    let local = dir.join(&t.remote_name);
    if t.state != "listed" {
        notes.push(format!(
            "finished from an earlier run that stopped after '{}'",
            t.state
        ));
    }
    if state == "listed" {
        let part = dir.join(format!(".{}.part", t.remote_name));
        let path = remote(OUT, &t.remote_name);
        let size = link.step(store, &opts.retry, |s| {
            let size = s.size(&path)?.ok_or_else(|| {
                HubError::Net(super::Failure::Remote(format!(
                    "{} is no longer in {OUT}",
                    t.remote_name
                )))
            })?;
            let mut f = crate::paths::private_create(&part)
                .map_err(|e| HubError::Local(format!("could not write {}: {e}", part.display())))?;
            let got = s.download(&path, &mut f)?;
            if got != size {
                return Err(HubError::Net(super::Failure::Dropped(format!(
                    "{} arrived with {got} of its {size} bytes",
                    t.remote_name
                ))));
            }
            f.sync_all()
                .map_err(|e| HubError::Local(format!("could not save {}: {e}", part.display())))?;
            Ok(size)
        })?;
        crate::paths::make_private(&part).map_err(|e| {
            HubError::Local(format!("could not make {} private: {e}", part.display()))
        })?;
        std::fs::rename(&part, &local).map_err(|e| {
            HubError::Local(format!("could not put {} in place: {e}", local.display()))
        })?;
        crate::failpoint::hit("pull.downloaded");
        let p = local.display().to_string();
        store.advance_transfer(
            t.id,
            "downloaded",
            &TransferFacts {
                size: Some(size),
                local_path: Some(&p),
                ..TransferFacts::default()
            },
        )?;
        tracing::info!(transfer = t.id, bytes = size, "hub file downloaded");
        state = "downloaded".into();
    }
    let batch = if state == "downloaded" {
        let batch = import_pulled(store, &layout, &local, &mut notes)?;
        crate::failpoint::hit("pull.imported");
        store.advance_transfer(
            t.id,
            "imported",
            &TransferFacts {
                batch_id: Some(batch),
                ..TransferFacts::default()
            },
        )?;
        batch
    } else {
        t.batch_id.ok_or_else(|| {
            HubError::Local(format!(
                "{}: imported, but its batch is not recorded",
                t.remote_name
            ))
        })?
    };
    // The watch and the matching record once per file: running them again after a kill finds
    // what they found the first time.
    if let Some(f) =
        super::sequence::observe(store, &layout, &t.remote_name, Some(batch), Some(&org.vpd))?
    {
        notes.push(format!("sequence: {f}"));
    }
    if layout.answer.is_some() {
        match super::answers::match_answer(store, batch) {
            Ok(m) => notes.push(m.summary()),
            Err(e) => notes.push(format!(
                "this answer could not be matched to a batch sent: {e}"
            )),
        }
    }
    Ok(Pulled {
        transfer: t.id,
        name: t.remote_name.clone(),
        path: local,
        layout_id: layout.id.clone(),
        batch,
        notes,
    })
}

/// Imports a pulled file; the same bytes imported before (by a run killed after its import)
/// are taken as that batch.
fn import_pulled(
    store: &mut Store,
    layout: &Layout,
    local: &Path,
    notes: &mut Vec<String>,
) -> Result<i64, HubError> {
    match store.import(local, layout, ImportOptions::default()) {
        Ok(o) => Ok(o.batch_id),
        Err(StoreError::Duplicate { existing, .. }) => {
            let info = store.batch(existing)?;
            if info.source_path != local.display().to_string() {
                notes.push(format!(
                    "the same bytes were imported before as batch {existing} ({})",
                    info.source_name
                ));
            }
            Ok(existing)
        }
        Err(e) => Err(e.into()),
    }
}

/// Marks a pulled file finished (exported, held, or simply imported by hand).
pub fn finish_pull(store: &Store, transfer: i64) -> Result<(), HubError> {
    store.advance_transfer(transfer, "done", &TransferFacts::default())?;
    Ok(())
}

// ------------------------------------------------------------------------------------ push

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The transfer.
    pub transfer: i64,
    /// The file's name in `In`.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// True when it had been delivered before this call (nothing was sent again).
    pub already: bool,
    /// What happened, in words.
    pub notes: Vec<String>,
}

fn placeholder(batch: i64) -> String {
    format!("(batch {batch}, not exported yet)")
}

/// Exports a batch in its layout for the organisation and delivers it to the hub's `In`,
/// exactly once (see the module's notes). A batch that is not ready to export is refused
/// before anything is recorded.
pub fn push(
    store: &mut Store,
    batch: i64,
    org: &Org,
    opts: &HubOptions<'_>,
) -> Result<Pushed, HubError> {
    org.hub()?;
    let t = match store.push_of(batch)? {
        Some(t) => {
            if t.vpd != org.vpd {
                return Err(HubError::Refused(format!(
                    "batch {batch} is being sent to organisation {}, not {}",
                    t.vpd, org.vpd
                )));
            }
            t
        }
        None => {
            let ready = crate::export::readiness(store, batch)?;
            if !ready.is_ready() {
                // The export's own refusal says why, in the words every face uses.
                let why = crate::export::refusal(batch, &ready, false)
                    .map_or_else(|| "it is not ready".to_string(), |e| e.to_string());
                return Err(HubError::Refused(format!("nothing was sent: {why}")));
            }
            store.start_transfer(
                &org.vpd,
                Way::Push,
                &placeholder(batch),
                Some(batch),
                "exporting",
            )?
        }
    };
    match with_claim(store, t.id, |store, t| {
        push_steps(store, Some(batch), org, opts, &t)
    }) {
        Ok(p) => Ok(p),
        Err(e @ HubError::Busy(_)) => Err(e),
        Err(e) => {
            store.transfer_failed(t.id, &e.to_string())?;
            tracing::warn!(batch, transfer = t.id, error = %e, "hub push step failed");
            Err(e)
        }
    }
}

fn push_steps(
    store: &mut Store,
    batch: Option<i64>,
    org: &Org,
    opts: &HubOptions<'_>,
    t: &Transfer,
) -> Result<Pushed, HubError> {
    let what = batch.map_or_else(|| t.remote_name.clone(), |b| format!("batch {b}"));
    let mut notes = Vec::new();
    if t.state == "done" {
        return Ok(Pushed {
            transfer: t.id,
            name: t.remote_name.clone(),
            size: t.size.unwrap_or(0),
            already: true,
            notes: vec![format!(
                "{what} was delivered to {IN} as {} on {}; it is never sent twice",
                t.remote_name,
                t.done_at.as_deref().unwrap_or("?")
            )],
        });
    }
    let sent = super::work_dir(store, &org.vpd, "sent")?;
    let mut state = t.state.clone();
    if state != "exporting" {
        notes.push(format!(
            "finished from an earlier run that stopped after '{state}'"
        ));
    }
    let (local, name, size) = if let (Some(batch), "exporting") = (batch, state.as_str()) {
        // An export made by a run killed before it recorded it is adopted, never repeated.
        let earlier = store
            .export_runs(Some(batch), None)?
            .into_iter()
            .filter(|r| r.outcome == crate::store::ExportRunOutcome::Ok)
            .filter_map(|r| r.path.map(PathBuf::from))
            .find(|p| p.parent() == Some(sent.as_path()) && p.is_file());
        let path = match earlier {
            Some(p) => p,
            None => {
                let mut o = ExportOptions::new(&sent);
                o.org = Some(org.vpd.clone());
                o.trigger = opts.trigger.unwrap_or(Trigger::Manual);
                crate::export::export_batch(store, batch, &o)?.path
            }
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let size = std::fs::metadata(&path)
            .map_err(|e| HubError::Local(format!("could not read {}: {e}", path.display())))?
            .len();
        let p = path.display().to_string();
        store.advance_transfer(
            t.id,
            "exported",
            &TransferFacts {
                size: Some(size),
                local_path: Some(&p),
                remote_name: Some(&name),
                ..TransferFacts::default()
            },
        )?;
        crate::failpoint::hit("push.exported");
        state = "exported".into();
        (path, name, size)
    } else {
        let path = PathBuf::from(t.local_path.clone().unwrap_or_default());
        (path, t.remote_name.clone(), t.size.unwrap_or(0))
    };
    let tmp = remote(IN, &format!("{name}.part"));
    let fin = remote(IN, &name);
    let mut link = Link::new(org);
    if state == "exported" {
        // A rename made by a run killed before it recorded it: the file is there already.
        let there = link.step(store, &opts.retry, |s| s.size(&fin))?;
        match there {
            Some(n) if n == size => {
                notes.push(format!(
                    "{name} was already in {IN} (an earlier run sent it): not sent again"
                ));
                state = "renamed".into();
            }
            Some(n) => {
                return Err(HubError::Refused(format!(
                    "{IN} already holds a different file named {name} ({n} bytes, ours is {size}); nothing was sent"
                )));
            }
            None => {
                link.step(store, &opts.retry, |s| {
                    let mut f = std::fs::File::open(&local).map_err(|e| {
                        HubError::Local(format!("could not read {}: {e}", local.display()))
                    })?;
                    s.upload(&tmp, &mut f)?;
                    match s.size(&tmp)? {
                        Some(n) if n == size => Ok(()),
                        Some(n) => Err(HubError::Net(super::Failure::Dropped(format!(
                            "{name} reached the hub with {n} of its {size} bytes"
                        )))),
                        None => Err(HubError::Net(super::Failure::Dropped(format!(
                            "{name} was not on the hub after its upload"
                        )))),
                    }
                })?;
                crate::failpoint::hit("push.uploaded");
                store.advance_transfer(t.id, "uploaded", &TransferFacts::default())?;
                tracing::info!(
                    transfer = t.id,
                    bytes = size,
                    "hub file uploaded under its temporary name"
                );
                state = "uploaded".into();
            }
        }
    }
    if state == "uploaded" {
        link.step(store, &opts.retry, |s| match s.size(&tmp)? {
            Some(_) => {
                if s.size(&fin)?.is_some() {
                    return Err(HubError::Refused(format!(
                        "{IN} already holds a file named {name}; ours waits there as {name}.part"
                    )));
                }
                s.rename(&tmp, &fin)
            }
            // Gone from its temporary name: the rename was made before a kill.
            None => Ok(()),
        })?;
        crate::failpoint::hit("push.renamed");
        store.advance_transfer(t.id, "renamed", &TransferFacts::default())?;
        state = "renamed".into();
    }
    if state == "renamed" {
        match link.step(store, &opts.retry, |s| s.size(&fin))? {
            Some(n) if n == size => {}
            Some(n) => {
                return Err(HubError::Refused(format!(
                    "{name} in {IN} has {n} bytes, ours {size}: check with the hub before sending again"
                )));
            }
            None => notes.push(format!("{name} has already been taken from {IN} by ESR")),
        }
        store.advance_transfer(t.id, "done", &TransferFacts::default())?;
        let _ = store.log_access(
            batch,
            crate::store::AccessAction::Export,
            None,
            &format!("{name} delivered to the hub ({})", org.vpd),
        );
        tracing::info!(transfer = t.id, "delivered to the hub");
    }
    link.close();
    notes.push(format!("delivered to {IN} as {name}"));
    Ok(Pushed {
        transfer: t.id,
        name,
        size,
        already: false,
        notes,
    })
}

// ------------------------------------------------------------------------ full refresh

/// The time a full-refresh request carries: the layout's refresh time field (`[refresh]
/// time`, "This Run" for the data-warehouse extract) of the newest change file of the series
/// received, so that ESR's full extract starts where the change files stopped (None: no such
/// field or file; the request then carries the time it is made).
fn last_change_time(store: &Store, layout: &Layout, vpd: &str) -> Result<Option<String>, HubError> {
    let Some(fi) = layout.refresh.time.filter(|_| layout.header().is_some()) else {
        return Ok(None);
    };
    let series = format!("{}/{}", layout.id, vpd);
    let mut seen = store.seen_in_series(&series)?;
    seen.retain(|s| {
        s.batch_id.is_some() && !s.kind.as_deref().is_some_and(|k| layout.is_full_file(k))
    });
    seen.sort_by(|a, b| a.seq.cmp(&b.seq).then(a.seen_at.cmp(&b.seen_at)));
    let Some(batch) = seen.last().and_then(|s| s.batch_id) else {
        return Ok(None);
    };
    Ok(store
        .header_fields(batch, layout)?
        .and_then(|f| f.get(fi).cloned())
        .filter(|v| !v.trim().is_empty()))
}

/// Asks ESR for a full extract: uploads, exactly once per call's file name, a file holding
/// only the header of the interface's outbound layout. For layouts with `full_refresh`.
pub fn request_refresh(
    store: &mut Store,
    layouts: &LayoutSet,
    org: &Org,
    interface: &str,
    opts: &HubOptions<'_>,
) -> Result<Pushed, HubError> {
    org.hub()?;
    let layout = layouts
        .of_interface(interface)
        .find(|l| l.full_refresh)
        .ok_or_else(|| {
            HubError::Refused(format!(
                "interface {interface:?} has no layout that can ask for a full refresh (only extracts whose layout says full_refresh = true)"
            ))
        })?
        .clone();
    let now = crate::export::uk_now();
    let time = last_change_time(store, &layout, &org.vpd)?;
    let with_vpd = store
        .setting(&format!("hub.{}.refresh-vpd", org.vpd))?
        .is_some_and(|v| v.trim() == "yes");
    let (name, bytes) =
        crate::export::header_only(&layout, &org.vpd, now, time.as_deref(), with_vpd)
            .map_err(HubError::Refused)?;
    let sent = super::work_dir(store, &org.vpd, "sent")?;
    let local = sent.join(&name);
    if store.transfer_named(&org.vpd, Way::Push, &name)?.is_none() {
        crate::paths::atomic_write(&local, &bytes)
            .map_err(|e| HubError::Local(format!("could not save {}: {e}", local.display())))?;
        let t = store.start_transfer(&org.vpd, Way::Push, &name, None, "exported")?;
        let p = local.display().to_string();
        store.advance_transfer(
            t.id,
            "exported",
            &TransferFacts {
                size: Some(bytes.len() as u64),
                local_path: Some(&p),
                layout_id: Some(&layout.id),
                ..TransferFacts::default()
            },
        )?;
    }
    let t = store
        .transfer_named(&org.vpd, Way::Push, &name)?
        .ok_or_else(|| HubError::Local("the refresh request was not recorded".into()))?;
    let r = with_claim(store, t.id, |store, t| {
        push_steps(store, None, org, opts, &t)
    });
    if let Err(e) = &r
        && !matches!(e, HubError::Busy(_))
    {
        store.transfer_failed(t.id, &e.to_string())?;
    }
    r
}
