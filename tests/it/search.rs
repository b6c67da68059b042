//! Finding rows and building bulk fixes (`store::search`) against real samples in a real store.

use esr_desk::rules::Rule;

use crate::support::root;
use esr_desk::layout::LayoutSet;
use esr_desk::store::edit::Change;
use esr_desk::store::search::{ReplaceMode, RowQuery, compare_values};
use esr_desk::store::{ImportOptions, PageFilter, Store};

fn import(store: &mut Store, rel: &str, id: &str) -> i64 {
    let set = LayoutSet::bundled().expect("layouts");
    store
        .import(
            &root().join(rel),
            set.get(id).expect("layout"),
            ImportOptions::default(),
        )
        .expect("import")
        .batch_id
}

#[test]
fn search_sort_filter_and_bulk_fixes_on_a_real_batch() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = Store::open(&dir.path().join("s.sqlite")).expect("store");
    let b = import(
        &mut store,
        "sample-data/absences/ABS_RX1_20261102_000002.csv",
        "absences",
    );
    let all = store
        .page(b, 0, 10_000, &PageFilter::default())
        .expect("page");
    let layout = store.batch_layout(b).expect("layout");
    let col = |n: &str| layout.records[0].field_index(n).expect("field");
    let (ty, days) = (col("Absence Type"), col("Days Lost"));

    // Search: every record whose text contains the word, case-insensitive, in file order.
    let q = RowQuery {
        search: "maternity".into(),
        ..Default::default()
    };
    let found = store.select_seqs(b, &q, None).expect("search");
    let expected: Vec<u32> = all
        .iter()
        .filter(|r| r.fields.join("\u{1F}").to_lowercase().contains("maternity"))
        .map(|r| r.seq)
        .collect();
    assert_eq!(found, expected);
    assert!(!found.is_empty());

    // Column filter and a numeric sort, descending.
    let q = RowQuery {
        column_filters: vec![(ty, "Sickness".into())],
        sort: Some((days, true)),
        ..Default::default()
    };
    let rows = store.select_seqs(b, &q, None).expect("sorted");
    let recs = store.records_by_seqs(b, &rows).expect("records");
    assert!(recs.iter().all(|r| r.fields[ty].contains("Sickness")));
    for w in recs.windows(2) {
        assert_ne!(
            compare_values(&w[0].fields[days], &w[1].fields[days]),
            std::cmp::Ordering::Less
        );
    }

    // Row positions in the rejected-only view.
    let rejected = PageFilter {
        rejected_only: true,
        record_type: None,
    };
    let page = store.page(b, 0, 1000, &rejected).expect("rejected page");
    for (i, r) in page.iter().enumerate() {
        assert_eq!(
            store.position(b, r.seq, &rejected).expect("pos"),
            Some(i as u64)
        );
    }
    let clean = all.iter().find(|r| !r.rejected).expect("a clean record");
    assert_eq!(store.position(b, clean.seq, &rejected).expect("pos"), None);

    // Issues by record for the visible rows.
    let seqs: Vec<u32> = page.iter().map(|r| r.seq).collect();
    let issues = store.issues_for_seqs(b, &seqs).expect("issues");
    assert!(seqs.iter().all(|s| issues.contains_key(s)));

    // Find-and-replace: whole values only, excluded records left alone.
    let maternity = all.iter().filter(|r| r.fields[ty] == "Maternity").count();
    let changes = store
        .replace_changes(
            b,
            None,
            Some(ty),
            "Maternity",
            "Maternity Leave",
            ReplaceMode::WholeValue,
        )
        .expect("replace");
    assert_eq!(changes.len(), maternity);
    let first = match &changes[0] {
        Change::Set { seq, .. } => *seq,
        other => panic!("{other:?}"),
    };
    store.exclude(b, &[first], "test").expect("exclude");
    let changes = store
        .replace_changes(
            b,
            None,
            Some(ty),
            "Maternity",
            "Maternity Leave",
            ReplaceMode::WholeValue,
        )
        .expect("replace");
    assert_eq!(changes.len(), maternity - 1);
    // Across every column: the same cells here (no other column holds the word alone).
    let everywhere = store
        .replace_changes(
            b,
            None,
            None,
            "Maternity",
            "Maternity Leave",
            ReplaceMode::WholeValue,
        )
        .expect("replace");
    assert_eq!(everywhere, changes);

    // The same fix for the other cells with the same wrong value: only where one value can
    // fit many records (a code list), never for a number that belongs to one record.
    let code = Rule::from_code("code-error").expect("rule");
    // The coded field the sample gets wrong.
    let coded = (0..layout.records[0].fields.len())
        .find(|f| {
            !layout.records[0].fields[*f].codes.is_empty()
                && !store
                    .seqs_with_issue(b, code, *f, None)
                    .expect("seqs")
                    .is_empty()
        })
        .expect("a code error in the sample");
    let ty = coded;
    let with_issue = store.seqs_with_issue(b, code, ty, None).expect("seqs");
    let wrong = store.record(b, with_issue[0]).expect("rec").fields[ty].clone();
    let fix_to = layout.records[0].fields[ty].codes[0].clone();
    let same: Vec<u32> = store
        .records_by_seqs(b, &with_issue)
        .expect("recs")
        .iter()
        .filter(|r| !r.excluded && r.fields[ty] == wrong)
        .map(|r| r.seq)
        .collect();
    let fix = store
        .same_issue_changes(b, code, ty, None, &wrong, &fix_to)
        .expect("same issue");
    assert_eq!(fix.len(), same.len());
    assert!(
        fix.iter()
            .all(|c| matches!(c, Change::Set { seq, .. } if same.contains(seq)))
    );
    store.apply(b, fix).expect("apply");
    for s in &same {
        assert_eq!(store.record(b, *s).expect("rec").fields[ty], fix_to);
    }
    let range = Rule::from_code("range-error").expect("rule");
    let err = store
        .same_issue_changes(b, range, days, None, "-1", "1")
        .expect_err("a number of days belongs to one record");
    assert!(err.to_string().contains("Days Lost"), "{err}");
    let emp = col("Employee Number");
    assert!(
        store
            .same_issue_changes(b, Rule::IdentifierError, emp, None, "x", "12345678")
            .is_err()
    );

    // The audit view's lines.
    let lines = store.edited_lines(b).expect("lines");
    let rec = store.record(b, first).expect("record");
    assert_eq!(lines.get(&first), Some(&rec.line));
}

