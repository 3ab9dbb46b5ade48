package dev.depin.client.internal;

import dev.depin.client.NoMatchingOfferException;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationReport;
import dev.depin.crypto.verify.Comparison;
import dev.depin.crypto.verify.Redundant;
import dev.depin.job.DisputeRecord;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.job.Job;
import dev.depin.job.JobEvent;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.JobSpec;
import dev.depin.job.JobState;
import dev.depin.kernel.BufferDecl;
import dev.depin.money.MicroUsd;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.provider.DeviceInfo;
import dev.depin.provider.InvalidOfferException;
import dev.depin.provider.ProviderOffer;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One job's run through the lifecycle: match, dispatch, verify, retry. All state
 * changes happen under this object's lock and are published as {@link JobEvent}s in
 * order.
 *
 * <p>A job proceeds in rounds. A round dispatches one attempt, or one per replica under
 * {@code redundant(n)}, each to a distinct provider not tried before for this job, with
 * its own challenge nonce. When every attempt of the round has answered, failed or timed
 * out, each answer is checked (shape, receipt, wipe attestation, policy); a failed check
 * makes the attempt DISPUTED with a {@link DisputeRecord}, other faults make it FAILED.
 * A round with an accepted result completes the job; otherwise the job is rescheduled
 * until {@code maxAttempts} rounds or the deadline.
 */
