package dev.depin.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.BatchSigner;
import dev.depin.crypto.BatchedReceipt;
import dev.depin.crypto.BufferDigest;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.HostWipe;
import dev.depin.crypto.KeyPem;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.ReceiptEnergy;
import dev.depin.crypto.WipeAttestation;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code depin earnings --receipts}: the net-per-day table from a node's own signed receipts (gross
 * at its price, device time, the energy each states), and {@code depin verify} printing a
 * receipt's energy; a receipt that names the node but does not verify is refused with status 2.
 */
class ReceiptEarningsTest {
    private static final long SEED = 0xEA7_2026_1206L;
    private static final Instant T0 = Instant.parse("2026-12-05T10:00:00Z");

    private final Random random = new Random(SEED);
    private final NodeKeyPair node = key();
    private final NodeKeyPair other = key();

    ReceiptEarningsTest() {
        System.out.println("ReceiptEarningsTest seed " + SEED);
    }

    private NodeKeyPair key() {
        byte[] seed = new byte[32];
        random.nextBytes(seed);
        return NodeKeyPair.fromSeed(seed);
    }

    private static String[] run(int status, String... args) {
        return MeasuredEarningsTest.run(status, args);
    }

    /** A receipt of job {@code i}: output {@code out}, {@code startMinutes} after T0, {@code deviceMillis} on the device. */
    private ExecutionReceipt receipt(int i, byte[] out, long startMinutes, long deviceMillis, ReceiptEnergy energy) {
        byte[] in = new byte[1000 + 37 * i];
        byte[] n = new byte[32];
        random.nextBytes(in);
        random.nextBytes(n);
        Instant start = T0.plusSeconds(60 * startMinutes);
        return ExecutionReceipt.builder().jobId("job-" + i).attempt(1).specHash(sha("spec" + i))
                .kernelId("saxpy").kernelHash(sha("kernel")).nonce(dev.depin.crypto.Hex.encode(n))
                .input(BufferDigest.of("x", ByteBuffer.wrap(in), 4096))
                .output(BufferDigest.of("out", ByteBuffer.wrap(out), 4096)).merkleChunkBytes(4096)
                .executorKind("cuda").startedAt(start).endedAt(start.plusMillis(deviceMillis + 3))
                .deviceTimeNanos(deviceMillis * 1_000_000L).energy(energy).build();
    }

