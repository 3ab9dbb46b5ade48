package dev.depin.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.Evidence;
import dev.depin.crypto.KeyFormatException;
import dev.depin.crypto.KeyPem;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationException.Reason;
import dev.depin.job.DisputeRecord;
import dev.depin.InvalidJobException;
import dev.depin.verify.DisputeCheck;
import dev.depin.verify.DisputeNotUpheldException;
import dev.depin.verify.EvidenceFileException;
import dev.depin.verify.EvidenceFiles;
import dev.depin.verify.MissingEvidenceException;
import dev.depin.verify.OfflineVerifier;
import dev.depin.verify.OversizedEvidenceException;
import dev.depin.verify.ReceiptCheck;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 7's mutation suite. A real {@code demo --out} run is the source of truth; every
 * variant changes one thing in its evidence (a field of a receipt, wipe attestation, spec
 * or dispute record; an envelope; an encoding; a size; a path; a key; a replay) and is run
 * three ways: {@code depin verify} in-process (exit code, first line, no stack trace), the
 * library ({@link OfflineVerifier} through {@link EvidenceFiles}, the exact exception class
 * and reason), and, where its checks reach, the independent Python verifier. Good variants
 * (the genuine evidence, and changes that do not alter what is signed or checked) must
 * verify. Random choices come from {@link #SEED}.
 */
class VerifyMutationTest {
    private static final long SEED = 0x7e57_0007L;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path SCRIPT = Path.of("scripts/verify_receipt.py").toAbsolutePath();

    @TempDir
    static Path tmp;

    private static Path run;
    /** An SGEMM job whose first attempt was disputed and whose result came from an honest provider. */
    private static Path job;
    /** Another SGEMM job of the same run, for replays. */
    private static Path job2;
    private static Path dispute;
    private static Path disputeDir;
    private static Path honestPem;
    private static Path dishonestPem;
    private static NodeKeyPair forger;
    private static Path forgerPem;
    private static String jobId;
    private static int attempt;
    private static String nonce;
    private static boolean python;
    private static int counter;

    @BeforeAll
    static void demoRun() throws Exception {
        System.out.println("VerifyMutationTest seed " + SEED);
        run = tmp.resolve("run");
        CliRun demo = cli(List.of("demo", "--providers", "4", "--jobs", "12", "--seed", Long.toString(SEED),
                "--dishonest", "1.0", "--no-progress", "--out", run.toString()));
        assertEquals(0, demo.exit(), demo.all());
        List<Path> disputes;
        try (Stream<Path> s = Files.list(run.resolve("disputes"))) {
            // Ordered by the job's place in the run (job ids are random, the order is the seed's).
            disputes = s.filter(p -> p.toString().endsWith(".json")).sorted(java.util.Comparator.comparing(
                    p -> readString(Path.of(p.toString().replace(".json", "")).resolve("job.txt")))).toList();
        }
        assertFalse(disputes.isEmpty(), "the always-dishonest provider must be caught: " + demo.all());
        dispute = disputes.get(0);
        disputeDir = Path.of(dispute.toString().replace(".json", ""));
        job = run.resolve("jobs").resolve(Files.readString(disputeDir.resolve("job.txt")).trim());
        try (Stream<Path> s = Files.list(run.resolve("jobs"))) {
            job2 = s.sorted().filter(p -> !p.equals(job) && spec(p).contains("\"id\":\"sgemm\"")).findFirst()
                    .orElseThrow();
        }
        honestPem = pem(job);
        JsonNode d = JSON.readTree(dispute.toFile());
        dishonestPem = run.resolve("providers/" + d.get("provider").asText() + ".pub.pem");
        ObjectNode st = statement(JSON.readTree(job.resolve("receipt.json").toFile()));
        jobId = st.get("predicate").get("jobId").asText();
        attempt = st.get("predicate").get("attempt").asInt();
        nonce = st.get("predicate").get("nonce").asText();
        SplittableRandom rnd = new SplittableRandom(SEED);
        byte[] seed = new byte[32];
        rnd.nextBytes(seed);
        forger = NodeKeyPair.fromSeed(seed);
        forgerPem = write("forger.pub.pem", KeyPem.publicKeyToPem(forger.publicKey()).getBytes(StandardCharsets.UTF_8));
        python = pythonWithCryptography();
        System.out.println("job " + job.getFileName() + ", replay source " + job2.getFileName() + ", dispute "
                + dispute.getFileName() + ", python " + (python ? "yes" : "not available: its checks are skipped"));
    }

    @org.junit.jupiter.api.Test
    void help_statesWhatEachOptionChecksAndWhatASkipMeans() {
        CliRun h = cli(List.of("verify", "--help"));
        assertEquals(0, h.exit(), h.all());
        String text = h.out().replaceAll("\\s+", " ");
        for (String s : List.of("every check not made as 'skip'", "a skipped check proves nothing either way",
                "With --receipt, always checked:", "--spec adds:", "Without it these are read from the receipt "
                        + "unchecked", "--input (all inputs, or none) adds:", "--nonce adds:",
                "Without it, replay of an older receipt is not excluded", "--wipe adds:",
                "--job-id (and --attempt, default 1) adds:", "With --dispute:", "Only a RESULT_MISMATCH record",
                "Exit status: 0 VALID or DISPUTE UPHELD; 1 INVALID or NOT UPHELD", "dispute record 32 MiB")) {
            assertTrue(text.contains(s), "'" + s + "' not in --help:\n" + h.out());
        }
    }

    // ------------------------------------------------------------------ receipts

    @TestFactory
    Stream<DynamicTest> receipt_goodVariants() throws Exception {
        List<DynamicTest> t = new ArrayList<>();
        t.add(receipt("genuine, every option", full(), Expect.valid("18 checks passed, 0 not checked")));
        R min = minimal();
        min.py = true;
        // Defect 5: without --nonce, nonce was reported "ok" and counted as passed.
        t.add(receipt("genuine, receipt+key+output only: skipped checks say so", min, Expect.valid(
                "skip nonce: no nonce given", "skip spec: no spec given", "skip input data:",
                "skip wipe attestation:", "skip job id and attempt:", "not checked").without("ok   nonce",
                "ok   specHash", "ok   inputs", "ok   jobId")));
        R upper = full();
        upper.nonce = nonce.toUpperCase(java.util.Locale.ROOT);
        t.add(receipt("nonce in upper case (defect 5)", upper, Expect.valid("ok   nonce")));
        R pretty = full();
        pretty.receipt = write("pretty.json", JSON.writerWithDefaultPrettyPrinter()
                .writeValueAsBytes(JSON.readTree(job.resolve("receipt.json").toFile())));
        pretty.py = true;
        t.add(receipt("envelope re-formatted", pretty, Expect.valid()));
        R url = full();
        url.receipt = envelopeEdit("payload-base64url", e -> e.put("payload", Base64.getUrlEncoder().withoutPadding()
                .encodeToString(Base64.getDecoder().decode(e.get("payload").asText()))));
        url.py = true;
        t.add(receipt("payload in URL-safe base64 without padding", url, Expect.valid()));
        R bom = full();
        bom.receipt = write("bom.json", concat(new byte[] {(byte) 0xef, (byte) 0xbb, (byte) 0xbf},
                Files.readAllBytes(job.resolve("receipt.json"))));
        bom.py = true;
        t.add(receipt("envelope with a UTF-8 byte order mark", bom, Expect.valid()));
        R noKeyid = full();
        noKeyid.receipt = envelopeEdit("keyid-empty", e -> ((ObjectNode) e.get("signatures").get(0)).put("keyid", ""));
        noKeyid.py = true;
        t.add(receipt("signature with an empty keyid (DSSE allows it)", noKeyid, Expect.valid()));
        R twoSigs = full();
        twoSigs.receipt = envelopeEdit("second-signature", e -> {
            Envelope other = Envelope.sign(e.get("payloadType").asText(),
                    Base64.getDecoder().decode(e.get("payload").asText()), forger);
            ((ArrayNode) e.get("signatures")).add(JSON.valueToTree(readTree(other.toJsonBytes()).get("signatures").get(0)));
        });
        twoSigs.py = true;
        t.add(receipt("a second signature by another key", twoSigs, Expect.valid()));
        R extraField = full();
        extraField.receipt = envelopeEdit("extra-field", e -> e.put("comment", "unsigned, ignored"));
        extraField.py = true;
        t.add(receipt("an unsigned extra envelope field", extraField, Expect.valid()));
        R resigned = minimal();
        resigned.receipt = statementEdit("resigned-unchanged", s -> { }, true);
        resigned.key = forgerPem;
        resigned.py = true;
        t.add(receipt("re-signed unchanged by another key, verified with that key", resigned, Expect.valid()));
        R spaced = full();
        spaced.spec = write("spec-pretty.json", JSON.writerWithDefaultPrettyPrinter()
                .writeValueAsBytes(JSON.readTree(job.resolve("spec.json").toFile())));
        t.add(receipt("spec re-formatted (same canonical form)", spaced, Expect.valid()));
        // Every job of the run verifies with everything it has.
        try (Stream<Path> s = Files.list(run.resolve("jobs"))) {
            for (Path j : s.sorted().toList()) {
                R r = forJob(j);
                r.py = true;
                t.add(receipt("every job: " + j.getFileName(), r, Expect.valid(" 0 not checked")));
            }
        }
        return withPython(t);
    }

    @TestFactory
    Stream<DynamicTest> receipt_envelope() throws Exception {
        List<DynamicTest> t = new ArrayList<>();
        t.add(envelopeCase("payloadType changed", e -> e.put("payloadType", "application/json"),
                Expect.reason(Reason.WRONG_PAYLOAD_TYPE)));
        t.add(envelopeCase("no signatures", e -> e.putArray("signatures"), Expect.reason(Reason.MALFORMED_ENVELOPE)));
        t.add(envelopeCase("signatures not an array", e -> e.put("signatures", "x"),
                Expect.reason(Reason.MALFORMED_ENVELOPE)));
        t.add(envelopeCase("signature bit flipped", e -> ((ObjectNode) e.get("signatures").get(0)).put("sig",
                flipBase64(e.get("signatures").get(0).get("sig").asText())), Expect.reason(Reason.BAD_SIGNATURE)));
        t.add(envelopeCase("signature truncated", e -> ((ObjectNode) e.get("signatures").get(0)).put("sig",
                e.get("signatures").get(0).get("sig").asText().substring(0, 40)), Expect.reasons(
                Reason.BAD_SIGNATURE, Reason.MALFORMED_ENVELOPE)));
        t.add(envelopeCase("signature not base64", e -> ((ObjectNode) e.get("signatures").get(0)).put("sig", "!!!"),
                Expect.reason(Reason.MALFORMED_ENVELOPE)));
        t.add(envelopeCase("keyid of another node", e -> ((ObjectNode) e.get("signatures").get(0)).put("keyid",
                forger.publicKey().nodeId().hex()), Expect.reason(Reason.KEY_MISMATCH)));
        t.add(envelopeCase("payload bit flipped", e -> e.put("payload", flipBase64(e.get("payload").asText())),
                Expect.reasons(Reason.BAD_SIGNATURE, Reason.MALFORMED_ENVELOPE)));
        t.add(envelopeCase("payload not base64", e -> e.put("payload", "%%%"), Expect.reason(Reason.MALFORMED_ENVELOPE)));
        t.add(envelopeCase("payload missing", e -> e.remove("payload"), Expect.reason(Reason.MALFORMED_ENVELOPE)));
        t.add(envelopeCase("payloadType missing", e -> e.remove("payloadType"),
                Expect.reason(Reason.MALFORMED_ENVELOPE)));
        R onlyForger = full();
        onlyForger.receipt = statementEdit("forger-signature-only", s -> { }, true);
        onlyForger.py = true;
        t.add(receipt("signed only by another key, checked with the provider's", onlyForger,
                Expect.reason(Reason.KEY_MISMATCH)));
        String raw = Files.readString(job.resolve("receipt.json"));
        t.add(rawReceipt("duplicate key", raw.replaceFirst("\\{", "{\"payloadType\":\"application/json\","),
                Expect.reason(Reason.MALFORMED_ENVELOPE)));
        t.add(rawReceipt("not JSON", "receipt", Expect.reason(Reason.MALFORMED_ENVELOPE)));
        t.add(rawReceipt("empty file", "", Expect.reason(Reason.MALFORMED_ENVELOPE)));
        t.add(rawReceipt("a JSON array", "[" + raw + "]", Expect.reason(Reason.MALFORMED_ENVELOPE)));
        t.add(rawReceipt("truncated", raw.substring(0, raw.length() / 2), Expect.reason(Reason.MALFORMED_ENVELOPE)));
        t.add(rawReceipt("trailing content", raw + "{}", Expect.reason(Reason.MALFORMED_ENVELOPE)));
        t.add(rawReceipt("nested 100000 deep", "[".repeat(100_000), Expect.reason(Reason.MALFORMED_ENVELOPE)));
        R utf16 = full();
        utf16.receipt = write("utf16.json", raw.getBytes(StandardCharsets.UTF_16));
        utf16.py = true;
        t.add(receipt("UTF-16 encoded envelope (detected like any JSON parser)", utf16, Expect.valid()));
        R big = full();
        big.receipt = sparse("receipt-5MiB.json", 5L << 20);
        big.py = true;
        t.add(receipt("receipt of 5 MiB", big, Expect.invalid(OversizedEvidenceException.class,
                "more than the " + EvidenceFiles.MAX_ENVELOPE_BYTES)));
        R padded = full();
        padded.receipt = write("receipt-padded.json", (raw + " ".repeat(5 << 20)).getBytes(StandardCharsets.UTF_8));
        padded.py = true;
        t.add(receipt("genuine receipt padded with 5 MiB of spaces", padded,
                Expect.invalid(OversizedEvidenceException.class, "more than the")));
        return withPython(t);
    }

    @TestFactory
    Stream<DynamicTest> receipt_fieldsNotResigned() throws Exception {
        List<DynamicTest> t = new ArrayList<>();
        Map<String, Consumer<ObjectNode>> edits = new LinkedHashMap<>();
        edits.put("jobId", s -> pred(s).put("jobId", "0".repeat(32)));
        edits.put("attempt", s -> pred(s).put("attempt", attempt + 1));
        edits.put("specHash", s -> pred(s).put("specHash", "0".repeat(64)));
        edits.put("kernelId", s -> pred(s).put("kernelId", "saxpy"));
        edits.put("kernelHash", s -> pred(s).put("kernelHash", "1".repeat(64)));
        edits.put("nonce", s -> pred(s).put("nonce", "2".repeat(64)));
        edits.put("inputs[0].merkleRoot", s -> ((ObjectNode) pred(s).get("inputs").get(0)).put("merkleRoot",
                "3".repeat(64)));
        edits.put("inputs[0].bytes", s -> ((ObjectNode) pred(s).get("inputs").get(0)).put("bytes", 4));
        edits.put("outputs[0].merkleRoot", s -> ((ObjectNode) pred(s).get("outputs").get(0)).put("merkleRoot",
                "4".repeat(64)));
        edits.put("outputs[0].bytes", s -> ((ObjectNode) pred(s).get("outputs").get(0)).put("bytes", 4));
        edits.put("merkleChunkBytes", s -> pred(s).put("merkleChunkBytes", 1024));
        edits.put("executorKind", s -> pred(s).put("executorKind", "cuda"));
        edits.put("device", s -> ((ObjectNode) pred(s).get("device")).put("model", "H100"));
        edits.put("startedAt", s -> pred(s).put("startedAt", "2020-01-01T00:00:00Z"));
        edits.put("endedAt", s -> pred(s).put("endedAt", "2099-01-01T00:00:00Z"));
        edits.put("deviceTimeNanos", s -> pred(s).put("deviceTimeNanos", 1));
        edits.put("assurance", s -> ((ObjectNode) pred(s).get("assurance")).put("level", "FREIVALDS"));
        edits.put("_type", s -> s.put("_type", "https://in-toto.io/Statement/v0.1"));
        edits.put("predicateType", s -> s.put("predicateType", "https://depin.dev/wipe/v1"));
        edits.put("subject digest", s -> ((ObjectNode) s.get("subject").get(0).get("digest"))
                .put("merkle-sha256", "5".repeat(64)));
        for (Map.Entry<String, Consumer<ObjectNode>> e : edits.entrySet()) {
            R r = full();
            r.receipt = statementEdit("unsigned-" + e.getKey(), e.getValue(), false);
            r.py = true;
            t.add(receipt("receipt " + e.getKey() + " changed, not re-signed", r, Expect.reason(Reason.BAD_SIGNATURE)));
        }
        return withPython(t);
    }

    @TestFactory
    Stream<DynamicTest> receipt_fieldsResignedByTheirSigner() throws Exception {
        List<DynamicTest> t = new ArrayList<>();
        // A provider lying in its own, validly signed receipt: only the bindings catch it.
        t.add(resigned("jobId other than dispatched", s -> pred(s).put("jobId", "0".repeat(32)), Expect.reason(
                Reason.JOB_ID_MISMATCH), false));
        t.add(resigned("attempt other than dispatched", s -> pred(s).put("attempt", attempt + 1),
                Expect.reason(Reason.ATTEMPT_MISMATCH), false));
        t.add(resigned("attempt \"abc\"", s -> pred(s).put("attempt", "abc"),
                Expect.reason(Reason.MALFORMED_STATEMENT), false));
        t.add(resigned("attempt 0", s -> pred(s).put("attempt", 0), Expect.reason(Reason.MALFORMED_STATEMENT), false));
        t.add(resigned("specHash of another spec", s -> pred(s).put("specHash", "0".repeat(64)),
                Expect.reason(Reason.SPEC_HASH_MISMATCH), false));
        t.add(resigned("kernelId saxpy", s -> pred(s).put("kernelId", "saxpy"),
                Expect.reason(Reason.KERNEL_HASH_MISMATCH), false));
        t.add(resigned("kernelHash other", s -> pred(s).put("kernelHash", "1".repeat(64)),
                Expect.reason(Reason.KERNEL_HASH_MISMATCH), false));
        t.add(resigned("nonce other", s -> pred(s).put("nonce", "2".repeat(64)),
                Expect.reason(Reason.NONCE_MISMATCH), false));
        t.add(resigned("nonce not hex or base64", s -> pred(s).put("nonce", "zz"),
                Expect.reason(Reason.MALFORMED_STATEMENT), false));
        // Defect 2: input roots other than the spec's, with no --input.
        R inRoot = full();
        inRoot.receipt = statementEdit("resigned-input-root", s -> ((ObjectNode) pred(s).get("inputs").get(0))
                .put("merkleRoot", "3".repeat(64)), true);
        inRoot.key = forgerPem;
        inRoot.wipe = null;
        inRoot.inputs.clear();
        t.add(receipt("input root other than the spec's, no --input (defect 2)", inRoot,
                Expect.reason(Reason.INPUT_ROOT_MISMATCH)));
        t.add(resigned("input root other than the data's", s -> ((ObjectNode) pred(s).get("inputs").get(0))
                .put("merkleRoot", "3".repeat(64)), Expect.reason(Reason.INPUT_ROOT_MISMATCH), false));
        t.add(resigned("input bytes other", s -> ((ObjectNode) pred(s).get("inputs").get(0)).put("bytes", 4),
                Expect.reason(Reason.INPUT_ROOT_MISMATCH), false));
        t.add(resigned("input b removed", s -> ((ArrayNode) pred(s).get("inputs")).remove(1),
                Expect.reason(Reason.INPUT_ROOT_MISMATCH), false));
        // Defect 2: a 4-byte output c where the spec's shapes give more.
        Path four = write("c-4-bytes.bin", new byte[] {1, 2, 3, 4});
        String fourRoot = dev.depin.crypto.Hex.encode(dev.depin.crypto.Merkle.root(new byte[] {1, 2, 3, 4}));
        R tiny = full();
        tiny.receipt = statementEdit("resigned-output-4-bytes", s -> {
            ((ObjectNode) pred(s).get("outputs").get(0)).put("bytes", 4).put("merkleRoot", fourRoot);
            ((ObjectNode) s.get("subject").get(0).get("digest")).put("merkle-sha256", fourRoot);
        }, true);
        tiny.key = forgerPem;
        tiny.wipe = null;
        tiny.outputs.put("c", four);
        tiny.py = true;
        R tinyNoSpec = tiny.copy();
        tinyNoSpec.spec = null;
        t.add(receipt("4-byte output c, no --spec: signature and bytes agree", tinyNoSpec, Expect.valid()));
        tiny.py = false;
        t.add(receipt("4-byte output c with --spec (defect 2)", tiny, Expect.reason(Reason.OUTPUT_SIZE_MISMATCH)
                .and("the spec's shapes give")));
        // Defect 2: an extra output d the kernel does not produce.
        Path d = write("d.bin", new byte[] {9});
        String dRoot = dev.depin.crypto.Hex.encode(dev.depin.crypto.Merkle.root(new byte[] {9}));
        R extra = full();
        extra.receipt = statementEdit("resigned-extra-output", s -> {
            ((ArrayNode) pred(s).get("outputs")).addObject().put("bytes", 1).put("merkleRoot", dRoot).put("name", "d");
            ((ArrayNode) s.get("subject")).addObject().put("name", "d").putObject("digest").put("merkle-sha256", dRoot);
        }, true);
        extra.key = forgerPem;
        extra.wipe = null;
        extra.outputs.put("d", d);
        t.add(receipt("extra output d with --spec (defect 2)", extra, Expect.reason(Reason.OUTPUT_ROOT_MISMATCH)
                .and("produces [c]")));
        t.add(resigned("output root other", s -> {
            ((ObjectNode) pred(s).get("outputs").get(0)).put("merkleRoot", "4".repeat(64));
            ((ObjectNode) s.get("subject").get(0).get("digest")).put("merkle-sha256", "4".repeat(64));
        }, Expect.reason(Reason.OUTPUT_ROOT_MISMATCH), true));
        t.add(resigned("output bytes + 1", s -> ((ObjectNode) pred(s).get("outputs").get(0)).put("bytes",
                pred(s).get("outputs").get(0).get("bytes").asLong() + 1), Expect.reason(Reason.OUTPUT_SIZE_MISMATCH), false));
        t.add(resigned("subject digest other than predicate", s -> ((ObjectNode) s.get("subject").get(0).get("digest"))
                .put("merkle-sha256", "5".repeat(64)), Expect.reason(Reason.SUBJECT_MISMATCH), true));
        t.add(resigned("subject removed", s -> s.putArray("subject"), Expect.reasons(Reason.SUBJECT_MISMATCH,
                Reason.MALFORMED_STATEMENT), true));
        t.add(resigned("subject duplicated", s -> ((ArrayNode) s.get("subject")).add(s.get("subject").get(0).deepCopy()),
                Expect.reasons(Reason.SUBJECT_MISMATCH, Reason.MALFORMED_STATEMENT), true));
        t.add(resigned("merkleChunkBytes 1024", s -> pred(s).put("merkleChunkBytes", 1024),
                Expect.reason(Reason.CHUNK_SIZE_MISMATCH), true));
        t.add(resigned("merkleChunkBytes 0", s -> pred(s).put("merkleChunkBytes", 0),
                Expect.reason(Reason.MALFORMED_STATEMENT), true));
        t.add(resigned("predicateType of a wipe", s -> s.put("predicateType", "https://depin.dev/wipe/v1"),
                Expect.reason(Reason.WRONG_PREDICATE_TYPE), true));
        t.add(resigned("_type other", s -> s.put("_type", "https://in-toto.io/Statement/v0.1"),
                Expect.reason(Reason.MALFORMED_STATEMENT), true));
        t.add(resigned("startedAt not a date", s -> pred(s).put("startedAt", "not-a-date"),
                Expect.reason(Reason.MALFORMED_STATEMENT), false));
        t.add(resigned("endedAt before startedAt", s -> pred(s).put("endedAt", "2000-01-01T00:00:00Z"),
                Expect.reason(Reason.MALFORMED_STATEMENT), false));
        t.add(resigned("deviceTimeNanos negative", s -> pred(s).put("deviceTimeNanos", -1),
                Expect.reason(Reason.MALFORMED_STATEMENT), false));
        t.add(resigned("assurance level unknown", s -> ((ObjectNode) pred(s).get("assurance")).put("level", "PROVEN"),
                Expect.reason(Reason.MALFORMED_STATEMENT), false));
        t.add(resigned("predicate missing", s -> s.remove("predicate"), Expect.reason(Reason.MALFORMED_STATEMENT), true));
        R typ = full();
        typ.receipt = write("resigned-payload-type.json", Envelope.sign("application/json",
                Base64.getDecoder().decode(readTree(Files.readAllBytes(job.resolve("receipt.json"))).get("payload")
                        .asText()), forger).toJsonBytes());
        typ.key = forgerPem;
        typ.wipe = null;
        typ.py = true;
        t.add(receipt("payloadType other, re-signed", typ, Expect.reason(Reason.WRONG_PAYLOAD_TYPE)));
        for (String[] bad : new String[][] {{"not JSON", "statement"}, {"nested deep", "[".repeat(100_000)},
                {"a JSON array", "[]"}}) {
            R r = full();
            r.receipt = write("resigned-payload-" + bad[0].replace(' ', '-') + ".json", Envelope.sign(
                    "application/vnd.in-toto+json", bad[1].getBytes(StandardCharsets.UTF_8), forger).toJsonBytes());
            r.key = forgerPem;
            r.wipe = null;
            r.py = true;
            t.add(receipt("payload " + bad[0] + ", re-signed", r, Expect.reason(Reason.MALFORMED_STATEMENT)));
        }
        return withPython(t);
    }

    @TestFactory
    Stream<DynamicTest> receipt_replayAcrossJobs() throws Exception {
        List<DynamicTest> t = new ArrayList<>();
        R other = full();
        other.jobId = null;
        other.attempt = null;
        other.nonce = null;
        other.receipt = job2.resolve("receipt.json");
        other.key = pem(job2);
        other.wipe = job2.resolve("wipe.json");
        t.add(receipt("another job's receipt with this job's spec", other, Expect.reason(Reason.SPEC_HASH_MISMATCH)));
        R noSpec = other.copy();
        noSpec.nonce = nonce;
        noSpec.spec = null;
        noSpec.inputs.clear();
        noSpec.jobId = null;
        noSpec.attempt = null;
        t.add(receipt("another job's receipt, this job's nonce", noSpec, Expect.reason(Reason.NONCE_MISMATCH)));
        R byId = noSpec.copy();
        byId.nonce = null;
        byId.jobId = jobId;
        byId.attempt = attempt;
        t.add(receipt("another job's receipt, this job's id", byId, Expect.reasons(Reason.JOB_ID_MISMATCH,
                Reason.ATTEMPT_MISMATCH)));
        R outs = forJob(job2);
        outs.outputs.put("c", job.resolve("outputs/c.bin"));
        outs.py = true;
        t.add(receipt("another job's receipt, this job's output", outs, Expect.reasons(Reason.OUTPUT_SIZE_MISMATCH,
                Reason.OUTPUT_ROOT_MISMATCH)));
        R wipe = full();
        wipe.wipe = job2.resolve("wipe.json");
        wipe.key = honestPem;
        t.add(receipt("another job's wipe attestation", wipe, pem(job2).equals(honestPem)
                ? Expect.reason(Reason.SUBJECT_MISMATCH) : Expect.reasons(Reason.KEY_MISMATCH, Reason.SUBJECT_MISMATCH)));
        R nonce2 = full();
        nonce2.nonce = statement(readTree(Files.readAllBytes(job2.resolve("receipt.json")))).get("predicate")
                .get("nonce").asText();
        t.add(receipt("another job's nonce", nonce2, Expect.reason(Reason.NONCE_MISMATCH)));
        R spec2 = full();
        spec2.spec = job2.resolve("spec.json");
        t.add(receipt("another job's spec", spec2, Expect.reason(Reason.SPEC_HASH_MISMATCH)));
        return withPython(t);
    }

    @TestFactory
    Stream<DynamicTest> wipe() throws Exception {
        List<DynamicTest> t = new ArrayList<>();
        Map<String, Consumer<ObjectNode>> unsigned = new LinkedHashMap<>();
        for (String f : List.of("bytes", "bytesOverwritten", "checkDigest", "label", "location", "method", "pattern")) {
            unsigned.put("buffers[0]." + f, s -> {
                ObjectNode b = (ObjectNode) wipeBuffer(s, 0);
                if (b.get(f).isNumber()) {
                    b.put(f, b.get(f).asLong() - 1);
                } else {
                    b.put(f, f.equals("checkDigest") ? "6".repeat(64) : f.equals("pattern") ? "00" : "x");
                }
            });
        }
        unsigned.put("startedAt", s -> pred(s).put("startedAt", "2020-01-01T00:00:00Z"));
        unsigned.put("endedAt", s -> pred(s).put("endedAt", "2099-01-01T00:00:00Z"));
        unsigned.put("device", s -> pred(s).putNull("device"));
        unsigned.put("subject", s -> ((ObjectNode) s.get("subject").get(0).get("digest")).put("sha256", "7".repeat(64)));
        unsigned.put("predicateType", s -> s.put("predicateType", "https://depin.dev/execution/v1"));
        for (Map.Entry<String, Consumer<ObjectNode>> u : unsigned.entrySet()) {
            R r = full();
            r.wipe = wipeEdit("wipe-unsigned-" + u.getKey().replaceAll("[^A-Za-z0-9]+", "-"), u.getValue(), false);
            t.add(receipt("wipe " + u.getKey() + " changed, not re-signed", r, Expect.reason(Reason.BAD_SIGNATURE)));
        }
        R byForger = full();
        byForger.wipe = wipeEdit("wipe-forger", s -> { }, true);
        t.add(receipt("wipe signed by another key", byForger, Expect.reason(Reason.KEY_MISMATCH)));
        // The forger signs both, so only the wipe's own checks can fail.
        Map<String, Object[]> cases = new LinkedHashMap<>();
        cases.put("bytesOverwritten short", new Object[] {(Consumer<ObjectNode>) s -> ((ObjectNode) wipeBuffer(s, 0))
                .put("bytesOverwritten", 1), Reason.WIPE_INCOMPLETE});
        cases.put("buffer 'c' removed", new Object[] {(Consumer<ObjectNode>) s -> removeBuffer(s, "c"),
                Reason.WIPE_BUFFERS_MISMATCH});
        cases.put("checkDigest other", new Object[] {(Consumer<ObjectNode>) s -> ((ObjectNode) wipeBuffer(s, 0))
                .put("checkDigest", "6".repeat(64)), Reason.WIPE_DIGEST_MISMATCH});
        cases.put("pattern other", new Object[] {(Consumer<ObjectNode>) s -> ((ObjectNode) wipeBuffer(s, 0))
                .put("pattern", "00"), Reason.WIPE_DIGEST_MISMATCH});
        cases.put("subject other", new Object[] {(Consumer<ObjectNode>) s -> ((ObjectNode) s.get("subject").get(0)
                .get("digest")).put("sha256", "7".repeat(64)), Reason.SUBJECT_MISMATCH});
        cases.put("predicateType of a receipt", new Object[] {(Consumer<ObjectNode>) s -> s.put("predicateType",
                "https://depin.dev/execution/v1"), Reason.WRONG_PREDICATE_TYPE});
        cases.put("buffers missing", new Object[] {(Consumer<ObjectNode>) s -> pred(s).remove("buffers"),
                Reason.MALFORMED_STATEMENT});
        // The check digest is a transcript of label, bytes and pattern, so it is what fails first.
        cases.put("label of 'c' renamed", new Object[] {(Consumer<ObjectNode>) s -> renameBuffer(s, "c", "d"),
                Reason.WIPE_DIGEST_MISMATCH});
        cases.put("bytes of 'a' smaller", new Object[] {(Consumer<ObjectNode>) s -> ((ObjectNode) wipeBuffer(s, 0))
                .put("bytes", 4).put("bytesOverwritten", 4), Reason.WIPE_DIGEST_MISMATCH});
        cases.put("endedAt before startedAt", new Object[] {(Consumer<ObjectNode>) s -> pred(s).put("endedAt",
                "2000-01-01T00:00:00Z"), Reason.MALFORMED_STATEMENT});
        for (Map.Entry<String, Object[]> c : cases.entrySet()) {
            @SuppressWarnings("unchecked")
            Consumer<ObjectNode> edit = (Consumer<ObjectNode>) c.getValue()[0];
            R r = full();
            r.receipt = statementEdit("wipe-receipt-" + counter, s -> { }, true);
            r.key = forgerPem;
            r.wipe = wipeEdit("wipe-" + c.getKey().replace(' ', '-').replace("'", ""), edit, true);
            t.add(receipt("wipe " + c.getKey() + ", signed by its signer", r, Expect.reason((Reason) c.getValue()[1])));
        }
        R empty = full();
        empty.wipe = write("wipe-empty.json", new byte[0]);
        t.add(receipt("wipe file empty", empty, Expect.reason(Reason.MALFORMED_ENVELOPE)));
        R big = full();
        big.wipe = sparse("wipe-5MiB.json", 5L << 20);
        t.add(receipt("wipe file of 5 MiB", big, Expect.invalid(OversizedEvidenceException.class, "more than the")));
        R isReceipt = full();
        isReceipt.wipe = job.resolve("receipt.json");
        t.add(receipt("the receipt given as the wipe", isReceipt, Expect.reasons(Reason.WRONG_PREDICATE_TYPE,
                Reason.SUBJECT_MISMATCH)));
        return withPython(t);
    }

    @TestFactory
    Stream<DynamicTest> spec() throws Exception {
        List<DynamicTest> t = new ArrayList<>();
        // Defect 5: an unknown field verified, since the hash is of the re-encoded form.
        t.add(specCase("unknown field (defect 5)", s -> s.put("comment", "x"),
                Expect.invalid(InvalidJobException.class, "unknown field 'comment'")));
        t.add(specCase("unknown field in an input", s -> ((ObjectNode) s.get("inputs").get(0)).put("url", "x"),
                Expect.invalid(InvalidJobException.class, "unknown field 'inputs[].url'")));
        t.add(specCase("deadline changed", s -> s.put("deadlineEpochMillis", s.get("deadlineEpochMillis").asLong() + 1),
                Expect.reason(Reason.SPEC_HASH_MISMATCH)));
        t.add(specCase("maxPrice changed", s -> s.put("maxPriceMicroUsd", 1), Expect.reason(Reason.SPEC_HASH_MISMATCH)));
        t.add(specCase("input root changed", s -> ((ObjectNode) s.get("inputs").get(0)).put("merkleRoot",
                "8".repeat(64)), Expect.reason(Reason.SPEC_HASH_MISMATCH)));
        t.add(specCase("verification rounds changed", s -> ((ObjectNode) s.get("verification")).put("rounds", 1),
                Expect.reason(Reason.SPEC_HASH_MISMATCH)));
        t.add(specCase("requirements.models", s -> ((ArrayNode) s.get("requirements").get("models")).add("H100"),
                Expect.reason(Reason.SPEC_HASH_MISMATCH)));
        t.add(specCase("requirements.regions", s -> ((ArrayNode) s.get("requirements").get("regions")).add("DE/fra-1"),
                Expect.reason(Reason.SPEC_HASH_MISMATCH)));
        t.add(specCase("requirements.deviceKinds", s -> ((ArrayNode) s.get("requirements").get("deviceKinds"))
                .add("CUDA"), Expect.reason(Reason.SPEC_HASH_MISMATCH)));
        t.add(specCase("requirements.minDeviceMemoryBytes", s -> ((ObjectNode) s.get("requirements"))
                .put("minDeviceMemoryBytes", 1), Expect.reason(Reason.SPEC_HASH_MISMATCH)));
        t.add(specCase("requirements.minReputation", s -> ((ObjectNode) s.get("requirements"))
                .put("minReputation", "0x1.0p-1"), Expect.reason(Reason.SPEC_HASH_MISMATCH)));
        t.add(specCase("verification.kind", s -> ((ObjectNode) s.get("verification")).put("kind", "SIGNATURE_ONLY")
                .put("rounds", 0), Expect.reason(Reason.SPEC_HASH_MISMATCH)));
        t.add(specCase("input renamed", s -> ((ObjectNode) s.get("inputs").get(0)).put("name", "x"),
                Expect.invalid(InvalidJobException.class, "needs input 'a'")));
        t.add(specCase("input bytes changed", s -> ((ObjectNode) s.get("inputs").get(0)).put("bytes", 4),
                Expect.invalid(InvalidJobException.class, "input 'a' has 4 bytes")));
        t.add(specCase("param m changed", s -> ((ObjectNode) s.get("params")).put("m", 1),
                Expect.invalid(InvalidJobException.class, "input 'a' has")));
        t.add(specCase("kernel hash altered", s -> ((ObjectNode) s.get("kernel")).put("hash", "9".repeat(64)),
                Expect.invalid(InvalidJobException.class, "kernel sgemm has hash")));
        t.add(specCase("kernel id unknown", s -> ((ObjectNode) s.get("kernel")).put("id", "dgemm"),
                Expect.invalid(InvalidJobException.class, "'dgemm'")));
        t.add(specCase("minReputation as a decimal", s -> ((ObjectNode) s.get("requirements")).put("minReputation",
                "0.0"), Expect.invalid(InvalidJobException.class, "hexadecimal floating-point literal")));
        t.add(specCase("format v2", s -> s.put("format", "depin.job/v2"),
                Expect.invalid(InvalidJobException.class, "expected 'depin.job/v1'")));
        String raw = spec(job);
        t.add(rawSpec("truncated", raw.substring(0, raw.length() / 2), Expect.invalid(InvalidJobException.class,
                "malformed")));
        t.add(rawSpec("duplicate key", raw.replaceFirst("\\{", "{\"maxPriceMicroUsd\":1,"),
                Expect.invalid(InvalidJobException.class, "malformed")));
        t.add(rawSpec("a JSON array", "[]", Expect.invalid(InvalidJobException.class, "not an object")));
        t.add(rawSpec("empty", "", Expect.invalid(InvalidJobException.class, "not an object")));
        R big = full();
        big.spec = sparse("spec-9MiB.json", 9L << 20);
        t.add(receipt("spec of 9 MiB", big, Expect.invalid(OversizedEvidenceException.class,
                "more than the " + EvidenceFiles.MAX_SPEC_BYTES)));
        return withPython(t);
    }

    @TestFactory
    Stream<DynamicTest> data_pathsAndSizes() throws Exception {
        List<DynamicTest> t = new ArrayList<>();
        byte[] c = Files.readAllBytes(job.resolve("outputs/c.bin"));
        int at = new SplittableRandom(SEED).nextInt(c.length);
        byte[] flipped = c.clone();
        flipped[at] ^= 1;
        t.add(outputCase("output bit " + at + " flipped", write("c-flipped.bin", flipped),
                Expect.reason(Reason.OUTPUT_ROOT_MISMATCH)));
        t.add(outputCase("output truncated", write("c-short.bin", java.util.Arrays.copyOf(c, c.length - 1)),
                Expect.reason(Reason.OUTPUT_SIZE_MISMATCH)));
        t.add(outputCase("output padded", write("c-long.bin", java.util.Arrays.copyOf(c, c.length + 1)),
                Expect.reason(Reason.OUTPUT_SIZE_MISMATCH)));
        t.add(outputCase("output empty", write("c-empty.bin", new byte[0]), Expect.reason(Reason.OUTPUT_SIZE_MISMATCH)));
        t.add(outputCase("input a given as the output", job.resolve("inputs/a.bin"),
                Expect.reasons(Reason.OUTPUT_SIZE_MISMATCH, Reason.OUTPUT_ROOT_MISMATCH)));
        t.add(outputCase("output file missing", tmp.resolve("no-such-c.bin"),
                Expect.usage(EvidenceFileException.class, "no such file")));
        t.add(outputCase("output is a directory", tmp, Expect.usage(EvidenceFileException.class, "is a directory")));
        // A FIFO would block the reader forever: refused before it is opened (issue 16).
        Path fifo = fifo(tmp.resolve("c.fifo"));
        t.add(outputCase("output is a FIFO", fifo, Expect.usage(EvidenceFileException.class, "is not a regular file")));
        R missing = full();
        missing.outputs.clear();
        missing.outputs.put("x", job.resolve("outputs/c.bin"));
        missing.py = true;
        t.add(receipt("output name not in the receipt (defect 5)", missing, Expect.reason(Reason.OUTPUT_ROOT_MISMATCH)
                .and("output 'x' was given")));
        R extra = full();
        extra.outputs.put("x", job.resolve("outputs/c.bin"));
        extra.py = true;
        t.add(receipt("an extra output name (defect 5)", extra, Expect.reason(Reason.OUTPUT_ROOT_MISMATCH)));
        R twice = full();
        twice.extra.addAll(List.of("--output", "c=" + job.resolve("outputs/c.bin")));
        t.add(receipt("output given twice", twice, Expect.usage(null, "given twice")));
        R noEq = full();
        noEq.extra.addAll(List.of("--output", "c"));
        t.add(receipt("output without =FILE", noEq, Expect.usage(null, "takes NAME=FILE")));
        R noOut = full();
        noOut.outputs.clear();
        t.add(receipt("no output at all", noOut, Expect.usage(MissingEvidenceException.class, "--output")));
        // Inputs.
        byte[] a = Files.readAllBytes(job.resolve("inputs/a.bin"));
        byte[] aFlipped = a.clone();
        aFlipped[a.length / 3] ^= (byte) 0x80;
        t.add(inputCase("input bit flipped", "a", write("a-flipped.bin", aFlipped),
                Expect.reason(Reason.INPUT_ROOT_MISMATCH)));
        t.add(inputCase("input truncated", "a", write("a-short.bin", java.util.Arrays.copyOf(a, a.length - 4)),
                Expect.reason(Reason.INPUT_ROOT_MISMATCH).and("bytes but the receipt says")));
        t.add(inputCase("inputs swapped", "a", job.resolve("inputs/b.bin"), Expect.reason(Reason.INPUT_ROOT_MISMATCH)));
        t.add(inputCase("input of another job", "a", job2.resolve("inputs/a.bin"),
                Expect.reason(Reason.INPUT_ROOT_MISMATCH)));
        t.add(inputCase("input file missing", "a", tmp.resolve("no-such-a.bin"),
                Expect.usage(EvidenceFileException.class, "no such file")));
        R onlyA = full();
        onlyA.inputs.remove("b");
        t.add(receipt("only some inputs", onlyA, Expect.usage(MissingEvidenceException.class, "input 'b'")));
        R unknownIn = full();
        unknownIn.inputs.put("z", job.resolve("inputs/a.bin"));
        t.add(receipt("input name not in the receipt", unknownIn, Expect.reason(Reason.INPUT_ROOT_MISMATCH)
                .and("input 'z' was given")));
        // Nonces.
        R wrongNonce = full();
        wrongNonce.nonce = nonce.startsWith("00") ? "11" + nonce.substring(2) : "00" + nonce.substring(2);
        t.add(receipt("nonce other", wrongNonce, Expect.reason(Reason.NONCE_MISMATCH)));
        R badNonce = full();
        badNonce.nonce = "xyz";
        t.add(receipt("nonce malformed", badNonce, Expect.usage(InvalidArgumentException.class, "hex or base64")));
        // Paths of the small files.
        R noReceipt = full();
        noReceipt.receipt = tmp.resolve("no-such-receipt.json");
        noReceipt.py = true;
        t.add(receipt("receipt file missing", noReceipt, Expect.usage(EvidenceFileException.class, "no such file")));
        R dirSpec = full();
        dirSpec.spec = tmp;
        t.add(receipt("spec is a directory", dirSpec, Expect.usage(EvidenceFileException.class, "is a directory")));
        R fifoReceipt = full();
        fifoReceipt.receipt = fifo(tmp.resolve("receipt.fifo"));
        t.add(receipt("receipt is a FIFO", fifoReceipt,
                Expect.usage(EvidenceFileException.class, "is not a regular file (a FIFO, socket or device)")));
        R noKey = full();
        noKey.key = null;
        t.add(receipt("no --key", noKey, Expect.usage(null, "--receipt needs --key")));
        R badJob = full();
        badJob.attempt = 0;
        t.add(receipt("--attempt 0", badJob, Expect.usage(InvalidArgumentException.class, "attempt")));
        return withPython(t);
    }

    @TestFactory
    Stream<DynamicTest> keys() throws Exception {
        List<DynamicTest> t = new ArrayList<>();
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(1024);
        KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
        ec.initialize(new ECGenParameterSpec("secp256r1"));
        Map<String, byte[]> wrong = new LinkedHashMap<>();
        wrong.put("RSA public key", x509Pem(rsa.generateKeyPair().getPublic().getEncoded()));
        wrong.put("EC P-256 public key", x509Pem(ec.generateKeyPair().getPublic().getEncoded()));
        wrong.put("X25519 public key", x509Pem(KeyPairGenerator.getInstance("X25519").generateKeyPair().getPublic()
                .getEncoded()));
        wrong.put("Ed448 public key", x509Pem(KeyPairGenerator.getInstance("Ed448").generateKeyPair().getPublic()
                .getEncoded()));
        wrong.put("Ed25519 private key", KeyPem.privateKeyToPem(forger).getBytes(StandardCharsets.UTF_8));
        wrong.put("garbage PEM", "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n"
                .getBytes(StandardCharsets.UTF_8));
        wrong.put("empty file", new byte[0]);
        wrong.put("binary", new byte[] {0, 1, 2, (byte) 0xff});
        for (Map.Entry<String, byte[]> w : wrong.entrySet()) {
            R r = full();
            r.key = write("key-" + w.getKey().replace(' ', '-') + ".pem", w.getValue());
            r.py = true;
            t.add(receipt("key: " + w.getKey(), r, Expect.invalid(KeyFormatException.class, "")));
        }
        R otherProvider = full();
        otherProvider.key = dishonestPem;
        otherProvider.py = true;
        t.add(receipt("key of another provider", otherProvider, Expect.reason(Reason.KEY_MISMATCH)));
        R big = full();
        big.key = sparse("key-100KiB.pem", 100 << 10);
        big.py = true;
        t.add(receipt("key file of 100 KiB", big, Expect.invalid(OversizedEvidenceException.class,
                "more than the " + EvidenceFiles.MAX_KEY_BYTES)));
        R missing = full();
        missing.key = tmp.resolve("no-such-key.pem");
        missing.py = true;
        t.add(receipt("key file missing", missing, Expect.usage(EvidenceFileException.class, "no such file")));
        return withPython(t);
    }

    // ------------------------------------------------------------------ disputes

    @TestFactory
    Stream<DynamicTest> dispute_records() throws Exception {
        List<DynamicTest> t = new ArrayList<>();
        t.add(disputeCase("genuine, with the accused provider's key", genuine(), Expect.upheld("ok   provider key")));
        Dc noKey = genuine();
        noKey.key = null;
        t.add(disputeCase("genuine, without --key: says the key was not checked", noKey,
                Expect.upheld("skip provider key: no key given", "skip nonce:").without("ok   provider key")));
        t.add(disputeEdit("message changed (never trusted)", d -> d.put("message", "anything"), Expect.upheld()));
        t.add(disputeEdit("time changed", d -> d.put("at", "2001-01-01T00:00:00Z"), Expect.upheld()));
        for (String f : List.of("location", "expected", "actual")) {
            t.add(disputeEdit("evidence " + f + " changed (never trusted)", d -> ((ObjectNode) d.get("evidence"))
                    .put(f, "made up"), Expect.upheld()));
        }
        t.add(disputeEdit("evidence check 'spot-check': recomputation finds the same lie", d ->
                ((ObjectNode) d.get("evidence")).put("check", "spot-check"), Expect.upheld("fails spot-check again")));
        // Defect 1: a dispute forged against the honest provider.
        String honestId = Files.readString(job.resolve("provider.txt")).trim();
        String honestKeyPem = Files.readString(honestPem);
        t.add(disputeEdit("provider id replaced by the honest one's (defect 1)", d -> d.put("provider", honestId),
                Expect.invalid(InvalidJobException.class, "nobody else")));
        t.add(disputeEdit("provider key replaced by the honest one's (defect 1)", d -> d.put("providerKeyPem",
                honestKeyPem), Expect.invalid(InvalidJobException.class, "nobody else")));
        t.add(disputeEdit("provider id and key replaced by the honest one's (defect 1)", d -> d.put("provider",
                honestId).put("providerKeyPem", honestKeyPem), Expect.reasons(Reason.KEY_MISMATCH,
                Reason.BAD_SIGNATURE)));
        Dc otherKey = genuine();
        otherKey.key = honestPem;
        t.add(disputeCase("genuine record, --key of the honest provider (defect 1)", otherKey,
                Expect.reason(Reason.KEY_MISMATCH).and("not about the provider you named")));
        t.add(forgedAgainstHonest());
        t.add(disputeEdit("jobId changed", d -> d.put("jobId", "0".repeat(32)), Expect.reason(Reason.JOB_ID_MISMATCH)));
        t.add(disputeEdit("attempt changed", d -> d.put("attempt", d.get("attempt").asInt() + 1),
                Expect.reason(Reason.ATTEMPT_MISMATCH)));
        t.add(disputeEdit("attempt \"abc\" (defect 5)", d -> d.put("attempt", "abc"),
                Expect.invalid(InvalidJobException.class, "field 'attempt' must be an integer >= 1")));
        t.add(disputeEdit("attempt 0", d -> d.put("attempt", 0),
                Expect.invalid(InvalidJobException.class, "field 'attempt' must be an integer >= 1")));
        t.add(disputeEdit("at not a date (defect 3)", d -> d.put("at", "not-a-date"),
                Expect.invalid(InvalidJobException.class, "not an ISO-8601 instant")));
        t.add(disputeEdit("reason unknown", d -> d.put("reason", "GUILTY"),
                Expect.invalid(InvalidJobException.class, "field 'reason' is 'GUILTY'")));
        t.add(disputeEdit("reason NONCE_MISMATCH with result evidence", d -> d.put("reason", "NONCE_MISMATCH"),
                Expect.notUpheld("only a wrong result")));
        t.add(disputeEdit("evidence removed", d -> d.remove("evidence"), Expect.notUpheld("no recomputable evidence")));
        t.add(disputeEdit("seed not hex (defect 3)", d -> ((ObjectNode) d.get("evidence")).put("seed", "zz".repeat(32)),
                Expect.notUpheld("is not 16 to 1024 bytes of hex")));
        t.add(disputeEdit("seed empty (defect 3)", d -> ((ObjectNode) d.get("evidence")).put("seed", ""),
                Expect.notUpheld("is not 16 to 1024 bytes of hex")));
        t.add(disputeEdit("evidence seed a number", d -> ((ObjectNode) d.get("evidence")).put("seed", 5),
                Expect.invalid(InvalidJobException.class, "field 'evidence.seed' must be a string")));
        t.add(disputeEdit("unknown field", d -> d.put("verdict", "guilty"),
                Expect.invalid(InvalidJobException.class, "unknown field 'verdict'")));
        t.add(disputeEdit("format other", d -> d.put("format", "depin.dispute/v0"),
                Expect.invalid(InvalidJobException.class, "not a depin dispute record")));
        t.add(disputeEdit("receipt signature flipped", d -> {
            ObjectNode sig = (ObjectNode) d.get("receipt").get("signatures").get(0);
            sig.put("sig", flipBase64(sig.get("sig").asText()));
        }, Expect.reason(Reason.BAD_SIGNATURE)));
        JsonNode honestReceipt = readTree(Files.readAllBytes(job.resolve("receipt.json")));
        t.add(disputeEdit("receipt replaced by the honest provider's", d -> d.set("receipt", honestReceipt),
                Expect.reason(Reason.KEY_MISMATCH)));
        t.add(disputeEdit("receipt not an envelope", d -> d.put("receipt", "x"),
                Expect.invalid(InvalidJobException.class, "field 'receipt' must be a DSSE envelope object")));
        t.add(disputeEdit("wipe not an envelope", d -> d.set("wipe", JSON.createObjectNode()),
                Expect.invalid(InvalidJobException.class, "field 'wipe' is not a DSSE envelope")));
        t.add(disputeEdit("spec deadline changed", d -> ((ObjectNode) d.get("spec")).put("deadlineEpochMillis", 1),
                Expect.reason(Reason.SPEC_HASH_MISMATCH)));
        t.add(disputeEdit("spec with an unknown field", d -> ((ObjectNode) d.get("spec")).put("x", 1),
                Expect.invalid(InvalidJobException.class, "unknown field 'x'")));
        Path raw = run.resolve("disputes").resolve(dispute.getFileName());
        t.add(rawDispute("not JSON", "dispute".getBytes(StandardCharsets.UTF_8),
                Expect.invalid(InvalidJobException.class, "not valid JSON")));
        t.add(rawDispute("empty", new byte[0], Expect.invalid(InvalidJobException.class, "not a JSON object")));
        t.add(rawDispute("truncated", java.util.Arrays.copyOf(Files.readAllBytes(raw), 100),
                Expect.invalid(InvalidJobException.class, "not valid JSON")));
        Dc big = genuine();
        big.dispute = sparse("dispute-33MiB.json", 33L << 20);
        t.add(disputeCase("dispute record of 33 MiB", big, Expect.invalid(OversizedEvidenceException.class,
                "more than the " + DisputeRecord.MAX_JSON_BYTES)));
        Dc missing = genuine();
        missing.dispute = tmp.resolve("no-such-dispute.json");
        t.add(disputeCase("dispute file missing", missing, Expect.usage(EvidenceFileException.class, "no such file")));
        return withPython(t);
    }

    @TestFactory
    Stream<DynamicTest> dispute_data() throws Exception {
        List<DynamicTest> t = new ArrayList<>();
        Dc honestOut = genuine();
        honestOut.outputs.put("c", job.resolve("outputs/c.bin"));
        t.add(disputeCase("the re-run's honest output instead of the disputed one", honestOut,
                Expect.reason(Reason.OUTPUT_ROOT_MISMATCH)));
        Dc noB = genuine();
        noB.inputs.remove("b");
        t.add(disputeCase("input b missing (defect 3)", noB, Expect.usage(MissingEvidenceException.class,
                "input 'b' was not given")));
        Dc noInputs = genuine();
        noInputs.inputs.clear();
        t.add(disputeCase("no inputs (defect 3)", noInputs, Expect.usage(MissingEvidenceException.class,
                "input 'a' was not given")));
        Dc otherA = genuine();
        otherA.inputs.put("a", job2.resolve("inputs/a.bin"));
        t.add(disputeCase("input a of another job", otherA, Expect.reason(Reason.INPUT_ROOT_MISMATCH)));
        Dc unknownOut = genuine();
        unknownOut.outputs.put("x", job.resolve("outputs/c.bin"));
        t.add(disputeCase("output name the job does not produce", unknownOut, Expect.reason(Reason.OUTPUT_ROOT_MISMATCH)
                .and("output 'x' was given")));
        Dc withSpec = genuine();
        withSpec.extra.addAll(List.of("--spec", job.resolve("spec.json").toString()));
        t.add(disputeCase("--spec with --dispute", withSpec, Expect.usage(null, "apply to --receipt only")));
        return withPython(t);
    }

    /** Defect 1, fully formed: a record that names the honest provider and its real receipt. */
    private static DynamicTest forgedAgainstHonest() throws IOException {
        Envelope receipt = Envelope.parse(Files.readAllBytes(job.resolve("receipt.json")));
        DisputeRecord forged = new DisputeRecord(jobId, attempt, EvidenceFiles.readKey(honestPem).nodeId(),
                EvidenceFiles.readKey(honestPem), Reason.RESULT_MISMATCH, "made up",
                new Evidence("freivalds", "row 0", "1", "2", "ab".repeat(32)), receipt,
                Envelope.parse(Files.readAllBytes(job.resolve("wipe.json"))),
                Files.readAllBytes(job.resolve("spec.json")), Instant.EPOCH, Map.of());
        Dc dc = new Dc();
        dc.dispute = write("forged-against-honest.json", forged.toJson());
        dc.key = honestPem;
        dc.inputs.put("a", job.resolve("inputs/a.bin"));
        dc.inputs.put("b", job.resolve("inputs/b.bin"));
        dc.outputs.put("c", job.resolve("outputs/c.bin"));
        return disputeCase("well-formed record against the honest provider's real receipt (defect 1)", dc,
                Expect.notUpheld("passes freivalds when re-checked"));
    }

    // ------------------------------------------------------------------ cases

    /** The options of one {@code verify --receipt} run. */
    private static final class R {
        Path receipt;
        Path key;
        Path spec;
        Path wipe;
        String nonce;
        String jobId;
        Integer attempt;
        Map<String, Path> inputs = new LinkedHashMap<>();
        Map<String, Path> outputs = new LinkedHashMap<>();
        List<String> extra = new ArrayList<>();
        boolean py;
        CliRun pyOutcome;

        R copy() {
            R r = new R();
            r.receipt = receipt;
            r.key = key;
            r.spec = spec;
            r.wipe = wipe;
            r.nonce = nonce;
            r.jobId = jobId;
            r.attempt = attempt;
            r.inputs = new LinkedHashMap<>(inputs);
            r.outputs = new LinkedHashMap<>(outputs);
            r.extra = new ArrayList<>(extra);
            r.py = py;
            return r;
        }

        List<String> args() {
            List<String> a = new ArrayList<>(List.of("verify", "--receipt", receipt.toString()));
            opt(a, "--key", key);
            opt(a, "--spec", spec);
            opt(a, "--wipe", wipe);
            opt(a, "--nonce", nonce);
            opt(a, "--job-id", jobId);
            opt(a, "--attempt", attempt);
            inputs.forEach((n, p) -> a.addAll(List.of("--input", n + "=" + p)));
            outputs.forEach((n, p) -> a.addAll(List.of("--output", n + "=" + p)));
            a.addAll(extra);
            return a;
        }

        Object library() {
            ReceiptCheck c = OfflineVerifier.receipt(EvidenceFiles.readEnvelope(receipt, "receipt"),
                    EvidenceFiles.readKey(key)).nonce(nonce).job(jobId, attempt == null ? 1 : attempt);
            if (spec != null) {
                c.spec(EvidenceFiles.readSpec(spec));
            }
            if (wipe != null) {
                c.wipe(EvidenceFiles.readEnvelope(wipe, "wipe attestation"));
            }
            outputs.forEach(c::output);
            inputs.forEach(c::input);
            return c.verify();
        }

        List<String> python() {
            List<String> a = new ArrayList<>(List.of(receipt.toString(), key.toString()));
            outputs.forEach((n, p) -> a.add(n + "=" + p));
            return a;
        }
    }

    /** The options of one {@code verify --dispute} run. */
    private static final class Dc {
        Path dispute;
        Path key;
        Map<String, Path> inputs = new LinkedHashMap<>();
        Map<String, Path> outputs = new LinkedHashMap<>();
        List<String> extra = new ArrayList<>();

        List<String> args() {
            List<String> a = new ArrayList<>(List.of("verify", "--dispute", dispute.toString()));
            opt(a, "--key", key);
            inputs.forEach((n, p) -> a.addAll(List.of("--input", n + "=" + p)));
            outputs.forEach((n, p) -> a.addAll(List.of("--output", n + "=" + p)));
            a.addAll(extra);
            return a;
        }

        Object library() {
            DisputeCheck c = OfflineVerifier.dispute(EvidenceFiles.readDispute(dispute));
            if (key != null) {
                c.providerKey(EvidenceFiles.readKey(key));
            }
            inputs.forEach(c::input);
            outputs.forEach(c::output);
            return c.verify();
        }
    }

    private static void opt(List<String> a, String name, Object value) {
        if (value != null) {
            a.addAll(List.of(name, value.toString()));
        }
    }

    private static R forJob(Path j) throws IOException {
        R r = new R();
        r.receipt = j.resolve("receipt.json");
        r.key = pem(j);
        r.spec = j.resolve("spec.json");
        r.wipe = j.resolve("wipe.json");
        ObjectNode st = statement(readTree(Files.readAllBytes(r.receipt)));
        r.nonce = st.get("predicate").get("nonce").asText();
        r.jobId = st.get("predicate").get("jobId").asText();
        r.attempt = st.get("predicate").get("attempt").asInt();
        for (String kind : List.of("inputs", "outputs")) {
            try (Stream<Path> s = Files.list(j.resolve(kind))) {
                for (Path f : s.sorted().toList()) {
                    (kind.equals("inputs") ? r.inputs : r.outputs).put(f.getFileName().toString().replace(".bin", ""), f);
                }
            }
        }
        return r;
    }

    private static R full() throws IOException {
        return forJob(job);
    }

    private static R minimal() throws IOException {
        R r = new R();
        r.receipt = job.resolve("receipt.json");
        r.key = honestPem;
        r.outputs.put("c", job.resolve("outputs/c.bin"));
        return r;
    }

    private static Dc genuine() {
        Dc d = new Dc();
        d.dispute = dispute;
        d.key = dishonestPem;
        d.inputs.put("a", job.resolve("inputs/a.bin"));
        d.inputs.put("b", job.resolve("inputs/b.bin"));
        d.outputs.put("c", disputeDir.resolve("outputs/c.bin"));
        return d;
    }

    private static DynamicTest envelopeCase(String name, Consumer<ObjectNode> edit, Expect e) throws IOException {
        R r = full();
        r.receipt = envelopeEdit(name.replace(' ', '-'), edit);
        r.py = true;
        return receipt("envelope " + name, r, e);
    }

    private static DynamicTest rawReceipt(String name, String text, Expect e) throws IOException {
        R r = full();
        r.receipt = write("raw-" + name.replace(' ', '-') + ".json", text.getBytes(StandardCharsets.UTF_8));
        r.py = true;
        return receipt("receipt file " + name, r, e);
    }

    private static DynamicTest resigned(String name, Consumer<ObjectNode> edit, Expect e, boolean py) throws IOException {
        R r = full();
        r.receipt = statementEdit("resigned-" + name.replace(' ', '-').replace("\"", ""), edit, true);
        r.key = forgerPem;
        r.wipe = null;
        r.py = py;
        return receipt("receipt " + name + ", signed by its signer", r, e);
    }

    private static DynamicTest specCase(String name, Consumer<ObjectNode> edit, Expect e) throws IOException {
        ObjectNode s = (ObjectNode) readTree(Files.readAllBytes(job.resolve("spec.json")));
        edit.accept(s);
        return rawSpec(name, JSON.writeValueAsString(s), e);
    }

    private static DynamicTest rawSpec(String name, String text, Expect e) throws IOException {
        R r = full();
        r.spec = write("spec-" + name.replace(' ', '-') + ".json", text.getBytes(StandardCharsets.UTF_8));
        return receipt("spec " + name, r, e);
    }

    private static DynamicTest outputCase(String name, Path file, Expect e) throws IOException {
        R r = full();
        r.outputs.put("c", file);
        r.py = true;
        return receipt(name, r, e);
    }

    private static DynamicTest inputCase(String name, String input, Path file, Expect e) throws IOException {
        R r = full();
        r.inputs.put(input, file);
        return receipt(name, r, e);
    }

    private static DynamicTest disputeEdit(String name, Consumer<ObjectNode> edit, Expect e) throws IOException {
        ObjectNode d = (ObjectNode) readTree(Files.readAllBytes(dispute));
        edit.accept(d);
        return rawDispute(name, JSON.writeValueAsBytes(d), e);
    }

    private static DynamicTest rawDispute(String name, byte[] bytes, Expect e) {
        Dc d = genuine();
        d.dispute = write("dispute-" + name.replaceAll("[^A-Za-z0-9]+", "-") + ".json", bytes);
        return disputeCase("dispute " + name, d, e);
    }

    /** Python second opinions of the factory being built, run in one process by {@link #withPython}. */
    private static final List<R> PENDING = new ArrayList<>();

    private static DynamicTest receipt(String name, R r, Expect e) {
        boolean second = r.py && python && r.key != null;
        if (second) {
            PENDING.add(r);
        }
        return DynamicTest.dynamicTest(name, () -> {
            check(name, r.args(), r.key == null ? null : r::library, e);
            if (second) {
                CliRun py = r.pyOutcome;
                assertNotNull(py, name + ": python was not run");
                assertFalse(py.all().contains("Traceback"), name + ": python: " + py.all());
                assertEquals(e.exit, py.exit(), name + ": python disagrees: " + py.all());
                if (e.exit == 1) {
                    assertTrue(py.out().startsWith("INVALID: "), name + ": python: " + py.all());
                }
            }
        });
    }

    private static DynamicTest disputeCase(String name, Dc d, Expect e) {
        return DynamicTest.dynamicTest(name, () -> check(name, d.args(), d::library, e));
    }

    private interface Library {
        Object run();
    }

    /** Runs the command line and the library on one variant and holds both to {@code e}. */
    private static void check(String name, List<String> args, Library library, Expect e) {
        CliRun o = cli(args);
        String all = o.all();
        assertEquals(e.exit, o.exit(), name + ": exit status\n" + args + "\n" + all);
        assertFalse(all.contains("\tat ") || all.contains("Exception in thread") || all.contains("internal error")
                || all.contains("Caused by"), name + ": a stack trace or internal error reached the user:\n" + all);
        for (String f : e.cli) {
            assertTrue(all.contains(f), name + ": '" + f + "' not in:\n" + all);
        }
        for (String f : e.absent) {
            assertFalse(all.contains(f), name + ": '" + f + "' must not be in:\n" + all);
        }
        if (e.exit == 0) {
            assertTrue(o.out().startsWith("VALID") || o.out().startsWith("DISPUTE UPHELD"), name + ": " + all);
        } else if (e.exit == 1) {
            assertTrue(o.out().startsWith("INVALID: ") || o.out().startsWith("NOT UPHELD: "), name + ": " + all);
        }
        if (library == null || e.libType == null && e.exit != 0) {
            return; // a command-line usage error: the library is never reached
        }
        Object result;
        try {
            result = library.run();
        } catch (Throwable t) {
            if (e.exit == 0) {
                fail(name + ": the library rejects a good variant: " + t, t);
            }
            assertInstanceOf(e.libType, t, name + ": library threw " + t);
            if (t instanceof VerificationException ve && !e.reasons.isEmpty()) {
                assertTrue(e.reasons.contains(ve.reason()), name + ": library reason " + ve.reason() + ", expected "
                        + e.reasons);
            }
            assertTrue(t.getMessage() != null && t.getMessage().contains(e.libFragment),
                    name + ": '" + e.libFragment + "' not in library message: " + t.getMessage());
            return;
        }
        assertEquals(0, e.exit, name + ": the library accepted a bad variant: " + result);
        assertNotNull(result);
    }

    /** What a variant must give: exit status, text on the command line, the library's exception. */
    private static final class Expect {
        final int exit;
        final List<String> cli = new ArrayList<>();
        final List<String> absent = new ArrayList<>();
        final List<Reason> reasons = new ArrayList<>();
        Class<? extends Throwable> libType;
        String libFragment = "";

        private Expect(int exit) {
            this.exit = exit;
        }

        static Expect valid(String... fragments) {
            Expect e = new Expect(0);
            e.cli.add("VALID");
            e.cli.addAll(List.of(fragments));
            return e;
        }

        static Expect upheld(String... fragments) {
            Expect e = new Expect(0);
            e.cli.add("DISPUTE UPHELD: ");
            e.cli.add("ok   dispute upheld");
            e.cli.addAll(List.of(fragments));
            return e;
        }

        static Expect reason(Reason r) {
            return reasons(r);
        }

        static Expect reasons(Reason... rs) {
            Expect e = new Expect(1);
            e.reasons.addAll(List.of(rs));
            e.libType = VerificationException.class;
            if (rs.length == 1) {
                e.cli.add("INVALID: " + rs[0] + ": ");
            }
            return e;
        }

        static Expect invalid(Class<? extends Throwable> type, String fragment) {
            Expect e = new Expect(1);
            e.cli.add("INVALID: ");
            e.cli.add(fragment);
            e.libType = type;
            e.libFragment = fragment;
            return e;
        }

        static Expect notUpheld(String fragment) {
            Expect e = new Expect(1);
            e.cli.add("NOT UPHELD: ");
            e.cli.add(fragment);
            e.libType = DisputeNotUpheldException.class;
            e.libFragment = fragment;
            return e;
        }

        /** Exit 2; {@code type} null when the command line refuses before the library is called. */
        static Expect usage(Class<? extends Throwable> type, String fragment) {
            Expect e = new Expect(2);
            e.cli.add(fragment);
            e.libType = type;
            return e;
        }

        Expect and(String fragment) {
            cli.add(fragment);
            libFragment = fragment;
            return this;
        }

        Expect without(String... fragments) {
            absent.addAll(List.of(fragments));
            return this;
        }
    }

    // ------------------------------------------------------------------ running

    private static CliRun cli(List<String> args) {
        return CliRun.of(args);
    }

    /** Runs the pending Python checks in one process (starting Python costs more than a check). */
    private static Stream<DynamicTest> withPython(List<DynamicTest> tests) throws Exception {
        if (!PENDING.isEmpty()) {
            List<CliRun> results = CliRun.verifyScript(PENDING.stream().map(R::python).toList());
            for (int i = 0; i < PENDING.size(); i++) {
                PENDING.get(i).pyOutcome = results.get(i);
            }
            PENDING.clear();
        }
        return tests.stream();
    }

    private static boolean pythonWithCryptography() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import cryptography").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    // ------------------------------------------------------------------ files and JSON

    private static Path write(String name, byte[] bytes) {
        try {
            Path dir = tmp.resolve("variants");
            Files.createDirectories(dir);
            Path p = dir.resolve(String.format("%03d-%s", ++counter, name));
            Files.write(p, bytes);
            return p;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A file of {@code size} bytes that takes no disk space: one byte at its end. */
    private static Path sparse(String name, long size) throws IOException {
        Path p = write(name, new byte[0]);
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {' '}), size - 1);
        }
        return p;
    }

    private static Path pem(Path j) {
        try {
            return run.resolve("providers/" + Files.readString(j.resolve("provider.txt")).trim() + ".pub.pem");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String readString(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String spec(Path j) {
        try {
            return Files.readString(j.resolve("spec.json"));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static JsonNode readTree(byte[] json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static ObjectNode statement(JsonNode envelope) {
        return (ObjectNode) readTree(Base64.getDecoder().decode(envelope.get("payload").asText()));
    }

    private static ObjectNode pred(ObjectNode statement) {
        return (ObjectNode) statement.get("predicate");
    }

    private static JsonNode wipeBuffer(ObjectNode statement, int i) {
        return pred(statement).get("buffers").get(i);
    }

    private static void removeBuffer(ObjectNode statement, String label) {
        ArrayNode b = (ArrayNode) pred(statement).get("buffers");
        for (int i = 0; i < b.size(); i++) {
            if (b.get(i).get("label").asText().equals(label)) {
                b.remove(i);
                return;
            }
        }
        fail("no wipe buffer '" + label + "'");
    }

    private static void renameBuffer(ObjectNode statement, String label, String to) {
        for (JsonNode b : pred(statement).get("buffers")) {
            if (b.get("label").asText().equals(label)) {
                ((ObjectNode) b).put("label", to);
                return;
            }
        }
        fail("no wipe buffer '" + label + "'");
    }

    private static Path envelopeEdit(String name, Consumer<ObjectNode> edit) {
        ObjectNode e = (ObjectNode) readTree(readAll(job.resolve("receipt.json")));
        edit.accept(e);
        try {
            return write("env-" + name + ".json", JSON.writeValueAsBytes(e));
        } catch (IOException x) {
            throw new java.io.UncheckedIOException(x);
        }
    }

    /** The receipt's statement, edited, and either re-signed by the forger or left with its old signature. */
    private static Path statementEdit(String name, Consumer<ObjectNode> edit, boolean resign) {
        return payloadEdit(job.resolve("receipt.json"), name, edit, resign);
    }

    private static Path wipeEdit(String name, Consumer<ObjectNode> edit, boolean resign) {
        return payloadEdit(job.resolve("wipe.json"), name, edit, resign);
    }

    private static Path payloadEdit(Path file, String name, Consumer<ObjectNode> edit, boolean resign) {
        ObjectNode env = (ObjectNode) readTree(readAll(file));
        ObjectNode st = statement(env);
        edit.accept(st);
        try {
            byte[] payload = JSON.writeValueAsBytes(st);
            byte[] out;
            if (resign) {
                out = Envelope.sign(env.get("payloadType").asText(), payload, forger).toJsonBytes();
            } else {
                env.put("payload", Base64.getEncoder().encodeToString(payload));
                out = JSON.writeValueAsBytes(env);
            }
            return write(name + ".json", out);
        } catch (IOException x) {
            throw new java.io.UncheckedIOException(x);
        }
    }

    private static byte[] readAll(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String flipBase64(String b64) {
        byte[] b = Base64.getDecoder().decode(b64);
        b[b.length / 2] ^= 1;
        return Base64.getEncoder().encodeToString(b);
    }

    private static byte[] x509Pem(byte[] der) {
        return ("-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END PUBLIC KEY-----\n").getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    /** Makes a named pipe with mkfifo (present here and in CI), as an attacker's "file" would be. */
    private static Path fifo(Path path) throws Exception {
        if (!Files.exists(path)) {
            Process p = new ProcessBuilder("mkfifo", path.toString()).start();
            if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("mkfifo " + path + " failed");
            }
        }
        return path;
    }
}
