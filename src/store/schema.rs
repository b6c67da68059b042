//! The store's schema and its forward migrations, versioned with `PRAGMA user_version`.
//!
//! Each entry of [`MIGRATIONS`] takes the schema from version `i` to `i + 1`; opening a store
//! runs the ones it lacks in one transaction. A store from a newer version of the program is
//! refused, never touched. Migrations are only ever appended.

/// Migrations, in order: index `i` upgrades a store at version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: batches, records, issues, the append-only edit log, export and schedule runs.
    r#"
    CREATE TABLE layout (
        sha256 TEXT PRIMARY KEY,
        id TEXT NOT NULL,
        version TEXT NOT NULL,
        text TEXT NOT NULL
    );
    CREATE TABLE batch (
        id INTEGER PRIMARY KEY,
        interface TEXT NOT NULL,
        layout_id TEXT NOT NULL,
        layout_version TEXT NOT NULL,
        layout_sha256 TEXT NOT NULL REFERENCES layout(sha256),
        source_name TEXT NOT NULL,
        source_path TEXT NOT NULL,
        source_sha256 TEXT NOT NULL,
        source_bytes INTEGER NOT NULL,
        imported_at TEXT NOT NULL,
        imported_by TEXT NOT NULL,
        record_count INTEGER NOT NULL DEFAULT 0,
        rejected_count INTEGER NOT NULL DEFAULT 0,
        issue_count INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL CHECK (status IN ('importing', 'clean', 'rejects', 'exported', 'held')),
        had_bom INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX batch_interface ON batch(interface, id);
    CREATE INDEX batch_sha ON batch(source_sha256);
    CREATE TABLE record (
        batch_id INTEGER NOT NULL REFERENCES batch(id),
        seq INTEGER NOT NULL,
        line INTEGER NOT NULL,
        record_type TEXT,
        type_seq INTEGER NOT NULL,
        fields TEXT NOT NULL,
        rejected INTEGER NOT NULL DEFAULT 0,
        excluded INTEGER NOT NULL DEFAULT 0,
        exclude_reason TEXT,
        PRIMARY KEY (batch_id, seq)
    ) WITHOUT ROWID;
    CREATE INDEX record_by_type ON record(batch_id, record_type, type_seq);
    CREATE INDEX record_rejected ON record(batch_id, rejected, seq);
    CREATE TABLE issue (
        batch_id INTEGER NOT NULL REFERENCES batch(id),
        seq INTEGER,
        line INTEGER NOT NULL,
        record_type TEXT,
        field TEXT,
        field_index INTEGER,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL CHECK (severity IN ('error', 'warning')),
        message TEXT NOT NULL
    );
    CREATE INDEX issue_by_record ON issue(batch_id, seq);
    CREATE INDEX issue_by_rule ON issue(batch_id, rule);
    CREATE TABLE edit (
        id INTEGER PRIMARY KEY,
        batch_id INTEGER NOT NULL REFERENCES batch(id),
        grp INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        field_index INTEGER,
        field TEXT,
        kind TEXT NOT NULL CHECK (kind IN ('set', 'exclude', 'include', 'undo', 'redo')),
        old_value TEXT,
        new_value TEXT,
        reason TEXT,
        at TEXT NOT NULL,
        who TEXT NOT NULL,
        undoes INTEGER
    );
    CREATE INDEX edit_by_batch ON edit(batch_id, id);
    CREATE TRIGGER edit_no_update BEFORE UPDATE ON edit
        BEGIN SELECT RAISE(ABORT, 'the edit log is append-only'); END;
    CREATE TRIGGER edit_no_delete BEFORE DELETE ON edit
        BEGIN SELECT RAISE(ABORT, 'the edit log is append-only'); END;
    CREATE TABLE export_run (
        id INTEGER PRIMARY KEY,
        batch_id INTEGER NOT NULL REFERENCES batch(id),
        interface TEXT NOT NULL,
        path TEXT,
        records_written INTEGER NOT NULL DEFAULT 0,
        sha256 TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        trigger TEXT NOT NULL CHECK (trigger IN ('manual', 'scheduled')),
        outcome TEXT NOT NULL,
        message TEXT
    );
    CREATE INDEX export_by_batch ON export_run(batch_id, id);
    CREATE TABLE schedule (
        id INTEGER PRIMARY KEY,
        interface TEXT NOT NULL UNIQUE,
        enabled INTEGER NOT NULL DEFAULT 0,
        cadence TEXT NOT NULL,
        inbox TEXT,
        outbox TEXT,
        on_rejects TEXT NOT NULL DEFAULT 'hold' CHECK (on_rejects IN ('hold', 'valid_rows_only')),
        last_run_at TEXT,
        lease_owner TEXT,
        lease_until TEXT
    );
    CREATE TABLE schedule_run (
        id INTEGER PRIMARY KEY,
        schedule_id INTEGER NOT NULL REFERENCES schedule(id),
        started_at TEXT NOT NULL,
        finished_at TEXT,
        files_picked INTEGER NOT NULL DEFAULT 0,
        batches_made INTEGER NOT NULL DEFAULT 0,
        exports_written INTEGER NOT NULL DEFAULT 0,
        outcome TEXT NOT NULL,
        message TEXT
    );
    CREATE INDEX schedule_run_by_schedule ON schedule_run(schedule_id, id);
    "#,
    // 2: settings (the trust's VPD code, sequence numbers per interface) and held-rows lists.
    r#"
    CREATE TABLE setting (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    ALTER TABLE export_run ADD COLUMN held_back INTEGER NOT NULL DEFAULT 0;
    "#,
    // 3: when a schedule was made (its first slot counts from then).
    r#"
    ALTER TABLE schedule ADD COLUMN created_at TEXT;
    "#,
    // 4: the rejected-records index also covers exclusion, so counting the records that block
    // an export reads only rejected rows (not the whole batch) after every edit.
    r#"
    DROP INDEX record_rejected;
    CREATE INDEX record_rejected ON record(batch_id, rejected, excluded, seq);
    "#,
    // 5: the same index in seq order, so a page of "rejected rows only" is read in order from
    // the index instead of sorting every rejected record (exclusion stays covered).
    r#"
    DROP INDEX record_rejected;
    CREATE INDEX record_rejected ON record(batch_id, rejected, seq, excluded);
    "#,
    // 6: one verdict. File-level errors reject a batch until accepted with a reason (the
    // acceptance log, append-only); a record keeps the read problems the import saw; a batch
    // records what its references were checked against; the edit log's group is indexed (an
    // edit no longer reads the whole log). Old batches are re-judged: file-level issues stop
    // rejecting records and start rejecting batches.
    r#"
    ALTER TABLE batch ADD COLUMN file_error_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE batch ADD COLUMN reference TEXT;
    ALTER TABLE batch ADD COLUMN reference_batches TEXT;
    ALTER TABLE record ADD COLUMN problems TEXT;
    CREATE TABLE acceptance (
        id INTEGER PRIMARY KEY,
        batch_id INTEGER NOT NULL REFERENCES batch(id),
        rule TEXT NOT NULL,
        line INTEGER,
        reason TEXT NOT NULL,
        at TEXT NOT NULL,
        who TEXT NOT NULL
    );
    CREATE INDEX acceptance_by_batch ON acceptance(batch_id, rule);
    CREATE TRIGGER acceptance_no_update BEFORE UPDATE ON acceptance
        BEGIN SELECT RAISE(ABORT, 'the acceptance log is append-only'); END;
    CREATE TRIGGER acceptance_no_delete BEFORE DELETE ON acceptance
        BEGIN SELECT RAISE(ABORT, 'the acceptance log is append-only'); END;
    CREATE INDEX edit_grp ON edit(grp);
    ALTER TABLE schedule ADD COLUMN check_references INTEGER NOT NULL DEFAULT 0;
    UPDATE record SET rejected = EXISTS(
        SELECT 1 FROM issue i WHERE i.batch_id = record.batch_id AND i.seq = record.seq
        AND i.severity = 'error' AND i.rule NOT IN ('blank-row', 'line-ending', 'encoding-mismatch',
        'column-names', 'header-missing', 'header-not-first', 'trailer-missing', 'trailer-not-last',
        'trailer-count', 'trailer-total', 'reference-unchecked'))
    WHERE rejected = 1;
    UPDATE batch SET file_error_count = (
        SELECT COUNT(*) FROM issue i WHERE i.batch_id = batch.id AND i.severity = 'error'
        AND i.rule IN ('blank-row', 'line-ending', 'encoding-mismatch', 'column-names',
        'header-missing', 'header-not-first', 'trailer-missing', 'trailer-not-last',
        'trailer-count', 'trailer-total', 'reference-unchecked'));
    UPDATE batch SET rejected_count = (
        SELECT COUNT(*) FROM record r WHERE r.batch_id = batch.id AND r.rejected = 1 AND r.excluded = 0);
    UPDATE batch SET status = 'rejects'
        WHERE status IN ('clean', 'exported') AND (file_error_count > 0 OR rejected_count > 0);
    "#,
    // 7: a file the program could not recognise, imported as the interface the officer named,
    // keeps that choice and why it was asked; a schedule keeps when it last looked at its inbox
    // (its history keeps only the runs that did something); the unique keys of a batch's
    // records are kept beside them (written at import, kept current by every edit), so the
    // first edit of a large batch does not rebuild them. Older batches build theirs once.
    r#"
    ALTER TABLE batch ADD COLUMN interface_choice TEXT;
    ALTER TABLE schedule ADD COLUMN last_checked_at TEXT;
    CREATE TABLE record_key (
        batch_id INTEGER NOT NULL,
        hash INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (batch_id, hash, seq)
    ) WITHOUT ROWID;
    ALTER TABLE batch ADD COLUMN keys_indexed INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE access_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        who TEXT NOT NULL,
        batch_id INTEGER,
        action TEXT NOT NULL,
        count INTEGER,
        detail TEXT
    );
    CREATE INDEX access_by_time ON access_log(at);
    CREATE TRIGGER access_no_update BEFORE UPDATE ON access_log
        BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
    CREATE TRIGGER access_no_delete BEFORE DELETE ON access_log
        BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
    CREATE TABLE purge (
        batch_id INTEGER PRIMARY KEY,
        purged_at TEXT NOT NULL,
        purged_by TEXT NOT NULL,
        interface TEXT NOT NULL,
        source_name TEXT NOT NULL,
        source_sha256 TEXT NOT NULL,
        record_count INTEGER NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE TRIGGER purge_no_update BEFORE UPDATE ON purge
        BEGIN SELECT RAISE(ABORT, 'a purge record is kept as it was written'); END;
    CREATE TRIGGER purge_no_delete BEFORE DELETE ON purge
        BEGIN SELECT RAISE(ABORT, 'a purge record is kept as it was written'); END;
    DROP TRIGGER edit_no_update;
    DROP TRIGGER edit_no_delete;
    CREATE TRIGGER edit_no_update BEFORE UPDATE ON edit
        WHEN NOT EXISTS (SELECT 1 FROM purge WHERE batch_id = OLD.batch_id)
        BEGIN SELECT RAISE(ABORT, 'the edit log is append-only'); END;
    CREATE TRIGGER edit_no_delete BEFORE DELETE ON edit
        BEGIN SELECT RAISE(ABORT, 'the edit log is append-only'); END;
    "#,
    // 8: the key index also holds the keys of a layout's consistent rules (one assignment
    // number, one employee number): every batch's index is rebuilt on its next edit.
    r#"
    UPDATE batch SET keys_indexed = 0;
    "#,
    // 9: batches converted from a workbook sheet or a foreign CSV (what they were made from),
    // the column mappings officers saved (per interface and column set), and the sheet chosen
    // per source.
    r#"
    ALTER TABLE batch ADD COLUMN made_from TEXT;
    CREATE TABLE mapping (
        key TEXT PRIMARY KEY,
        interface TEXT NOT NULL,
        columns TEXT NOT NULL,
        body TEXT NOT NULL,
        saved_at TEXT NOT NULL,
        saved_by TEXT NOT NULL,
        used_at TEXT
    );
    CREATE TABLE sheet_choice (
        source TEXT PRIMARY KEY,
        sheet TEXT NOT NULL,
        chosen_at TEXT NOT NULL,
        chosen_by TEXT NOT NULL
    );
    "#,
    // 10: the NHS Interface Hub: organisations (VPD, name, hub address; never a password),
    // hub transfers as persisted state machines (one row per file pulled or pushed, a batch
    // pushed once), the numbered extracts seen per series, and ESR's answers matched to rows.
    r#"
    CREATE TABLE organisation (
        vpd TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        hub_url TEXT,
        ca_file TEXT,
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL
    );
    CREATE TABLE hub_transfer (
        id INTEGER PRIMARY KEY,
        vpd TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('pull', 'push')),
        remote_name TEXT NOT NULL,
        size INTEGER,
        local_path TEXT,
        layout_id TEXT,
        batch_id INTEGER,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        started_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        done_at TEXT,
        UNIQUE (vpd, direction, remote_name)
    );
    CREATE UNIQUE INDEX hub_push_once ON hub_transfer(batch_id)
        WHERE direction = 'push' AND batch_id IS NOT NULL;
    CREATE TABLE sequence_seen (
        series TEXT NOT NULL,
        seq INTEGER NOT NULL,
        file TEXT NOT NULL,
        kind TEXT,
        batch_id INTEGER,
        seen_at TEXT NOT NULL,
        finding TEXT,
        PRIMARY KEY (series, file)
    );
    CREATE TABLE answer (
        answer_batch INTEGER PRIMARY KEY,
        answered_batch INTEGER,
        matched_by TEXT NOT NULL,
        accepted INTEGER NOT NULL,
        warnings INTEGER NOT NULL,
        rejected INTEGER NOT NULL,
        unmatched INTEGER NOT NULL,
        at TEXT NOT NULL
    );
    CREATE TABLE answer_row (
        answered_batch INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        answer_batch INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('accepted', 'warning', 'rejected')),
        message TEXT,
        PRIMARY KEY (answered_batch, seq, answer_batch)
    ) WITHOUT ROWID;
    ALTER TABLE batch ADD COLUMN resend_of INTEGER;
    ALTER TABLE schedule ADD COLUMN hub_from TEXT;
    ALTER TABLE schedule ADD COLUMN hub_to TEXT;
    "#,
    // 11: unique-key hashes are foldhash with a fixed seed, like the consistent rules' (std's
    // hasher may change between Rust releases): every batch's key index is rebuilt on its
    // next edit. The index of rejected records holds only those (every query of it asks for
    // them), which makes an import's inserts cheaper.
    r#"
    UPDATE batch SET keys_indexed = 0;
    DROP INDEX record_rejected;
    CREATE INDEX record_rejected ON record(batch_id, seq, excluded) WHERE rejected = 1;
    "#,
    // 12: one sequence counter per organisation and interface. The counters an export without
    // an organisation kept (`seq.<interface>`) are folded into the trust's own VPD's
    // (`seq.<VPD>.<interface>`, the larger number kept); where no VPD is set yet, the first
    // export of the interface folds it into the VPD it is made for. Each export run records
    // the VPD and sequence number it used.
    r#"
    INSERT INTO setting(key, value)
        SELECT 'seq.' || v.value || '.' || substr(s.key, 5), s.value
        FROM setting s JOIN setting v ON v.key = 'vpd'
        WHERE s.key LIKE 'seq.%' AND instr(substr(s.key, 5), '.') = 0
    ON CONFLICT(key) DO UPDATE SET value = CAST(max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER)) AS TEXT);
    DELETE FROM setting
        WHERE key LIKE 'seq.%' AND instr(substr(key, 5), '.') = 0
        AND EXISTS (SELECT 1 FROM setting WHERE key = 'vpd');
    ALTER TABLE export_run ADD COLUMN vpd TEXT;
    ALTER TABLE export_run ADD COLUMN seq INTEGER;
    "#,
    // 13: batches a scheduled run imported and has not yet delivered (exported, held, sent to
    // the hub): each later run of the schedule takes them on first, so a run that fails after
    // its import (a full disk, a refused export) never hides its batch.
    r#"
    CREATE TABLE due_batch (
        batch_id INTEGER PRIMARY KEY,
        schedule_id INTEGER NOT NULL,
        source TEXT NOT NULL,
        since TEXT NOT NULL,
        why TEXT
    );
    "#,
    // 14: what a file was read as, kept as received: the earlier ESR release(s) whose field
    // counts its records had (NULL: as the layout lists them today), and whether its last
    // line ended with a line ending (an export writes it back the same way).
    r#"
    ALTER TABLE batch ADD COLUMN read_as TEXT;
    ALTER TABLE batch ADD COLUMN final_eol INTEGER NOT NULL DEFAULT 1;
    "#,
];

/// The schema version this program writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;
