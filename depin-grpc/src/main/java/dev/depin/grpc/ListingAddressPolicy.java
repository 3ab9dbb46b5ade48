package dev.depin.grpc;

/**
 * Which addresses a {@link DirectoryServer} lets a provider list. Either way the address must
 * be {@code host:port} with a port of 1 to 65535 and a host that is an IPv4 literal, a
 * bracketed IPv6 literal or an RFC 1123 host name (at most 253 characters, labels of letters,
 * digits and inner hyphens), and not an unspecified, broadcast or multicast address. A buyer
 * pins the offer's key in the TLS handshake, so a listing with someone else's address cannot
 * make a buyer talk to an impostor; what the address policy limits is whom strangers can make
 * buyers dial.
 */
public enum ListingAddressPolicy {
    /**
     * Any well-formed address (the default): providers behind a NAT, a port forward or a proxy
     * list the address buyers should dial ({@code ProviderServer.Builder.advertise}). A
     * stranger can make buyers dial any host (the handshake then fails on the key pin).
     */
    SYNTAX,
    /**
     * The listed host must be the IP address the renewal came from, so a stranger can only
     * point buyers at itself. For networks without NAT between providers and the directory;
     * host names are refused under this policy.
     */
    PEER_ADDRESS
}
