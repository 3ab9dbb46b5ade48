package dev.depin.grpc;

import static dev.depin.grpc.CacheFixtures.serve;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.depin.crypto.BatchVerifier;
import dev.depin.crypto.BatchedReceipt;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.InclusionProof;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.wire.BatchedParts;
import dev.depin.grpc.internal.wire.ExecuteRequest;
import dev.depin.grpc.internal.wire.InputChunk;
import dev.depin.grpc.internal.wire.ProofParts;
import dev.depin.grpc.internal.wire.Result;
import dev.depin.grpc.internal.wire.Start;
import dev.depin.job.Job;
import dev.depin.network.spi.SmallRequests;
import dev.depin.node.ProviderNode;
import io.grpc.Status;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The wire, from the node's side: a buyer that sets Start.batched_parts gets its batched receipt
 * in parts (Result.batched_parts, no JSON form), an older buyer (no such field) gets the JSON
 * form alone, as before; both are the node's signed batch and authenticate against its key. Read
 * here by hand from the proto fields, not by the buyer's own reader, so that the two readers are
 * checked against each other.
 */
class BatchedPartsOverGrpcTest {
    private static final long SEED = 0xBA7C4ED6L;

    private static List<byte[]> path(ProofParts p) {
        List<byte[]> out = new ArrayList<>();
        p.getPathList().forEach(h -> out.add(h.toByteArray()));
        return out;
    }

    @Test
    void newerBuyerGetsParts_olderBuyerTheJsonForm_bothAuthenticate() throws Exception {
        System.out.println("BatchedPartsOverGrpcTest seed " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        NodeKeyPair key = NodeKeyPair.generate();
        try (DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0)
                .start();
             ProviderServer server = serve(ProviderNode.builder(key, new CpuExecutor(1)).build(), key, directory);
             Hostile buyer = new Hostile(server.address(), key.publicKey())) {
            int i = 0;
            for (boolean newer : new boolean[] {true, false, true, false}) {
                Job job = SmallRequests.saxpy(rnd, 1 + rnd.nextInt(1000), 3);
                String jobId = Hostile.jobId(++i);
                Start.Builder start = Hostile.start(job, jobId).getStart().toBuilder().setCompact(true)
                        .setBatchedParts(newer);
                for (Map.Entry<String, ByteBuffer> in : job.inputs().entrySet()) {
                    start.addInputs(InputChunk.newBuilder().setName(in.getKey())
                            .setData(ByteString.copyFrom(in.getValue().duplicate())));
                }
                Hostile.Stream s = buyer.open(true);
                s.send(ExecuteRequest.newBuilder().setStart(start).build());
                s.requests.onCompleted();
                assertEquals(Status.Code.OK, s.await(60).getCode(), s.status.toString());
                Result r = s.result;
                assertTrue(r.getReceiptEnvelope().isEmpty() && r.getWipeEnvelope().isEmpty(), "a batched receipt");
                assertEquals(newer, r.hasBatchedParts(), "parts only for a buyer that asked for them");
                assertEquals(newer, r.getBatchedReceipt().isEmpty(), "the JSON form only for one that did not");
                BatchedReceipt got;
                if (newer) {
                    BatchedParts p = r.getBatchedParts();
                    got = new BatchedReceipt(Envelope.parse(p.getBatch().toByteArray()), p.getReceipt().toByteArray(),
                            new InclusionProof(p.getReceiptProof().getLeafIndex(), p.getReceiptProof().getLeafCount(),
                                    path(p.getReceiptProof())), p.getWipe().toByteArray(),
                            new InclusionProof(p.getWipeProof().getLeafIndex(), p.getWipeProof().getLeafCount(),
                                    path(p.getWipeProof())));
                    assertArrayEquals(got.toJsonBytes(), BatchedReceipt.parse(got.toJsonBytes()).toJsonBytes());
                } else {
                    got = BatchedReceipt.parse(r.getBatchedReceipt().toByteArray());
                }
                ExecutionReceipt receipt = new BatchVerifier(0).authenticateReceipt(got, key.publicKey());
                assertEquals(jobId, receipt.jobId());
                assertEquals(job.spec().hash(), receipt.specHash());
                assertFalse(s.outputs.isEmpty(), "the output came back");
            }
        }
    }
}
