package dev.depin.grpc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.grpc.internal.wire.ExecuteRequest;
import dev.depin.job.InputRef;
import dev.depin.job.Job;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.grpc.internal.wire.ExecuteResponse;
import dev.depin.grpc.internal.wire.Result;
import dev.depin.grpc.internal.wire.WipeFollowing;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.SmallRequests;
import io.grpc.stub.ClientCallStreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * What the buyer puts on an Execute stream: a small job whose inputs all travel inside Start
 * half-closes with it (the node then closes without waiting for a half-close after its Result)
 * and is cancelled by resetting the stream; a job with an input by root, or with chunked
 * inputs, keeps its request side open (the node may ask for inputs, chunks follow) and cancels
 * with a Cancel message carrying the reason.
 */
class RemoteAttemptTest {
    private static final long SEED = 0x5EA1C105EL;

    /** Records what the attempt does to its stream; always ready. */
    private static final class Recorder extends ClientCallStreamObserver<ExecuteRequest> {
        final List<ExecuteRequest> sent = new ArrayList<>();
        Runnable onReady;
        boolean halfClosed;
        String cancelled;

        @Override
        public void onNext(ExecuteRequest value) {
            if (halfClosed || cancelled != null) {
                throw new IllegalStateException("a message after the half-close or the cancel");
            }
            sent.add(value);
        }

        @Override
        public void onError(Throwable t) {
            throw new IllegalStateException("the buyer never fails its own request side", t);
        }

        @Override
        public void onCompleted() {
            halfClosed = true;
        }

        @Override
        public boolean isReady() {
            return true;
        }

        @Override
        public void setOnReadyHandler(Runnable onReadyHandler) {
            this.onReady = onReadyHandler;
        }

        @Override
        public void disableAutoInboundFlowControl() {
        }

        @Override
        public void request(int count) {
        }

        @Override
        public void setMessageCompression(boolean enable) {
        }

        @Override
        public void cancel(String message, Throwable cause) {
            cancelled = message;
        }
    }

    private static ExecutionRequest request(Job job) {
        return new ExecutionRequest("00112233445566778899aabbccddeeff", 1, job.spec(), job.inputs(),
                new byte[ExecutionRequest.NONCE_BYTES]);
    }

    private static Recorder open(RemoteAttempt attempt) {
        Recorder r = new Recorder();
        attempt.beforeStart(r);
        r.onReady.run();
        return r;
    }

    @Test
    void inlineJob_halfClosesWithStart_andCancelResetsTheStream() {
        System.out.println("RemoteAttemptTest seed " + SEED);
        NodeId provider = NodeKeyPair.generate().nodeId();
        Job job = SmallRequests.saxpy(new SplittableRandom(SEED), 257, 2);
        RemoteAttempt attempt = new RemoteAttempt(provider, request(job), p -> { });
        Recorder r = open(attempt);
        assertEquals(1, r.sent.size(), "one message: " + r.sent);
        assertEquals(2, r.sent.get(0).getStart().getInputsCount(), "both inputs inside Start");
        assertTrue(r.sent.get(0).getStart().getCompact());
        assertTrue(r.halfClosed, "half-closed with Start");
        assertTrue(attempt.inlineCall(), "the whole job is inside Start: its callbacks may run on the event loop");
        attempt.dispatch().cancel("the buyer gave up");
        assertEquals("cancelled: the buyer gave up", r.cancelled);
        assertEquals(1, r.sent.size(), "no Cancel message after the half-close");
        attempt.dispatch().cancel("again");
        assertEquals("cancelled: the buyer gave up", r.cancelled, "a second cancel changes nothing");
    }

