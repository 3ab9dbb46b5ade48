package dev.depin.grpc;

import static dev.depin.grpc.CacheFixtures.floats;
import static dev.depin.grpc.CacheFixtures.serve;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.Envelope;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.WipeAttestation;
import dev.depin.crypto.WipeRecord;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.wire.ExecuteRequest;
import dev.depin.grpc.internal.wire.Start;
import dev.depin.job.Job;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.node.InputCache;
import dev.depin.node.ProviderNode;
import io.grpc.Status;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The wire of Start.buffers_in_place (issue 15): a buyer that sets it and sends cached inputs by
 * root gets an attestation that states them as the node's cache entries (its verifier accepts
 * them); an older buyer (no such field) gets the inputs copied into the job and wiped with it,
 * so that its verifier, which wants every buffer overwritten, still accepts the attestation.
 */
class BuffersInPlaceOverGrpcTest {
    private static final long SEED = 0x15B1FL;
    private static final int N = 96;

    @Test
    void newerBuyerGetsCachedInputsReadInPlace_olderBuyerGetsThemCopiedAndWiped() throws Exception {
        System.out.println("BuffersInPlaceOverGrpcTest seed 0x" + Long.toHexString(SEED));
        SplittableRandom random = new SplittableRandom(SEED);
        NodeKeyPair key = NodeKeyPair.generate();
        Job job = Job.builder(BuiltinKernel.SGEMM).param("m", N).param("k", N).param("n", N)
                .input("a", floats(random, N * N)).input("b", floats(random, N * N)).build();
        try (DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0)
                .start();
             ProviderServer server = serve(ProviderNode.builder(key, new CpuExecutor(1)).receiptBatching(0)
                     .inputCache(InputCache.Limits.of(64L << 20, 64)).build(), key, directory);
             Hostile buyer = new Hostile(server.address(), key.publicKey())) {
            // The inputs sent once, kept by the node for this buyer.
            Hostile.Stream first = buyer.open(true);
            first.send(ExecuteRequest.newBuilder().setStart(Hostile.start(job, Hostile.jobId(1)).getStart().toBuilder()
                    .setKeepInputs(true)).build());
            for (Map.Entry<String, ByteBuffer> in : job.inputs().entrySet()) {
                byte[] bytes = new byte[in.getValue().remaining()];
                in.getValue().duplicate().get(bytes);
                first.send(Hostile.input(in.getKey(), bytes, 0, bytes.length));
            }
            first.requests.onCompleted();
            assertEquals(Status.Code.OK, first.await(60).getCode(), first.status.toString());
            assertEquals(List.of("a", "b"), first.result.getKeptInputsList().stream().sorted().toList());

            for (boolean newer : new boolean[] {true, false, true}) {
                String jobId = Hostile.jobId(newer ? 2 : 3);
                Hostile.Stream s = buyer.open(true);
                Start.Builder start = Hostile.startByRoot(job, jobId).getStart().toBuilder().setBuffersInPlace(newer);
                s.send(ExecuteRequest.newBuilder().setStart(start).build());
                s.requests.onCompleted();
                assertEquals(Status.Code.OK, s.await(60).getCode(), s.status.toString());
                assertTrue(!s.need.isDone(), "the node held both inputs: no Need");
                Envelope receipt = Envelope.parse(s.result.getReceiptEnvelope().toByteArray(), 1 << 20);
                Envelope wipe = Envelope.parse(s.result.getWipeEnvelope().toByteArray(), 1 << 20);
                ExecutionReceipt r = ExecutionReceipt.readUnverified(receipt);
                List<WipeRecord> records = WipeAttestation.readUnverified(wipe).buffers();
                List<String> inPlace = records.stream().filter(w -> w.method().equals(WipeRecord.CACHE_IN_PLACE))
                        .map(WipeRecord::label).toList();
                assertEquals(newer ? List.of("a", "b") : List.of(), inPlace, records.toString());
                assertTrue(WipeAttestation.verify(wipe, receipt, key.publicKey(), WipeAttestation.buffersOf(r),
                        WipeAttestation.inputRootsOf(r)).allPassed());
                if (newer) {
                    assertEquals(VerificationException.Reason.WIPE_INCOMPLETE, assertThrows(VerificationException.class,
                            () -> WipeAttestation.verify(wipe, receipt, key.publicKey(), WipeAttestation.buffersOf(r)))
                            .reason(), "an older buyer's rule would refuse it: the node sends it only when asked");
                } else {
                    // What an older buyer checks: every buffer of the job overwritten.
                    assertTrue(WipeAttestation.verify(wipe, receipt, key.publicKey(), WipeAttestation.buffersOf(r))
                            .allPassed());
                }
            }
            Hostile.awaitReleased(server);
        }
    }
}
