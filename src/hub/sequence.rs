//! Sequence watch: ESR numbers its outbound extracts (an 8-digit sequence in the file name;
//! one sequence runs across full files, `GOF`/`GDR`, and change files, `GOC`). Each numbered
//! file received is recorded per series (layout and VPD) and judged by the rule the public
//! record shows (Storybook's `EsrRecordProcessor`, ESR-FACTS.md): the number after the last
//! file received is in sequence; the same number as the last is a re-send (said, as a
//! warning, but in step); anything else is out of sequence (a gap, or an older number). A
//! finding is kept with the file's batch and shown on the batch and the dashboard.
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

/// How many digits the file name writes its number with.
pub fn width(layout: &Layout) -> usize {
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

/// Where a series stands: its latest file, and the numbers missing or received out of
/// sequence since its last full file (a full file, [`Layout::is_full_file`], carries
/// everything, so what went before it no longer matters). A re-send of the file just
/// received is in step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesState {
    /// The file with the highest number.
    pub latest: SeenSeq,
    /// Numbers skipped since the last full file.
    pub missing: Vec<u64>,
    /// Numbers received again since the last full file, other than as a re-send of the file
    /// received just before.
    pub repeated: Vec<u64>,
    /// Digits the file names write the number with.
    pub width: usize,
}

impl SeriesState {
    /// True when the series is out of step.
    pub fn out_of_step(&self) -> bool {
        !self.missing.is_empty() || !self.repeated.is_empty()
    }

