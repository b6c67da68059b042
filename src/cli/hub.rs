//! `esr-desk org set|list|test` and `esr-desk hub pull|push|refresh|resend|status`: the
//! organisations and their NHS Interface Hub.

use esr_desk::hub::transfer::{self, HubOptions};
use esr_desk::hub::{HubError, Org, secret};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `org`.
#[derive(Debug, clap::Args)]
pub struct OrgArgs {
    /// What to do.
    #[command(subcommand)]
    pub what: OrgWhat,
}

/// `org` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum OrgWhat {
    /// Create or change an organisation.
    Set {
        /// VPD code (3 letters or digits).
        vpd: String,
        /// Its name.
        #[arg(long)]
        name: String,
        /// Its hub: ftps://USER@HOST:PORT/ (the password is asked for separately).
        #[arg(long)]
        hub: Option<String>,
        /// An extra CA certificate (PEM) to trust for this hub (a test or private hub).
        #[arg(long, value_name = "PEM")]
        ca_file: Option<PathBuf>,
        /// Read the hub password from standard input and keep it in the system's credential
        /// store (or, where none runs, a file only you can read).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the organisations.
    List,
    /// Test an organisation's hub connection: says what failed (name, refused, TLS, login,
    /// missing folder).
    Test {
        /// VPD code.
        vpd: String,
    },
}

/// Arguments of `hub`.
#[derive(Debug, clap::Args)]
pub struct HubArgs {
    /// What to do.
    #[command(subcommand)]
    pub what: HubWhat,
}

/// `hub` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum HubWhat {
    /// Download new files from the hub's Out, import each; one line per file with its batch.
    Pull {
        /// VPD code.
        vpd: String,
        /// Only files of this interface.
        #[arg(long)]
        interface: Option<String>,
    },
    /// Export a batch in its layout and deliver it to the hub's In (never twice).
    Push {
        /// The batch.
        batch: i64,
        /// The organisation (VPD code).
        #[arg(long)]
        org: String,
    },
    /// Ask ESR for a full extract (a file holding only the header, for extracts that allow it).
    Refresh {
        /// VPD code.
        vpd: String,
        /// The interface.
        #[arg(long)]
        interface: String,
    },
    /// Make a new batch of the rows ESR rejected in a batch (to fix, then push); prints its id.
    Resend {
        /// The batch ESR answered.
        batch: i64,
        /// The organisation the re-send is for (its VPD and sequence).
        #[arg(long)]
        org: Option<String>,
    },
    /// What ESR said of each row of a batch.
    Answers {
        /// The batch sent.
        batch: i64,
    },
    /// The dashboard: per interface, last file in and out, next due, overdue, sequence,
    /// ESR rejections outstanding; and hub transfers that failed.
    Status,
}

fn hub_err(e: HubError) -> super::CliError {
    super::failed(e.say(esr_desk::hub::Face::Cli))
}

