//! The layout loader on any text: loaded or refused with a message, never a panic, a stack
//! overflow or a hang (its limits hold for any input).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) =
        esr_desk::layout::Layout::parse(text, "fuzz.toml", esr_desk::layout::LayoutSource::Bundled)
    {
        assert!(!e.to_string().is_empty());
    }
});
