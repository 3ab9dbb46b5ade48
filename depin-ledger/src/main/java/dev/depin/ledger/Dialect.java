package dev.depin.ledger;

import java.util.List;

/** The few places where SQLite and PostgreSQL SQL differ; everything else is shared. */
enum Dialect {
    SQLITE("INTEGER PRIMARY KEY AUTOINCREMENT"),
    POSTGRESQL("BIGSERIAL PRIMARY KEY");

    private final String sequenceColumn;

    Dialect(String sequenceColumn) {
        this.sequenceColumn = sequenceColumn;
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
                "CREATE TABLE IF NOT EXISTS holds ("
                        + " hold_key VARCHAR(200) PRIMARY KEY REFERENCES ops(op_key),"
                        + " payer VARCHAR(128) NOT NULL REFERENCES accounts(id),"
                        + " payee VARCHAR(128) NOT NULL REFERENCES accounts(id),"
                        + " amount BIGINT NOT NULL CHECK (amount > 0),"
                        + " expires_ms BIGINT NOT NULL,"
                        + " state VARCHAR(8) NOT NULL CHECK (state IN ('OPEN', 'POSTED', 'VOIDED', 'EXPIRED')),"
                        + " resolved_by VARCHAR(200) UNIQUE REFERENCES ops(op_key))",
                // Only open holds are looked up by expiry (the sweep, loading memory, the audit): a
                // hold enters this index when taken and leaves it when resolved, instead of moving
                // from one state's part of holds_state(state, expires_ms) to another's.
                "CREATE INDEX IF NOT EXISTS holds_open ON holds(expires_ms) WHERE state = 'OPEN'",
                // Added by issue 16 (claims): a new table, so a ledger file or database written
                // before it gains the table when a ledger opens it, and nothing else changes. A
                // claimed hold stays OPEN in holds (it still reserves money) until it resolves.
                "CREATE TABLE IF NOT EXISTS claims ("
                        + " hold_key VARCHAR(200) PRIMARY KEY REFERENCES holds(hold_key),"
                        + " claim_key VARCHAR(200) NOT NULL UNIQUE REFERENCES ops(op_key),"
                        + " amount BIGINT NOT NULL CHECK (amount > 0),"
                        + " evidence VARCHAR(200) NOT NULL,"
                        + " filed_ms BIGINT NOT NULL,"
                        + " window_end_ms BIGINT NOT NULL CHECK (window_end_ms >= filed_ms),"
                        + " state VARCHAR(8) NOT NULL CHECK (state IN ('CLAIMED', 'DISPUTED')),"
                        + " disputed_by VARCHAR(200) UNIQUE REFERENCES ops(op_key),"
                        + " CHECK ((state = 'DISPUTED') = (disputed_by IS NOT NULL)))",
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
