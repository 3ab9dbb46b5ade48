package dev.depin.examples.cli;

import dev.depin.crypto.KeyPem;
import dev.depin.job.DisputeRecord;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.provider.ProviderOffer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * Writes a demo run's evidence so that anyone can re-verify it with other tools:
 * <pre>
 * DIR/README.txt                      how to re-verify
 * DIR/providers/NODEID.pub.pem        each provider's Ed25519 public key (X.509 PEM)
 * DIR/jobs/NNNN-JOBID/spec.json       the job spec, canonical JSON (its SHA-256 is the receipt's specHash)
 * DIR/jobs/NNNN-JOBID/inputs/NAME.bin input bytes (float32 little-endian)
 * DIR/jobs/NNNN-JOBID/outputs/NAME.bin output bytes as received
 * DIR/jobs/NNNN-JOBID/receipt.json    execution receipt, DSSE envelope
 * DIR/jobs/NNNN-JOBID/wipe.json       wipe attestation, DSSE envelope
 * DIR/jobs/NNNN-JOBID/provider.txt    the node id whose key signed them
 * DIR/jobs/NNNN-JOBID/report.txt      what the buyer verified
 * DIR/disputes/JOBID-ATTEMPT.json     dispute records (receipt, evidence, spec)
 * DIR/disputes/JOBID-ATTEMPT/outputs/  the disputed outputs as received; job.txt names the job folder
 * </pre>
 */
final class RunWriter {
    private final Path dir;

    RunWriter(Path dir) {
        this.dir = dir;
    }

    void write(List<ProviderOffer> nodes, List<JobHandle> handles) {
        try {
            Files.createDirectories(dir.resolve("providers"));
            Files.createDirectories(dir.resolve("disputes"));
            for (ProviderOffer n : nodes) {
                Files.writeString(dir.resolve("providers/" + n.nodeId().hex() + ".pub.pem"),
                        KeyPem.publicKeyToPem(n.publicKey()));
            }
            int i = 0;
            for (JobHandle h : handles) {
                i++;
                JobResult r = h.resultAsync().getNow(null);
                if (r == null) {
                    continue;
                }
                Path job = dir.resolve(String.format("jobs/%04d-%s", i, h.jobId()));
                Files.createDirectories(job.resolve("inputs"));
                Files.createDirectories(job.resolve("outputs"));
                Files.write(job.resolve("spec.json"), h.spec().canonicalJson());
                writeAll(job.resolve("inputs"), h.job().inputs());
                writeAll(job.resolve("outputs"), r.outputs());
                if (r.batched() != null) {
                    // Signed in a batch: one file holds the batch envelope, both statements and their proofs.
                    Files.write(job.resolve("batched-receipt.json"), r.batched().toJsonBytes());
                } else {
                    Files.write(job.resolve("receipt.json"), r.receipt().toJsonBytes());
                    Files.write(job.resolve("wipe.json"), r.wipe().toJsonBytes());
                }
                Files.writeString(job.resolve("provider.txt"), r.provider().hex() + "\n");
                Files.writeString(job.resolve("report.txt"), r.report().summary() + "\n"
                        + String.join("\n", r.report().checks().stream()
                        .map(c -> (c.passed() ? "ok   " : "FAIL ") + c.name() + ": " + c.detail()).toList()) + "\n");
                for (DisputeRecord d : r.disputes()) {
                    String name = d.jobId() + "-" + d.attempt();
                    Files.write(dir.resolve("disputes/" + name + ".json"), d.toJson());
                    Files.createDirectories(dir.resolve("disputes/" + name + "/outputs"));
                    writeAll(dir.resolve("disputes/" + name + "/outputs"), d.outputs());
                    Files.writeString(dir.resolve("disputes/" + name + "/job.txt"), job.getFileName() + "\n");
                }
            }
            Files.writeString(dir.resolve("README.txt"), README, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write the run to " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void writeAll(Path dir, Map<String, ByteBuffer> buffers) throws IOException {
        for (Map.Entry<String, ByteBuffer> e : buffers.entrySet()) {
            try (FileChannel ch = FileChannel.open(dir.resolve(e.getKey() + ".bin"), StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                ByteBuffer b = e.getValue().duplicate();
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }
        }
    }

    private static final String README = """
            A depin demo run, written so that anyone can re-verify it.

            Each jobs/NNNN-JOBID folder holds the spec, the inputs, the outputs as received, the
            provider's execution receipt and wipe attestation (DSSE envelopes carrying in-toto
            Statement v1), and the report of what the buyer checked. providers/ holds each
            provider's public key. disputes/ holds the record of every attempt that failed
            verification, with the receipt the provider signed and the evidence against it.

            Re-verify a receipt with depin (checks signature, spec binding, inputs, outputs, wipe):
              java -jar depin.jar verify --receipt jobs/0001-*/receipt.json \\
                  --key providers/$(cat jobs/0001-*/provider.txt).pub.pem \\
                  --spec jobs/0001-*/spec.json --output c=jobs/0001-*/outputs/c.bin \\
                  --input a=jobs/0001-*/inputs/a.bin --input b=jobs/0001-*/inputs/b.bin \\
                  --wipe jobs/0001-*/wipe.json
            Every check made prints as "ok", every check that could not be made as "skip" with
            what was missing (add --nonce, --job-id and --attempt from the buyer's own records).
            Re-check a dispute (the signed, disputed output fails the check again):
              D=disputes/JOBID-ATTEMPT; J=jobs/$(cat $D/job.txt)
              java -jar depin.jar verify --dispute $D.json --key providers/ACCUSED.pub.pem \\
                  --input a=$J/inputs/a.bin --input b=$J/inputs/b.bin --output c=$D/outputs/c.bin
            depin verify --help says exactly what is checked with and without each option.

            Independently, without depin: the signature is Ed25519 over DSSE's PAE,
              "DSSEv1" SP len(payloadType) SP payloadType SP len(payload) SP payload,
            and each subject's "merkle-sha256" digest is the RFC 6962 Merkle root (leaf = SHA-256(0x00 || chunk),
            node = SHA-256(0x01 || left || right)) over 4096-byte leaves of the output file (the receipt's
            merkleChunkBytes).
            depin-examples/scripts/verify_receipt.py does exactly that with Python's cryptography package.
            A job signed in a batch has jobs/NNNN-JOBID/batched-receipt.json instead of receipt.json and
            wipe.json: give it to --receipt (both tools), without --wipe (its wipe attestation is inside).
            """;
}
