/**
 * Money in integer micro-USD: {@link dev.depin.money.MicroUsd} amounts and provider
 * {@link dev.depin.money.Price}s. No {@code double} ever holds money.
 *
 * <pre>{@code
 * Price p = new Price(MicroUsd.ofUsd("0.0005"), MicroUsd.ofUsd("0.01"));
 * MicroUsd charge = p.charge(deviceNanos, bytesMoved);   // rounded up to whole micro-USD
 * }</pre>
 */
package dev.depin.money;
