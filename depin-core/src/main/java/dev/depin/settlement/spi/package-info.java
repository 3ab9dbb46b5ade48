/**
 * The settlement service provider interface: {@link dev.depin.settlement.spi.Settlement}.
 * {@code depin-ledger} implements it over JDBC (an SQLite file, or PostgreSQL).
 *
 * <pre>{@code
 * try (Settlement s = JdbcLedger.sqlite(Path.of("ledger.db"))) {
 *     s.open(AccountId.of("buyer:acme"), AccountKind.BUYER, false).join();
 *     s.apply(new Operation.Mint(OperationKey.of("deposit-1"), AccountId.of("buyer:acme"), MicroUsd.ofUsd("10"))).join();
 * }
 * }</pre>
 */
package dev.depin.settlement.spi;
