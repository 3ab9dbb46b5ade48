package dev.depin.verify;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.BatchedReceipt;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.KeyPem;
import dev.depin.crypto.NodePublicKey;
import dev.depin.job.DisputeRecord;
import dev.depin.job.JobSpec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads the small evidence files (keys, specs, envelopes, dispute records) with a size
 * bound, so that a hostile multi-gigabyte file is refused with a message instead of
 * exhausting the heap. Outputs and inputs are never read whole: {@link ReceiptCheck} and
 * {@link DisputeCheck} stream or map them.
 *
 * <pre>{@code
 * Envelope receipt = EvidenceFiles.readEnvelope(Path.of("receipt.json"), "receipt");
 * NodePublicKey key = EvidenceFiles.readKey(Path.of("provider.pub.pem"));
 * }</pre>
 */
public final class EvidenceFiles {
    /** Largest public key file accepted: 64 KiB (a PEM Ed25519 key has about 113 bytes). */
    public static final int MAX_KEY_BYTES = 64 << 10;
    /** Largest spec file accepted: 8 MiB (a built-in kernel's spec has about 1 KiB; PTX makes it larger). */
    public static final int MAX_SPEC_BYTES = 8 << 20;
    /** Largest envelope file accepted: {@link Envelope#DEFAULT_MAX_JSON_BYTES}. */
    public static final int MAX_ENVELOPE_BYTES = Envelope.DEFAULT_MAX_JSON_BYTES;

    private EvidenceFiles() {
    }