    /// What is wrong, in words (None: in step).
    pub fn problem(&self) -> Option<String> {
        let w = self.width;
        let list = |v: &[u64]| match v {
            [] => String::new(),
            [a] => format!("{a:0w$}"),
            [a, .., b] if v.len() > 4 => format!("{a:0w$} to {b:0w$}"),
            v => v
                .iter()
                .map(|n| format!("{n:0w$}"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            let n = self.missing.len();
            parts.push(format!(
                "{n} file{} missing ({})",
                if n == 1 { "" } else { "s" },
                list(&self.missing)
            ));
        }
        if !self.repeated.is_empty() {
            parts.push(format!("received twice: {}", list(&self.repeated)));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// The files of a series in the order they arrived.
fn in_arrival(seen: &[SeenSeq]) -> Vec<&SeenSeq> {
    let mut v: Vec<&SeenSeq> = seen.iter().collect();
    v.sort_by(|a, b| a.seen_at.cmp(&b.seen_at));
    v
}

/// The state of a series from every file seen in it (None when none was).
pub fn state(layout: Option<&Layout>, seen: &[SeenSeq]) -> Option<SeriesState> {
    let latest = seen
        .iter()
        .max_by(|a, b| a.seq.cmp(&b.seq).then(a.seen_at.cmp(&b.seen_at)))?;
    let full =
        |s: &SeenSeq| layout.is_some_and(|l| s.kind.as_deref().is_some_and(|k| l.is_full_file(k)));
    let from = seen
        .iter()
        .filter(|s| full(s))
        .map(|s| s.seq)
        .max()
        .or_else(|| seen.iter().map(|s| s.seq).min())
        .unwrap_or(latest.seq);
    let mut received: std::collections::BTreeSet<u64> = std::collections::BTreeSet::new();
    let mut repeated: std::collections::BTreeSet<u64> = std::collections::BTreeSet::new();
    let mut prev: Option<u64> = None;
    for s in in_arrival(seen).into_iter().filter(|s| s.seq >= from) {
        if !received.insert(s.seq) && prev != Some(s.seq) {
            repeated.insert(s.seq);
        }
        prev = Some(s.seq);
    }
    let missing = (from..=latest.seq)
        .filter(|n| !received.contains(n))
        .take(10_000)
        .collect();
    Some(SeriesState {
        latest: latest.clone(),
        missing,
        repeated: repeated.into_iter().collect(),
        width: layout.map_or(8, width),
    })
}

/// What the watch says of a number arriving after those already seen, by the public rule:
/// the next number after the last file received is in sequence; the same number is a re-send;
/// anything else is out of sequence. With nothing seen, any number starts the series.
pub fn judge(layout: &Layout, seen: &[SeenSeq], seq: u64, kind: Option<&str>) -> Option<String> {
    let w = width(layout);
    let label = kind.map_or_else(String::new, |k| format!("{k} "));
    let last = *in_arrival(seen).last()?;
    if seq == last.seq {
        return Some(format!(
            "{label}{seq:0w$} received again: a re-send of {} (received {}); its changes may be applied twice",
            last.file,
            last.seen_at.get(..10).unwrap_or(&last.seen_at)
        ));
    }
    if seq == last.seq + 1 {
        return None;
    }
    if seq > last.seq {
        let missing = seq - last.seq - 1;
        return Some(format!(
            "{label}{:0w$} expected, {seq:0w$} received: out of sequence, {missing} file{} missing",
            last.seq + 1,
            if missing == 1 { "" } else { "s" }
        ));
    }
    let before = seen
        .iter()
        .find(|s| s.seq == seq)
        .map_or_else(String::new, |s| {
            format!("; it was already received as {}", s.file)
        });
    Some(format!(
        "{label}{seq:0w$} received after {:0w$}: out of sequence (an older file){before}",
        last.seq
    ))
}

/// True when a finding is only a re-send of the file received just before (a warning: the
/// series stays in step).
pub fn is_resend(finding: &str) -> bool {
    finding.contains("received again: a re-send")
}

/// True for the files the watch follows: numbered files out of ESR (the layout's direction,
/// else its interface's in the catalogue). Files into ESR are the trust's own to number.
pub fn watched(layout: &Layout) -> bool {
    layout.out_of_esr()
        && layout
            .file_name
            .toks
            .iter()
            .any(|t| matches!(t, NameTok::Seq(_)))
}

/// Records a numbered file received and returns what the watch found (a gap, a repeat), if
/// anything. Recording the same file twice changes nothing and finds what it found first.
/// Files the watch does not follow ([`watched`]) are let be.
pub fn observe(
    store: &Store,
    layout: &Layout,
    file_name: &str,
    batch: Option<i64>,
    vpd: Option<&str>,
) -> Result<Option<String>, crate::store::StoreError> {
    if !watched(layout) {
        return Ok(None);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::LayoutSet;
    use proptest::prelude::*;

    fn seen(seq: u64, kind: &str, i: usize) -> SeenSeq {
        SeenSeq {
            series: "local-data-warehouse/RX1".into(),
            seq,
            file: format!("GO_RX1_GDW_{kind}_20261102_{seq:08}.DAT.{i}"),
            kind: Some(kind.into()),
            batch_id: None,
            seen_at: format!("2026-11-02T06:{:02}:00.000Z", i % 60),
            finding: None,
        }
    }

    #[test]
    fn a_gap_a_repeat_and_order_are_named() {
        let set = LayoutSet::bundled().expect("layouts");
        let l = set.get("local-data-warehouse").expect("layout");
        let before = vec![seen(1944, "GOC", 0)];
        assert_eq!(
            judge(l, &before, 1946, Some("GOC")).as_deref(),
            Some("GOC 00001945 expected, 00001946 received: out of sequence, 1 file missing")
        );
        assert!(judge(l, &before, 1944, Some("GOC")).is_some_and(|f| is_resend(&f)));
        assert!(judge(l, &before, 1945, Some("GOC")).is_none());
        // One sequence across full and change files: a full file must be next too.
        assert!(judge(l, &before, 1945, Some("GOF")).is_none());
        let two = vec![seen(1944, "GOC", 0), seen(1945, "GOC", 1)];
        assert!(
            judge(l, &two, 1944, Some("GOC"))
                .is_some_and(|f| !is_resend(&f) && f.contains("out of sequence (an older file)"))
        );
        assert!(
            judge(l, &[], 7, Some("GDR")).is_none(),
            "the first file starts the series"
        );
    }

    fn ldw() -> &'static Layout {
        static L: std::sync::OnceLock<Layout> = std::sync::OnceLock::new();
        L.get_or_init(|| {
            LayoutSet::bundled()
                .expect("layouts")
                .get("local-data-warehouse")
                .expect("layout")
                .clone()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]
        /// For any files received, the numbers since the last full file are exactly those
        /// received plus those missing, and a number is "received again" only when it came
        /// back after another file (not as a re-send of the file just before).
        #[test]
        fn missing_and_received_cover_the_series(nums in proptest::collection::vec((1900u64..1960, any::<bool>()), 1..40)) {
            let l = ldw();
            let all: Vec<SeenSeq> = nums.iter().enumerate().map(|(i, (n, full))| seen(*n, if *full { "GDR" } else { "GOC" }, i)).collect();
            let st = state(Some(l), &all).expect("state");
            let max = nums.iter().map(|(n, _)| *n).max().expect("max");
            let from = nums.iter().filter(|(_, f)| *f).map(|(n, _)| *n).max().unwrap_or_else(|| nums.iter().map(|(n, _)| *n).min().expect("min"));
            prop_assert_eq!(st.latest.seq, max);
            // The arrivals since the last full file, in order.
            let since: Vec<u64> = nums.iter().map(|(n, _)| *n).filter(|n| *n >= from).collect();
            for n in from..=max {
                let got = nums.iter().filter(|(x, _)| *x == n).count();
                prop_assert_eq!(st.missing.contains(&n), got == 0);
                // Received again other than straight after itself (a re-send is in step).
                let again = since.iter().enumerate().any(|(k, x)| {
                    *x == n && since[..k].contains(&n) && since[k - 1] != n
                });
                prop_assert_eq!(st.repeated.contains(&n), again);
            }
            prop_assert!(st.missing.iter().chain(&st.repeated).all(|n| (from..=max).contains(n)));
        }
    }
}
