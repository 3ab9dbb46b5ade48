package dev.depin.grpc.internal;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Which addresses count together: an IPv4 address alone, an IPv6 address by its /64. */
class AddressGroupTest {
    @Test
    void of_ipv4_theAddressItself() throws Exception {
        assertEquals("127.0.0.2", AddressGroup.of(InetAddress.getByName("127.0.0.2")));
        assertEquals("203.0.113.7", AddressGroup.of(InetAddress.getByName("203.0.113.7")));
    }

    @Test
    void of_ipv6_itsSlash64() throws Exception {
        String g = AddressGroup.of(InetAddress.getByName("2001:db8:0:1:aaaa:bbbb:cccc:dddd"));
        assertEquals("2001:db8:0:1::/64", g);
        assertEquals(g, AddressGroup.of(InetAddress.getByName("2001:db8:0:1::1")), "the same /64");
        assertEquals("2001:db8:0:2::/64", AddressGroup.of(InetAddress.getByName("2001:db8:0:2::1")));
        assertEquals("0:0:0:0::/64", AddressGroup.of(InetAddress.getByName("::1")));
    }

    @Test
    void of_ipv4MappedIpv6_theIpv4Address() throws Exception {
        assertEquals("198.51.100.9", AddressGroup.of(InetAddress.getByName("::ffff:198.51.100.9")));
    }

    @Test
    void of_null_noGroup() {
        assertNull(AddressGroup.of(null));
    }
}
