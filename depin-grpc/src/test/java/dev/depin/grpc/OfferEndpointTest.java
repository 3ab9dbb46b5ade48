package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.Wire;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.network.spi.OfferQuery;
import dev.depin.job.Requirements;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A served node's signed offer states where buyers reach it, {@code depin://host:port}, as the
 * server alone knows it (a server on port 0 learns its port when it binds); what the directory
 * lists is that offer.
 */
class OfferEndpointTest {

    @Test
    void servedNode_offerStatesTheAddressItListsAt() {
        NodeKeyPair key = NodeKeyPair.generate();
        ProviderNode node = ProviderNode.builder(key, new CpuExecutor(1)).build();
        assertEquals("local:" + key.nodeId().shortId(), node.offer().terms().endpoint(), "in process until served");
        DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0).start();
        try (directory;
             ProviderServer server = ProviderServer.builder(node, key).listen("127.0.0.1", 0)
                     .directory(directory.address(), directory.publicKey()).start();
             GrpcNetwork buyer = GrpcNetwork.builder().directory(directory.address(), directory.publicKey()).build()) {
            server.renewNow();
            String want = "depin://127.0.0.1:" + server.port();
            assertEquals(want, node.endpoint());
            assertEquals(want, node.offer().terms().endpoint());
            List<ProviderOffer> listed = buyer.offers(new OfferQuery(BuiltinKernel.SGEMM.id(), Requirements.ANY, 10))
                    .join();
            assertEquals(1, listed.size());
            assertEquals(want, listed.get(0).terms().endpoint());
        }
    }

    @Test
    void advertisedAddress_isTheOffersEndpoint() {
        NodeKeyPair key = NodeKeyPair.generate();
        ProviderNode node = ProviderNode.builder(key, new CpuExecutor(1)).build();
        try (ProviderServer server = ProviderServer.builder(node, key).listen("127.0.0.1", 0)
                .advertise("node-7.example.net:7400").start()) {
            assertEquals("depin://node-7.example.net:7400", node.offer().terms().endpoint());
            assertEquals("127.0.0.1:" + server.port(), server.address());
        }
    }

    @Test
    void endpointUri_bracketsIpv6AndRefusesWhatIsNotHostPort() {
        assertEquals("depin://10.0.0.5:7400", Wire.endpointUri("10.0.0.5:7400"));
        assertEquals("depin://[::1]:7001", Wire.endpointUri("[::1]:7001"));
        assertEquals("depin://[::1]:7001", Wire.endpointUri("::1:7001"));
        assertThrows(InvalidArgumentException.class, () -> Wire.endpointUri("127.0.0.1"));
        assertThrows(InvalidArgumentException.class, () -> Wire.endpointUri("127.0.0.1:0"));
    }

    @Test
    void advertise_refusesWhatIsNotAUri() {
        ProviderNode node = ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(1)).build();
        try (node) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> node.advertise("127.0.0.1:7001"));
            assertEquals("offer endpoint '127.0.0.1:7001' must be a URI such as local:provider-1 or "
                    + "depin://10.0.0.5:7400", e.getMessage());
        }
    }
}