    @Test
    void inputByRoot_keepsTheRequestSideOpen_andCancelIsAMessage() {
        NodeId provider = NodeKeyPair.generate().nodeId();
        Job job = SmallRequests.saxpy(new SplittableRandom(SEED + 1), 1000, 2);
        InputRef x = job.spec().inputs().get(0);
        HeldInputs held = new HeldInputs();
        held.remember(provider, x);
        RemoteAttempt attempt = new RemoteAttempt(provider, request(job), p -> { }, held);
        Recorder r = open(attempt);
        assertEquals(1, r.sent.size(), "one message: " + r.sent);
        assertEquals(List.of(x.name()), r.sent.get(0).getStart().getByRootList());
        assertFalse(r.halfClosed, "the node may still answer Need");
        assertFalse(attempt.inlineCall(), "a Need would make the buyer stream chunks: not marked inline");
        attempt.dispatch().cancel("the buyer gave up");
        assertNull(r.cancelled, "not reset");
        assertEquals(2, r.sent.size());
        assertEquals("the buyer gave up", r.sent.get(1).getCancel().getReason());
    }

    @Test
    void chunkedInputs_keepTheRequestSideOpen() {
        // 2 × 40,000 floats = 320,000 bytes: above the 256 KiB that fit inside Start.
        NodeId provider = NodeKeyPair.generate().nodeId();
        Job job = SmallRequests.saxpy(new SplittableRandom(SEED + 2), 40_000, 2);
        RemoteAttempt attempt = new RemoteAttempt(provider, request(job), p -> { });
        Recorder r = open(attempt);
        assertEquals(0, r.sent.get(0).getStart().getInputsCount());
        assertTrue(r.sent.size() > 1, "chunks follow Start");
        assertTrue(r.sent.stream().skip(1).allMatch(ExecuteRequest::hasInput));
        assertFalse(r.halfClosed);
        assertFalse(attempt.inlineCall(), "streamed inputs are hashed off the event loop");
    }

    @Test
    void inlineInputs_butOutputsAboveOneChunk_areNotMarkedInline() {
        // SGEMM 300 x 1 x 300: 2,400 input bytes inside Start, 360,000 output bytes (> 256 KiB).
        NodeId provider = NodeKeyPair.generate().nodeId();
        SplittableRandom rnd = new SplittableRandom(SEED + 3);
        float[] a = new float[300];
        float[] b = new float[300];
        for (int i = 0; i < 300; i++) {
            a[i] = (float) rnd.nextDouble(-1, 1);
            b[i] = (float) rnd.nextDouble(-1, 1);
        }
        Job job = Job.builder(dev.depin.kernel.BuiltinKernel.SGEMM).param("m", 300).param("n", 300).param("k", 1)
                .input("a", a).input("b", b).build();
        RemoteAttempt attempt = new RemoteAttempt(provider, request(job), p -> { });
        Recorder r = open(attempt);
        assertTrue(r.halfClosed, "every input inside Start");
        assertFalse(attempt.inlineCall(), "360,000 output bytes are hashed off the event loop");
    }

    @Test
    void inlineQualifies_atExactlyOneChunkOfOutputs() {
        assertTrue(InlineCalls.qualifies(true, Wire.INLINE_BYTES));
        assertFalse(InlineCalls.qualifies(true, Wire.INLINE_BYTES + 1L));
        assertFalse(InlineCalls.qualifies(false, 4));
        assertTrue(InlineCalls.qualifies(true, 0));
    }

