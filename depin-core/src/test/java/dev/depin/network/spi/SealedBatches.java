package dev.depin.network.spi;

import dev.depin.crypto.BatchSigner;
import dev.depin.crypto.BatchedReceipt;
import dev.depin.crypto.BufferDigest;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.Hex;
import dev.depin.crypto.HostWipe;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.WipeAttestation;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Batches of jobs sealed by a {@link BatchSigner}, each job with one random input and one random
 * output drawn from the caller's seeded generator: shared by the tests that read batched receipts
 * (the gRPC transport's wire form, the offline tools).
 */
public final class SealedBatches {
    /** The receipts' Merkle chunk size. */
    public static final int CHUNK = 4096;

    private SealedBatches() {
    }

    /**
     * One job of a sealed batch.
     *
     * @param receipt what the node sends the buyer
     * @param jobId   the job's id
     * @param output  the output bytes the receipt commits to (as "out")
     */
    public record Sealed(BatchedReceipt receipt, String jobId, byte[] output) {
    }

    /**
     * @param key    the node's key
     * @param rnd    the test's seeded generator
     * @param jobs   jobs in the batch, 1 or more (it seals itself when full)
     * @param tag    the job ids' prefix
     * @param maxIn  an input has 1 to this many bytes
     * @param maxOut an output has 1 to this many bytes
     * @param t0     the jobs' start
     * @param clock  the signer's clock
     * @return the batch's jobs in the order they were added
     * @throws Exception if the batch does not seal within 30 s
     */
    public static List<Sealed> seal(NodeKeyPair key, SplittableRandom rnd, int jobs, String tag, int maxIn, int maxOut,
                                    Instant t0, Clock clock) throws Exception {
        List<CompletableFuture<BatchedReceipt>> futures = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        List<byte[]> outputs = new ArrayList<>();
        try (BatchSigner signer = new BatchSigner(key, jobs, clock)) {
            for (int i = 0; i < jobs; i++) {
                String id = String.format("%s-%016x", tag, rnd.nextLong());
                byte[] in = bytes(rnd, 1 + rnd.nextInt(maxIn));
                byte[] out = bytes(rnd, 1 + rnd.nextInt(maxOut));
                ExecutionReceipt r = ExecutionReceipt.builder().jobId(id).attempt(1)
                        .specHash(Hex.encode(bytes(rnd, 32))).kernelId("saxpy").kernelHash(Hex.encode(bytes(rnd, 32)))
                        .nonce(Hex.encode(bytes(rnd, 32))).input(BufferDigest.of("in", ByteBuffer.wrap(in), CHUNK))
                        .output(BufferDigest.of("out", ByteBuffer.wrap(out), CHUNK)).merkleChunkBytes(CHUNK)
                        .executorKind("cpu").startedAt(t0).endedAt(t0.plusMillis(i)).deviceTimeNanos(i).build();
                WipeAttestation w = WipeAttestation.builder().receiptDigest(r.statementDigestHex())
                        .buffer(HostWipe.wipe("in", new byte[in.length], (byte) 0))
                        .buffer(HostWipe.wipe("out", new byte[out.length], (byte) 0))
                        .startedAt(t0).endedAt(t0.plusMillis(1)).build();
                futures.add(signer.add(r, w));
                ids.add(id);
                outputs.add(out);
            }
        }
        List<Sealed> sealed = new ArrayList<>();
        for (int i = 0; i < jobs; i++) {
            sealed.add(new Sealed(futures.get(i).get(30, TimeUnit.SECONDS), ids.get(i), outputs.get(i)));
        }
        return sealed;
    }

    /**
     * @param rnd the test's seeded generator
     * @param n   how many
     * @return {@code n} random bytes
     */
    public static byte[] bytes(SplittableRandom rnd, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) rnd.nextInt(256);
        }
        return b;
    }
}
