package dev.depin.ledger;

/** The writer's memory against an SQLite file. */
class SqliteWriterTest extends WriterTest {
    @Override
    Databases.Location freshDatabase() {
        return Databases.sqlite();
    }
}
