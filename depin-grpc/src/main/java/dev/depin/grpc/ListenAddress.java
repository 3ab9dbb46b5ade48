package dev.depin.grpc;

import dev.depin.InvalidArgumentException;

/** Where one of this package's servers listens: the check every server builder's {@code listen} makes. */
final class ListenAddress {
    private ListenAddress() {
    }

    /**
     * @param host the interface
     * @param port the port, or 0 for any free one
     * @throws InvalidArgumentException on a null host or a port out of range
     */
    static void check(String host, int port) {
        InvalidArgumentException.requireNonNull(host, "host");
        if (port < 0 || port > 65535) {
            throw new InvalidArgumentException("port " + port + " must be 0 to 65535");
        }
    }
}
