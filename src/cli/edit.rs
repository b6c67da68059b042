//! `esr-desk edit BATCH --line N --field NAME --value V` and `esr-desk edit BATCH --stdin`:
//! corrections from a script, each written to the store's edit log as it is read. With
//! `--stdin`, each input line is `LINE<TAB>FIELD<TAB>VALUE` (or `LINE<TAB>!exclude<TAB>REASON`),
//! and "saved N" is printed once that edit is committed ("failed N: why" when it could not be).
//! Each input line stands alone: good lines are kept (committed as they are read), a bad one
//! (not UTF-8, not three tab-separated parts, no such line or field, a value refused) is
//! reported by its number and the rest still run; the exit code is then 2. A closed standard
//! output stops the printing, never the edits.

use esr_desk::store::Store;
use esr_desk::store::edit::Change;
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Batch id (from `esr-desk import`).
    pub batch: i64,
    /// Physical line of the record in the source file.
    #[arg(long, required_unless_present = "stdin")]
    pub line: Option<u64>,
    /// Field name.
    #[arg(long, required_unless_present = "stdin")]
    pub field: Option<String>,
    /// New value.
    #[arg(long, required_unless_present = "stdin")]
    pub value: Option<String>,
    /// Read edits from standard input, one a line.
    #[arg(long)]
    pub stdin: bool,
}

fn one(store: &mut Store, batch: i64, line: u64, field: &str, value: &str) -> Result<u64, String> {
    let seq = store
        .seq_for_line(batch, line)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("batch {batch} has no record at line {line}"))?;
    let change = if field == "!exclude" {
        Change::Exclude {
            seq,
            reason: value.to_string(),
        }
    } else if field == "!include" {
        Change::Include { seq }
    } else {
        let layout = store.batch_layout(batch).map_err(|e| e.to_string())?;
        let rec = store.record(batch, seq).map_err(|e| e.to_string())?;
        let ri = layout.stored_type(rec.record_type.as_deref());
        let fi = ri
            .and_then(|ri| layout.records[ri].field_index(field))
            .or_else(|| field.parse::<usize>().ok().and_then(|n| n.checked_sub(1)))
            .ok_or_else(|| format!("line {line} has no field {field:?}"))?;
        Change::Set {
            seq,
            field: fi,
            value: value.to_string(),
        }
    };
    let out = store
        .apply(batch, vec![change])
        .map_err(|e| e.to_string())?;
    Ok(out.rejected_records)
}

/// Runs the command.
pub fn run(a: Args, db: Option<&Path>) -> super::Outcome {
    let mut store = super::open_store(db)?;
    if let Err(e) = store.batch(a.batch) {
        return super::fail(e);
    }
    if !a.stdin {
        let (Some(line), Some(field), Some(value)) =
            (a.line, a.field.as_deref(), a.value.as_deref())
        else {
            return super::fail("give --line, --field and --value, or --stdin");
        };
        return match one(&mut store, a.batch, line, field, value) {
            Ok(rejected) => {
                super::emit(&format!(
                    "saved; batch {} has {rejected} rejected records\n",
                    a.batch
                ))?;
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => super::fail(e),
        };
    }
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::stdout().lock();
    let mut failed = 0u64;
    let mut raw = Vec::new();
    let mut n = 0usize;
    loop {
        raw.clear();
        match input.read_until(b'\n', &mut raw) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                eprintln!("esr-desk: could not read standard input after line {n}: {e}");
                failed += 1;
                break;
            }
        }
        n += 1;
        while raw.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            raw.pop();
        }
        let result = match std::str::from_utf8(&raw) {
            Err(e) => Err(format!(
                "input line {n} is not UTF-8 text (byte {} at position {}): save the edits as UTF-8",
                raw.get(e.valid_up_to())
                    .map_or(String::new(), |b| format!("0x{b:02X}")),
                e.valid_up_to() + 1
            )),
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => {
                let parts: Vec<&str> = text.splitn(3, '\t').collect();
                match parts.as_slice() {
                    [line, field, value] => line
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| format!("input line {n}: {line:?} is not a line number"))
                        .and_then(|l| {
                            one(&mut store, a.batch, l, field, value)
                                .map_err(|e| format!("input line {n}: {e}"))
                        }),
                    _ => Err(format!("input line {n}: expected LINE<TAB>FIELD<TAB>VALUE")),
                }
            }
        };
        let said = match result {
            Ok(_) => writeln!(out, "saved {n}"),
            Err(e) => {
                failed += 1;
                eprintln!("esr-desk: {e}");
                writeln!(out, "failed {n}: {e}")
            }
        };
        // A closed pipe stops the printing, never the edits.
        let _ = said.and_then(|()| out.flush());
    }
    if failed > 0 {
        eprintln!("esr-desk: {failed} input line(s) failed; every other line was saved");
    }
    let failed = failed > 0;
    if failed {
        Ok(ExitCode::from(super::EXIT_FAILED))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}
