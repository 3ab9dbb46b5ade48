package dev.depin.grpc.internal;

import dev.depin.InvalidArgumentException;
import dev.depin.grpc.ListingAddressPolicy;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/** The check of a listed address under a {@link ListingAddressPolicy}; never resolves a name. */
public final class ListingAddresses {
    private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d"
            + "|1\\d\\d|[1-9]?\\d)){3}");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]{2,45}");
    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?");

    private ListingAddresses() {
    }

    /**
     * @param address the listed {@code host:port}
     * @param policy  the directory's policy
     * @param from    the IP the renewal came from (null when unknown, which
     *                {@link ListingAddressPolicy#PEER_ADDRESS} refuses)
     * @throws InvalidArgumentException with what is wrong with the address
     */
    public static void check(String address, ListingAddressPolicy policy, InetAddress from) {
        InetSocketAddress parsed = Wire.parseAddress(address);
        String host = parsed.getHostString();
        boolean bracketed = address.startsWith("[");
        InetAddress literal = literal(host, bracketed);
        if (literal == null) {
            if (bracketed || host.length() > 253 || host.endsWith(".")) {
                throw bad(address, "its host is neither an IP literal nor a host name");
            }
            for (String label : host.split("\\.", -1)) {
                if (!LABEL.matcher(label).matches()) {
                    throw bad(address, "its host is neither an IP literal nor a host name (RFC 1123)");
                }
            }
            if (host.chars().allMatch(c -> c == '.' || Character.isDigit(c))) {
                throw bad(address, "its host looks like an IPv4 address but is not one");
            }
        } else if (literal.isAnyLocalAddress() || literal.isMulticastAddress()
                || (literal instanceof Inet4Address && host.equals("255.255.255.255"))) {
            throw bad(address, "its host is an unspecified, broadcast or multicast address, which no buyer can dial");
        }
        if (policy == ListingAddressPolicy.PEER_ADDRESS && (literal == null || !literal.equals(from))) {
            throw bad(address, "this directory lists only the address a renewal comes from ("
                    + (from == null ? "unknown" : from.getHostAddress()) + "): list that IP address");
        }
    }

    /** @return the address of an IP literal, or null for a host name (never a lookup) */
    private static InetAddress literal(String host, boolean bracketed) {
        try {
            if (!bracketed && IPV4.matcher(host).matches()) {
                return InetAddress.getByName(host); // a literal: parsed, not resolved
            }
            if (bracketed && IPV6.matcher(host).matches() && host.contains(":")) {
                InetAddress a = InetAddress.getByName(host);
                if (a instanceof Inet6Address || a instanceof Inet4Address) {
                    return a;
                }
            }
        } catch (UnknownHostException e) {
            return null;
        }
        if (bracketed) {
            throw bad("[" + host + "]", "its bracketed host is not an IPv6 literal");
        }
        return null;
    }

    private static InvalidArgumentException bad(String address, String why) {
        return new InvalidArgumentException("address '" + Wire.shorten(address) + "': " + why);
    }
}