    /** A signed receipt and wipe attestation for the attempt {@link #request} makes of {@code job}. */
    private static Envelope[] signed(Job job, NodeKeyPair key) {
        ExecutionReceipt.Builder rb = ExecutionReceipt.builder().jobId("00112233445566778899aabbccddeeff").attempt(1)
                .specHash(job.spec().hash()).kernelId(job.spec().kernel().id())
                .kernelHash(job.spec().kernel().codeHash()).nonce(dev.depin.crypto.Hex.encode(new byte[32]))
                .merkleChunkBytes(dev.depin.job.JobSpec.MERKLE_CHUNK_BYTES).executorKind("cpu")
                .startedAt(java.time.Instant.EPOCH).endedAt(java.time.Instant.EPOCH).deviceTimeNanos(1)
                .assurance(dev.depin.crypto.Assurance.signature());
        job.spec().inputs().forEach(in -> rb.input(new dev.depin.crypto.BufferDigest(in.name(), in.merkleRoot(),
                in.bytes())));
        Envelope receipt = rb.build().sign(key);
        Envelope wipe = dev.depin.crypto.WipeAttestation.builder().receipt(receipt).startedAt(java.time.Instant.EPOCH)
                .endedAt(java.time.Instant.EPOCH).buffer(new dev.depin.crypto.WipeRecord(dev.depin.crypto.WipeRecord.HOST, "x", 4, 4, 0,
                        dev.depin.crypto.WipeRecord.HOST_READBACK_COMPARE,
                        dev.depin.crypto.HostWipe.checkDigest(dev.depin.crypto.WipeRecord.HOST, "x", 4, 0, 0)))
                .build().sign(key);
        return new Envelope[] {receipt, wipe};
    }

    private static ExecuteResponse result(NodeKeyPair key, Envelope receipt, Envelope wipe) {
        Result.Builder b = Result.newBuilder().setJobId("00112233445566778899aabbccddeeff").setAttempt(1)
                .setProvider(key.nodeId().hex()).setExecutorKind("cpu")
                .setReceiptEnvelope(com.google.protobuf.ByteString.copyFrom(receipt.toJsonBytes()));
        if (wipe == null) {
            b.setWipeFollows(true);
        } else {
            b.setWipeEnvelope(com.google.protobuf.ByteString.copyFrom(wipe.toJsonBytes()));
        }
        return ExecuteResponse.newBuilder().setResult(b).build();
    }

    /** SAXPY's whole output (the bytes do not matter here: no check runs). */
    private static ExecuteResponse output(Job job) {
        int bytes = (int) job.spec().outputs().get(0).bytes();
        return ExecuteResponse.newBuilder().setOutput(dev.depin.grpc.internal.wire.OutputChunk.newBuilder()
                .setName(job.spec().outputs().get(0).name()).setData(com.google.protobuf.ByteString.copyFrom(
                        new byte[bytes]))).build();
    }

    private static ExecuteResponse wipe(Envelope wipe) {
        return ExecuteResponse.newBuilder().setWipe(WipeFollowing.newBuilder().setWipeEnvelope(
                com.google.protobuf.ByteString.copyFrom(wipe.toJsonBytes()))).build();
    }

