package dev.depin.grpc.internal;

import dev.depin.DepinException;
import dev.depin.InvalidArgumentException;
import dev.depin.executor.spi.ExecutionCancelledException;
import dev.depin.network.NetworkException;
import dev.depin.provider.ProviderRejectedException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

import java.net.InetSocketAddress;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Limits of the wire contract and the mapping between depin failures and gRPC status codes. */
public final class Wire {
    /** Largest message either side accepts: a chunk plus headroom, or a spec with its PTX. */
    public static final int MAX_MESSAGE_BYTES = 4 << 20;
    /** Inputs and outputs travel in chunks of at most this many bytes. */
    public static final int CHUNK_BYTES = 256 << 10;
    /**
     * A job whose inputs together are at most this many bytes sends them inside its Start
     * message; when its outputs also fit, it asks for the compact reply (no Progress).
     */
    public static final int INLINE_BYTES = CHUNK_BYTES;
    /**
     * Jobs one Session stream may have in flight (Start sent, JobEnded not yet): the buyer
     * sends no more on it, the node ends each Start past it with RESOURCE_EXHAUSTED.
     */
    public static final int SESSION_JOBS = 64;
    /** Session streams one peer may have open on a node at once (more: RESOURCE_EXHAUSTED). */
    public static final int SESSIONS_PER_PEER = 8;
    /** By default a node closes a Session (OK) that has had no job in flight and received nothing this long ({@code ProviderServer.Builder.sessionIdleTimeout}). */
    public static final long SESSION_IDLE_MILLIS = 60_000;
    /** A buyer half-closes a Session of its own that has had no job this long (before the node's limit). */
    public static final long SESSION_BUYER_IDLE_MILLIS = 20_000;
    /**
     * HTTP/2 flow-control window per stream (and connection) on both sides: what one
     * stream may have in flight unacknowledged. 4 MiB keeps a bulk stream moving on a
     * link with some latency while bounding what a slow reader can make a sender buffer.
     */
    public static final int FLOW_CONTROL_WINDOW = 4 << 20;
    /** Longest DSSE envelope or batched receipt a buyer parses. */
    public static final int MAX_PROOF_BYTES = 1 << 20;
    /** Longest address a directory accepts. */
    public static final int MAX_ADDRESS_CHARS = 255;

    /** gRPC-java's own description of a message over the inbound limit (its length read as a signed int). */
    private static final java.util.regex.Pattern OVERSIZE = java.util.regex.Pattern.compile(
            "gRPC message exceeds maximum size (\\d+): (-?\\d+)");

    private Wire() {
    }

    /**
     * @param t a failure, possibly wrapped
     * @return the root failure without completion wrappers
     */
    public static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /**
     * The status a provider closes an Execute stream with when its node fails the attempt.
     *
     * @param failure why the attempt failed
     * @return the status, with the reason as its description
     */
    public static Status statusOf(Throwable failure) {
        Throwable t = unwrap(failure);
        if (t instanceof StatusRuntimeException s) {
            return s.getStatus();
        }
        String msg = t.getMessage() == null ? t.toString() : t.getMessage();
        if (t instanceof dev.depin.provider.JobTooLargeException) {
            return Status.RESOURCE_EXHAUSTED.withDescription(msg);
        }
        if (t instanceof ProviderRejectedException) {
            return (msg.contains("busy") ? Status.RESOURCE_EXHAUSTED : Status.FAILED_PRECONDITION).withDescription(msg);
        }
        if (t instanceof ExecutionCancelledException) {
            return Status.CANCELLED.withDescription(msg);
        }
        if (t instanceof InvalidArgumentException) {
            return Status.INVALID_ARGUMENT.withDescription(msg);
        }
        if (t instanceof DepinException) {
            return Status.ABORTED.withDescription(msg);
        }
        return Status.INTERNAL.withDescription("provider failed: " + t);
    }