#[test]
fn records_of_unknown_type_are_listed_apart() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = Store::open(&dir.path().join("s.sqlite")).expect("store");
    let b = import(
        &mut store,
        "sample-data/dit-person-update/DE_RX1_RMF_20261102_0000002.DAT",
        "dit-person-update",
    );
    let untyped = store.untyped_seqs(b).expect("untyped");
    assert_eq!(untyped.len(), 2);
    for s in untyped {
        assert_eq!(store.record(b, s).expect("rec").record_type, None);
    }
}

#[test]
fn suggested_fixes_are_offered_only_where_they_make_the_cell_pass() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut ty, mut start, mut want) = (0, 0, String::new());
    let p = crate::support::absences_variant(dir.path(), |rows, col| {
        (ty, start) = (col("Absence Type"), col("Start Date"));
        rows[1][ty] = "sickness".into(); // the listed code in other capitals
        rows[2][ty] = "Sick".into(); // no mechanical fix
        want = rows[3][start].clone(); // DD/MM/YYYY
        rows[3][start] = format!("{}-{}-{}", &want[6..10], &want[3..5], &want[0..2]);
    });
    let mut store = Store::open(&dir.path().join("s.sqlite")).expect("store");
    let set = LayoutSet::bundled().expect("layouts");
    let b = store
        .import(
            &p,
            set.get("absences").expect("layout"),
            ImportOptions::default(),
        )
        .expect("import")
        .batch_id;
    let code = store.suggested_fixes(b, Rule::CodeError).expect("suggest");
    assert_eq!(code.len(), 1, "{code:?}");
    assert_eq!((code[0].line, code[0].fix.value.as_str()), (2, "Sickness"));
    let dates: Vec<_> = [Rule::TypeError, Rule::PatternError, Rule::LengthError]
        .iter()
        .flat_map(|r| store.suggested_fixes(b, *r).expect("suggest"))
        .filter(|s| s.field == start)
        .collect();
    assert_eq!(dates.len(), 1, "{dates:?}");
    assert_eq!(dates[0].fix.value, want);
    // Applied as one change: both cells pass, one undo puts both back.
    let before = store.batch(b).expect("b").rejected;
    let changes = vec![code[0].change(), dates[0].change()];
    store.apply(b, changes).expect("apply");
    assert_eq!(store.batch(b).expect("b").rejected, before - 2);
    store.undo(b).expect("undo");
    assert_eq!(store.batch(b).expect("b").rejected, before);
}