    @Test
    void receiptFirst_thenItsAttestation_orTheStreamsEndFailsIt() throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        Job job = SmallRequests.saxpy(new SplittableRandom(SEED + 3), 1000, 2);
        Envelope[] env = signed(job, key);
        // Announced, then sent: the response completes at the receipt, the attestation after it.
        RemoteAttempt a = new RemoteAttempt(key.nodeId(), request(job), p -> { });
        Recorder r = open(a);
        assertTrue(r.sent.get(0).getStart().getWipeMayFollow(), "a buyer that takes the receipt first says so");
        a.onNext(output(job));
        a.onNext(result(key, env[0], null));
        ExecutionResponse resp = a.dispatch().response().join();
        assertTrue(resp.wipeFollows());
        assertNull(resp.wipe());
        assertFalse(resp.wipeToFollow().isDone());
        a.onNext(wipe(env[1]));
        assertEquals(new String(env[1].toJsonBytes()), new String(resp.wipeToFollow().join().toJsonBytes()));
        a.onCompleted();
        // Announced, never sent: the stream's end fails the attestation to follow.
        RemoteAttempt b = new RemoteAttempt(key.nodeId(), request(job), p -> { });
        open(b);
        b.onNext(output(job));
        b.onNext(result(key, env[0], null));
        ExecutionResponse cut = b.dispatch().response().join();
        b.onError(io.grpc.Status.DEADLINE_EXCEEDED.withDescription("deadline").asRuntimeException());
        java.util.concurrent.ExecutionException gone = org.junit.jupiter.api.Assertions.assertThrows(
                java.util.concurrent.ExecutionException.class, () -> cut.wipeToFollow().get());
        assertTrue(gone.getCause().getMessage().contains("ended the stream without the wipe attestation its result "
                + "announced"), gone.getCause().getMessage());
        // Not announced (an older node's one Result with both): no attestation may follow it.
        RemoteAttempt c = new RemoteAttempt(key.nodeId(), request(job), p -> { });
        Recorder rc = open(c);
        c.onNext(output(job));
        c.onNext(result(key, env[0], env[1]));
        assertFalse(c.dispatch().response().join().wipeFollows());
        c.onNext(wipe(env[1]));
        assertTrue(rc.cancelled.contains("a wipe attestation that no result announced"), rc.cancelled);
    }

    private static ExecuteResponse batchedResult(NodeKeyPair key, dev.depin.crypto.BatchedReceipt r, boolean parts,
                                                 boolean json) {
        Result.Builder b = Result.newBuilder().setJobId("00112233445566778899aabbccddeeff").setAttempt(1)
                .setProvider(key.nodeId().hex()).setExecutorKind("cpu");
        if (parts) {
            b.setBatchedParts(BatchedWire.parts(r));
        }
        if (json) {
            b.setBatchedReceipt(com.google.protobuf.ByteString.copyFrom(r.toJsonBytes()));
        }
        return ExecuteResponse.newBuilder().setResult(b).build();
    }

    /**
     * A buyer asks for the batched receipt in parts (Start.batched_parts) and takes either form:
     * the parts from a node that read the field, the JSON form from an older node that did not;
     * a Result with both forms, or with parts and an envelope or a receipt whose attestation
     * follows, breaks the protocol.
     */
    @Test
    void batchedReceipt_inPartsOrJson_bothTaken_mixedRefused() {
        NodeKeyPair key = NodeKeyPair.generate();
        SplittableRandom rnd = new SplittableRandom(SEED + 4);
        Job job = SmallRequests.saxpy(rnd, 300, 2);
        List<dev.depin.crypto.BatchedReceipt> sealed = BatchedWireTest.batch(key, rnd, 3);
        for (boolean parts : new boolean[] {true, false}) {
            RemoteAttempt a = new RemoteAttempt(key.nodeId(), request(job), p -> { });
            Recorder r = open(a);
            assertTrue(r.sent.get(0).getStart().getBatchedParts(), "a buyer that takes the parts says so");
            a.onNext(output(job));
            a.onNext(batchedResult(key, sealed.get(2), parts, !parts));
            ExecutionResponse resp = a.dispatch().response().join();
            assertEquals(sealed.get(2), resp.batched(), parts ? "in parts" : "JSON, from an older node");
            assertNull(resp.receipt());
            assertNull(r.cancelled);
        }
        Envelope[] env = signed(job, key);
        java.util.Map<String, ExecuteResponse> mixed = new java.util.LinkedHashMap<>();
        mixed.put("both forms", batchedResult(key, sealed.get(0), true, true));
        mixed.put("parts and an envelope", batchedResult(key, sealed.get(0), true, false).toBuilder()
                .setResult(batchedResult(key, sealed.get(0), true, false).getResult().toBuilder()
                        .setWipeEnvelope(com.google.protobuf.ByteString.copyFrom(env[1].toJsonBytes()))).build());
        mixed.put("parts and a receipt", batchedResult(key, sealed.get(0), true, false).toBuilder()
                .setResult(batchedResult(key, sealed.get(0), true, false).getResult().toBuilder()
                        .setReceiptEnvelope(com.google.protobuf.ByteString.copyFrom(env[0].toJsonBytes()))).build());
        for (java.util.Map.Entry<String, ExecuteResponse> m : mixed.entrySet()) {
            RemoteAttempt a = new RemoteAttempt(key.nodeId(), request(job), p -> { });
            Recorder r = open(a);
            a.onNext(output(job));
            a.onNext(m.getValue());
            assertEquals("provider " + key.nodeId().shortId() + " broke the protocol: a result with a batched receipt in parts "
                    + "also carries a batched receipt or an envelope", r.cancelled, m.getKey());
            assertTrue(a.dispatch().response().isCompletedExceptionally(), m.getKey());
        }
        RemoteAttempt a = new RemoteAttempt(key.nodeId(), request(job), p -> { });
        Recorder r = open(a);
        a.onNext(output(job));
        a.onNext(ExecuteResponse.newBuilder().setResult(batchedResult(key, sealed.get(0), true, false).getResult()
                .toBuilder().setWipeFollows(true)).build());
        assertEquals("provider " + key.nodeId().shortId() + " broke the protocol: a result whose wipe attestation follows "
                + "carries a batch or an attestation", r.cancelled);
        // Hostile parts fail the attempt with the reader's message.
        RemoteAttempt h = new RemoteAttempt(key.nodeId(), request(job), p -> { });
        Recorder rh = open(h);
        h.onNext(output(job));
        ExecuteResponse bad = batchedResult(key, sealed.get(0), true, false);
        h.onNext(bad.toBuilder().setResult(bad.getResult().toBuilder().setBatchedParts(
                bad.getResult().getBatchedParts().toBuilder().clearWipeProof())).build());
        assertEquals("provider " + key.nodeId().shortId() + " broke the protocol: MALFORMED_ENVELOPE: malformed "
                + "batched receipt: field 'wipeProof' is missing: reject it", rh.cancelled);
        assertTrue(h.dispatch().response().isCompletedExceptionally());
    }

    private static ExecuteResponse folded(Result result, int code, Object... outputs) {
        dev.depin.grpc.internal.wire.Folded.Builder f = dev.depin.grpc.internal.wire.Folded.newBuilder();
        for (int k = 0; k < outputs.length; k += 2) {
            f.addOutputs(dev.depin.grpc.internal.wire.OutputChunk.newBuilder().setName((String) outputs[k])
                    .setData(com.google.protobuf.ByteString.copyFrom((byte[]) outputs[k + 1])));
        }
        if (result != null) {
            f.setResult(result);
        }
        if (code != 0) {
            f.setEnded(dev.depin.grpc.internal.wire.JobEnded.newBuilder().setCode(code).setDescription("node said so"));
        }
        return ExecuteResponse.newBuilder().setSessionJob(1).setFolded(f).build();
    }

    /**
     * A session job's folded answer (Start.folded): the outputs, the Result and the end in one
     * message. Taken whole, its outputs hashed as they arrived (so an altered output has another
     * root, which the verifier compares with the receipt's, as for unfolded outputs); a folded
     * answer without a Result, with an output missing, repeated, misnamed, cut short or too long,
     * with an end that is not OK, or after other output fails the attempt with the exact words,
     * before anything of it is delivered.
     */
    @Test
    void folded_wholeAnswerTaken_brokenShapesFailTheAttemptWithTheExactError() {
        NodeKeyPair key = NodeKeyPair.generate();
        Job job = SmallRequests.saxpy(new SplittableRandom(SEED + 5), 301, 2);
        Envelope[] env = signed(job, key);
        Result res = result(key, env[0], env[1]).getResult();
        String out = job.spec().outputs().get(0).name();
        int bytes = (int) job.spec().outputs().get(0).bytes();
        byte[] honest = new byte[bytes];
        new SplittableRandom(SEED + 6).nextBytes(honest);
        byte[] altered = honest.clone();
        altered[bytes / 2] ^= 1;
        List<String> roots = new ArrayList<>();
        for (byte[] data : List.of(honest, altered)) {
            RemoteAttempt a = new RemoteAttempt(key.nodeId(), request(job), p -> { });
            Recorder r = open(a);
            a.onFolded(folded(res, 0, out, data));
            ExecutionResponse resp = a.dispatch().response().join();
            assertNull(r.cancelled);
            assertEquals(java.nio.ByteBuffer.wrap(data), resp.outputBytes().get(out));
            roots.add(resp.outputs().get(out).merkleRootHex());
            assertNull(resp.wipeToFollow());
        }
        assertFalse(roots.get(0).equals(roots.get(1)), "an altered output arrives with its own root: " + roots);

        String broke = "provider " + key.nodeId().shortId() + " broke the protocol: ";
        java.util.Map<String, ExecuteResponse> bad = new java.util.LinkedHashMap<>();
        bad.put("a folded answer without a result", folded(null, 0, out, honest));
        bad.put("a folded answer whose end (FAILED_PRECONDITION: node said so) contradicts its result",
                folded(res, 9, out, honest));
        bad.put("a folded answer with 0 outputs; job 00112233445566778899aabbccddeeff declares 1 (" + out + ")",
                folded(res, 0));
        bad.put("a folded answer with 2 outputs; job 00112233445566778899aabbccddeeff declares 1 (" + out + ")",
                folded(res, 0, out, java.util.Arrays.copyOf(honest, 600), out,
                        java.util.Arrays.copyOfRange(honest, 600, bytes)));
        bad.put("a folded answer with " + (bytes - 1) + " bytes of output '" + out + "', which is declared with "
                + bytes + " (a folded output comes whole)", folded(res, 0, out, java.util.Arrays.copyOf(honest, bytes - 1)));
        bad.put("a folded answer with " + (bytes + 4) + " bytes of output '" + out + "', which is declared with "
                + bytes + " (a folded output comes whole)", folded(res, 0, out, java.util.Arrays.copyOf(honest, bytes + 4)));
        bad.put("a folded answer whose output 1 is 'x'; job 00112233445566778899aabbccddeeff declares '" + out
                + "' there (each output once, in declaration order: " + out + ")", folded(res, 0, "x", honest));
        for (java.util.Map.Entry<String, ExecuteResponse> m : bad.entrySet()) {
            RemoteAttempt a = new RemoteAttempt(key.nodeId(), request(job), p -> { });
            Recorder r = open(a);
            a.onFolded(m.getValue());
            assertEquals(broke + m.getKey(), r.cancelled);
            java.util.concurrent.CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(
                    java.util.concurrent.CompletionException.class, () -> a.dispatch().response().join());
            assertEquals(dev.depin.network.NetworkException.class, e.getCause().getClass());
            assertEquals(broke + m.getKey(), e.getCause().getMessage());
        }
        // After an output chunk (a node mixing both forms): refused too.
        RemoteAttempt a = new RemoteAttempt(key.nodeId(), request(job), p -> { });
        Recorder r = open(a);
        a.onNext(output(job));
        a.onFolded(folded(res, 0, out, honest));
        assertEquals(broke + "a folded answer after other output or a result", r.cancelled);
        assertTrue(a.dispatch().response().isCompletedExceptionally());
        // On an Execute stream (no session, no Start.folded asked): refused whatever its shape.
        RemoteAttempt e = new RemoteAttempt(key.nodeId(), request(job), p -> { });
        Recorder re = open(e);
        assertFalse(re.sent.get(0).getStart().getFolded(), "an Execute stream's Start does not ask for a fold");
        e.onNext(folded(res, 0, out, honest));
        assertEquals(broke + "a folded answer on an Execute stream (only a session's job, whose Start asked for it, "
                + "is answered folded)", re.cancelled);
        assertTrue(e.dispatch().response().isCompletedExceptionally());
    }
}
