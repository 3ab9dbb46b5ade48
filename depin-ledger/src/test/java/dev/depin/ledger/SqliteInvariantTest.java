package dev.depin.ledger;

/** The invariant suite against the embedded default (SQLite, WAL, full sync). */
class SqliteInvariantTest extends LedgerInvariantTest {
    @Override
    Databases.Location freshDatabase() {
        return Databases.sqlite();
    }

    @Override
    int opsPerThread() {
        return 10000;
    }

    @Override
    int randomOps() {
        return 4000;
    }
}
