package dev.depin.examples.cli;

import dev.depin.DepinException;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.NodePublicKey;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationReport;
import dev.depin.job.DisputeRecord;
import dev.depin.verify.DisputeCheck;
import dev.depin.verify.DisputeNotUpheldException;
import dev.depin.verify.EvidenceFileException;
import dev.depin.verify.EvidenceFiles;
import dev.depin.verify.MissingEvidenceException;
import dev.depin.verify.OfflineReport;
import dev.depin.verify.OfflineVerifier;
import dev.depin.verify.ReceiptCheck;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code depin verify}: checks a receipt (and optionally its wipe attestation) against a
 * provider's public key and the data, or re-checks a dispute record. Prints {@code VALID}
 * or {@code DISPUTE UPHELD}, every check made ({@code ok}) and every check not made
 * ({@code skip}, with what was not given), or {@code INVALID} / {@code NOT UPHELD} with the
 * reason. Exit status: 0 valid or upheld; 1 invalid or not upheld; 2 bad usage, a file that
 * cannot be read, or data missing for a check; 3 an internal error (a bug: please report it).
 */
@Command(name = "verify", mixinStandardHelpOptions = true, sortOptions = false,
        footer = {"", "Examples:", "  depin verify --receipt receipt.json --key NODE.pub.pem --output c=c.bin", "  depin verify --dispute DISPUTE.json --key NODE.pub.pem --input a=a.bin"},

        description = {
            "Verify an execution receipt (and wipe attestation) against a provider key and data, or re-check a "
                    + "dispute record, offline. Every check made is printed as 'ok', every check not made as "
                    + "'skip' with what was missing: a skipped check proves nothing either way.",
            "",
            "With --receipt, always checked: payload type; the Ed25519 signature by --key; the in-toto statement "
                    + "and predicate type; 4 KiB Merkle leaves; that the --output names are exactly the outputs "
                    + "the receipt commits to; each output's size and RFC 6962 root, recomputed from the file "
                    + "(streamed, any size); the statement's subjects = the predicate's outputs.",
            "  --spec adds: the receipt's spec hash = SHA-256 of the spec's canonical form; kernel id and code hash; "
                    + "the receipt's input names, sizes and roots = the spec's; output names and sizes = what the "
                    + "spec's kernel produces for its parameters. The spec file is parsed strictly. "
                    + "Without it these are read from the receipt unchecked.",
            "  --input (all inputs, or none) adds: each input's size and root recomputed from the file = the "
                    + "receipt's (and the spec's). Without it, input data is not checked.",
            "  --nonce adds: the receipt echoes the challenge (hex in either case, or base64). Without it, replay "
                    + "of an older receipt is not excluded.",
            "  --wipe adds: the wipe attestation's signature by --key, its subject = this receipt, every buffer "
                    + "the receipt names fully overwritten and read back.",
            "  A batched receipt (what nodes send by default) is checked the same way after the batch envelope's "
                    + "signature by --key and the inclusion of the receipt and wipe statements in its signed RFC "
                    + "6962 root; its wipe attestation is inside, always checked, so --wipe is refused with it.",
            "  --job-id (and --attempt, default 1) adds: the receipt names this job and attempt. Without it they "
                    + "are read from the receipt unchecked.",
            "",
            "With --dispute: the record's provider id = SHA-256 of its key; with --key, that key = --key (without "
                    + "it the record's key is taken as is, reported as skipped); the receipt is signed by that key, "
                    + "for the record's job and attempt and for the record's spec (as with --spec above); every "
                    + "--input and --output the spec names is required and must match the receipt; then the check "
                    + "that failed (Freivalds with the recorded seed, or recomputation on the CPU reference) is "
                    + "run again on those bytes. Only a RESULT_MISMATCH record with evidence can be upheld. The "
                    + "record's own message and values are never trusted.",
            "",
            "Outputs and inputs are streamed (receipts) or mapped (disputes), never read onto the heap. Other "
                    + "files are refused as INVALID above a bound: key 64 KiB, receipt and wipe 4 MiB, spec 8 MiB, "
                    + "dispute record 32 MiB.",
            "",
            "Exit status: 0 VALID or DISPUTE UPHELD; 1 INVALID or NOT UPHELD (with the reason); 2 bad usage, a "
                    + "file that cannot be read, or data a check needs not given; 3 internal error (a bug)."
        })
public final class VerifyCommand implements Callable<Integer> {

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    static final class Target {
        @Option(names = "--receipt", paramLabel = "FILE", description = "Receipt to verify: a DSSE envelope "
                + "(receipt.json) or a batched receipt (batched-receipt.json: the batch envelope, this job's receipt "
                + "and wipe statements and their inclusion proofs), told apart by its 'format' field.")
        Path receipt;

        @Option(names = "--dispute", paramLabel = "FILE", description = "Dispute record (JSON) to re-check.")
        Path dispute;
    }

    @Option(names = "--key", paramLabel = "FILE", description = "Provider public key (X.509 PEM, Ed25519). Required "
            + "with --receipt; with --dispute, the record must accuse this key's provider.")
    Path key;

    @Option(names = "--output", paramLabel = "NAME=FILE", description = "An output as received; give every output "
            + "the receipt names, and no other.")
    List<String> outputs = new ArrayList<>();

    @Option(names = "--input", paramLabel = "NAME=FILE", description = "An input the buyer sent; give all or none "
            + "(all with --dispute).")
    List<String> inputs = new ArrayList<>();

    @Option(names = "--spec", paramLabel = "FILE", description = "The job spec (canonical JSON) the receipt must be "
            + "for (--receipt only; a dispute record carries its spec).")
    Path spec;

