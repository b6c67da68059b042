//! The workbook reader on any bytes, as an .xlsx, .ods or .xls the first byte chooses, with
//! small limits: a refusal or a table, never a panic or an abort.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: {
        // libFuzzer aborts on any panic. A panic inside the workbook reader on a damaged file
        // is caught by the program and reported as a damaged file (`read_table`), so it is
        // let unwind; any other panic is a finding.
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !esr_desk::workbook::reading_guarded() {
                fuzzer_hook(info);
            }
        }));
    },
    |data: &[u8]| {
        let Some((&pick, bytes)) = data.split_first() else {
            return;
        };
        let ext = ["xlsx", "ods", "xls"][pick as usize % 3];
        let Ok(dir) = tempfile::tempdir() else { return };
        let path = dir.path().join(format!("fuzz.{ext}"));
        if std::fs::write(&path, bytes).is_err() {
            return;
        }
        let choice = esr_desk::workbook::Choice {
            sheet: None,
            limits: esr_desk::workbook::Limits {
                max_cells: 200_000,
                max_bytes: 16 * 1024 * 1024,
            },
        };
        if let Ok(t) = esr_desk::workbook::read_table(&path, &choice, None, |_| None) {
            let _ = t.row_count();
            for c in 0..t.columns.len().min(8) {
                let _ = t.samples(c, 3);
            }
        }
    }
);
