//! The store's vocabulary as types: batch status, edit kind, export outcome, run outcome and
//! export trigger. Each is stored as its text through `ToSql`/`FromSql`, so no code compares
//! status strings and a missing case is a compile error.

use std::fmt;

macro_rules! stored_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            /// The text stored and printed.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $text),+ }
            }

            /// The value with this text.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$v),)+ _ => None }
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl rusqlite::types::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(
                v: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                let s = v.as_str()?;
                $name::parse(s).ok_or_else(|| {
                    rusqlite::types::FromSqlError::Other(
                        format!("unknown {} {s:?}", stringify!($name)).into(),
                    )
                })
            }
        }
    };
}

stored_enum! {
    /// Where a batch stands.
    BatchStatus {
        /// Being imported (never seen by readers: the import's transaction is open).
        Importing => "importing",
        /// No error at any level (file-level problems accepted with a reason count as
        /// resolved).
        Clean => "clean",
        /// Rejected records, or file-level problems not yet accepted.
        Rejects => "rejects",
        /// Exported in full.
        Exported => "exported",
        /// Held for review by a scheduled run.
        Held => "held",
    }
}

stored_enum! {
    /// What one edit-log entry did.
    EditKind {
        /// Set a field's value.
        Set => "set",
        /// Left a record out of exports.
        Exclude => "exclude",
        /// Put an excluded record back.
        Include => "include",
        /// Reversed an earlier entry.
        Undo => "undo",
        /// Repeated an undone entry.
        Redo => "redo",
    }
}

stored_enum! {
    /// How an export attempt ended.
    ExportRunOutcome {
        /// The file was written.
        Ok => "ok",
        /// Refused before writing (rejects, file-level problems, an existing file).
        Refused => "refused",
        /// Failed while writing; nothing was left under the final name.
        Failed => "failed",
        /// Under way: its name, number and (once written) SHA-256 are recorded before its
        /// file is put in place, so a run that stops there is finished or undone by the next.
        Pending => "pending",
    }
}

stored_enum! {
    /// How a scheduled run ended.
    RunOutcome {
        /// Every file it picked was exported.
        Ok => "ok",
        /// A file was held for review (or rejected rows were held back).
        Held => "held",
        /// Something failed.
        Failed => "failed",
        /// No file was waiting.
        NothingToDo => "nothing to do",
        /// Files are in the inbox but still settling (they may still be being written): they
        /// are taken by a later run.
        Waiting => "waiting",
        /// Every file taken had been imported before (the same bytes): archived, and nothing
        /// exported again.
        AlreadyImported => "already imported",
        /// Another run held the schedule's lease (not stored: no run happened).
        Skipped => "skipped",
        /// Started and not finished yet.
        Running => "running",
        /// Started and never finished: the process was killed or the machine stopped.
        Interrupted => "interrupted",
    }
}

stored_enum! {
    /// Who started an export.
    Trigger {
        /// A person, from the window or the command line.
        Manual => "manual",
        /// A schedule.
        Scheduled => "scheduled",
    }
}

stored_enum! {
    /// What the access log records (who saw and sent what; never a field's value).
    AccessAction {
        /// A batch was opened in the window.
        OpenBatch => "open-batch",
        /// Masked personal data was revealed for a batch, with a reason.
        Reveal => "reveal",
        /// A batch was exported.
        Export => "export",
        /// Cells were copied to the clipboard.
        Copy => "copy",
        /// A rejects report was saved.
        RejectsReport => "rejects-report",
        /// A rejects report with whole records was saved.
        RejectsReportFull => "rejects-report-full",
        /// A joiners, movers and leavers report was saved.
        JmlReport => "jml-report",
        /// Batches were purged under the retention rules.
        Purge => "purge",
    }
}

impl BatchStatus {
    /// The status in words, as the lists show it.
    pub fn title(self) -> &'static str {
        match self {
            BatchStatus::Clean => "Clean",
            BatchStatus::Rejects => "Rejects",
            BatchStatus::Exported => "Exported",
            BatchStatus::Held => "Held",
            BatchStatus::Importing => "Importing",
        }
    }

    /// The status a batch has from its counts: clean only when no error is left at any level.
    /// Held and exported batches keep their status while nothing is wrong with them.
    pub fn judged(previous: BatchStatus, rejected: u64, file_errors: u64) -> BatchStatus {
        if rejected > 0 || file_errors > 0 {
            match previous {
                BatchStatus::Held => BatchStatus::Held,
                _ => BatchStatus::Rejects,
            }
        } else {
            match previous {
                BatchStatus::Held | BatchStatus::Exported => previous,
                _ => BatchStatus::Clean,
            }
        }
    }
}
