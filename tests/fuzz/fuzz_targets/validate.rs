//! The reader and the validator on any bytes, judged against a bundled layout the first byte
//! chooses: never a panic, and the same bytes judged twice give the same report.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn layouts() -> &'static esr_desk::layout::LayoutSet {
    static SET: OnceLock<esr_desk::layout::LayoutSet> = OnceLock::new();
    SET.get_or_init(|| esr_desk::layout::LayoutSet::bundled().expect("bundled layouts"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let set = layouts();
    let layout = &set.layouts[pick as usize % set.layouts.len()];
    let refs = esr_desk::validate::References::default();
    let run = || {
        esr_desk::validate::validate_reader(
            bytes,
            "fuzz.txt",
            layout,
            &refs,
            esr_desk::validate::Options::default(),
        )
        .ok()
    };
    let a = run();
    let b = run();
    assert_eq!(a, b, "one verdict for the same bytes");
});
