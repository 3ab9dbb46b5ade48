package dev.depin.grpc.internal;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Counts a server's calls by method and final status (a refused renewal is
 * {@code invalid_argument}, a full directory {@code resource_exhausted}) and times them, as
 * {@code <prefix>.calls} and {@code <prefix>.call.duration}: the status is what the peer was
 * told, so the meter and the peer agree.
 */
public final class CallMeters implements ServerInterceptor {
    private final MeterRegistry registry;
    private final String prefix;
    private final ConcurrentHashMap<String, Counter> calls = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Timer> durations = new ConcurrentHashMap<>();

    /**
     * @param registry where the meters go
     * @param prefix   the meters' name prefix, e.g. {@code depin.directory}
     */
    public CallMeters(MeterRegistry registry, String prefix) {
        this.registry = registry;
        this.prefix = prefix;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                        ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getBareMethodName();
        long start = System.nanoTime();
        return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                try {
                    record(method == null ? "unknown" : method, status.getCode(), System.nanoTime() - start);
                } finally {
                    super.close(status, trailers);
                }
            }
        }, headers);
    }

    /**
     * Counts and times one served unit that is not a call of its own (a job on a Session stream).
     *
     * @param method the method tag, e.g. {@code SessionJob}
     * @param code   the status the peer was told
     * @param nanos  how long it took
     */
    public void record(String method, Status.Code code, long nanos) {
        String status = code.name().toLowerCase(Locale.ROOT);
        calls.computeIfAbsent(method + '|' + status, k -> Counter.builder(prefix + ".calls").tag("method", method)
                .tag("status", status).description("Calls served, by method and the status the peer was told")
                .register(registry)).increment();
        durations.computeIfAbsent(method, k -> Timer.builder(prefix + ".call.duration").tag("method", method)
                .description("Time to serve a call").publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(1))
                .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
    }
}
