package dev.depin.ledger;

import java.util.List;

/** The few places where SQLite and PostgreSQL SQL differ; everything else is shared. */
enum Dialect {
    // SQLite: INTEGER PRIMARY KEY makes hold_rows.seq the table's rowid (no second index).
    SQLITE("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER PRIMARY KEY", "CREATE VIEW IF NOT EXISTS"),
    POSTGRESQL("BIGSERIAL PRIMARY KEY", "BIGINT PRIMARY KEY", "CREATE OR REPLACE VIEW");

    private final String sequenceColumn;
    private final String holdSeqColumn;
    private final String createView;

    Dialect(String sequenceColumn, String holdSeqColumn, String createView) {
        this.sequenceColumn = sequenceColumn;
        this.holdSeqColumn = holdSeqColumn;
        this.createView = createView;
    }

    /** The claims table under a name (the migration builds it under another, then renames it). */
    static String claimsTable(String name) {
        return "CREATE TABLE IF NOT EXISTS " + name + " ("
                + " hold_key VARCHAR(200) PRIMARY KEY REFERENCES ops(op_key),"
                + " claim_key VARCHAR(200) NOT NULL UNIQUE REFERENCES ops(op_key),"
                + " amount BIGINT NOT NULL CHECK (amount > 0),"
                + " evidence VARCHAR(200) NOT NULL,"
                + " filed_ms BIGINT NOT NULL,"
                + " window_end_ms BIGINT NOT NULL CHECK (window_end_ms >= filed_ms),"
                + " state VARCHAR(8) NOT NULL CHECK (state IN ('CLAIMED', 'DISPUTED')),"
                + " disputed_by VARCHAR(200) UNIQUE REFERENCES ops(op_key),"
                + " CHECK ((state = 'DISPUTED') = (disputed_by IS NOT NULL)))";
    }

    /**
     * A query with one parameter, a table's name, that returns a row when the database has a
     * table (not a view) of that name: a table "holds" is the schema before hold_rows (text
     * keys), which {@link Store#initialise} migrates.
     */
    String tableExists() {
        return this == SQLITE
                ? "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
                : "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema()"
                        + " AND table_name = ? AND table_type = 'BASE TABLE'";
    }

    /**
     * Moves a ledger of the earlier schema (a table "holds" keyed by text, claims referring to it)
     * to hold_rows, in the opening transaction; the statements after it in {@link #schema} then
     * create the view, the indexes and the claims index. Every hold keeps its state, amount,
     * expiry and resolving operation; every claim is copied as it was.
     */
    List<String> migrateHolds(boolean claimsExist) {
        List<String> out = new java.util.ArrayList<>();
        out.add(schema().stream().filter(ddl -> ddl.startsWith("CREATE TABLE IF NOT EXISTS hold_rows")).findFirst()
                .orElseThrow());
        out.add("INSERT INTO hold_rows(seq, payer, payee, amount, expires_ms, state, resolved_seq)"
                + " SELECT o.seq, h.payer, h.payee, h.amount, h.expires_ms, h.state, r.seq"
                + " FROM holds h JOIN ops o ON o.op_key = h.hold_key LEFT JOIN ops r ON r.op_key = h.resolved_by");
        out.add(claimsTable("claims_migrated"));
        if (claimsExist) {
            out.add("INSERT INTO claims_migrated SELECT hold_key, claim_key, amount, evidence, filed_ms, window_end_ms,"
                    + " state, disputed_by FROM claims");
            out.add("DROP TABLE claims");
        }
        out.add("DROP TABLE holds");
        out.add("ALTER TABLE claims_migrated RENAME TO claims");
        return out;
    }