public final class JobRun implements JobHandle {
    private static final Logger LOG = LoggerFactory.getLogger(JobRun.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * What a run needs from its client.
     *
     * @param network        where offers come from
     * @param clock          for deadlines and expiry
     * @param scheduler      where continuations run
     * @param reputation     the client's provider book
     * @param load           attempts in flight per provider
     * @param verifier       the buyer's checks on each attempt
     * @param maxAttempts    rounds of dispatch before failing
     * @param attemptTimeout longest single attempt
     * @param banAfter       disputes after which this client no longer uses a provider; 0 never bans
     */
    public record Context(ComputeNetwork network, Clock clock, ScheduledExecutorService scheduler,
                          Reputation reputation, ProviderLoad load, AttemptVerifier verifier, int maxAttempts,
                          Duration attemptTimeout, int banAfter) {
    }

    private final Job job;
    private final JobSpec spec;
    private final String specHash;
    private final String jobId;
    private final Context ctx;
    private final Instant submittedAt;
    private final CompletableFuture<JobResult> result = new CompletableFuture<>();
    private final List<JobEvent> events = new CopyOnWriteArrayList<>();
    private final List<Consumer<JobEvent>> listeners = new CopyOnWriteArrayList<>();
    private final Set<NodeId> tried = new HashSet<>();
    private final List<DisputeRecord> disputes = new ArrayList<>();
    private final Set<Integer> runningSeen = new HashSet<>();
    private JobState state = JobState.SUBMITTED;
    private int round;
    private int attempt;
    private List<Replica> inFlight = List.of();
    private String lastFailure = "";

    /**
     * @param job the job to run
     * @param ctx the client's context
     */
    public JobRun(Job job, Context ctx) {
        this.job = job;
        this.spec = job.spec();
        this.specHash = spec.hash();
        this.ctx = ctx;
        byte[] id = new byte[16];
        RANDOM.nextBytes(id);
        this.jobId = Hex.encode(id);
        this.submittedAt = ctx.clock().instant();
        result.whenComplete((r, t) -> {
            if (t instanceof CancellationException) {
                cancelAsync();
            }
        });
    }

    /** Publishes SUBMITTED and starts the first attempt. */
    public void start() {
        synchronized (this) {
            emit(JobState.SUBMITTED, null, spec.kernel().id() + " " + spec.params().longs() + ", max "
                    + spec.maxPrice() + ", " + spec.verification());
        }
        ctx.scheduler().execute(this::nextAttempt);
    }

    private void nextAttempt() {
        synchronized (this) {
            if (result.isDone()) {
                return;
            }
            if (!ctx.clock().instant().isBefore(spec.deadline())) {
                if (round == 0) {
                    fail(JobState.REJECTED, "deadline " + spec.deadline() + " had already passed when the job was "
                            + "submitted: build the job with a later deadline");
                } else {
                    fail(JobState.FAILED, "deadline " + spec.deadline() + " passed after " + round + " round(s)"
                            + (lastFailure.isEmpty() ? "" : "; last failure: " + lastFailure));
                }
                return;
            }
        }
        ctx.network().offers().whenCompleteAsync((offers, error) -> {
            if (error != null) {
                roundFailed("could not fetch offers: " + rootCause(error));
            } else {
                dispatch(offers);
            }
        }, ctx.scheduler());
    }

    private void dispatch(List<ProviderOffer> offers) {
        List<Replica> replicas = new ArrayList<>();
        int thisRound;
        synchronized (this) {
            if (result.isDone()) {
                return;
            }
            int wanted = spec.verification().kind() == VerificationPolicy.Kind.REDUNDANT
                    ? spec.verification().replicas() : 1;
            List<String> passedOver = new ArrayList<>();
            List<ProviderOffer> chosen = choose(offers, passedOver, wanted);
            if (chosen.size() < wanted) {
                String why = (wanted == 1 ? "no offer fits" : "only " + chosen.size() + " of the " + wanted
                        + " distinct providers that redundant(" + wanted + ") needs fit")
                        + " (" + offers.size() + " considered"
                        + (passedOver.isEmpty() ? "" : ": " + String.join("; ", passedOver)) + ")";
                if (round == 0) {
                    fail(JobState.REJECTED, why + ". Relax the requirements, raise the max price, or add providers");
                } else {
                    fail(JobState.FAILED, why + " after " + round + " round(s); last failure: " + lastFailure);
                }
                return;
            }
            thisRound = ++round;
            for (ProviderOffer offer : chosen) {
                attempt++;
                tried.add(offer.nodeId());
                emit(JobState.MATCHED, offer.nodeId(), offer.region() + ", est. " + estimate(offer));
                byte[] nonce = new byte[ExecutionRequest.NONCE_BYTES];
                RANDOM.nextBytes(nonce);
                ExecutionRequest request = new ExecutionRequest(jobId, attempt, spec, job.inputs(), nonce);
                emit(JobState.DISPATCHED, offer.nodeId(), offer.terms().endpoint());
                final int a = attempt;
                final NodeId provider = offer.nodeId();
                ctx.load().begin(provider);
                CompletableFuture<ExecutionResponse> call;
                try {
                    call = ctx.network().dispatch(offer, request, p -> onProgress(thisRound, a, provider, p));
                } catch (RuntimeException e) {
                    // A network adapter that throws instead of failing its future still loses no job.
                    call = CompletableFuture.failedFuture(e);
                }
                call.whenComplete((r, t) -> ctx.load().end(provider));
                replicas.add(new Replica(offer, request, call));
            }
            inFlight = List.copyOf(replicas);
        }
        Duration left = Duration.between(ctx.clock().instant(), spec.deadline());
        long timeoutNanos = Math.max(1, Math.min(left.toNanos(), ctx.attemptTimeout().toNanos()));
        List<CompletableFuture<Void>> settled = new ArrayList<>();
        for (Replica r : replicas) {
            settled.add(r.call().orTimeout(timeoutNanos, TimeUnit.NANOSECONDS).handle((response, error) -> {
                r.settle(response, error == null ? null : describe(rootCause(error), timeoutNanos));
                return null;
            }));
        }
        CompletableFuture.allOf(settled.toArray(CompletableFuture[]::new))
                .whenCompleteAsync((v, t) -> conclude(thisRound, replicas), ctx.scheduler());
    }

    private static String describe(Throwable cause, long timeoutNanos) {
        if (cause instanceof TimeoutException) {
            return "no answer within " + Duration.ofNanos(timeoutNanos);
        }
        return cause instanceof CancellationException ? null : String.valueOf(cause.getMessage());
    }

    /** One dispatch of the current round and how it ended. */
    private static final class Replica {
        private final ProviderOffer offer;
        private final ExecutionRequest request;
        private final CompletableFuture<ExecutionResponse> call;
        private volatile ExecutionResponse response;
        private volatile String failure;
        private VerificationReport report;

        Replica(ProviderOffer offer, ExecutionRequest request, CompletableFuture<ExecutionResponse> call) {
            this.offer = offer;
            this.request = request;
            this.call = call;
        }

        CompletableFuture<ExecutionResponse> call() {
            return call;
        }

        void settle(ExecutionResponse r, String why) {
            this.response = r;
            this.failure = r == null ? (why == null ? "cancelled" : why) : null;
        }

        NodeId provider() {
            return offer.nodeId();
        }

        int attempt() {
            return request.attempt();
        }
    }

    /**
     * Verifies every replica of a finished round and either completes the job or
     * reschedules it. Runs on the client's scheduler, outside the lock while verifying.
     */
    private void conclude(int forRound, List<Replica> replicas) {
        synchronized (this) {
            if (result.isDone() || forRound != round) {
                return;
            }
        }
        List<Replica> valid = new ArrayList<>();
        List<Object[]> outcomes = new ArrayList<>(); // {replica, JobState, detail, DisputeRecord or null}
        for (Replica r : replicas) {
            if (r.response == null) {
                outcomes.add(new Object[] {r, JobState.FAILED, r.failure, null});
                continue;
            }
            String problem = checkHeader(r.request, r.offer, r.response);
            if (problem != null) {
                outcomes.add(new Object[] {r, JobState.FAILED, problem, null});
                continue;
            }
            try {
                // The receipt first: it judges the bytes received against what the provider signed.
                VerificationReport report = ctx.verifier().verifyEnvelopes(spec, specHash, r.offer, r.request,
                        r.response);
                String shape = checkShapes(r.response);
                if (shape != null) {
                    throw new VerificationException(VerificationException.Reason.OUTPUT_SIZE_MISMATCH,
                            "the provider signed outputs that do not fit the spec: " + shape);
                }
                VerificationReport policy = ctx.verifier().verifyResult(spec, job.inputs(), r.response.outputs(),
                        r.response.receipt());
                r.report = policy == null ? report : report.and(policy);
                valid.add(r);
            } catch (VerificationException e) {
                outcomes.add(new Object[] {r, JobState.DISPUTED, e.reason() + ": " + e.getMessage(), dispute(r, e)});
            }
        }
        Replica winner = null;
        List<Replica> agreeing = List.of();
        if (spec.verification().kind() == VerificationPolicy.Kind.REDUNDANT) {
            int needed = spec.verification().replicas() / 2 + 1;
            if (valid.size() >= needed) {
                Map<String, ByteBuffer> byAttempt = new LinkedHashMap<>();
                Map<String, Replica> replicaOf = new HashMap<>();
                for (Replica r : valid) {
                    byAttempt.put(Integer.toString(r.attempt()), r.response.outputs().values().iterator().next());
                    replicaOf.put(Integer.toString(r.attempt()), r);
                }
                try {
                    Redundant.Outcome o = Redundant.compare(byAttempt, comparisonFor(spec));
                    winner = replicaOf.get(o.winner());
                    winner.report = winner.report.and(o.report());
                    agreeing = o.agreeing().stream().map(replicaOf::get).toList();
                    for (String d : o.dissenting()) {
                        Replica r = replicaOf.get(d);
                        VerificationException e = new VerificationException(VerificationException.Reason.RESULT_MISMATCH,
                                "output differs from the majority of " + o.agreeing().size() + " of "
                                        + byAttempt.size() + " replicas", o.evidence().get(d));
                        outcomes.add(new Object[] {r, JobState.DISPUTED, e.reason() + ": " + e.getMessage(),
                                dispute(r, e)});
                    }
                } catch (VerificationException e) {
                    for (Replica r : valid) {
                        outcomes.add(new Object[] {r, JobState.FAILED, e.reason() + ": " + e.getMessage(), null});
                    }
                }
            } else {
                for (Replica r : valid) {
                    outcomes.add(new Object[] {r, JobState.FAILED, "only " + valid.size() + " of "
                            + replicas.size() + " replicas returned a verifiable result; " + needed + " must agree",
                            null});
                }
            }
        } else if (!valid.isEmpty()) {
            winner = valid.get(0);
            agreeing = List.of(winner);
        }
        synchronized (this) {
            if (result.isDone() || forRound != round) {
                return;
            }
            inFlight = List.of();
            for (Object[] o : outcomes) {
                Replica r = (Replica) o[0];
                JobState st = (JobState) o[1];
                lastFailure = (String) o[2];
                if (st == JobState.DISPUTED) {
                    disputes.add((DisputeRecord) o[3]);
                    ctx.reputation().dispute(r.provider());
                } else {
                    ctx.reputation().failure(r.provider());
                }
                emit(st, r.provider(), lastFailure);
            }
            if (winner == null) {
                if (round >= ctx.maxAttempts()) {
                    fail(JobState.FAILED, "all " + round + " round(s) failed; last: " + lastFailure);
                    return;
                }
                emit(JobState.RESCHEDULED, null, "round " + (round + 1) + " of at most " + ctx.maxAttempts());
                ctx.scheduler().execute(this::nextAttempt);
                return;
            }
            long costMicros = 0;
            for (Replica r : agreeing) {
                ctx.reputation().success(r.provider());
                MicroUsd charge = r.offer.terms().price().charge(r.response.deviceNanos(), spec.bytesMoved());
                costMicros += Math.min(charge.micros(), spec.maxPrice().micros());
            }
            ExecutionResponse resp = winner.response;
            emit(JobState.RETURNED, winner.provider(), resp.executorKind() + ", device "
                    + Duration.ofNanos(resp.deviceNanos()).toMillis() + " ms");
            emit(JobState.VERIFIED, winner.provider(), winner.report.summary());
            result.complete(new JobResult(jobId, specHash, winner.attempt(), winner.provider(), resp.executorKind(),
                    resp.outputs(), MicroUsd.ofMicros(costMicros),
                    new JobResult.Timings(submittedAt, ctx.clock().instant(), resp.deviceNanos()), resp.receipt(),
                    resp.wipe(), winner.report, disputes, events));
        }
    }

    private DisputeRecord dispute(Replica r, VerificationException e) {
        return new DisputeRecord(jobId, r.attempt(), r.provider(), r.offer.publicKey(), e.reason(), e.getMessage(),
                e.evidence().orElse(null), r.response.receipt(), r.response.wipe(), spec.canonicalJson(),
                ctx.clock().instant(), r.response.outputs());
    }

    /** Bitwise for the deterministic CPU reference on every replica would be too strict across executors. */
    private Comparison comparisonFor(JobSpec s) {
        if (!(s.kernel() instanceof BuiltinKernel k)) {
            return Comparison.bitwise();
        }
        return ctx.verifier().recomputer(k, s, job.inputs()).comparison();
    }

    private List<ProviderOffer> choose(List<ProviderOffer> offers, List<String> passedOver, int wanted) {
        Instant now = ctx.clock().instant();
        List<ProviderOffer> fit = new ArrayList<>();
        Set<NodeId> seen = new HashSet<>();
        for (ProviderOffer o : offers) {
            String who = o.nodeId().shortId();
            if (!seen.add(o.nodeId())) {
                continue;
            }
            try {
                o.verify(now);
            } catch (InvalidOfferException e) {
                LOG.debug("job {}: offer from {} unusable: {}", jobId, who, e.getMessage());
                passedOver.add(who + " invalid offer");
                continue;
            }
            String mismatch = !o.terms().runs(spec.kernel()) ? "does not run " + spec.kernel().id()
                    : tried.contains(o.nodeId()) ? "already tried for this job"
                    : ctx.banAfter() > 0 && ctx.reputation().counts(o.nodeId())[2] >= ctx.banAfter()
                    ? "banned after " + ctx.reputation().counts(o.nodeId())[2] + " dispute(s)"
                    : spec.requirements().mismatch(o);
            if (mismatch == null && ctx.reputation().score(o.nodeId()) < spec.requirements().minReputation()) {
                mismatch = String.format("reputation %.2f below %.2f", ctx.reputation().score(o.nodeId()),
                        spec.requirements().minReputation());
            }
            if (mismatch == null && estimate(o).compareTo(spec.maxPrice()) > 0) {
                mismatch = "estimated " + estimate(o) + " above max " + spec.maxPrice();
            }
            if (mismatch != null) {
                passedOver.add(who + " " + mismatch);
            } else {
                fit.add(o);
            }
        }
        return fit.stream().sorted(Comparator.comparingInt((ProviderOffer o) -> ctx.load().tier(o.nodeId()))
                .thenComparingDouble(this::exactEstimate)
                .thenComparing(o -> -ctx.reputation().score(o.nodeId()))
                .thenComparing(ProviderOffer::nodeId)).limit(wanted).toList();
    }

    /**
     * Estimated charge at this offer, rounded up as the provider would charge it: the
     * kernel's FLOPs at the fastest device's measured rate, plus data moved.
     */
    private MicroUsd estimate(ProviderOffer o) {
        return o.terms().price().charge(estimatedNanos(o), spec.bytesMoved());
    }

    /** The same estimate without rounding, in micro-USD, so that cheap jobs still rank by price. */
    private double exactEstimate(ProviderOffer o) {
        return (o.terms().price().perDeviceSecond().micros() * nanos(o)
                + o.terms().price().perGigabyte().micros() * (double) spec.bytesMoved()) / 1e9;
    }

    private long estimatedNanos(ProviderOffer o) {
        return (long) Math.ceil(Math.min(Long.MAX_VALUE / 2.0, nanos(o)));
    }

    /** Device time at the offer's fastest measured rate, unrounded: a tiny job still ranks by price. */
    private double nanos(ProviderOffer o) {
        double gflops = o.devices().stream().mapToDouble(DeviceInfo::fp32Gflops).max().orElse(1);
        return spec.kernel().flops(spec.params()) / gflops;
    }

    private void onProgress(int forRound, int forAttempt, NodeId provider, ComputeNetwork.Progress p) {
        if (p != ComputeNetwork.Progress.RUNNING) {
            return;
        }
        synchronized (this) {
            if (!result.isDone() && forRound == round && !runningSeen.contains(forAttempt)) {
                runningSeen.add(forAttempt);
                emit(JobState.RUNNING, provider, "attempt " + forAttempt);
            }
        }
    }

    /** @return why the response's unsigned header does not belong to this attempt, or null */
    private String checkHeader(ExecutionRequest request, ProviderOffer offer, ExecutionResponse response) {
        if (!response.jobId().equals(request.jobId()) || response.attempt() != request.attempt()) {
            return "response is for " + response.jobId() + "#" + response.attempt() + ", not this attempt";
        }
        if (!response.provider().equals(offer.nodeId())) {
            return "response names provider " + response.provider().shortId() + ", not the one dispatched to";
        }
        return null;
    }

    /** @return why the (signed) outputs do not have the spec's names and sizes, or null */
    private String checkShapes(ExecutionResponse response) {
        Map<String, ByteBuffer> outs = response.outputs();
        List<BufferDecl> expected = spec.outputs();
        if (outs.size() != expected.size()) {
            return "outputs " + outs.keySet() + ", expected " + expected.stream().map(BufferDecl::name).toList();
        }
        for (BufferDecl d : expected) {
            ByteBuffer b = outs.get(d.name());
            if (b == null || b.remaining() != d.bytes()) {
                return "output '" + d.name() + "' has " + (b == null ? "no" : b.remaining()) + " bytes, expected "
                        + d.bytes();
            }
        }
        return null;
    }

    /** An attempt-less failure (the offers could not be fetched): counts as a round. */
    private void roundFailed(String why) {
        synchronized (this) {
            if (result.isDone()) {
                return;
            }
            lastFailure = why;
            round++;
            if (round >= ctx.maxAttempts()) {
                fail(JobState.FAILED, "all " + round + " round(s) failed; last: " + why);
                return;
            }
            emit(JobState.FAILED, null, why);
            emit(JobState.RESCHEDULED, null, "round " + (round + 1) + " of at most " + ctx.maxAttempts());
        }
        ctx.scheduler().execute(this::nextAttempt);
    }

    /** Ends the job with a final REJECTED or FAILED. Caller holds the lock. */
    private void fail(JobState finalState, String why) {
        emit(finalState, null, why);
        Exception e = finalState == JobState.REJECTED
                ? new JobFailedException("job " + jobId + " rejected: " + why, finalState, events)
                : new JobFailedException("job " + jobId + " failed: " + why, finalState, events);
        if (finalState == JobState.REJECTED) {
            e.addSuppressed(new NoMatchingOfferException(why));
        }
        result.completeExceptionally(e);
    }

    private void emit(JobState next, NodeId provider, String detail) {
        state = next;
        JobEvent e = new JobEvent(jobId, attempt, next, provider, ctx.clock().instant(), detail);
        events.add(e);
        LOG.debug("{}", e);
        for (Consumer<JobEvent> l : listeners) {
            try {
                l.accept(e);
            } catch (RuntimeException ex) {
                LOG.warn("job event listener threw {}; ignoring it", ex.toString());
            }
        }
    }

    private static Throwable rootCause(Throwable t) {
        while ((t instanceof CompletionException || t instanceof java.util.concurrent.ExecutionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    @Override
    public String jobId() {
        return jobId;
    }

    @Override
    public JobSpec spec() {
        return spec;
    }

    @Override
    public Job job() {
        return job;
    }

    @Override
    public CompletableFuture<JobResult> resultAsync() {
        return result;
    }

    @Override
    public synchronized JobState state() {
        return state;
    }

    @Override
    public List<JobEvent> events() {
        return List.copyOf(events);
    }

    @Override
    public synchronized void onEvent(Consumer<JobEvent> listener) {
        if (listener == null) {
            throw new dev.depin.InvalidArgumentException("event listener is null");
        }
        for (JobEvent e : events) {
            listener.accept(e);
        }
        listeners.add(listener);
    }

    @Override
    public CompletableFuture<Boolean> cancelAsync() {
        List<Replica> calls;
        synchronized (this) {
            if (state == JobState.CANCELLED || (result.isDone() && !result.isCancelled())) {
                return CompletableFuture.completedFuture(false);
            }
            emit(JobState.CANCELLED, null, "cancelled by the buyer");
            calls = inFlight;
            inFlight = List.of();
            if (!result.isDone()) {
                result.completeExceptionally(new CancellationException("job " + jobId + " was cancelled"));
            }
        }
        for (Replica r : calls) {
            r.call().cancel(true);
        }
        return CompletableFuture.completedFuture(true);
    }

    @Override
    public String toString() {
        return "JobRun[" + jobId + " " + state() + "]";
    }
}