    @Option(names = "--nonce", paramLabel = "HEX", description = "The challenge nonce the buyer sent (hex in either "
            + "case, or base64), to exclude replay (--receipt only).")
    String nonce;

    @Option(names = "--job-id", paramLabel = "ID", description = "The job id the buyer dispatched (--receipt only).")
    String jobId;

    @Option(names = "--attempt", paramLabel = "N", description = "The attempt dispatched, with --job-id (default 1).")
    Integer attempt;

    @Option(names = "--wipe", paramLabel = "FILE", description = "Wipe attestation envelope (DSSE JSON) to check "
            + "against the receipt (--receipt only).")
    Path wipe;

    @Override
    public Integer call() {
        PrintStream out = System.out;
        PrintStream err = System.err;
        Map<String, Path> outs;
        Map<String, Path> ins;
        try {
            outs = pairs(outputs, "--output");
            ins = pairs(inputs, "--input");
        } catch (IllegalArgumentException e) {
            err.println("usage: " + e.getMessage());
            return 2;
        }
        try {
            if (target.dispute != null) {
                if (spec != null || nonce != null || wipe != null || jobId != null || attempt != null) {
                    err.println("usage: --spec, --nonce, --wipe, --job-id and --attempt apply to --receipt only: a "
                            + "dispute record carries its spec, job and receipt");
                    return 2;
                }
                DisputeRecord d = EvidenceFiles.readDispute(target.dispute);
                DisputeCheck check = OfflineVerifier.dispute(d);
                if (key != null) {
                    check.providerKey(EvidenceFiles.readKey(key));
                }
                ins.forEach(check::input);
                outs.forEach(check::output);
                OfflineReport report = check.verify();
                out.println("DISPUTE UPHELD: " + d.jobId() + "#" + d.attempt() + " against provider "
                        + d.providerKey().nodeId().hex() + " (" + d.reason() + ")");
                print(out, report);
                return 0;
            }
            if (key == null) {
                err.println("usage: --receipt needs --key: the provider's public key (PEM)");
                return 2;
            }
            if (outs.isEmpty()) {
                err.println("usage: --receipt needs --output NAME=FILE for every output the receipt names");
                return 2;
            }
            if (nonce != null) {
                try {
                    ExecutionReceipt.checkNonce(nonce);
                } catch (InvalidArgumentException e) {
                    err.println("usage: --nonce: " + e.getMessage());
                    return 2;
                }
            }
            if (attempt != null && (jobId == null || attempt < 1)) {
                err.println("usage: --attempt needs --job-id and must be at least 1");
                return 2;
            }
            if (jobId != null && jobId.isEmpty()) {
                err.println("usage: --job-id must not be empty");
                return 2;
            }
            NodePublicKey k = EvidenceFiles.readKey(key);
            ReceiptCheck check = EvidenceFiles.readReceipt(target.receipt, k).nonce(nonce)
                    .job(jobId, attempt == null ? 1 : attempt);
            if (spec != null) {
                check.spec(EvidenceFiles.readSpec(spec));
            }
            if (wipe != null) {
                if (check.batched()) {
                    err.println("usage: --wipe: a batched receipt carries its own wipe attestation, which is always "
                            + "checked: drop --wipe");
                    return 2;
                }
                check.wipe(EvidenceFiles.readEnvelope(wipe, "wipe attestation"));
            }
            outs.forEach(check::output);
            ins.forEach(check::input);
            OfflineReport report = check.verify();
            out.println("VALID");
            print(out, report);
            return 0;
        } catch (DisputeNotUpheldException e) {
            out.println("NOT UPHELD: " + e.getMessage());
            return 1;
        } catch (VerificationException e) {
            // The reason is already the message's first word.
            out.println("INVALID: " + e.getMessage());
            e.evidence().ifPresent(ev -> out.println("  evidence: " + ev));
            return 1;
        } catch (EvidenceFileException | MissingEvidenceException e) {
            err.println("cannot verify: " + e.getMessage());
            return 2;
        } catch (DepinException e) {
            out.println("INVALID: " + e.getMessage());
            return 1;
        } catch (RuntimeException e) {
            err.println("ERROR: internal error in depin verify (a bug; please report it with the files): " + e);
            return 3;
        }
    }

    private static void print(PrintStream out, OfflineReport report) {
        for (VerificationReport.Check c : report.checked().checks()) {
            out.println("  ok   " + c.name() + ": " + c.detail());
        }
        for (OfflineReport.NotChecked n : report.notChecked()) {
            out.println("  skip " + n.check() + ": " + n.why());
        }
        out.println("  " + report.summary());
    }

    /** NAME=FILE pairs, each name once. */
    private static Map<String, Path> pairs(List<String> args, String option) {
        Map<String, Path> m = new LinkedHashMap<>();
        for (String a : args) {
            int eq = a.indexOf('=');
            if (eq <= 0 || eq == a.length() - 1) {
                throw new IllegalArgumentException(option + " takes NAME=FILE, got '" + a + "'");
            }
            String name = a.substring(0, eq);
            Path file;
            try {
                file = Path.of(a.substring(eq + 1));
            } catch (java.nio.file.InvalidPathException e) {
                throw new IllegalArgumentException(option + " " + name + ": '" + a.substring(eq + 1)
                        + "' is not a valid path");
            }
            if (m.putIfAbsent(name, file) != null) {
                throw new IllegalArgumentException(option + " " + name + " is given twice: give each name once");
            }
        }
        return m;
    }
}
