package dev.depin.sla;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeId;
import dev.depin.job.AttemptState;
import dev.depin.job.JobEvent;
import dev.depin.job.JobResult;
import dev.depin.money.MicroUsd;
import dev.depin.provider.ProviderOffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the SLA needs to know of one finished job, as the buyer saw it: each attempt's provider,
 * the signed offer it was dispatched under (whose {@link dev.depin.provider.SlaTerms} apply to
 * it), when the buyer dispatched it and how and when it ended on the buyer's clock, and what the
 * job paid each provider. A {@code DepinClient} hands one to its
 * {@link SlaRecorder} as each job ends ({@code DepinClient.Builder.sla}).
 *
 * @param jobId    the job's id
 * @param flops    the job's FLOP count (its size class)
 * @param attempts its dispatched attempts, in order of attempt number
 * @param charges  what the job paid each provider (micro-USD); providers paid nothing are absent
 */
public record SlaRecord(String jobId, long flops, List<Attempt> attempts, Map<NodeId, MicroUsd> charges) {
    /** The most attempts one record may hold: far above any client's attempt budget. */
    public static final int MAX_ATTEMPTS = 1024;

    /**
     * Checks the record.
     *
     * @param jobId    the job's id, 1 to 128 characters
     * @param flops    &ge; 0
     * @param attempts 0 to {@link #MAX_ATTEMPTS}, distinct attempt numbers
     * @param charges  each a provider of one of the attempts
     * @throws InvalidArgumentException on nulls or values out of range
     */
    public SlaRecord {
        InvalidArgumentException.requireNonNull(jobId, "job id");
        if (jobId.isEmpty() || jobId.length() > 128) {
            throw new InvalidArgumentException("job id must be 1 to 128 characters, got " + jobId.length());
        }
        if (flops < 0) {
            throw new InvalidArgumentException("job " + jobId + " has " + flops + " FLOPs: must be >= 0");
        }
        attempts = List.copyOf(InvalidArgumentException.requireNonNull(attempts, "attempts"));
        if (attempts.size() > MAX_ATTEMPTS) {
            throw new InvalidArgumentException("job " + jobId + " has " + attempts.size() + " attempts: at most "
                    + MAX_ATTEMPTS);
        }
        java.util.Set<Integer> numbers = new java.util.HashSet<>();
        java.util.Set<NodeId> providers = new java.util.HashSet<>();
        for (Attempt a : attempts) {
            if (!numbers.add(a.number())) {
                throw new InvalidArgumentException("job " + jobId + " lists attempt " + a.number() + " twice");
            }
            providers.add(a.offer().nodeId());
        }
        charges = Map.copyOf(InvalidArgumentException.requireNonNull(charges, "charges"));
        for (Map.Entry<NodeId, MicroUsd> c : charges.entrySet()) {
            if (!providers.contains(c.getKey())) {
                throw new InvalidArgumentException("job " + jobId + " charges " + c.getKey().shortId()
                        + ", which ran none of its attempts");
            }
        }
    }

    /**
     * A finished job's record from its history.
     *
     * @param jobId   the job
     * @param flops   its FLOP count
     * @param history its events, in order (attempt events of other jobs are ignored)
     * @param result  its verified result, or null when it failed or was cancelled (then it paid nothing)
     * @param offers  the offer each attempt number was dispatched under
     * @return the record; attempts whose offer is unknown are left out
     * @throws InvalidArgumentException on nulls
     */
    public static SlaRecord of(String jobId, long flops, List<JobEvent> history, JobResult result,
                               Map<Integer, ProviderOffer> offers) {
        return of(jobId, flops, history, result, offers, Map.of());
    }

