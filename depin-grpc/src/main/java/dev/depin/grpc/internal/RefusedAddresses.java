package dev.depin.grpc.internal;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;

import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * A server's gate for the addresses whose requests it keeps refusing as hostile
 * ({@link AddressRefusals}): the refusals are counted per address, and an address that reached
 * its maximum is refused whole for a while, at the cheapest point there is:
 * <ul>
 *   <li>a new connection from it is closed as it is accepted, before its TLS handshake
 *       ({@link TransportRefusals#refuseConnectionsFrom});</li>
 *   <li>a call on a connection it already has is answered RESOURCE_EXHAUSTED before its message
 *       is read (no exception built, no stack trace), and that connection is ended with GOAWAY,
 *       so the peer's next call needs a new connection, which the first point refuses.</li>
 * </ul>
 * What counts is each server's own rule, about what an honest peer cannot cause: the calls of
 * the methods it names that end with a status it calls hostile (counted as they end, whoever
 * refused them: the service, {@link Malformed}, or gRPC's transport for a message past the
 * inbound limit); a TLS handshake refused for its certificate ({@code bad_certificate},
 * {@code bad_signature}: an honest peer's certificate is made by this SDK from its own key);
 * and what the server counts itself ({@link AddressRefusals#refused}). Calls this gate refused
 * are not counted again.
 */
public final class RefusedAddresses {
    private final AddressRefusals refusals;
    private final TransportRefusals transport;
    private final java.util.function.Predicate<String> methods;
    private final java.util.function.Predicate<Status> hostile;
    private final String what;
    /** Handshake refusals an honest peer cannot cause ({@link TransportRefusals}'s {@code error} tags). */
    static final java.util.Set<String> HOSTILE_HANDSHAKES = java.util.Set.of("bad_certificate", "bad_signature");
    private static final ServerStreamTracer NONE = new ServerStreamTracer() {
    };

    /**
     * The directory's gate: the refusals of one method that say the request itself was wrong or
     * not allowed (RESOURCE_EXHAUSTED, INVALID_ARGUMENT, PERMISSION_DENIED) count.
     *
     * @param refusals  the per-address counts
     * @param transport the server's transport refusals (connections are closed through it)
     * @param method    the full name of the method whose refusals count ({@code depin.v1.Directory/Renew})
     * @param what      what the refusals are, for the message ("renewals this directory refused")
     */
    public RefusedAddresses(AddressRefusals refusals, TransportRefusals transport, String method, String what) {
        this(refusals, transport, method::equals, s -> s.getCode() == Status.Code.RESOURCE_EXHAUSTED
                || s.getCode() == Status.Code.INVALID_ARGUMENT || s.getCode() == Status.Code.PERMISSION_DENIED, what);
    }

    /**
     * @param refusals  the per-address counts
     * @param transport the server's transport refusals (connections are closed through it)
     * @param methods   the full names of the methods whose calls are looked at as they end
     * @param hostile   which ends of those calls count: refusals an honest peer cannot cause
     * @param what      what the refusals are, for the message ("requests this service refused as hostile")
     */
    public RefusedAddresses(AddressRefusals refusals, TransportRefusals transport,
                            java.util.function.Predicate<String> methods, java.util.function.Predicate<Status> hostile,
                            String what) {
        this.refusals = refusals;
        this.transport = transport;
        this.methods = methods;
        this.hostile = hostile;
        this.what = what;
        transport.refuseConnectionsFrom(a -> refusals.refusedFor(group(a)) > 0);
        transport.onHandshakeRefused((a, reason) -> {
            if (HOSTILE_HANDSHAKES.contains(reason)) {
                refusals.refused(group(a));
            }
        });
    }

    /**
     * Publishes {@code <prefix>.addresses.refused}: the addresses refused whole now. The calls
     * this gate refuses are among {@code <prefix>.calls} (RESOURCE_EXHAUSTED), the connections
     * among {@code <prefix>.transport.refusals} (kind {@code connection}, error
     * {@code refused_address}).
     *
     * @param registry where the gauge goes
     * @param prefix   the meters' name prefix, e.g. {@code depin.node}
     * @return this
     */
    public RefusedAddresses register(io.micrometer.core.instrument.MeterRegistry registry, String prefix) {
        io.micrometer.core.instrument.Gauge.builder(prefix + ".addresses.refused", refusals,
                AddressRefusals::refusedNow).description("Remote addresses (IPv4, IPv6 /64) refused whole now for the "
                + what).register(registry);
        return this;
    }

    /** @return the address group of a socket address, null when not an IP socket */
    static String group(SocketAddress a) {
        return a instanceof InetSocketAddress i ? AddressGroup.of(i.getAddress()) : null;
    }

    /** @return the interceptor that refuses the calls of a refused address; put it before the service's own */
    public ServerInterceptor interceptor() {
        return new ServerInterceptor() {
            @Override
            public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                               ServerCallHandler<Q, A> next) {
                SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
                String group = group(remote);
                if (refusals.refusedFor(group) <= 0) {
                    return next.startCall(call, headers);
                }
                call.close(Status.RESOURCE_EXHAUSTED.withDescription(refusals.message(group, what)), new Metadata());
                transport.goAway(remote);
                return new ServerCall.Listener<>() {
                };
            }
        };
    }

    /** @return the tracer factory that counts the method's refusals by address; add it to the server's builder */
    public ServerStreamTracer.Factory tracer() {
        return new ServerStreamTracer.Factory() {
            @Override
            public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
                if (!methods.test(fullMethodName)) {
                    return NONE;
                }
                return new ServerStreamTracer() {
                    private volatile SocketAddress remote;

                    @Override
                    public void serverCallStarted(ServerCallInfo<?, ?> info) {
                        remote = info.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
                    }

                    @Override
                    public void streamClosed(Status status) {
                        // A call this gate refused ends while its address is refused, when a
                        // refusal is not counted (AddressRefusals.refused): no need to tell it apart.
                        if (hostile.test(status)) {
                            refusals.refused(group(remote));
                        }
                    }
                };
            }
        };
    }
}
