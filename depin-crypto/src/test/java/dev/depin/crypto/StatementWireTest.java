package dev.depin.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/**
 * The exact bytes of a receipt and of a wipe attestation, and their signatures under a fixed key:
 * every field of each statement is set, so a change to either codec that moves one byte on the
 * wire (a key's name, a number's form, the order of keys) fails here, and signatures made by
 * nodes of an earlier build go on verifying. The expected texts were taken from the build before
 * the codecs moved out of the values; change them only with a new predicate type.
 */
class StatementWireTest {
    private static final NodeKeyPair KEY = NodeKeyPair.fromSeed(Sha256.digest("depin wire test key"
            .getBytes(StandardCharsets.UTF_8)));
    private static final Instant T0 = Instant.parse("2026-12-05T12:00:00.123456789Z");

    static ExecutionReceipt receipt() {
        return ExecutionReceipt.builder().jobId("job-wire").attempt(2).specHash(sha("spec")).kernelId("sgemm")
                .kernelHash(sha("kernel")).nonce(sha("nonce"))
                .input(new BufferDigest("A", sha("a"), 4096)).input(new BufferDigest("B", sha("b"), 8192))
                .output(new BufferDigest("C", sha("c"), 12288)).merkleChunkBytes(4096).executorKind("cuda")
                .device(new ReceiptDevice("NVIDIA H100 80GB HBM3", 132, "580.65.06", "13.0")).startedAt(T0)
                .endedAt(T0.plusMillis(1500)).deviceTimeNanos(1_234_567_890L)
                .assurance(Assurance.freivalds(20, 1e-3, 9.5367431640625e-7)).build();
    }

