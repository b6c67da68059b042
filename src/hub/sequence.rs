//! Sequence watch: ESR numbers its outbound extracts (an 8-digit sequence in the file name,
//! `GDR` for a full file and `GOC` for changes). A number skipped means changes were missed;
//! a number seen twice means changes may be applied twice. Each numbered file received is
//! recorded per series (layout and VPD); a gap or a repeat is kept with the file's batch and
//! shown on the batch and the dashboard.
//!
//! This is history, not the file's verdict: the same bytes still get the same issues from the
//! validator (DESIGN.md principle 7); the finding sits beside them.

use crate::layout::{Layout, NameTok};
use crate::store::Store;
use crate::store::hub::SeenSeq;

/// The series a file belongs to, its number and kind, when its layout numbers files.
pub fn numbered(
    layout: &Layout,
    file_name: &str,
    vpd: Option<&str>,
) -> Option<(String, u64, Option<String>)> {
    let seq = layout.file_name.seq_in(file_name)?;
    let vpd = layout
        .file_name
        .vpd_in(file_name)
        .or_else(|| vpd.map(str::to_string))
        .unwrap_or_default();
    let kind = layout
        .file_name
        .toks
        .iter()
        .any(|t| matches!(t, NameTok::OneOf(_)))
        .then(|| layout.file_name.choices_in(file_name).into_iter().next())
        .flatten();
    Some((format!("{}/{}", layout.id, vpd), seq, kind))
}

/// Numbers width as the file name writes them.
fn width(layout: &Layout) -> usize {
    layout
        .file_name
        .toks
        .iter()
        .find_map(|t| match t {
            NameTok::Seq(n) => Some(*n),
            _ => None,
        })
        .unwrap_or(8)
}

/// What the watch says of a number arriving after those already seen.
pub fn judge(layout: &Layout, seen: &[SeenSeq], seq: u64, kind: Option<&str>) -> Option<String> {
    let w = width(layout);
    let label = kind.map_or_else(String::new, |k| format!("{k} "));
    if let Some(first) = seen.iter().find(|s| s.seq == seq) {
        return Some(format!(
            "{label}{seq:0w$} received again: it was already received as {} on {}; its changes may be applied twice",
            first.file,
            first.seen_at.get(..10).unwrap_or(&first.seen_at)
        ));
    }
    let last = seen.iter().map(|s| s.seq).max()?;
    if seq > last + 1 {
        let missing = seq - last - 1;
        return Some(format!(
            "{label}{:0w$} expected, {seq:0w$} received: {missing} file{} missing",
            last + 1,
            if missing == 1 { "" } else { "s" }
        ));
    }
    if seq < last {
        return Some(format!(
            "{label}{seq:0w$} received after {last:0w$}: out of order"
        ));
    }
    None
}

/// Records a numbered file received and returns what the watch found (a gap, a repeat), if
/// anything. Recording the same file twice changes nothing and finds what it found first.
pub fn observe(
    store: &Store,
    layout: &Layout,
    file_name: &str,
    batch: Option<i64>,
    vpd: Option<&str>,
) -> Result<Option<String>, crate::store::StoreError> {
    let Some((series, seq, kind)) = numbered(layout, file_name, vpd) else {
        return Ok(None);
    };
    let seen = store.seen_in_series(&series)?;
    if let Some(before) = seen.iter().find(|s| s.file == file_name) {
        return Ok(before.finding.clone());
    }
    let finding = judge(layout, &seen, seq, kind.as_deref());
    store.record_seen(&SeenSeq {
        series,
        seq,
        file: file_name.to_string(),
        kind,
        batch_id: batch,
        seen_at: crate::store::now_text(),
        finding: finding.clone(),
    })?;
    if finding.is_some() {
        tracing::warn!(batch, "sequence watch: gap or repeat");
    }
    Ok(finding)
}
