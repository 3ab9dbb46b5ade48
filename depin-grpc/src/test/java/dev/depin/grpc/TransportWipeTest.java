package dev.depin.grpc;

import com.google.protobuf.ByteString;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.WipeAttestation;
import dev.depin.crypto.WipeRecord;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.Wire;
import dev.depin.grpc.internal.wire.ExecuteRequest;
import dev.depin.grpc.internal.wire.ExecuteResponse;
import dev.depin.grpc.internal.wire.InputChunk;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import dev.depin.grpc.internal.wire.Start;
import dev.depin.job.Job;
import dev.depin.job.Requirements;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The node's receive buffers are wiped and attested: the frame that carried inputs inside
 * Start (small jobs), or the buffers that chunked inputs were assembled in plus the chunk
 * frames (zeroed on arrival). Also the short path's own refusals: inputs inside Start that
 * are incomplete, of the wrong size, repeated or undeclared.
 */
class TransportWipeTest {
    private static final long SEED = 20261128L;
    private final NodeKeyPair key = NodeKeyPair.generate();
    private Loopback net;

    @BeforeEach
    void start() {
        System.out.println("TransportWipeTest seed " + SEED);
        // Single envelopes (receiptBatching(0)): this test reads the wipe attestation envelope.
        net = new Loopback(List.of(ProviderNode.builder(key, new CpuExecutor(1)).receiptBatching(0).build()),
                List.of(key));
    }

    @AfterEach
    void stop() {
        net.close();
    }