    /**
     * A finished job's record from its history and the times its attempts' first result bytes
     * arrived.
     *
     * @param jobId      the job
     * @param flops      its FLOP count
     * @param history    its events, in order (attempt events of other jobs are ignored)
     * @param result     its verified result, or null when it failed or was cancelled
     * @param offers     the offer each attempt number was dispatched under
     * @param firstBytes when the first byte of each attempt's result arrived (the transport's
     *                   {@code FIRST_BYTE}); attempts absent had none reported. A time outside
     *                   the attempt's dispatch and end (a clock stepped meanwhile) is held to them
     * @return the record; attempts whose offer is unknown are left out
     * @throws InvalidArgumentException on nulls
     */
    public static SlaRecord of(String jobId, long flops, List<JobEvent> history, JobResult result,
                               Map<Integer, ProviderOffer> offers, Map<Integer, Instant> firstBytes) {
        InvalidArgumentException.requireNonNull(history, "job history");
        InvalidArgumentException.requireNonNull(offers, "offers");
        InvalidArgumentException.requireNonNull(firstBytes, "first-byte times");
        Map<Integer, Instant> dispatched = new LinkedHashMap<>();
        Map<Integer, JobEvent> end = new HashMap<>();
        for (JobEvent e : history) {
            if (!e.isAttemptEvent() || e.provider() == null || !e.jobId().equals(jobId)) {
                continue;
            }
            if (e.attemptState() == AttemptState.DISPATCHED) {
                dispatched.putIfAbsent(e.attempt(), e.at());
            } else if (e.attemptState().isTerminal()) {
                end.putIfAbsent(e.attempt(), e);
            }
        }
        List<Attempt> attempts = new ArrayList<>();
        java.util.Set<NodeId> ran = new java.util.HashSet<>();
        for (Map.Entry<Integer, Instant> d : dispatched.entrySet()) {
            ProviderOffer offer = offers.get(d.getKey());
            if (offer == null) {
                continue;
            }
            JobEvent last = end.get(d.getKey());
            Instant first = firstBytes.get(d.getKey());
            if (first != null && first.isBefore(d.getValue())) {
                first = d.getValue();
            }
            if (first != null && last != null && first.isAfter(last.at())) {
                first = last.at();
            }
            attempts.add(new Attempt(d.getKey(), offer, d.getValue(), last == null ? null : last.attemptState(),
                    last == null ? null : last.at(), first));
            ran.add(offer.nodeId());
        }
        Map<NodeId, MicroUsd> charges = new HashMap<>(result == null ? Map.of() : SlaMeter.charges(result));
        charges.keySet().retainAll(ran);
        return new SlaRecord(jobId, flops, attempts, charges);
    }

    /** @return the attempts each provider ran, by provider in order of first attempt */
    Map<NodeId, List<Attempt>> byProvider() {
        Map<NodeId, List<Attempt>> out = new LinkedHashMap<>();
        for (Attempt a : attempts) {
            out.computeIfAbsent(a.offer().nodeId(), k -> new ArrayList<>()).add(a);
        }
        return out;
    }

    /**
     * One dispatched attempt.
     *
     * @param number     its number within the job, from 1
     * @param offer      the signed offer it was dispatched under
     * @param dispatched when the buyer dispatched it
     * @param end        how it ended (a terminal {@link AttemptState}), or null when it never ended
     *                   before the job did (counted as failed)
     * @param endedAt    when it ended on the buyer's clock; null exactly when {@code end} is
     * @param firstByteAt when the first byte of its result reached the buyer, or null when none
     *                   was reported (for a verified attempt the meter then takes its end)
     */
    public record Attempt(int number, ProviderOffer offer, Instant dispatched, AttemptState end, Instant endedAt,
                          Instant firstByteAt) {
        /**
         * Checks the attempt.
         *
         * @param number     &ge; 1
         * @param offer      not null
         * @param dispatched not null
         * @param end        terminal or null
         * @param endedAt    not before {@code dispatched}; null exactly when {@code end} is
         * @param firstByteAt null, or from {@code dispatched} to {@code endedAt} (when it ended)
         * @throws InvalidArgumentException on nulls or inconsistent values
         */
        public Attempt {
            if (number < 1) {
                throw new InvalidArgumentException("attempt number " + number + " must be >= 1");
            }
            InvalidArgumentException.requireNonNull(offer, "attempt's offer");
            InvalidArgumentException.requireNonNull(dispatched, "dispatch time");
            if ((end == null) != (endedAt == null)) {
                throw new InvalidArgumentException("attempt " + number + ": an end state needs its time and a time "
                        + "its end state");
            }
            if (end != null && !end.isTerminal()) {
                throw new InvalidArgumentException("attempt " + number + " ended in " + end + ", which is not final");
            }
            if (endedAt != null && endedAt.isBefore(dispatched)) {
                throw new InvalidArgumentException("attempt " + number + " ended at " + endedAt
                        + ", before it was dispatched at " + dispatched);
            }
            if (firstByteAt != null && (firstByteAt.isBefore(dispatched)
                    || endedAt != null && firstByteAt.isAfter(endedAt))) {
                throw new InvalidArgumentException("attempt " + number + " has its first byte at " + firstByteAt
                        + ", outside its dispatch at " + dispatched + (endedAt == null ? "" : " and end at " + endedAt));
            }
        }

        /**
         * An attempt without a reported first byte (a network that does not report it, or a
         * record from before first bytes were timed).
         *
         * @param number     &ge; 1
         * @param offer      not null
         * @param dispatched not null
         * @param end        terminal or null
         * @param endedAt    not before {@code dispatched}; null exactly when {@code end} is
         * @throws InvalidArgumentException on nulls or inconsistent values
         */
        public Attempt(int number, ProviderOffer offer, Instant dispatched, AttemptState end, Instant endedAt) {
            this(number, offer, dispatched, end, endedAt, null);
        }

        /** @return the provider */
        public NodeId provider() {
            return offer.nodeId();
        }
    }
}
