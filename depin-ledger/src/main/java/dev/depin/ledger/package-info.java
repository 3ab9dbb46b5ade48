/**
 * A durable double-entry {@link dev.depin.settlement.spi.Settlement} over JDBC:
 * {@link dev.depin.ledger.JdbcLedger}, in an SQLite file (WAL, full sync) by default or in
 * PostgreSQL through the same code, with group commit.
 *
 * <pre>{@code
 * try (JdbcLedger ledger = JdbcLedger.sqlite(Path.of("ledger.db"))) {
 *     AccountId buyer = AccountId.of("buyer:acme");
 *     ledger.open(buyer, AccountKind.BUYER, false).join();
 *     ledger.apply(new Operation.Mint(OperationKey.of("deposit-1"), buyer, MicroUsd.ofUsd("10"))).join();
 *     LedgerAudit audit = ledger.audit();   // audit.sound() == true
 * }
 * }</pre>
 */
package dev.depin.ledger;