    private static String sha(String s) {
        return dev.depin.crypto.Hex.encode(dev.depin.crypto.Sha256.digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static long bytesMoved(ExecutionReceipt r) {
        return r.inputs().stream().mapToLong(BufferDigest::bytes).sum()
                + r.outputs().stream().mapToLong(BufferDigest::bytes).sum();
    }

    @Test
    void receipts_ofTheNode_becomeThePerDayTable_andVerifyPrintsTheirEnergy(@TempDir Path dir) throws Exception {
        Path keyFile = dir.resolve("node.key");
        KeyPem.save(keyFile, node, null);
        Path runDir = dir.resolve("run");
        // Three single receipts (two measured, one stating none), one batched (estimated), one of
        // another node, and a copy of the first in a second folder (counted once).
        byte[] out0 = bytes(4096 * 3 + 5);
        ExecutionReceipt r0 = receipt(0, out0, 0, 1_500, new ReceiptEnergy(412_345, ReceiptEnergy.Source.MEASURED));
        ExecutionReceipt r1 = receipt(1, bytes(777), 7, 250, new ReceiptEnergy(61_001, ReceiptEnergy.Source.MEASURED));
        ExecutionReceipt r2 = receipt(2, bytes(4096), 30, 9_999, null);
        ExecutionReceipt r3 = receipt(3, bytes(123), 90, 2_000, new ReceiptEnergy(600_000,
                ReceiptEnergy.Source.ESTIMATED));
        ExecutionReceipt foreign = receipt(4, bytes(10), 200, 5_000, new ReceiptEnergy(9, ReceiptEnergy.Source.MEASURED));
        write(runDir.resolve("jobs/0001-job-0/receipt.json"), r0.sign(node).toJsonBytes());
        write(runDir.resolve("copy/0001-job-0/receipt.json"), r0.sign(node).toJsonBytes());
        Files.write(runDir.resolve("jobs/0001-job-0/out.bin"), out0);
        write(runDir.resolve("jobs/0002-job-1/receipt.json"), r1.sign(node).toJsonBytes());
        write(runDir.resolve("jobs/0003-job-2/receipt.json"), r2.sign(node).toJsonBytes());
        write(runDir.resolve("jobs/0004-job-3/batched-receipt.json"), batched(r3).toJsonBytes());
        write(runDir.resolve("jobs/0005-job-4/receipt.json"), foreign.sign(other).toJsonBytes());

        Price price = new Price(MicroUsd.ofUsd("0.002"), MicroUsd.ofUsd("0.05"));
        long gross = 0;
        for (ExecutionReceipt r : new ExecutionReceipt[] {r0, r1, r2, r3}) {
            gross += price.charge(r.deviceTimeNanos(), bytesMoved(r)).micros();
        }
        String out = run(0, "earnings", "--receipts", runDir.toString(), "--key", keyFile.toString(),
                "--price-per-second", "0.002", "--price-per-gb", "0.05", "--kwh-price", "0.15", "--gpu",
                "rtx4090")[0];
        // The window: job 0's start to job 3's end, 90 min + 2.003 s.
        double window = 90 * 60 + 2.003;
        assertTrue(out.startsWith(String.format(java.util.Locale.ROOT, "receipts %s (4 of node %s, 1 of other nodes "
                + "skipped): 4 receipt(s) in %.3f s; device time 13.749 s, %.2f%% utilization; energy 1073.3 J 2 "
                + "measured, 1 estimated, 1 stating none; earned %s%n", runDir, node.nodeId().shortId(), window,
                100 * 13.749 / window, Earnings.usd(gross))), out);
        Matcher row = Pattern.compile("\nmeasured +(\\S+) +(\\S+) +(\\S+) +(\\S+) \\|").matcher(out);
        assertTrue(row.find(), out);
        BigDecimal w = BigDecimal.valueOf(window);
        assertEquals(Earnings.usd(BigDecimal.valueOf(gross).multiply(BigDecimal.valueOf(86_400))
                .divide(w, 0, RoundingMode.HALF_UP).longValueExact()), row.group(1));
        // 1,073.346 J x $0.15 / 3.6 MJ, per day of the window.
        assertEquals(Earnings.usd(new BigDecimal("1073.346").multiply(new BigDecimal("0.15"))
                .divide(BigDecimal.valueOf(3_600_000), 12, RoundingMode.HALF_UP).multiply(BigDecimal.valueOf(86_400))
                .divide(w, 12, RoundingMode.HALF_UP).movePointRight(6).setScale(0, RoundingMode.HALF_UP)
                .longValueExact()), row.group(2));

        Path pub = dir.resolve("node.pub.pem");
        Files.writeString(pub, KeyPem.publicKeyToPem(node.publicKey()));
        String verified = run(0, "verify", "--receipt", runDir.resolve("jobs/0001-job-0/receipt.json").toString(),
                "--key", pub.toString(), "--output", "out=" + runDir.resolve("jobs/0001-job-0/out.bin"))[0];
        assertTrue(verified.contains("\n  ok   energy: 412.345 J measured, signed by the provider (its claim; at most "
                + "100000 W over the execution)\n"), verified);
        // The independent Python verifier reads and prints it too, and refuses a malformed one.
        ExecutionReceipt guessed = receipt(9, out0, 0, 1, new ReceiptEnergy(1, ReceiptEnergy.Source.ESTIMATED));
        Path odd = dir.resolve("odd-receipt.json");
        Files.write(odd, Envelope.sign(dev.depin.crypto.Dsse.IN_TOTO_PAYLOAD_TYPE, new String(guessed.toPayload(),
                StandardCharsets.UTF_8).replace("\"source\":\"estimated\"", "\"source\":\"guessed\"")
                .getBytes(StandardCharsets.UTF_8), node).toJsonBytes());
        java.util.List<CliRun> py = CliRun.verifyScript(java.util.List.of(
                java.util.List.of(runDir.resolve("jobs/0001-job-0/receipt.json").toString(), pub.toString(),
                        "out=" + runDir.resolve("jobs/0001-job-0/out.bin")),
                java.util.List.of(odd.toString(), pub.toString(), "out=" + runDir.resolve("jobs/0001-job-0/out.bin"))));
        assertEquals(0, py.get(0).exit(), py.get(0).all());
        assertTrue(py.get(0).out().strip().endsWith(", 1 output(s) match, energy 412.345 J measured (the provider's "
                + "signed claim)"), py.get(0).all());
        assertEquals(1, py.get(1).exit(), py.get(1).all());
        assertEquals("INVALID: energy source 'guessed' is neither 'measured' nor 'estimated'", py.get(1).out().strip());
        // The public key reads the same receipts.
        String same = run(0, "earnings", "--receipts", runDir.toString(), "--key", pub.toString(),
                "--price-per-second", "0.002", "--price-per-gb", "0.05", "--kwh-price", "0.15")[0];
        assertTrue(same.contains("energy 1073.3 J 2 measured, 1 estimated, 1 stating none; earned "
                + Earnings.usd(gross)), same);
    }

    private BatchedReceipt batched(ExecutionReceipt r) {
        WipeAttestation w = WipeAttestation.builder().receiptDigest(r.statementDigestHex())
                .buffer(HostWipe.wipe("x", new byte[(int) r.inputs().get(0).bytes()], (byte) 0))
                .buffer(HostWipe.wipe("out", new byte[(int) r.outputs().get(0).bytes()], (byte) 0))
                .startedAt(r.endedAt()).endedAt(r.endedAt().plusMillis(1)).build();
        try (BatchSigner s = new BatchSigner(node, 1, Clock.fixed(r.endedAt(), ZoneOffset.UTC))) {
            return s.add(r, w).join();
        }
    }

    private static void write(Path file, byte[] bytes) throws IOException {
        Files.createDirectories(file.getParent());
        Files.write(file, bytes);
    }

    @Test
    void receipts_refusals(@TempDir Path dir) throws IOException {
        Path keyFile = dir.resolve("node.key");
        KeyPem.save(keyFile, node, null);
        Path runDir = dir.resolve("run");
        ExecutionReceipt r = receipt(0, bytes(100), 0, 10, new ReceiptEnergy(2_000, ReceiptEnergy.Source.MEASURED));
        Envelope env = r.sign(node);
        // The energy lowered after signing: the signature no longer holds.
        Envelope tampered = new Envelope(env.payloadType(), new String(env.payload(), StandardCharsets.UTF_8)
                .replace("\"millijoules\":2000", "\"millijoules\":200").getBytes(StandardCharsets.UTF_8),
                env.signatures());
        Path bad = runDir.resolve("jobs/0001-job-0/receipt.json");
        write(bad, tampered.toJsonBytes());
        String err = run(2, "earnings", "--receipts", runDir.toString(), "--key", keyFile.toString(), "--kwh-price",
                "0.15")[1];
        assertTrue(err.startsWith("--receipts: " + bad + " does not verify under the node's key: BAD_SIGNATURE: the "
                + "envelope's signature by " + node.nodeId().shortId() + " does not verify: the payload, its type or "
                + "the signature was altered; reject it (remove it, or give the key of the node that signed it)\n"),
                err);

        err = run(2, "earnings", "--receipts", dir.resolve("empty").toString(), "--key", keyFile.toString(),
                "--kwh-price", "0.15")[1];
        assertTrue(err.startsWith("--receipts: " + dir.resolve("empty") + " is not a directory: give the folder a "
                + "buyer's run was written to (e.g. depin demo --out DIR)\n"), err);
        Files.createDirectories(dir.resolve("empty"));
        err = run(2, "earnings", "--receipts", dir.resolve("empty").toString(), "--key", keyFile.toString(),
                "--kwh-price", "0.15")[1];
        assertTrue(err.startsWith("--receipts: none of the 0 receipt file(s) under " + dir.resolve("empty")
                + " is signed by node " + node.nodeId().hex() + " (receipt.json and batched-receipt.json are read)\n"),
                err);
        err = run(2, "earnings", "--receipts", runDir.toString(), "--provider", node.nodeId().hex(), "--kwh-price",
                "0.15")[1];
        assertTrue(err.startsWith("--receipts needs the node's key to check their signatures: --key FILE (its key "
                + "file or public key PEM); an id (--provider) cannot verify them\n"), err);
        err = run(2, "earnings", "--gross-per-day", "3", "--price-per-second", "0.01", "--kwh-price", "0.15", "--gpu",
                "rtx4090")[1];
        assertTrue(err.startsWith("--price-per-second and --price-per-gb go with --receipts (the calculator takes "
                + "--price-per-hour; --node and --ledger know what the node earned)\n"), err);
        err = run(2, "earnings", "--receipts", runDir.toString(), "--key", keyFile.toString(), "--price-per-gb",
                "-1", "--kwh-price", "0.15")[1];
        assertTrue(err.startsWith("--price-per-second '0.0010' and --price-per-gb '-1': "), err);
    }
}
