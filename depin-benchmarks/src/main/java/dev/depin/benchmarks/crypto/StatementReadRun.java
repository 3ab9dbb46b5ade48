package dev.depin.benchmarks.crypto;

import dev.depin.crypto.Assurance;
import dev.depin.crypto.BufferDigest;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.WipeAttestation;
import dev.depin.crypto.WipeRecord;
import java.lang.management.ManagementFactory;
import java.time.Instant;
import java.util.Locale;

/**
 * What a buyer spends reading one small job's two signed statements (the receipt and the wipe
 * attestation of a SAXPY job: two inputs, one output, three host wipe records), without their
 * signatures: thread CPU time and bytes allocated per pair, in six rounds. Bytes allocated hardly
 * depend on the machine's load, so they compare two builds on a busy machine where time does not.
 * Uses only public API, so the same source runs against an older build's jar.
 *
 * <p>Run: {@code java -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.crypto.StatementReadRun [reads per round]} (default 100,000).
 */
public final class StatementReadRun {
    private StatementReadRun() {
    }

    /**
     * Reads the two statements {@code reads} times per round and prints each round.
     *
     * @param args optional reads per round
     */
    public static void main(String[] args) {
        int reads = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        NodeKeyPair key = NodeKeyPair.generate();
        Instant t0 = Instant.parse("2026-12-07T02:40:00.123456Z");
        String h = "ab".repeat(32);
        Envelope receipt = ExecutionReceipt.builder().jobId("job-0123456789abcdef").attempt(1).specHash(h)
                .kernelId("saxpy").kernelHash(h).nonce(h).merkleChunkBytes(65_536).executorKind("cpu")
                .startedAt(t0).endedAt(t0.plusNanos(12_345)).deviceTimeNanos(12_345)
                .input(new BufferDigest("x", h, 1024)).input(new BufferDigest("y", h, 1024))
                .output(new BufferDigest("out", h, 1024)).assurance(Assurance.signature()).build().sign(key);
        WipeAttestation.Builder w = WipeAttestation.builder().receiptDigest(h).startedAt(t0).endedAt(t0.plusMillis(1));
        for (String name : new String[] {"x", "y", "out"}) {
            w.buffer(new WipeRecord(WipeRecord.HOST, name, 1024, 1024, 0, WipeRecord.HOST_READBACK_COMPARE, h));
        }
        Envelope wipe = w.build().sign(key);
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long sink = 0;
        for (int round = 0; round < 6; round++) {
            long cpu = mx.getCurrentThreadCpuTime();
            long bytes = mx.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < reads; i++) {
                sink += ExecutionReceipt.readUnverified(receipt).attempt();
                sink += WipeAttestation.readUnverified(wipe).buffers().size();
            }
            System.out.printf(Locale.ROOT, "round %d: %,.0f ns CPU, %,d bytes allocated per receipt + wipe read%n",
                    round, (mx.getCurrentThreadCpuTime() - cpu) / (double) reads,
                    (mx.getCurrentThreadAllocatedBytes() - bytes) / reads);
        }
        if (sink == 42) {
            System.out.println();
        }
    }
}