    /**
     * The depin failure a buyer sees for a status the provider (or the transport) closed a
     * stream with.
     *
     * @param provider the provider's short id, for the message
     * @param failure  the gRPC failure
     * @return a {@link ProviderRejectedException} for refusals, an
     *         {@link ExecutionCancelledException} for a cancel, else a {@link NetworkException}
     */
    public static DepinException fromStatus(String provider, Throwable failure) {
        Throwable t = unwrap(failure);
        if (t instanceof DepinException d) {
            return d;
        }
        Status s = Status.fromThrowable(t);
        s = readable(s);
        String why = s.getDescription() == null ? s.getCode().toString() : s.getCode() + ": " + s.getDescription();
        return switch (s.getCode()) {
            case RESOURCE_EXHAUSTED, FAILED_PRECONDITION ->
                    new ProviderRejectedException("provider " + provider + " refused the attempt (" + why + ")");
            case CANCELLED -> new ExecutionCancelledException("attempt on provider " + provider + " was cancelled ("
                    + why + ")");
            default -> new NetworkException("provider " + provider + " failed the attempt (" + why + ")", t);
        };
    }

    /**
     * The same status with gRPC-java's oversize message made readable: it reads a message's
     * 32-bit length prefix as a signed int, so a length of 2^31 or more prints as "exceeds
     * maximum size 4194304: -2147483648".
     *
     * @param s a status
     * @return {@code s}, or a copy whose description gives the length as the unsigned number sent
     */
    public static Status readable(Status s) {
        java.util.regex.Matcher big = s.getDescription() == null ? null : OVERSIZE.matcher(s.getDescription());
        if (big == null || !big.matches()) {
            return s;
        }
        long length = Integer.toUnsignedLong(Integer.parseInt(big.group(2)));
        return s.withDescription("a message of " + length + " bytes (its length prefix) passed the limit of "
                + big.group(1) + " bytes per message: the stream was closed");
    }

    /**
     * A gRPC status for a message or a log line: its code, description and the innermost
     * cause's message, never the cause's stack trace (which {@code Status.toString()} prints).
     *
     * @param s the status
     * @return e.g. {@code UNAVAILABLE: io exception (Connection refused)}
     */
    public static String describe(Status s) {
        StringBuilder b = new StringBuilder(s.getCode().toString());
        if (s.getDescription() != null) {
            b.append(": ").append(s.getDescription());
        }
        Throwable c = s.getCause();
        while (c != null && c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        if (c != null && c.getMessage() != null) {
            b.append(" (").append(c.getMessage()).append(')');
        }
        return b.toString();
    }

    /**
     * Parses {@code host:port} (a bracketed IPv6 host allowed).
     *
     * @param address the address
     * @return an unresolved socket address
     * @throws InvalidArgumentException if it is not host:port with a port of 1 to 65535
     */
    public static InetSocketAddress parseAddress(String address) {
        InvalidArgumentException.requireNonNull(address, "address");
        int colon = address.lastIndexOf(':');
        if (address.length() > MAX_ADDRESS_CHARS || colon <= 0 || colon == address.length() - 1) {
            throw new InvalidArgumentException("address '" + shorten(address) + "' must be HOST:PORT");
        }
        String host = address.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(address.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 1 || port > 65535 || host.isEmpty()) {
            throw new InvalidArgumentException("address '" + shorten(address) + "' must be HOST:PORT with a port of "
                    + "1 to 65535");
        }
        return InetSocketAddress.createUnresolved(host, port);
    }

    /**
     * The URI an offer states for a node reached at {@code address}: {@code depin://host:port},
     * an IPv6 host in brackets.
     *
     * @param address {@code host:port}
     * @return the endpoint URI
     * @throws InvalidArgumentException if the address is not host:port
     */
    public static String endpointUri(String address) {
        InetSocketAddress a = parseAddress(address);
        String host = a.getHostString();
        return "depin://" + (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    /**
     * @param s text from a peer
     * @return at most 80 characters of it, for messages
     */
    public static String shorten(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
