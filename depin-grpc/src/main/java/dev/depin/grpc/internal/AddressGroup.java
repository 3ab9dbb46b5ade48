package dev.depin.grpc.internal;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Locale;

/**
 * The remote address a per-address limit counts against. A key costs a stranger nothing (it
 * makes a new Ed25519 key and certificate for each connection), an address costs it more, so
 * the node and the directory bound what one address holds beside what one key holds. An IPv4
 * address is one group; an IPv6 address counts by its /64 prefix, the block one subscriber or
 * one LAN gets (RFC 6177), since a host picks any address inside its /64 at will (privacy
 * addresses, RFC 8981). An IPv4-mapped IPv6 address ({@code ::ffff:a.b.c.d}) is the IPv4
 * address ({@link InetAddress} already gives it as one). Loopback is an address like any other.
 */
public final class AddressGroup {
    private AddressGroup() {
    }

    /**
     * @param address the peer's IP address as the connection shows it, or null (not an IP
     *                connection: in-process, a Unix socket)
     * @return the group it counts against, as text for messages ({@code 203.0.113.7},
     *         {@code 2001:db8:0:1::/64}); null when the address is null (no per-address limit)
     */
    public static String of(InetAddress address) {
        if (address == null) {
            return null;
        }
        if (address instanceof Inet4Address) {
            return address.getHostAddress();
        }
        byte[] b = address.getAddress();
        return String.format(Locale.ROOT, "%x:%x:%x:%x::/64", word(b, 0), word(b, 2), word(b, 4), word(b, 6));
    }

    private static int word(byte[] b, int at) {
        return (b[at] & 0xff) << 8 | (b[at + 1] & 0xff);
    }
}
