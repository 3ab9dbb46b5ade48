package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.VerificationException.Reason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WipeAttestationTest {
    private final NodeKeyPair provider = NodeKeyPair.generate(new SecureRandom());
    private final Instant t0 = Instant.parse("2025-01-01T00:00:00Z");

    private Envelope receipt(String jobId) {
        ByteBuffer out = ByteBuffer.wrap(new byte[100]);
        return ExecutionReceipt.builder().jobId(jobId).specHash(ExecutionReceiptTest.sha("s"))
                .kernelId("k").kernelHash(ExecutionReceiptTest.sha("k")).nonce(ExecutionReceipt.newNonce(new SecureRandom()))
                .input(BufferDigest.of("in", ByteBuffer.wrap(new byte[300]), 64))
                .output(BufferDigest.of("out", out, 64)).merkleChunkBytes(64).executorKind("cpu")
                .startedAt(t0).endedAt(t0).build().sign(provider);
    }

    private static void assertReason(Reason expected, Executable e) {
        VerificationException ex = assertThrows(VerificationException.class, e);
        assertEquals(expected, ex.reason(), ex.getMessage());
    }

    @Test
    void hostWipe_allBufferKinds_overwriteAndDigestIsDeterministic() throws Exception {
        Random r = new Random(42);
        byte[] heap = new byte[200_000];
        r.nextBytes(heap);
        WipeRecord w1 = HostWipe.wipe("heap", heap, (byte) 0xA5);
        for (byte b : heap) {
            assertEquals((byte) 0xA5, b);
        }
        byte[] expected = new byte[200_000];
        Arrays.fill(expected, (byte) 0xA5);
        // The check digest is SHA-256 of the check's transcript, recomputed here independently.
        String transcript = "depin/wipe-check/v1\nhost\nheap\n200000\na5\n0";
        assertEquals(Hex.encode(MessageDigest.getInstance("SHA-256").digest(
                transcript.getBytes(java.nio.charset.StandardCharsets.UTF_8))), w1.checkDigest());
        assertEquals(WipeRecord.HOST_READBACK_COMPARE, w1.method());
        assertArrayEquals(expected, heap, "every byte now holds the pattern");

        ByteBuffer direct = ByteBuffer.allocateDirect(200_000);
        direct.put(heap.length / 2, (byte) 1).position(10).limit(20);
        WipeRecord w2 = HostWipe.wipe("direct", direct, (byte) 0xA5);
        assertEquals(HostWipe.checkDigest("host", "direct", 200_000, 0xA5, 0), w2.checkDigest());
        for (int i = 0; i < 200_000; i++) {
            assertEquals((byte) 0xA5, direct.duplicate().clear().get(i));
        }
        assertEquals(10, direct.position());
        assertEquals(20, direct.limit());

        float[] f = new float[50_000];
        Arrays.fill(f, 3.5f);
        WipeRecord w3 = HostWipe.wipe("floats", f, (byte) 0xA5);
        assertEquals(HostWipe.checkDigest("host", "floats", 200_000, 0xA5, 0), w3.checkDigest());
        assertEquals(0xA5A5A5A5, Float.floatToRawIntBits(f[49_999]));
        assertEquals(200_000, w3.bytes());
        assertEquals(w3.bytes(), w3.bytesOverwritten());
        float[] nan = new float[4];
        assertEquals(HostWipe.checkDigest("host", "nan", 16, 0xff, 0), HostWipe.wipe("nan", nan, (byte) 0xff).checkDigest());
        assertEquals(0xffffffff, Float.floatToRawIntBits(nan[3]), "NaN pattern bits are kept exactly");
        assertThrows(InvalidArgumentException.class,
                () -> HostWipe.wipe("ro", ByteBuffer.allocate(4).asReadOnlyBuffer(), (byte) 0));
    }

    @Test
    void verify_honestAttestation_passes() {
        Envelope receipt = receipt("job-1");
        WipeAttestation w = WipeAttestation.builder().receipt(receipt)
                .buffer(HostWipe.wipe("in", new byte[300], (byte) 0))
                .buffer(HostWipe.wipe("out", new byte[100], (byte) 0))
                .buffer(new WipeRecord(WipeRecord.DEVICE, "out", 100, 100, 0, WipeRecord.DEVICE_READBACK_REDUCTION, "00"))
                .startedAt(t0).endedAt(t0.plusMillis(1)).device(new ReceiptDevice("H100", 132, "580", "13.0"))
                .teeEvidence("opaque".getBytes(StandardCharsets.UTF_8)).build();
        Envelope env = Envelope.parse(w.sign(provider).toJsonBytes());
        ExecutionReceipt r = ExecutionReceipt.readUnverified(receipt);
        VerificationReport rep = WipeAttestation.verify(env, receipt, provider.publicKey(), WipeAttestation.buffersOf(r));
        assertTrue(rep.allPassed());
        assertTrue(rep.summary().contains("wipeAttestation"));
        WipeAttestation back = WipeAttestation.readUnverified(env);
        assertEquals(w, back);
        assertArrayEquals("opaque".getBytes(StandardCharsets.UTF_8), back.teeEvidence());
    }

    @Test
    void verify_pointingAtAnotherReceipt_isSubjectMismatch() {
        Envelope mine = receipt("job-1");
        Envelope other = receipt("job-2");
        Envelope env = WipeAttestation.builder().receipt(other).buffer(HostWipe.wipe("in", new byte[300], (byte) 0))
                .buffer(HostWipe.wipe("out", new byte[100], (byte) 0)).startedAt(t0).endedAt(t0).build().sign(provider);
        assertReason(Reason.SUBJECT_MISMATCH, () -> WipeAttestation.verify(env, mine, provider.publicKey(),
                Map.of("in", 300L, "out", 100L)));
    }

    @Test
    void verify_incompleteWrongDigestOrMissingBuffer_isCaught() {
        Envelope receipt = receipt("job-1");
        WipeRecord in = HostWipe.wipe("in", new byte[300], (byte) 0);
        WipeRecord out = HostWipe.wipe("out", new byte[100], (byte) 0);
        Map<String, Long> expected = Map.of("in", 300L, "out", 100L);

        WipeRecord partial = new WipeRecord("host", "out", 100, 99, 0, WipeRecord.HOST_READBACK_COMPARE, out.checkDigest());
        Envelope e1 = attestation(receipt, List.of(in, partial));
        assertReason(Reason.WIPE_INCOMPLETE, () -> WipeAttestation.verify(e1, receipt, provider.publicKey(), expected));

        // A record that admits one mismatch (or was altered) does not carry the clean check's digest.
        WipeRecord badDigest = new WipeRecord("host", "out", 100, 100, 0, WipeRecord.HOST_READBACK_COMPARE,
                HostWipe.checkDigest("host", "out", 100, 0, 1));
        Envelope e2 = attestation(receipt, List.of(in, badDigest));
        assertReason(Reason.WIPE_DIGEST_MISMATCH, () -> WipeAttestation.verify(e2, receipt, provider.publicKey(), expected));

        Envelope e3 = attestation(receipt, List.of(in));
        assertReason(Reason.WIPE_BUFFERS_MISMATCH, () -> WipeAttestation.verify(e3, receipt, provider.publicKey(), expected));

        Envelope e4 = WipeAttestation.builder().receipt(receipt).buffer(in).buffer(out).startedAt(t0).endedAt(t0).build()
                .sign(NodeKeyPair.generate(new SecureRandom()));
        assertReason(Reason.KEY_MISMATCH, () -> WipeAttestation.verify(e4, receipt, provider.publicKey(), expected));

        // a receipt envelope offered as a wipe attestation
        assertReason(Reason.WRONG_PREDICATE_TYPE, () -> WipeAttestation.verify(receipt, receipt, provider.publicKey(), expected));
    }

    @Test
    void verify_bufferInTheNodesCache_coversOnlyThatRootAndSize_andOnlyWhereAllowed() {
        Envelope receipt = receipt("job-1");
        ExecutionReceipt r = ExecutionReceipt.readUnverified(receipt);
        String root = r.inputs().get(0).merkleRoot();
        WipeRecord out = HostWipe.wipe("out", new byte[100], (byte) 0);
        Map<String, Long> expected = WipeAttestation.buffersOf(r);
        Map<String, String> inPlace = WipeAttestation.inputRootsOf(r);
        assertEquals(Map.of("in", root), inPlace);

        WipeRecord read = new WipeRecord("host", "in", 300, 0, 0, WipeRecord.CACHE_IN_PLACE, root);
        Envelope ok = attestation(receipt, List.of(read, out));
        VerificationReport rep = WipeAttestation.verify(ok, receipt, provider.publicKey(), expected, inPlace);
        assertTrue(rep.allPassed());
        assertTrue(rep.checks().stream().anyMatch(c -> c.detail().contains("[in] are the node's input cache entries")), rep.toString());
        // A verifier that does not allow it (an older buyer's rule) sees a buffer not overwritten.
        assertReason(Reason.WIPE_INCOMPLETE, () -> WipeAttestation.verify(ok, receipt, provider.publicKey(), expected));

        String otherRoot = "ab".repeat(32);
        for (WipeRecord bad : List.of(
                new WipeRecord("host", "in", 300, 0, 0, WipeRecord.CACHE_IN_PLACE, otherRoot), // another entry
                new WipeRecord("host", "in", 299, 0, 0, WipeRecord.CACHE_IN_PLACE, root),      // another size
                new WipeRecord("device", "in", 300, 0, 0, WipeRecord.CACHE_IN_PLACE, root),    // not the host cache
                new WipeRecord("host", "in", 300, 0, 7, WipeRecord.CACHE_IN_PLACE, root),      // claims a pattern
                new WipeRecord("host", "in", 300, 300, 0, WipeRecord.CACHE_IN_PLACE, root))) { // claims a wipe
            Envelope e = attestation(receipt, List.of(bad, out));
            assertReason(Reason.WIPE_INCOMPLETE, () -> WipeAttestation.verify(e, receipt, provider.publicKey(), expected,
                    inPlace));
        }
        // An output is never "read in place": its copy is the job's and must be wiped.
        WipeRecord outInPlace = new WipeRecord("host", "out", 100, 0, 0, WipeRecord.CACHE_IN_PLACE,
                r.outputs().get(0).merkleRoot());
        Envelope e5 = attestation(receipt, List.of(read, outInPlace));
        VerificationException ex = assertThrows(VerificationException.class, () -> WipeAttestation.verify(e5, receipt,
                provider.publicKey(), expected, inPlace));
        assertEquals(Reason.WIPE_INCOMPLETE, ex.reason());
        assertTrue(ex.getMessage().contains("'out'") && ex.getMessage().contains("retained"), ex.getMessage());
        // ...unless the buyer left it on the node, where the cache may have taken the job's buffer over.
        assertTrue(WipeAttestation.verify(e5, receipt, provider.publicKey(), expected,
                WipeAttestation.buffersInCacheOf(r)).allPassed());
    }

    private Envelope attestation(Envelope receipt, List<WipeRecord> records) {
        WipeAttestation.Builder b = WipeAttestation.builder().receipt(receipt).startedAt(t0).endedAt(t0);
        records.forEach(b::buffer);
        return b.build().sign(provider);
    }
}
