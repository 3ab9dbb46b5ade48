package dev.depin.client.internal;

import dev.depin.client.NoMatchingOfferException;
import dev.depin.crypto.NodeId;
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
import java.util.HexFormat;
import java.util.HashSet;
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
 * One job's run through the lifecycle: match, dispatch, check, retry. All state changes
 * happen under this object's lock and are published as {@link JobEvent}s in order.
 */
public final class JobRun implements JobHandle {
    private static final Logger LOG = LoggerFactory.getLogger(JobRun.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final HexFormat HEX = HexFormat.of();

    /**
     * What a run needs from its client.
     *
     * @param network        where offers come from
     * @param clock          for deadlines and expiry
     * @param scheduler      where continuations run
     * @param reputation     the client's provider book
     * @param load           attempts in flight per provider
     * @param maxAttempts    attempts before failing
     * @param attemptTimeout longest single attempt
     */
    public record Context(ComputeNetwork network, Clock clock, ScheduledExecutorService scheduler,
                          Reputation reputation, ProviderLoad load, int maxAttempts, Duration attemptTimeout) {
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
    private JobState state = JobState.SUBMITTED;
    private int attempt;
    private CompletableFuture<ExecutionResponse> inFlight;
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
        this.jobId = HEX.formatHex(id);
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
                fail(JobState.FAILED, "deadline " + spec.deadline() + " passed after " + attempt + " attempt(s)"
                        + (lastFailure.isEmpty() ? "" : "; last failure: " + lastFailure));
                return;
            }
        }
        ctx.network().offers().whenCompleteAsync((offers, error) -> {
            if (error != null) {
                attemptFailed(null, "could not fetch offers: " + rootCause(error));
            } else {
                dispatch(offers);
            }
        }, ctx.scheduler());
    }

    private void dispatch(List<ProviderOffer> offers) {
        ExecutionRequest request;
        ProviderOffer chosen;
        CompletableFuture<ExecutionResponse> call;
        synchronized (this) {
            if (result.isDone()) {
                return;
            }
            List<String> passedOver = new ArrayList<>();
            chosen = choose(offers, passedOver);
            if (chosen == null) {
                String why = "no offer fits (" + offers.size() + " considered"
                        + (passedOver.isEmpty() ? "" : ": " + String.join("; ", passedOver)) + ")";
                if (attempt == 0) {
                    fail(JobState.REJECTED, why + ". Relax the requirements, raise the max price, or add providers");
                } else {
                    fail(JobState.FAILED, why + " after " + attempt + " attempt(s); last failure: " + lastFailure);
                }
                return;
            }
            attempt++;
            tried.add(chosen.nodeId());
            emit(JobState.MATCHED, chosen.nodeId(), chosen.region() + ", est. " + estimate(chosen));
            byte[] nonce = new byte[ExecutionRequest.NONCE_BYTES];
            RANDOM.nextBytes(nonce);
            request = new ExecutionRequest(jobId, attempt, spec, job.inputs(), nonce);
            emit(JobState.DISPATCHED, chosen.nodeId(), chosen.terms().endpoint());
            final int thisAttempt = attempt;
            final NodeId provider = chosen.nodeId();
            ctx.load().begin(provider);
            call = ctx.network().dispatch(chosen, request, p -> onProgress(thisAttempt, provider, p));
            call.whenComplete((r, t) -> ctx.load().end(provider));
            inFlight = call;
        }
        Duration left = Duration.between(ctx.clock().instant(), spec.deadline());
        long timeoutNanos = Math.max(1, Math.min(left.toNanos(), ctx.attemptTimeout().toNanos()));
        final int thisAttempt = request.attempt();
        call.orTimeout(timeoutNanos, TimeUnit.NANOSECONDS).whenCompleteAsync((response, error) -> {
            if (error != null) {
                Throwable cause = rootCause(error);
                String why = cause instanceof TimeoutException
                        ? "no answer within " + Duration.ofNanos(timeoutNanos) : cause.getMessage();
                if (!(cause instanceof CancellationException)) {
                    attemptFailed(thisAttempt, chosen.nodeId(), why);
                }
            } else {
                accept(thisAttempt, chosen, request, response);
            }
        }, ctx.scheduler());
    }

    private ProviderOffer choose(List<ProviderOffer> offers, List<String> passedOver) {
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
        return fit.stream().min(Comparator.comparingInt((ProviderOffer o) -> ctx.load().tier(o.nodeId()))
                .thenComparingDouble(this::exactEstimate)
                .thenComparing(o -> -ctx.reputation().score(o.nodeId()))
                .thenComparing(ProviderOffer::nodeId)).orElse(null);
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
        return (o.terms().price().perDeviceSecond().micros() * (double) estimatedNanos(o)
                + o.terms().price().perGigabyte().micros() * (double) spec.bytesMoved()) / 1e9;
    }

    private long estimatedNanos(ProviderOffer o) {
        double gflops = o.devices().stream().mapToDouble(DeviceInfo::fp32Gflops).max().orElse(1);
        return (long) Math.min(Long.MAX_VALUE / 2.0, spec.kernel().flops(spec.params()) / gflops);
    }

    private void onProgress(int forAttempt, NodeId provider, ComputeNetwork.Progress p) {
        if (p != ComputeNetwork.Progress.RUNNING) {
            return;
        }
        synchronized (this) {
            if (!result.isDone() && forAttempt == attempt && state == JobState.DISPATCHED) {
                emit(JobState.RUNNING, provider, "");
            }
        }
    }

    private void accept(int forAttempt, ProviderOffer offer, ExecutionRequest request, ExecutionResponse response) {
        synchronized (this) {
            if (result.isDone() || forAttempt != attempt) {
                return;
            }
            String problem = check(request, offer, response);
            if (problem != null) {
                attemptFailed(forAttempt, offer.nodeId(), problem);
                return;
            }
            emit(JobState.RETURNED, offer.nodeId(), response.executorKind() + ", device "
                    + Duration.ofNanos(response.deviceNanos()).toMillis() + " ms");
            emit(JobState.VERIFIED, offer.nodeId(), "outputs match the spec's names and sizes");
            ctx.reputation().success(offer.nodeId());
            MicroUsd charge = offer.terms().price().charge(response.deviceNanos(), spec.bytesMoved());
            MicroUsd cost = charge.compareTo(spec.maxPrice()) > 0 ? spec.maxPrice() : charge;
            Instant done = ctx.clock().instant();
            result.complete(new JobResult(jobId, specHash, forAttempt, offer.nodeId(), response.executorKind(),
                    response.outputs(), cost, new JobResult.Timings(submittedAt, done, response.deviceNanos()),
                    events));
        }
    }

    /** @return why the response cannot be accepted, or null */
    private String check(ExecutionRequest request, ProviderOffer offer, ExecutionResponse response) {
        if (!response.jobId().equals(request.jobId()) || response.attempt() != request.attempt()) {
            return "response is for " + response.jobId() + "#" + response.attempt() + ", not this attempt";
        }
        if (!response.provider().equals(offer.nodeId())) {
            return "response names provider " + response.provider().shortId() + ", not the one dispatched to";
        }
        Map<String, ByteBuffer> outs = response.outputs();
        List<BufferDecl> expected = spec.outputs();
        if (outs.size() != expected.size()) {
            return "response has outputs " + outs.keySet() + ", expected " + expected.stream().map(BufferDecl::name).toList();
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

    private void attemptFailed(NodeId provider, String why) {
        synchronized (this) {
            attemptFailed(attempt, provider, why);
        }
    }

    private void attemptFailed(int forAttempt, NodeId provider, String why) {
        synchronized (this) {
            if (result.isDone() || forAttempt != attempt) {
                return;
            }
            inFlight = null;
            lastFailure = why;
            if (provider != null) {
                ctx.reputation().failure(provider);
            }
            if (attempt >= ctx.maxAttempts()) {
                fail(JobState.FAILED, "all " + attempt + " attempt(s) failed; last: " + why);
                return;
            }
            emit(JobState.FAILED, provider, why);
            emit(JobState.RESCHEDULED, null, "attempt " + (attempt + 1) + " of at most " + ctx.maxAttempts());
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
        CompletableFuture<ExecutionResponse> call;
        synchronized (this) {
            if (state == JobState.CANCELLED || (result.isDone() && !result.isCancelled())) {
                return CompletableFuture.completedFuture(false);
            }
            emit(JobState.CANCELLED, null, "cancelled by the buyer");
            call = inFlight;
            inFlight = null;
            if (!result.isDone()) {
                result.completeExceptionally(new CancellationException("job " + jobId + " was cancelled"));
            }
        }
        if (call != null) {
            call.cancel(true);
        }
        return CompletableFuture.completedFuture(true);
    }

    @Override
    public String toString() {
        return "JobRun[" + jobId + " " + state() + "]";
    }
}
