/**
 * Generic result verifiers, independent of jobs: {@link dev.depin.crypto.verify.Freivalds}
 * (matrix products), {@link dev.depin.crypto.verify.SpotCheck} (sampled recomputation
 * against a Merkle commitment) and {@link dev.depin.crypto.verify.Redundant} (majority of
 * several providers). Each returns a {@link dev.depin.crypto.VerificationReport} saying
 * exactly what was checked, or throws a {@link dev.depin.crypto.VerificationException}
 * carrying {@link dev.depin.crypto.Evidence} that anyone can re-check offline.
 *
 * <pre>{@code
 * byte[] seed = Freivalds.newSeed(new SecureRandom());   // after the provider signed its receipt
 * VerificationReport r = Freivalds.verify(a, b, c, m, k, n, 2, seed);
 * }</pre>
 */
package dev.depin.crypto.verify;
