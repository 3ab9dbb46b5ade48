package dev.depin.ledger;

/** The contract against the embedded default, an SQLite file in WAL mode with full sync. */
class SqliteLedgerTest extends LedgerContractTest {
    @Override
    Databases.Location freshDatabase() {
        return Databases.sqlite();
    }
}
