//! Telling which interface a file belongs to, from its name and then its content.
//!
//! Detection first matches the file name against every layout's file-name pattern; when that
//! does not settle it, it reads the first lines of the file with each layout's dialect and
//! scores how many records fit (known record type and field count, or the expected column-name
//! row). A name that matches one layout is not trusted blindly: when the content hardly fits
//! that layout but plainly fits another, detection does not choose and asks the user. It also
//! answers whether a file the user says is interface X looks like another one.

use crate::layout::{Layout, LayoutSet};
use crate::reader::Reader;
use std::path::Path;

/// How well the start of a file fits a layout: the share of the first records that fit.
pub fn content_score(head: &[u8], layout: &Layout) -> f64 {
    // The last line of a truncated head may be partial: read whole lines only.
    let whole = head
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(head.len(), |p| p + 1);
    let mut reader = Reader::new(&head[..whole], layout.dialect);
    let (mut seen, mut fit) = (0u32, 0u32);
    let mut first = true;
    let mut header_mismatch = false;
    while let Ok(Some(l)) = reader.next_line() {
        if seen >= 200 {
            break;
        }
        if l.blank {
            continue;
        }
        if first && layout.column_names {
            first = false;
            let want = layout.column_row();
            let ok = want.len() == l.fields.len()
                && want
                    .iter()
                    .zip(l.fields.iter())
                    .all(|(w, g)| w.eq_ignore_ascii_case(g.trim()));
            if ok {
                return 1.0;
            }
            seen += 1;
            continue;
        }
        first = false;
        seen += 1;
        let ri = match layout.discriminator {
            None => Some(0),
            Some(d) => layout.record_index(l.fields.get(d)),
        };
        if let Some(ri) = ri {
            let rt = &layout.records[ri];
            // A header that names its file must name one of this layout's files.
            if rt.role == crate::layout::Role::Header {
                let named = rt
                    .fields
                    .iter()
                    .position(|f| f.generate == Some(crate::layout::Generate::FileName));
                if let Some(fi) = named
                    && !layout.file_name.matches(l.fields.get(fi))
                {
                    header_mismatch = true;
                }
            }
            if rt.fields.len() == l.fields.len() {
                // Without a discriminator, also ask that most fields pass their own checks.
                if layout.discriminator.is_some() {
                    fit += 1;
                } else {
                    let good = rt
                        .fields
                        .iter()
                        .enumerate()
                        .filter(|(i, f)| crate::validate::check_value(f, l.fields.get(*i)).is_ok())
                        .count();
                    if good * 10 >= rt.fields.len() * 8 {
                        fit += 1;
                    }
                }
            }
        }
    }
    let score = if seen == 0 {
        0.0
    } else {
        f64::from(fit) / f64::from(seen)
    };
    if header_mismatch { score * 0.5 } else { score }
}

/// What detection tried, for the message when it fails.
#[derive(Debug, Clone)]
pub struct Detection<'a> {
    /// The layout chosen, if any.
    pub layout: Option<&'a Layout>,
    /// How it was chosen or why none was.
    pub explanation: String,
    /// Share of the first records that fit the best-fitting layout (0 to 1). Below
    /// [`POOR_FIT`] with no layout chosen, the file plausibly fits no interface at all.
    pub best_fit: f64,
}

impl Detection<'_> {
    /// True when the file plausibly fits no interface: nothing recognised by name, and no
    /// layout fits even a [`POOR_FIT`] share of its records.
    pub fn fits_none(&self) -> bool {
        self.layout.is_none() && self.best_fit < POOR_FIT
    }
}

/// Share of records that must fit before content alone names an interface.
pub const CONTENT_THRESHOLD: f64 = 0.6;

/// Below this share of fitting records, the content of a file casts doubt on the interface its
/// name (or the user) says it is, if another layout fits at least [`CONTENT_THRESHOLD`].
pub const POOR_FIT: f64 = 0.3;

/// When the start of a file fits `chosen` poorly (below [`POOR_FIT`]) and another layout well
/// (at least [`CONTENT_THRESHOLD`], and better), that layout with its score, and `chosen`'s score.
fn better_fit<'a>(
    head: &[u8],
    chosen: &Layout,
    set: &'a LayoutSet,
) -> Option<(&'a Layout, f64, f64)> {
    if head.is_empty() {
        return None;
    }
    let mine = content_score(head, chosen);
    if mine >= POOR_FIT {
        return None;
    }
    set.layouts
        .iter()
        .filter(|l| l.id != chosen.id)
        .map(|l| (l, content_score(head, l)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .filter(|(_, s)| *s >= CONTENT_THRESHOLD && *s > mine)
        .map(|(l, s)| (l, s, mine))
}

/// Detects the interface of a file.
pub fn detect<'a>(path: &Path, set: &'a LayoutSet) -> std::io::Result<Detection<'a>> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let by_name: Vec<&Layout> = set
        .layouts
        .iter()
        .filter(|l| l.file_name.matches(&name))
        .collect();
    let head = crate::reader::head(path, 64 * 1024)?;
    if let [named] = by_name[..] {
        // The name says one interface; the content must not plainly say another.
        if let Some((other, score, _)) = better_fit(&head, named, set) {
            return Ok(Detection {
                layout: None,
                explanation: format!(
                    "the file name matches {} ({}) but its content fits {} ({:.0}% of records): choose the interface",
                    named.id,
                    named.file_name.text,
                    other.id,
                    score * 100.0
                ),
                best_fit: score,
            });
        }
        return Ok(Detection {
            layout: Some(named),
            explanation: format!("file name matches {}", named.file_name.text),
            best_fit: 1.0,
        });
    }
    let candidates: Vec<&Layout> = if by_name.is_empty() {
        set.layouts.iter().collect()
    } else {
        by_name.clone()
    };
    let mut scored: Vec<(f64, &Layout)> = candidates
        .iter()
        .map(|l| (content_score(&head, l), *l))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    if let Some((s, l)) = scored.first() {
        let runner_up = scored.get(1).map_or(0.0, |x| x.0);
        if *s >= CONTENT_THRESHOLD && *s > runner_up {
            return Ok(Detection {
                layout: Some(l),
                explanation: format!("content fits {} ({:.0}% of records)", l.id, s * 100.0),
                best_fit: *s,
            });
        }
    }
    let best: Vec<String> = scored
        .iter()
        .take(3)
        .map(|(s, l)| format!("{} {:.0}%", l.id, s * 100.0))
        .collect();
    Ok(Detection {
        layout: None,
        explanation: format!(
            "tried the file name {name:?} against {} file-name patterns ({} matched) and the content against {} layouts (best fits: {})",
            set.layouts.len(),
            by_name.len(),
            candidates.len(),
            best.join(", ")
        ),
        best_fit: scored.first().map_or(0.0, |x| x.0),
    })
}

