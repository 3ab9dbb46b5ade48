package dev.depin.examples.cli;

import dev.depin.DepinException;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.KeyPem;
import dev.depin.crypto.NodePublicKey;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationReport;
import dev.depin.job.DisputeRecord;
import dev.depin.job.JobSpec;
import dev.depin.verify.OfflineVerifier;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code depin verify}: checks a receipt (and optionally its wipe attestation) against a
 * provider's public key and the data, or re-checks a dispute record. Prints
 * {@code VALID} and what was checked, or {@code INVALID} with the reason and exits 1.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = "Verify an execution receipt (and wipe attestation) against a provider key and data, "
                + "or re-check a dispute record. Exit 0 when valid, 1 when not, 2 on bad usage.")
public final class VerifyCommand implements Callable<Integer> {

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    static final class Target {
        @Option(names = "--receipt", description = "Receipt envelope (DSSE JSON).")
        Path receipt;

        @Option(names = "--dispute", description = "Dispute record (JSON) to re-check.")
        Path dispute;
    }

    @Option(names = "--key", description = "Provider public key (X.509 PEM); required with --receipt.")
    Path key;

    @Option(names = "--wipe", description = "Wipe attestation envelope (DSSE JSON) to check against the receipt.")
    Path wipe;

    @Option(names = "--output", description = "An output as NAME=FILE; give every output the receipt names.")
    Map<String, Path> outputs = new LinkedHashMap<>();

    @Option(names = "--input", description = "An input as NAME=FILE; give all inputs to check their roots.")
    Map<String, Path> inputs = new LinkedHashMap<>();

    @Option(names = "--spec", description = "The job spec (canonical JSON) the receipt must be for.")
    Path spec;

    @Option(names = "--nonce", description = "The challenge nonce (hex) the buyer sent, to exclude replay.")
    String nonce;

    @Override
    public Integer call() {
        PrintStream out = System.out;
        try {
            VerificationReport report;
            if (target.dispute != null) {
                DisputeRecord d = DisputeRecord.fromJson(Files.readAllBytes(target.dispute));
                report = OfflineVerifier.recheck(d, read(inputs), read(outputs));
                out.println("DISPUTE UPHELD: " + d.jobId() + "#" + d.attempt() + " by " + d.provider().hex()
                        + " (" + d.reason() + ")");
            } else {
                if (key == null) {
                    System.err.println("--receipt needs --key: the provider's public key (PEM)");
                    return 2;
                }
                NodePublicKey k = KeyPem.readPublicKey(Files.readString(key));
                Envelope receipt = Envelope.parse(Files.readAllBytes(target.receipt));
                report = OfflineVerifier.verifyReceipt(receipt, k, read(outputs), read(inputs), nonce,
                        spec == null ? null : JobSpec.fromJson(Files.readAllBytes(spec)));
                if (wipe != null) {
                    report = report.and(OfflineVerifier.verifyWipe(Envelope.parse(Files.readAllBytes(wipe)), receipt, k));
                }
                out.println("VALID");
            }
            for (VerificationReport.Check c : report.checks()) {
                out.println("  " + (c.passed() ? "ok  " : "FAIL") + " " + c.name() + ": " + c.detail());
            }
            out.println("  assurance: " + report.assurance().summary());
            return 0;
        } catch (VerificationException e) {
            out.println("INVALID: " + e.reason() + ": " + e.getMessage());
            e.evidence().ifPresent(ev -> out.println("  evidence: " + ev));
            return 1;
        } catch (DepinException e) {
            out.println("INVALID: " + e.getMessage());
            return 1;
        } catch (IOException e) {
            System.err.println("cannot read " + e.getMessage());
            return 2;
        }
    }

    private static Map<String, ByteBuffer> read(Map<String, Path> files) throws IOException {
        Map<String, ByteBuffer> m = new LinkedHashMap<>();
        for (Map.Entry<String, Path> e : files.entrySet()) {
            m.put(e.getKey(), ByteBuffer.wrap(Files.readAllBytes(e.getValue())).order(ByteOrder.LITTLE_ENDIAN));
        }
        return m;
    }
}