    /**
     * Reads a whole file of at most {@code maxBytes} bytes.
     *
     * @param file     the file
     * @param maxBytes the most bytes a genuine file of this kind has
     * @param what     what the file is, for messages (e.g. {@code "spec"})
     * @return its bytes
     * @throws EvidenceFileException      if it does not exist, is not a regular file, or cannot be read
     * @throws OversizedEvidenceException if it holds more than {@code maxBytes} bytes
     */
    public static byte[] read(Path file, int maxBytes, String what) {
        InvalidArgumentException.requireNonNull(file, what + " file");
        if (maxBytes < 0) {
            throw new InvalidArgumentException("maxBytes must be >= 0, got " + maxBytes);
        }
        long size = size(file, what);
        if (size > maxBytes) {
            throw oversized(file, what, Long.toString(size), maxBytes);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] b = in.readNBytes(maxBytes + 1 > 0 ? maxBytes + 1 : maxBytes);
            if (b.length > maxBytes) {
                throw oversized(file, what, "more than " + maxBytes, maxBytes);
            }
            return b;
        } catch (IOException e) {
            throw unreadable(file, what, e);
        }
    }

    /**
     * Reads a provider's Ed25519 public key (X.509 PEM) of at most {@link #MAX_KEY_BYTES}.
     *
     * @param file the PEM file
     * @return the key
     * @throws dev.depin.crypto.KeyFormatException if it is not an Ed25519 public key in PEM
     */
    public static NodePublicKey readKey(Path file) {
        return KeyPem.readPublicKey(new String(read(file, MAX_KEY_BYTES, "public key"), StandardCharsets.UTF_8));
    }

    /**
     * Reads a DSSE envelope (receipt or wipe attestation) of at most {@link #MAX_ENVELOPE_BYTES}.
     *
     * @param file the JSON file
     * @param what {@code "receipt"} or {@code "wipe attestation"}, for messages
     * @return the parsed, not yet verified, envelope
     * @throws dev.depin.crypto.MalformedEnvelopeException if it is not a DSSE envelope
     */
    public static Envelope readEnvelope(Path file, String what) {
        return Envelope.parse(read(file, MAX_ENVELOPE_BYTES, what));
    }

    /**
     * Reads a receipt in either form a node sends, and starts its check: a single envelope
     * (DSSE JSON, at most {@link #MAX_ENVELOPE_BYTES}) or a batched receipt (JSON with
     * {@code "format": "depin.batched-receipt/v1"}, at most
     * {@link BatchedReceipt#DEFAULT_MAX_JSON_BYTES}), told apart by that field.
     *
     * @param file        the JSON file
     * @param providerKey the key the provider's offer names
     * @return the check, as {@link OfflineVerifier#receipt(Envelope, NodePublicKey)} or
     *         {@link OfflineVerifier#receipt(BatchedReceipt, NodePublicKey)} starts it
     * @throws EvidenceFileException                      if the file cannot be read or is not a regular file
     * @throws OversizedEvidenceException                 if it is larger than its form allows
     * @throws dev.depin.crypto.MalformedEnvelopeException if it is neither form
     */
    public static ReceiptCheck readReceipt(Path file, NodePublicKey providerKey) {
        byte[] json = read(file, BatchedReceipt.DEFAULT_MAX_JSON_BYTES, "receipt");
        if (batchedForm(json)) {
            return OfflineVerifier.receipt(BatchedReceipt.parse(json), providerKey);
        }
        if (json.length > MAX_ENVELOPE_BYTES) {
            throw oversized(file, "receipt", json.length + " bytes", MAX_ENVELOPE_BYTES);
        }
        return OfflineVerifier.receipt(Envelope.parse(json), providerKey);
    }

    /** Whether the JSON is an object whose top-level {@code format} names the batched form; false if not JSON. */
    private static boolean batchedForm(byte[] json) {
        try (com.fasterxml.jackson.core.JsonParser p = new com.fasterxml.jackson.core.JsonFactory().createParser(json)) {
            if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                return false;
            }
            while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                String name = p.currentName();
                com.fasterxml.jackson.core.JsonToken value = p.nextToken();
                if ("format".equals(name)) {
                    return value == com.fasterxml.jackson.core.JsonToken.VALUE_STRING
                            && BatchedReceipt.FORMAT.equals(p.getText());
                }
                p.skipChildren();
            }
            return false;
        } catch (IOException e) {
            return false; // not JSON: the envelope parser says what is wrong
        }
    }

    /**
     * Reads a job spec (canonical JSON) of at most {@link #MAX_SPEC_BYTES}, strictly.
     *
     * @param file the JSON file
     * @return the spec
     * @throws dev.depin.InvalidJobException if it is malformed or invalid
     */
    public static JobSpec readSpec(Path file) {
        return JobSpec.fromJson(read(file, MAX_SPEC_BYTES, "spec"));
    }

    /**
     * Reads a dispute record of at most {@link DisputeRecord#MAX_JSON_BYTES}.
     *
     * @param file the JSON file
     * @return the record
     * @throws dev.depin.InvalidJobException if it is malformed
     */
    public static DisputeRecord readDispute(Path file) {
        return DisputeRecord.fromJson(read(file, DisputeRecord.MAX_JSON_BYTES, "dispute record"));
    }

    /**
     * Size of a regular file, or an {@link EvidenceFileException} that says why there is none:
     * a directory, or a FIFO, socket or device (whose reader would block forever or never end),
     * is refused before it is opened.
     */
    static long size(Path file, String what) {
        if (Files.isDirectory(file)) {
            throw new EvidenceFileException("cannot read " + what + " " + file + ": it is a directory; name the file",
                    null);
        }
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw new EvidenceFileException("cannot read " + what + " " + file + ": it is not a regular file (a FIFO, "
                    + "socket or device); save the evidence to a file and name that", null);
        }
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw unreadable(file, what, e);
        }
    }

    static EvidenceFileException unreadable(Path file, String what, IOException e) {
        String why = e instanceof NoSuchFileException ? "no such file"
                : e instanceof AccessDeniedException ? "permission denied" : e.toString();
        return new EvidenceFileException("cannot read " + what + " " + file + ": " + why
                + "; check the path", e);
    }

    private static OversizedEvidenceException oversized(Path file, String what, String size, int max) {
        return new OversizedEvidenceException(what + " " + file + " has " + size + " bytes, more than the " + max
                + " a genuine " + what + " can have: it is not one; reject it");
    }
}