    private static Job saxpy(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextDouble(-1, 1);
            y[i] = (float) rnd.nextDouble(-1, 1);
        }
        return Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2).input("x", x).input("y", y).build();
    }

    private ProviderOffer offer() throws Exception {
        return net.offers(new OfferQuery("saxpy", Requirements.ANY, 10)).get(10, TimeUnit.SECONDS).get(0);
    }

    /** Runs the job, checks its outputs, verifies the wipe attestation and returns its records. */
    private List<WipeRecord> run(Job job, int n, List<ComputeNetwork.Progress> progress) throws Exception {
        ProviderOffer offer = offer();
        byte[] nonce = new byte[ExecutionRequest.NONCE_BYTES];
        new SplittableRandom(SEED + n).nextBytes(nonce);
        ExecutionRequest req = new ExecutionRequest("0123456789abcdef0123456789abcdef", 1, job.spec(), job.inputs(),
                nonce);
        ExecutionResponse r = net.dispatch(offer, req, progress::add).response().get(30, TimeUnit.SECONDS);
        ByteBuffer x = job.inputs().get("x");
        ByteBuffer y = job.inputs().get("y");
        ByteBuffer out = r.outputBytes().get("out");
        for (int i = 0; i < n; i++) {
            assertEquals(2f * x.getFloat(4 * i) + y.getFloat(4 * i), out.getFloat(4 * i), "element " + i);
        }
        WipeAttestation.verify(r.wipe(), r.receipt(), offer.publicKey(),
                WipeAttestation.buffersOf(ExecutionReceipt.readUnverified(r.receipt())));
        return WipeAttestation.readUnverified(r.wipe()).buffers();
    }

    private static WipeRecord record(List<WipeRecord> records, String label) {
        return records.stream().filter(w -> w.label().equals(label)).findFirst()
                .orElseThrow(() -> new AssertionError("no wipe record '" + label + "' in " + records));
    }

    @Test
    void wipe_coversTheFrameOfInputsInsideStart() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int n : new int[] {1, 3, 1024, 1 + rnd.nextInt(Wire.INLINE_BYTES / 8 - 1), Wire.INLINE_BYTES / 8}) {
            List<ComputeNetwork.Progress> progress = new CopyOnWriteArrayList<>();
            List<WipeRecord> records = run(saxpy(rnd, n), n, progress);
            WipeRecord frame = record(records, "transport:received-start");
            assertTrue(frame.bytes() > 8L * n, "the frame holds both inputs and the spec: " + frame);
            assertEquals(frame.bytes(), frame.bytesOverwritten());
            assertEquals(record(records, "x").pattern(), frame.pattern(), "wiped with the job's pattern");
            assertTrue(records.stream().noneMatch(w -> w.label().startsWith("transport:received:")), records.toString());
            assertEquals(List.of(ComputeNetwork.Progress.ACCEPTED, ComputeNetwork.Progress.RUNNING,
                    ComputeNetwork.Progress.FIRST_BYTE), progress, "a compact reply still reports both stages, "
                    + "then its first byte");
        }
    }

    @Test
    void wipe_ofBuffersOverOneMiB_onTheNodesPool_arrivesVerifiesAndATamperedRecordIsRejected() throws Exception {
        // 1.2 MB per buffer: the executor's host wipe cuts each into ranges on the node's
        // hashing pool (HostArena.wipe(pattern, parallelism)); the attestation must still list
        // every buffer, whole, with the check digest of a complete read-back.
        SplittableRandom rnd = new SplittableRandom(SEED + 2);
        int n = 300_007 + rnd.nextInt(1_000);
        Job job = saxpy(rnd, n);
        ProviderOffer offer = offer();
        byte[] nonce = new byte[ExecutionRequest.NONCE_BYTES];
        rnd.nextBytes(nonce);
        ExecutionResponse r = net.dispatch(offer, new ExecutionRequest("0123456789abcdef0123456789abcdef", 1,
                job.spec(), job.inputs(), nonce), p -> { }).response().get(30, TimeUnit.SECONDS);
        WipeAttestation.verify(r.wipe(), r.receipt(), offer.publicKey(),
                WipeAttestation.buffersOf(ExecutionReceipt.readUnverified(r.receipt())));
        WipeAttestation sent = WipeAttestation.readUnverified(r.wipe());
        int pattern = record(sent.buffers(), "x").pattern();
        for (String name : List.of("x", "y", "out")) {
            List<WipeRecord> all = sent.buffers().stream().filter(w -> w.label().equals(name)).toList();
            assertTrue(!all.isEmpty(), "no record of '" + name + "' in " + sent.buffers());
            for (WipeRecord w : all) {
                assertEquals(4L * n, w.bytes(), w.toString());
                assertEquals(w.bytes(), w.bytesOverwritten(), w.toString());
                assertEquals(pattern, w.pattern(), w.toString());
                assertEquals(dev.depin.crypto.HostWipe.checkDigest(WipeRecord.HOST, name, 4L * n, pattern, 0),
                        w.checkDigest(), "the digest of a whole read-back with no mismatch: " + w);
            }
        }
        // The node's own key signs a copy whose 'out' record claims one byte fewer read back.
        WipeAttestation.Builder tampered = WipeAttestation.builder().receipt(r.receipt())
                .startedAt(sent.startedAt()).endedAt(sent.endedAt());
        for (WipeRecord w : sent.buffers()) {
            tampered.buffer(!w.label().equals("out") ? w : new WipeRecord(w.location(), w.label(), w.bytes(),
                    w.bytesOverwritten() - 1, w.pattern(), w.method(), w.checkDigest()));
        }
        dev.depin.crypto.VerificationException e = org.junit.jupiter.api.Assertions.assertThrows(
                dev.depin.crypto.VerificationException.class, () -> WipeAttestation.verify(tampered.build().sign(key),
                        r.receipt(), offer.publicKey(),
                        WipeAttestation.buffersOf(ExecutionReceipt.readUnverified(r.receipt()))));
        assertEquals(dev.depin.crypto.VerificationException.Reason.WIPE_INCOMPLETE, e.reason(), e.getMessage());
    }

    @Test
    void wipe_coversTheBuffersOfInputsSentInChunks() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        for (int n : new int[] {Wire.INLINE_BYTES / 8 + 1, 100_003 + rnd.nextInt(50_000)}) {
            List<WipeRecord> records = run(saxpy(rnd, n), n, new CopyOnWriteArrayList<>());
            for (String in : List.of("x", "y")) {
                WipeRecord w = record(records, "transport:received:" + in);
                assertEquals(4L * n, w.bytes());
                assertEquals(record(records, in).pattern(), w.pattern(), "wiped with the job's pattern");
            }
            WipeRecord frames = record(records, "transport:received-frames");
            assertTrue(frames.bytes() > 8L * n, "every chunk frame, zeroed on arrival: " + frames);
            assertEquals(0, frames.pattern());
        }
    }

    /** Sends one Start whose inline inputs are wrong, on a raw stream, and returns the status. */
    private Status refuse(Job job, List<Map.Entry<String, byte[]>> inline) throws Exception {
        ManagedChannel channel = NettyChannelBuilder.forTarget(net.servers.get(0).address())
                .sslContext(NodeTls.client(NodeTls.identity(NodeKeyPair.generate()), key.publicKey())).build();
        try {
            Start.Builder s = Start.newBuilder().setJobId("0123456789abcdef0123456789abcdef").setAttempt(1)
                    .setSpecJson(ByteString.copyFrom(job.spec().canonicalJson()))
                    .setNonce(ByteString.copyFrom(new byte[32])).setCompact(true);
            inline.forEach(e -> s.addInputs(InputChunk.newBuilder().setName(e.getKey())
                    .setData(ByteString.copyFrom(e.getValue()))));
            CompletableFuture<Status> status = new CompletableFuture<>();
            StreamObserver<ExecuteRequest> out = ProviderGrpc.newStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
                    .execute(new StreamObserver<>() {
                        @Override
                        public void onNext(ExecuteResponse value) {
                        }

                        @Override
                        public void onError(Throwable t) {
                            status.complete(Status.fromThrowable(t));
                        }

                        @Override
                        public void onCompleted() {
                            status.complete(Status.OK);
                        }
                    });
            out.onNext(ExecuteRequest.newBuilder().setStart(s).build());
            return status.get(20, TimeUnit.SECONDS);
        } finally {
            channel.shutdownNow();
            channel.awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static void assertRefused(Status s, String words) {
        assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode(), s.toString());
        assertTrue(String.valueOf(s.getDescription()).contains(words), s.toString());
    }

    @Test
    void execute_badInputsInsideStart() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 2);
        Job job = saxpy(rnd, 5);
        byte[] good = new byte[20];
        assertRefused(refuse(job, List.of(Map.entry("x", good))), "send every input inside Start, or none");
        assertRefused(refuse(job, List.of(Map.entry("x", good), Map.entry("y", new byte[19]))),
                "inside Start has 19 bytes");
        assertRefused(refuse(job, List.of(Map.entry("x", good), Map.entry("z", good))), "is not declared");
        assertRefused(refuse(job, List.of(Map.entry("x", good), Map.entry("x", good), Map.entry("y", good))),
                "twice inside Start");
        ProviderServer server = net.servers.get(0);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((server.reservedInputBytes() != 0 || server.node().busy() != 0) && System.nanoTime() < until) {
            Thread.sleep(2);
        }
        assertEquals(0, server.reservedInputBytes(), "input bytes still reserved after the refusals");
        assertEquals(0, server.node().completedCount(), "a refused stream ran a job");
    }
}
