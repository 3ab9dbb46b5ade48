package dev.depin.crypto.internal;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Sha256;

import java.security.MessageDigest;

/**
 * A deterministic random stream expanded from a secret seed: block i =
 * SHA-256(domain || 0x00 || seed || i as 8 big-endian bytes). The same seed and domain
 * always give the same stream, so a verifier's random choices (Freivalds vectors, sampled
 * chunks) can be re-drawn offline from the seed recorded in the evidence. The provider
 * must not learn the seed before it has committed to its result.
 */
public final class SeededRandom {
    private final MessageDigest md = Sha256.newDigest();
    private final byte[] prefix;
    private final byte[] block = new byte[Sha256.LENGTH];
    private long counter;
    private int used = Sha256.LENGTH;

    /**
     * A stream for {@code domain} (e.g. "depin/freivalds/v1") and {@code seed}.
     *
     * @param domain the purpose, bound into every block
     * @param seed   the secret seed
     */
    public SeededRandom(String domain, byte[] seed) {
        byte[] d = domain.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        prefix = new byte[d.length + 1 + seed.length];
        System.arraycopy(d, 0, prefix, 0, d.length);
        System.arraycopy(seed, 0, prefix, d.length + 1, seed.length);
    }

    /**
     * The next byte.
     *
     * @return 0..255
     */
    public int nextByte() {
        if (used == block.length) {
            md.update(prefix);
            for (int i = 7; i >= 0; i--) {
                md.update((byte) (counter >>> (8 * i)));
            }
            counter++;
            MerkleHashing.digestInto(md, block, 0);
            used = 0;
        }
        return block[used++] & 0xff;
    }

    /**
     * The next 64 random bits.
     *
     * @return the bits
     */
    public long nextLong() {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | nextByte();
        }
        return v;
    }

    /**
     * A uniform integer in {@code [0, bound)} (rejection sampling, no modulo bias).
     *
     * @param bound exclusive upper bound, &ge; 1
     * @return the integer
     */
    public long nextLong(long bound) {
        if (bound <= 0) {
            throw new InvalidArgumentException("bound must be > 0");
        }
        long limit = Long.MAX_VALUE - (Long.MAX_VALUE % bound);
        while (true) {
            long v = nextLong() >>> 1;
            if (v < limit) {
                return v % bound;
            }
        }
    }
}
