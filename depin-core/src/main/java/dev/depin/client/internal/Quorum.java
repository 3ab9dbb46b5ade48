package dev.depin.client.internal;

import dev.depin.crypto.VerificationException;
import dev.depin.crypto.verify.Comparison;
import dev.depin.crypto.verify.Redundant;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * Decides a redundant round: among the attempts whose receipts verified, a strict majority
 * that agrees (within the kernel's comparison) wins; dissenters are disputed with the
 * comparison as evidence; without a quorum every valid attempt fails.
 */
final class Quorum {
    private Quorum() {
    }

    /**
     * @param valid      accepted-so-far outcomes of the round (receipts verified)
     * @param dispatched attempts in the round
     * @param needed     the strict majority of the replica count
     * @param comparison how replicas must agree
     * @param dispute    builds the dispute record of a dissenter
     * @return the winner first (if any) followed by the other outcomes
     */
    static List<Attempt.Outcome> decide(List<Attempt.Outcome> valid, int dispatched, int needed, Comparison comparison,
                                        BiFunction<Attempt, VerificationException, dev.depin.job.DisputeRecord> dispute) {
        List<Attempt.Outcome> out = new ArrayList<>();
        if (valid.size() < needed) {
            for (Attempt.Outcome o : valid) {
                out.add(Attempt.Outcome.failed(o.attempt(), "only " + valid.size() + " of " + dispatched
                        + " replicas returned a verifiable result; " + needed + " must agree"));
            }
            return out;
        }
        Map<String, ByteBuffer> byAttempt = new LinkedHashMap<>();
        Map<String, Attempt.Outcome> outcomeOf = new HashMap<>();
        for (Attempt.Outcome o : valid) {
            String key = Integer.toString(o.attempt().number());
            // Replicas are compared on the job's first output (the built-in kernels have one).
            byAttempt.put(key, o.attempt().response.outputs().values().iterator().next().data());
            outcomeOf.put(key, o);
        }
        try {
            Redundant.Outcome r = Redundant.compare(byAttempt, comparison);
            Attempt.Outcome winner = outcomeOf.get(r.winner());
            out.add(Attempt.Outcome.accepted(winner.attempt(), winner.report().and(r.report())));
            for (String a : r.agreeing()) {
                if (!a.equals(r.winner())) {
                    Attempt.Outcome o = outcomeOf.get(a);
                    out.add(new Attempt.Outcome(o.attempt(), dev.depin.job.AttemptState.ACCEPTED,
                            "agrees with the majority", o.report(), null));
                }
            }
            for (String d : r.dissenting()) {
                Attempt.Outcome o = outcomeOf.get(d);
                VerificationException e = new VerificationException(VerificationException.Reason.RESULT_MISMATCH,
                        "output differs from the majority of " + r.agreeing().size() + " of " + byAttempt.size()
                                + " replicas", r.evidence().get(d));
                out.add(Attempt.Outcome.disputed(o.attempt(), e.getMessage(), dispute.apply(o.attempt(), e)));
            }
        } catch (VerificationException e) {
            for (Attempt.Outcome o : valid) {
                out.add(Attempt.Outcome.failed(o.attempt(), e.getMessage()));
            }
        }
        return out;
    }
}
