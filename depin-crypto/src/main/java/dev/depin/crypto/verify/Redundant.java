package dev.depin.crypto.verify;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Assurance;
import dev.depin.crypto.Evidence;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationReport;
import dev.depin.crypto.Sha256;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Redundant execution: compares the outputs of the same job from n providers (ideally of
 * distinct operators); a strict majority (more than n/2) that agree wins; the others are
 * reported as dissenting, each with evidence. Bitwise comparison groups outputs by their
 * SHA-256 (one pass per output); a float tolerance compares pairs.
 *
 * <pre>{@code
 * Redundant.Outcome o = Redundant.compare(Map.of("p1", out1, "p2", out2, "p3", out3),
 *         Comparison.bitwise());
 * o.winner();       // a provider of the majority; use its output
 * o.dissenting();   // providers to dispute
 * }</pre>
 */
public final class Redundant {
    private Redundant() {
    }

    /**
     * The result of a comparison.
     *
     * @param winner     the first provider (in the map's order) of the majority
     * @param agreeing   providers in the majority
     * @param dissenting providers outside it
     * @param evidence   per dissenting provider: where it first differs from the winner
     * @param report     what was checked
     */
    public record Outcome(String winner, List<String> agreeing, List<String> dissenting,
                          Map<String, Evidence> evidence, VerificationReport report) {
        /**
         * Copies.
         *
         * @param winner     the first provider (in the map's order) of the majority
         * @param agreeing   providers in the majority
         * @param dissenting providers outside it
         * @param evidence   per dissenting provider: where it first differs from the winner
         * @param report     what was checked
         */
        public Outcome {
            InvalidArgumentException.requireNonNull(winner, "winner");
            agreeing = List.copyOf(agreeing);
            dissenting = List.copyOf(dissenting);
            evidence = Collections.unmodifiableMap(new LinkedHashMap<>(evidence));
            InvalidArgumentException.requireNonNull(report, "report");
        }
    }

    /**
     * Compares outputs from several providers.
     *
     * @param outputsByProvider provider id → output (remaining bytes; positions unchanged), at least 2
     * @param comparison        bitwise or float tolerance
     * @return the majority and the dissenters
     * @throws VerificationException {@code NO_MAJORITY} if no strict majority agrees
     */
    public static Outcome compare(Map<String, ByteBuffer> outputsByProvider, Comparison comparison) {
        InvalidArgumentException.requireNonNull(outputsByProvider, "outputsByProvider");
        InvalidArgumentException.requireNonNull(comparison, "comparison");
        int n = outputsByProvider.size();
        if (n < 2) {
            throw new InvalidArgumentException("redundant verification needs at least 2 outputs, got " + n);
        }
        List<String> ids = new ArrayList<>(outputsByProvider.keySet());
        List<ByteBuffer> outs = new ArrayList<>();
        for (String id : ids) {
            outs.add(InvalidArgumentException.requireNonNull(outputsByProvider.get(id), "output of " + id).duplicate());
        }
        boolean[][] agree = new boolean[n][n];
        if (comparison.isBitwise()) {
            byte[][] digests = new byte[n][];
            for (int i = 0; i < n; i++) {
                MessageDigest md = Sha256.newDigest();
                md.update(outs.get(i).duplicate());
                digests[i] = md.digest();
            }
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    agree[i][j] = outs.get(i).remaining() == outs.get(j).remaining()
                            && MessageDigest.isEqual(digests[i], digests[j]);
                }
            }
        } else {
            for (int i = 0; i < n; i++) {
                agree[i][i] = true;
                for (int j = i + 1; j < n; j++) {
                    agree[i][j] = agree[j][i] = comparison.firstMismatch(outs.get(i), outs.get(j)) == null;
                }
            }
        }
        int best = -1;
        int bestCount = -1;
        for (int i = 0; i < n; i++) {
            int count = 0;
            for (int j = 0; j < n; j++) {
                count += agree[i][j] ? 1 : 0;
            }
            if (count > bestCount) {
                best = i;
                bestCount = count;
            }
        }
        if (bestCount * 2 <= n) {
            throw new VerificationException(VerificationException.Reason.NO_MAJORITY, "no strict majority among " + n
                    + " providers " + ids + " (largest agreeing group: " + bestCount + ", " + comparison.describe()
                    + "): the result cannot be trusted; rerun on more providers");
        }
        List<String> agreeing = new ArrayList<>();
        List<String> dissenting = new ArrayList<>();
        Map<String, Evidence> evidence = new LinkedHashMap<>();
        List<VerificationReport.Check> checks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (agree[best][i]) {
                agreeing.add(ids.get(i));
                checks.add(VerificationReport.Check.passed("redundant:" + ids.get(i), "agrees with the majority ("
                        + comparison.describe() + ")"));
            } else {
                dissenting.add(ids.get(i));
                Comparison.Mismatch mm = Comparison.bitwise().firstMismatch(outs.get(best), outs.get(i));
                if (!comparison.isBitwise()) {
                    Comparison.Mismatch f = comparison.firstMismatch(outs.get(best), outs.get(i));
                    mm = f != null ? f : mm;
                }
                Evidence ev = new Evidence("redundant", "provider " + ids.get(i) + " byte " + (mm == null ? 0 : mm.byteOffset()),
                        mm == null ? "" : mm.expected(), mm == null ? "" : mm.actual(), "");
                evidence.put(ids.get(i), ev);
                checks.add(new VerificationReport.Check("redundant:" + ids.get(i), false, "dissents from the majority "
                        + "at byte " + (mm == null ? 0 : mm.byteOffset()) + " (majority " + ev.expected() + ", this "
                        + ev.actual() + ")"));
            }
        }
        VerificationReport report = new VerificationReport("redundant(" + n + ")", checks,
                Assurance.redundant(n, agreeing.size()));
        return new Outcome(ids.get(best), agreeing, dissenting, evidence, report);
    }
}