    private static String sha(String s) {
        return Hex.encode(Sha256.digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    private static final String RECEIPT_PAYLOAD = "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicate\":{\"assurance\":{\"level\":\"FREIVALDS\","
            + "\"numbers\":{\"falseAcceptBound\":9.5367431640625E-7,\"rounds\":20.0,\"tolerance\":0.001}},"
            + "\"attempt\":2,\"device\":{\"cudaVersion\":\"13.0\",\"driver\":\"580.65.06\",\"model\":\"NVIDIA H100 80GB HBM3\","
            + "\"smCount\":132},\"deviceTimeNanos\":1234567890,\"endedAt\":\"2026-12-05T12:00:01.623456789Z\","
            + "\"executorKind\":\"cuda\",\"inputs\":[{\"bytes\":4096,\"merkleRoot\":\"ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb\","
            + "\"name\":\"A\"},{\"bytes\":8192,\"merkleRoot\":\"3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d\","
            + "\"name\":\"B\"}],\"jobId\":\"job-wire\",\"kernelHash\":\"6923dd1bc0460082c5d55a831908c24a282860b7f1cd6c2b79cf1bc8857c639c\","
            + "\"kernelId\":\"sgemm\",\"merkleChunkBytes\":4096,\"nonce\":\"78377b525757b494427f89014f97d79928f3938d14eb51e20fb5dec9834eb304\","
            + "\"outputs\":[{\"bytes\":12288,\"merkleRoot\":\"2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6\","
            + "\"name\":\"C\"}],\"specHash\":\"d4f02eaafd1a9e9de7d10972ca8e47fa7a985825c3c9c1e249c72683cb3e4f19\","
            + "\"startedAt\":\"2026-12-05T12:00:00.123456789Z\"},\"predicateType\":\"https://depin.dev/execution/v1\","
            + "\"subject\":[{\"digest\":{\"merkle-sha256\":\"2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6\"},"
            + "\"name\":\"C\"}]}";
    private static final String RECEIPT_DIGEST = "72cb399032cbfc591111e830952628237086212b19fec8e646f690f343bed3f8";
    private static final String RECEIPT_SIG = "4nnpc0tjIxPibaEycoND9fF42v5qBL/C7tMgg7mGPxPdu4xbcjI2F/Obpf0DrrOJYzOlrDuqHILEyFcRMALgCQ==";
    private static final String WIPE_PAYLOAD = "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicate\":{\"buffers\":[{\"bytes\":12288,"
            + "\"bytesOverwritten\":12288,\"checkDigest\":\"20f65c28671b40937c5bf23acc7c6f37e5a5ec0622e347b57685725df5ba9e50\","
            + "\"label\":\"C\",\"location\":\"device\",\"method\":\"device-readback-reduction\",\"pattern\":\"00\"},"
            + "{\"bytes\":4096,\"bytesOverwritten\":4096,\"checkDigest\":\"78e5766467af1e0e530d65fa92a24969be6008a9bfa8b595b79df9835d8b035a\","
            + "\"label\":\"A\",\"location\":\"host\",\"method\":\"host-readback-compare\",\"pattern\":\"00\"}],"
            + "\"device\":{\"cudaVersion\":null,\"driver\":\"580.65.06\",\"model\":\"NVIDIA H100 80GB HBM3\","
            + "\"smCount\":null},\"endedAt\":\"2026-12-05T12:00:03.123456789Z\",\"startedAt\":\"2026-12-05T12:00:02.123456789Z\","
            + "\"teeEvidence\":\"cXVvdGU=\"},\"predicateType\":\"https://depin.dev/wipe/v1\",\"subject\":[{\"digest\":{\"sha256\":\"72cb399032cbfc591111e830952628237086212b19fec8e646f690f343bed3f8\"},"
            + "\"name\":\"receipt\"}]}";
    private static final String WIPE_SIG = "TcE7XyplzOzhc8IT/YO15d+MtfzsEXD2uCNGvuFoeOSmMBJ/Kl13KBK7AFgHZd0bTVd3oxRXx5YH1Gl+mz5xBQ==";

    @Test
    void aReceiptIsTheSameBytesOnTheWire() {
        ExecutionReceipt r = receipt();
        assertEquals(RECEIPT_PAYLOAD, new String(r.toPayload(), StandardCharsets.UTF_8));
        assertEquals(RECEIPT_DIGEST, r.statementDigestHex());
        Envelope env = r.sign(KEY);
        assertEquals(RECEIPT_SIG, Base64.getEncoder().encodeToString(env.signatures().get(0).sig()));
        assertEquals(r, ExecutionReceipt.readUnverified(Envelope.parse(env.toJson())));
    }

    @Test
    void aReceiptSignedBeforeEnergyExisted_stillVerifiesAndStatesNoEnergy() {
        // The pinned bytes, not the builder: what a node of an earlier build signed.
        Envelope env = Envelope.parse(Envelope.sign(Dsse.IN_TOTO_PAYLOAD_TYPE,
                RECEIPT_PAYLOAD.getBytes(StandardCharsets.UTF_8), KEY).toJson());
        assertEquals(RECEIPT_SIG, Base64.getEncoder().encodeToString(env.signatures().get(0).sig()));
        VerifiedReceipt v = ExecutionReceipt.verify(env, ReceiptExpectations.builder().signer(KEY.publicKey())
                .jobId("job-wire").attempt(2).nonce(sha("nonce")).specHash(sha("spec")).kernelId("sgemm")
                .kernelHash(sha("kernel")).input(new BufferDigest("A", sha("a"), 4096))
                .input(new BufferDigest("B", sha("b"), 8192)).merkleChunkBytes(4096)
                .receivedOutputDigest(new BufferDigest("C", sha("c"), 12288)).build());
        assertEquals(null, v.receipt().energy());
        assertEquals(receipt(), v.receipt());
        assertEquals(RECEIPT_DIGEST, v.receipt().statementDigestHex());
    }

    @Test
    void aWipeAttestationIsTheSameBytesOnTheWire() {
        WipeAttestation w = WipeAttestation.builder().receiptDigest(receipt().statementDigestHex())
                .buffer(new WipeRecord(WipeRecord.DEVICE, "C", 12288, 12288, 0, WipeRecord.DEVICE_READBACK_REDUCTION,
                        sha("check")))
                .buffer(HostWipe.wipe("A", new byte[4096], (byte) 0)).startedAt(T0.plusSeconds(2))
                .endedAt(T0.plusSeconds(3)).device(new ReceiptDevice("NVIDIA H100 80GB HBM3", null, "580.65.06", null))
                .teeEvidence("quote".getBytes(StandardCharsets.UTF_8)).build();
        assertEquals(WIPE_PAYLOAD, new String(w.toPayload(), StandardCharsets.UTF_8));
        Envelope env = w.sign(KEY);
        assertEquals(WIPE_SIG, Base64.getEncoder().encodeToString(env.signatures().get(0).sig()));
        assertEquals(w, WipeAttestation.readUnverified(Envelope.parse(env.toJson())));
    }
}
