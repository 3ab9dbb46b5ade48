package dev.depin.grpc.internal;

import dev.depin.crypto.NodePublicKey;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.cert.Certificate;

/**
 * Puts the TLS peer's node key (from its verified certificate) into the gRPC
 * {@link Context} of every call, and refuses a call that arrives without one (which the
 * mutual TLS set-up should make impossible) with UNAUTHENTICATED before any handler runs.
 */
public final class PeerKeys implements ServerInterceptor {
    /** The calling peer's node key. */
    public static final Context.Key<NodePublicKey> PEER = Context.key("depin-peer-key");
    /** The calling peer's IP address, as the connection shows it (null when not an IP connection). */
    public static final Context.Key<InetAddress> REMOTE = Context.key("depin-peer-address");
    /** The calling peer's socket address (its connection's far end), as the call's attributes show it. */
    public static final Context.Key<SocketAddress> CONNECTION = Context.key("depin-peer-connection");
    /** The session value under which {@link #keyOf(SSLSession)} keeps the peer's node key. */
    private static final String SESSION_VALUE = "dev.depin.peer-node-key";

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                       ServerCallHandler<Q, A> next) {
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        NodePublicKey key = session == null ? null : keyOf(session);
        if (key == null) {
            call.close(Status.UNAUTHENTICATED.withDescription("no verified Ed25519 client certificate: refused"),
                    new Metadata());
            return new ServerCall.Listener<>() { };
        }
        SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
        InetAddress ip = remote instanceof InetSocketAddress a ? a.getAddress() : null;
        return Contexts.interceptCall(Context.current().withValues(PEER, key, REMOTE, ip, CONNECTION, remote), call,
                headers, next);
    }

    /**
     * The node key of the session's verified peer certificate, read from the certificate once per
     * TLS session and then kept in the session: reading it parses the identity binding and
     * decodes an Ed25519 point, which per call was a measured share of a settlement service's CPU
     * (every call of a connection shares its session, and the session's peer never changes).
     *
     * @return the key, or null when the session has no single verified certificate with a binding
     */
    private static NodePublicKey keyOf(SSLSession session) {
        NodePublicKey key;
        try {
            if (session.getValue(SESSION_VALUE) instanceof NodePublicKey kept) {
                return kept;
            }
            Certificate[] chain = session.getPeerCertificates();
            if (chain.length != 1) {
                return null;
            }
            key = NodeTls.keyOf(chain[0]);
        } catch (SSLPeerUnverifiedException | RuntimeException e) {
            return null;
        }
        try {
            session.putValue(SESSION_VALUE, key);
        } catch (RuntimeException e) {
            // a session that keeps no values: the key is read again on the next call
        }
        return key;
    }
}
