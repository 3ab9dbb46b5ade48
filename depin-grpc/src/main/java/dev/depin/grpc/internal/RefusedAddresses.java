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
 * A server's gate for the addresses whose requests of one method it keeps refusing
 * ({@link AddressRefusals}): the refusals of that method are counted per address as its calls
 * end, whoever refused them (the service, or gRPC's transport for a message past the inbound
 * limit), and an address that reached its maximum is refused whole for a while, at the cheapest
 * point there is:
 * <ul>
 *   <li>a new connection from it is closed as it is accepted, before its TLS handshake
 *       ({@link TransportRefusals#refuseConnectionsFrom});</li>
 *   <li>a call on a connection it already has is answered RESOURCE_EXHAUSTED before its message
 *       is read (no exception built, no stack trace), and that connection is ended with GOAWAY,
 *       so the peer's next call needs a new connection, which the first point refuses.</li>
 * </ul>
 * Only the refusals that say the request itself was wrong or not allowed are counted
 * (RESOURCE_EXHAUSTED, INVALID_ARGUMENT, PERMISSION_DENIED); calls this gate refused are not.
 */
public final class RefusedAddresses {
    private final AddressRefusals refusals;
    private final TransportRefusals transport;
    private final String method;
    private final String what;
    private static final ServerStreamTracer NONE = new ServerStreamTracer() {
    };

    /**
     * @param refusals  the per-address counts
     * @param transport the server's transport refusals (connections are closed through it)
     * @param method    the full name of the method whose refusals count ({@code depin.v1.Directory/Renew})
     * @param what      what the refusals are, for the message ("renewals this directory refused")
     */
    public RefusedAddresses(AddressRefusals refusals, TransportRefusals transport, String method, String what) {
        this.refusals = refusals;
        this.transport = transport;
        this.method = method;
        this.what = what;
        transport.refuseConnectionsFrom(a -> refusals.refusedFor(group(a)) > 0);
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
                if (!method.equals(fullMethodName)) {
                    return NONE;
                }
                return new ServerStreamTracer() {
                    private volatile String group;
                    private volatile boolean refusedHere;

                    @Override
                    public void serverCallStarted(ServerCallInfo<?, ?> info) {
                        group = group(info.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
                        refusedHere = refusals.refusedFor(group) > 0;
                    }

                    @Override
                    public void streamClosed(Status status) {
                        Status.Code c = status.getCode();
                        if (!refusedHere && (c == Status.Code.RESOURCE_EXHAUSTED || c == Status.Code.INVALID_ARGUMENT
                                || c == Status.Code.PERMISSION_DENIED)) {
                            refusals.refused(group);
                        }
                    }
                };
            }
        };
    }
}