    /** The schema, idempotent. The CHECK and UNIQUE constraints are the invariants' backstop. */
    List<String> schema() {
        return List.of(
                "CREATE TABLE IF NOT EXISTS accounts ("
                        + " id VARCHAR(128) PRIMARY KEY,"
                        + " kind VARCHAR(16) NOT NULL,"
                        + " allow_credit INTEGER NOT NULL CHECK (allow_credit IN (0, 1)),"
                        + " posted BIGINT NOT NULL,"
                        + " held BIGINT NOT NULL CHECK (held >= 0),"
                        + " CHECK (allow_credit = 1 OR posted - held >= 0))",
                "CREATE TABLE IF NOT EXISTS ops ("
                        + " seq " + sequenceColumn + ","
                        + " op_key VARCHAR(200) NOT NULL UNIQUE,"
                        + " fields TEXT NOT NULL,"
                        + " at_ms BIGINT NOT NULL)",
                "CREATE TABLE IF NOT EXISTS entries ("
                        + " op_seq BIGINT NOT NULL REFERENCES ops(seq),"
                        + " leg INTEGER NOT NULL,"
                        + " debit VARCHAR(128) NOT NULL REFERENCES accounts(id),"
                        + " credit VARCHAR(128) NOT NULL REFERENCES accounts(id),"
                        + " amount BIGINT NOT NULL CHECK (amount >= 0),"
                        + " pending INTEGER NOT NULL CHECK (pending IN (0, 1)),"
                        + " PRIMARY KEY (op_seq, leg),"
                        + " CHECK (debit <> credit))",
                // An account's statement reads only posted legs (pending = 0): a hold's pending leg
                // is in no index by account, so a hold writes one index entry fewer per leg.
                // Replaced the full indexes entries_debit / entries_credit (dropped below).
                "CREATE INDEX IF NOT EXISTS entries_debit_posted ON entries(debit, op_seq) WHERE pending = 0",
                "CREATE INDEX IF NOT EXISTS entries_credit_posted ON entries(credit, op_seq) WHERE pending = 0",
                // A hold's row is keyed by its operation's sequence number and names the operation that
                // resolved it by sequence number too (issue 16, helper "ledger", 2026-12-07): integer
                // keys that grow with the ledger, so a hold adds no index entry by its text key and
                // its resolution rewrites no text index; the view "holds" below gives readers the keys.
                // A ledger written before (a table "holds" with text keys) is migrated by
                // Store.initialise before these statements run.
                "CREATE TABLE IF NOT EXISTS hold_rows ("
                        + " seq " + holdSeqColumn + " REFERENCES ops(seq),"
                        + " payer VARCHAR(128) NOT NULL REFERENCES accounts(id),"
                        + " payee VARCHAR(128) NOT NULL REFERENCES accounts(id),"
                        + " amount BIGINT NOT NULL CHECK (amount > 0),"
                        + " expires_ms BIGINT NOT NULL,"
                        + " state VARCHAR(8) NOT NULL CHECK (state IN ('OPEN', 'POSTED', 'VOIDED', 'EXPIRED')),"
                        + " resolved_seq BIGINT UNIQUE REFERENCES ops(seq))",
                // Only open holds are looked up by expiry (the sweep, loading memory, the audit): a
                // hold enters this index when taken and leaves it when resolved.
                "CREATE INDEX IF NOT EXISTS holds_open ON hold_rows(expires_ms) WHERE state = 'OPEN'",
                // What every reader reads (statements, the audit, LedgerReader, the tools): the columns
                // of the table "holds" of earlier ledgers, so the same queries read either.
                createView + " holds AS SELECT h.seq AS seq, o.op_key AS hold_key, h.payer AS payer,"
                        + " h.payee AS payee, h.amount AS amount, h.expires_ms AS expires_ms, h.state AS state,"
                        + " r.op_key AS resolved_by"
                        + " FROM hold_rows h JOIN ops o ON o.seq = h.seq LEFT JOIN ops r ON r.seq = h.resolved_seq",
                // Added by issue 16 (claims). A claimed hold stays OPEN (it still reserves money) until
                // it resolves. Its hold_key names the hold's operation; that the operation is an open
                // hold is checked by Store.claim in the same transaction.
                claimsTable("claims"),
                "CREATE INDEX IF NOT EXISTS claims_due ON claims(state, window_end_ms)",
                // A ledger written before the indexes above (up to 256db36) had these in their place:
                // opening it with a writer replaces them, in the same transaction as the rest.
                "DROP INDEX IF EXISTS entries_debit",
                "DROP INDEX IF EXISTS entries_credit",
                "DROP INDEX IF EXISTS holds_state");
    }

    /** Inserts an operation row and returns its sequence number in one statement's result. */
    String insertOp() {
        return "INSERT INTO ops(op_key, fields, at_ms) VALUES (?, ?, ?) RETURNING seq";
    }
}
