package dev.depin.ledger;

/** The writer's memory against a real PostgreSQL server started by the test. */
class PostgresWriterTest extends WriterTest {
    @Override
    Databases.Location freshDatabase() {
        return Databases.postgres();
    }
}