/// Runs `org`.
pub fn run_org(a: OrgArgs, db: Option<&Path>) -> super::Outcome {
    let store = super::open_store(db)?;
    match a.what {
        OrgWhat::Set {
            vpd,
            name,
            hub,
            ca_file,
            password_stdin,
        } => {
            let org = Org::save(&store, &vpd, &name, hub.as_deref(), ca_file.as_deref())
                .map_err(hub_err)?;
            let mut out = format!("organisation {} ({}) saved", org.vpd, org.name);
            if let Some(h) = &org.hub {
                out.push_str(&format!("; hub {h}"));
            }
            out.push('\n');
            if password_stdin {
                let Some(h) = &org.hub else {
                    return super::fail(
                        "--password-stdin needs --hub: the password belongs to a hub account",
                    );
                };
                let mut pw = String::new();
                std::io::stdin()
                    .read_to_string(&mut pw)
                    .map_err(|e| super::failed(format!("could not read the password: {e}")))?;
                let pw = pw.trim_end_matches(['\r', '\n']);
                let kept = secret::save(&store, &org.vpd, &h.user, pw).map_err(hub_err)?;
                out.push_str(&format!("password kept {kept}\n"));
            }
            super::emit(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        OrgWhat::List => {
            let orgs = Org::all(&store).map_err(hub_err)?;
            if orgs.is_empty() {
                super::emit(
                    "no organisations yet: add one with `esr-desk org set VPD --name NAME --hub ftps://USER@HOST:PORT/`\n",
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut out = String::from("VPD\tname\thub\tpassword\n");
            for o in orgs {
                let pw = match &o.hub {
                    Some(h) if secret::has_password(&store, &o.vpd, &h.user) => "saved",
                    Some(_) => "not set",
                    None => "",
                };
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\n",
                    o.vpd,
                    o.name,
                    o.hub.as_ref().map(ToString::to_string).unwrap_or_default(),
                    pw
                ));
            }
            super::emit(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        OrgWhat::Test { vpd } => {
            let org = Org::get(&store, &vpd).map_err(hub_err)?;
            match org.test(&store) {
                Ok(m) => {
                    super::emit(&format!("{}: {m}\n", org.vpd))?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => super::fail(format!(
                    "{}: the hub test failed: {}",
                    org.vpd,
                    e.say(esr_desk::hub::Face::Cli)
                )),
            }
        }
    }
}

/// Runs `hub`.
pub fn run_hub(a: HubArgs, db: Option<&Path>) -> super::Outcome {
    let mut store = super::open_store(db)?;
    let layouts = esr_desk::paths::layout_set().map_err(super::failed)?;
    match a.what {
        HubWhat::Pull { vpd, interface } => {
            let org = Org::get(&store, &vpd).map_err(hub_err)?;
            let opts = HubOptions {
                interface: interface.as_deref(),
                ..HubOptions::default()
            };
            let report = transfer::pull(&mut store, &layouts, &org, &opts).map_err(hub_err)?;
            let mut out = String::new();
            let mut rejects = false;
            for p in &report.pulled {
                let info = store.batch(p.batch).map_err(super::failed)?;
                let verdict = if info.rejected > 0 || info.file_errors > 0 {
                    rejects = true;
                    format!(
                        "{} rejected record{}{}",
                        info.rejected,
                        if info.rejected == 1 { "" } else { "s" },
                        if info.file_errors > 0 {
                            format!(", {} file-level problems", info.file_errors)
                        } else {
                            String::new()
                        }
                    )
                } else {
                    "clean".into()
                };
                out.push_str(&format!("{}\tbatch {}\t{}", p.name, p.batch, verdict));
                for n in &p.notes {
                    out.push_str(&format!("; {n}"));
                }
                out.push('\n');
                transfer::finish_pull(&store, p.transfer).map_err(hub_err)?;
            }
            for (name, why) in &report.failed {
                out.push_str(&format!(
                    "{name}\tnot finished\t{why} (tried again at the next pull)\n"
                ));
            }
            if report.pulled.is_empty() && report.failed.is_empty() {
                out.push_str(&format!(
                    "nothing new in {} for {}\n",
                    esr_desk::hub::OUT,
                    org.vpd
                ));
            }
            super::emit(&out)?;
            if !report.failed.is_empty() {
                return Ok(ExitCode::from(super::EXIT_FAILED));
            }
            Ok(if rejects {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        HubWhat::Push { batch, org } => {
            let org = Org::get(&store, &org).map_err(hub_err)?;
            let p =
                transfer::push(&mut store, batch, &org, &HubOptions::default()).map_err(hub_err)?;
            let mut out = String::new();
            for n in &p.notes {
                out.push_str(n);
                out.push('\n');
            }
            super::emit(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        HubWhat::Refresh { vpd, interface } => {
            let org = Org::get(&store, &vpd).map_err(hub_err)?;
            let p = transfer::request_refresh(
                &mut store,
                &layouts,
                &org,
                &interface,
                &HubOptions::default(),
            )
            .map_err(hub_err)?;
            super::emit(&format!(
                "full refresh of {interface} requested: {} delivered to {}\n",
                p.name,
                esr_desk::hub::IN
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        HubWhat::Resend { batch, org } => {
            let id = esr_desk::hub::answers::resend_rejected(&mut store, batch, org.as_deref())
                .map_err(super::failed)?;
            let info = store.batch(id).map_err(super::failed)?;
            super::emit(&format!(
                "{id}\n{} rows ESR rejected, in batch {id} ({}): fix them, then `esr-desk hub push {id} --org VPD`\n",
                info.records, info.status
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        HubWhat::Answers { batch } => {
            store.batch(batch).map_err(super::failed)?;
            let answers = store.answers(Some(batch), None).map_err(super::failed)?;
            if answers.is_empty() {
                super::emit(&format!(
                    "no answer from ESR has been matched to batch {batch} yet\n"
                ))?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut out = String::new();
            for a in &answers {
                out.push_str(&format!(
                    "answer batch {} ({}): {} accepted, {} warnings, {} rejected, {} unmatched\n",
                    a.answer_batch, a.matched_by, a.accepted, a.warnings, a.rejected, a.unmatched
                ));
            }
            out.push_str("row\tline\tstatus\tmessage\n");
            for r in store.answer_rows(batch, true).map_err(super::failed)? {
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\n",
                    r.seq,
                    r.line,
                    r.status.as_str(),
                    r.message
                        .as_deref()
                        .unwrap_or_default()
                        .replace(['\t', '\n', '\r'], " ")
                ));
            }
            super::emit(&out)?;
            let rejected = answers.last().is_some_and(|a| a.rejected > 0);
            Ok(if rejected {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        HubWhat::Status => {
            let d = esr_desk::hub::dashboard::build(&store, &layouts, chrono::Utc::now())
                .map_err(super::failed)?;
            super::emit(&d.to_text())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
