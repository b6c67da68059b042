//! A test hook for the steps that must survive a kill: `ESR_DESK_FAILPOINT=NAME` stops the
//! process at the step of that name as `kill -9` would (no destructor runs, no file is
//! cleaned up, no transaction is committed), with exit code 137. The fault-injection tests
//! stop a run at each step boundary in turn this way, rather than by timing luck. Never set
//! in use: when the variable is absent, each hook is one comparison.
//!
//! The names, by step: `export.intent`, `export.written`, `export.renamed`,
//! `export.committed`; `schedule.imported`, `schedule.due`, `schedule.delivered`;
//! `push.exported`, `push.uploaded`, `push.renamed` (each after the step is done, before it
//! is recorded); `pull.downloaded`, `pull.imported` (likewise).

use std::sync::OnceLock;

/// The failpoint this process stops at, if any.
fn armed() -> Option<&'static str> {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    ARMED
        .get_or_init(|| std::env::var("ESR_DESK_FAILPOINT").ok())
        .as_deref()
}

/// Stops the process here when `name` is the armed failpoint.
pub fn hit(name: &str) {
    if armed() == Some(name) {
        tracing::warn!(
            failpoint = name,
            "stopping at a failpoint (a test's fault injection)"
        );
        std::process::exit(137);
    }
}