/// When a user names an interface, says which other layout the file looks like instead, if the
/// named one fits poorly and another fits well.
pub fn looks_like_other<'a>(
    path: &Path,
    chosen: &Layout,
    set: &'a LayoutSet,
) -> std::io::Result<Option<(&'a Layout, f64)>> {
    let head = crate::reader::head(path, 64 * 1024)?;
    Ok(better_fit(&head, chosen, set).map(|(l, _, mine)| (l, mine)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn samples() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample-data")
    }

    /// The clean (not defect-seeded) sample file of an interface.
    fn clean_sample(id: &str) -> PathBuf {
        std::fs::read_dir(samples().join(id))
            .expect("sample dir")
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                !p.to_string_lossy().ends_with(".defects.json")
                    && !crate::workbook::is_workbook(p)
                    && !PathBuf::from(format!("{}.defects.json", p.display())).exists()
            })
            .expect("clean sample")
    }

    #[test]
    fn a_name_of_one_interface_with_content_of_another_is_not_chosen() {
        let set = LayoutSet::bundled().expect("bundled layouts");
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("ABS_RX1_20261102_000009.csv");
        std::fs::copy(clean_sample("rostering-pay-variations"), &p).expect("copy");
        let d = detect(&p, &set).expect("detect");
        assert!(d.layout.is_none(), "chose {:?}", d.layout.map(|l| &l.id));
        assert!(
            d.explanation.starts_with(
                "the file name matches absences (ABS_{VPD}_{YYYYMMDD}_{SEQ:6}.csv) but its content fits rostering-pay-variations ("
            ),
            "{}",
            d.explanation
        );
        assert!(
            d.explanation
                .ends_with("% of records): choose the interface"),
            "{}",
            d.explanation
        );
        // Named explicitly, the same file is said to look like the other interface.
        let abs = set.get("absences").expect("absences");
        let other = looks_like_other(&p, abs, &set).expect("read");
        assert_eq!(
            other.map(|(l, _)| l.id.as_str()),
            Some("rostering-pay-variations")
        );
    }

    #[test]
    fn a_name_still_decides_when_the_content_fits_no_other_interface() {
        let set = LayoutSet::bundled().expect("bundled layouts");
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("ABS_RX1_20261102_000010.csv");
        std::fs::write(&p, "just some notes\r\nnothing like an interface\r\n").expect("write");
        let d = detect(&p, &set).expect("detect");
        assert_eq!(d.layout.map(|l| l.id.as_str()), Some("absences"));
        // An empty file too (reading it reports that it is empty).
        std::fs::write(&p, "").expect("write");
        let d = detect(&p, &set).expect("detect");
        assert_eq!(d.layout.map(|l| l.id.as_str()), Some("absences"));
    }

    #[test]
    fn every_sample_is_detected_as_its_own_interface() {
        let set = LayoutSet::bundled().expect("bundled layouts");
        let mut checked = 0;
        for dir in std::fs::read_dir(samples()).expect("sample-data").flatten() {
            let id = dir.file_name().to_string_lossy().into_owned();
            for f in std::fs::read_dir(dir.path()).expect("dir").flatten() {
                let p = f.path();
                // Workbooks are found by their column names (mapping::detect_layout).
                if p.to_string_lossy().ends_with(".defects.json")
                    || crate::workbook::is_workbook(&p)
                {
                    continue;
                }
                let d = detect(&p, &set).expect("detect");
                // The folder is the interface; of its layouts (one each way, ESR's answers)
                // the one whose file name the sample has.
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let own = set.for_file(&id, &name).map(|l| l.id.as_str());
                assert!(own.is_some(), "{}: no layout of {id}", p.display());
                assert_eq!(d.layout.map(|l| l.interface.as_str()), Some(id.as_str()));
                assert_eq!(
                    d.layout.map(|l| l.id.as_str()),
                    own,
                    "{}: {}",
                    p.display(),
                    d.explanation
                );
                checked += 1;
            }
        }
        assert!(checked >= set.layouts.len(), "{checked} samples");
    }
}
