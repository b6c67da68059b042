//! `esr-desk accept BATCH RULE [--line N] --reason TEXT`, `esr-desk recheck BATCH --against
//! BATCH...` and `esr-desk rules [--markdown]`.

use esr_desk::rules::Rule;
use esr_desk::store::Store;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `accept`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The batch.
    pub batch: i64,
    /// The file-level rule to accept (e.g. trailer-count, blank-row).
    pub rule: String,
    /// Only the problem at this line (default: every problem of the rule in the batch).
    #[arg(long)]
    pub line: Option<u64>,
    /// Why it is accepted, in words the batch's log keeps (e.g. "the trailer said 240, the
    /// file holds 229; I confirm the missing records are intended").
    #[arg(long)]
    pub reason: String,
}

/// Arguments of `recheck`.
#[derive(Debug, clap::Args)]
pub struct RecheckArgs {
    /// The batch to check again.
    pub batch: i64,
    /// Stored batches to check its reference rules against (none: report them unchecked).
    #[arg(long, value_name = "BATCH")]
    pub against: Vec<i64>,
}

/// Arguments of `rules`.
#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    /// Print the table of docs/rules.md.
    #[arg(long)]
    pub markdown: bool,
}

fn open(db: Option<&Path>) -> Result<Store, super::CliError> {
    super::open_store(db)
}

/// Runs `accept`.
pub fn run(a: Args, db: Option<&Path>) -> super::Outcome {
    let Some(rule) = Rule::from_code(&a.rule) else {
        return super::fail(format!(
            "unknown rule {:?}; file-level rules: {}",
            a.rule,
            Rule::ALL
                .iter()
                .filter(|r| r.is_file_level())
                .map(|r| r.code())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    let mut store = open(db)?;
    match store.accept(a.batch, rule, a.line, &a.reason) {
        Ok(n) => {
            let info = store.batch(a.batch);
            let status = info.map(|b| b.status.as_str()).unwrap_or("?");
            super::emit(&format!(
                "accepted {n} {rule} problem{} in batch {}; the batch is now {status}\n",
                if n == 1 { "" } else { "s" },
                a.batch
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => super::fail(e),
    }
}

/// Runs `recheck`.
pub fn run_recheck(a: RecheckArgs, db: Option<&Path>) -> super::Outcome {
    let mut store = open(db)?;
    match store.recheck_references(a.batch, &a.against) {
        Ok(rejected) => {
            super::emit(&format!(
                "batch {}: references checked again; {rejected} rejected records\n",
                a.batch
            ))?;
            if rejected > 0 {
                Ok(ExitCode::from(1))
            } else {
                Ok(ExitCode::SUCCESS)
            }
        }
        Err(e) => super::fail(e),
    }
}

/// Runs `rules`.
pub fn run_rules(a: RulesArgs) -> super::Outcome {
    if a.markdown {
        super::emit(&esr_desk::rules::markdown_table())?;
    } else {
        let mut s = String::new();
        for r in Rule::ALL {
            s.push_str(&format!(
                "{:<20} {:<7} {:<6} {}\n",
                r.code(),
                r.severity().as_str(),
                r.scope().as_str(),
                r.description()
            ));
        }
        super::emit(&s)?;
    }
    Ok(ExitCode::SUCCESS)
}
