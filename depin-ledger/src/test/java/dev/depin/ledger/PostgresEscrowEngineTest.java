package dev.depin.ledger;

/** The engine's escrow suite against a real PostgreSQL server (a fresh schema per test). */
class PostgresEscrowEngineTest extends EscrowEngineTest {
    @Override
    Databases.Location location() {
        return Databases.postgres();
    }
}
