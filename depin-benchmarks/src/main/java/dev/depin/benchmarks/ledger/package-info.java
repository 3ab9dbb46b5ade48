/**
 * Benchmarks of the durable ledger ({@code depin-ledger}): group commit beside one fsync per
 * operation, in the same run.
 */
package dev.depin.benchmarks.ledger;
