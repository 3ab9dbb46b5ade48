package dev.depin.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.KeyPem;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.DirectoryServer;
import dev.depin.grpc.GrpcNetwork;
import dev.depin.grpc.ProviderServer;
import dev.depin.job.Requirements;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code depin health} (the container image's health check) against a real node over mutual TLS,
 * and {@code depin node --advertise}: the node binds one address and lists another.
 */
class HealthCommandTest {

    @Test
    void health_isZeroForTheNodesKeyOnly(@TempDir Path dir) throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        Path keyFile = dir.resolve("node.key");
        KeyPem.save(keyFile, key, null);
        Path publicKey = dir.resolve("node.pub");
        Files.writeString(publicKey, KeyPem.publicKeyToPem(key.publicKey()));
        Path otherKey = dir.resolve("other.pub");
        Files.writeString(otherKey, KeyPem.publicKeyToPem(NodeKeyPair.generate().publicKey()));
        try (ProviderServer server = ProviderServer.builder(ProviderNode.builder(key, new CpuExecutor(1)).build(), key)
                .start()) {
            String ok = EarningsCommandTest.run(0, "health", "--key", keyFile.toString(), "--timeout", "20s",
                    server.address());
            assertTrue(ok.startsWith("depin node " + key.nodeId().hex() + " at " + server.address() + " is serving\n"), ok);
            EarningsCommandTest.run(0, "health", "--public-key", publicKey.toString(), server.address());
            String wrong = EarningsCommandTest.run(1, "health", "--public-key", otherKey.toString(), "--timeout", "20s",
                    server.address());
            assertTrue(wrong.contains("did not answer its health check: UNAVAILABLE"), wrong);
        }
        assertTrue(EarningsCommandTest.run(2, "health", "127.0.0.1:1").contains("give exactly one of --public-key FILE"
                + " and --key FILE"));
        assertTrue(EarningsCommandTest.run(2, "health", "--key", dir.resolve("missing.key").toString(), "127.0.0.1:1")
                .contains("cannot read the node's key"));
    }

    @Test
    void nodeAdvertise_listsTheGivenAddress(@TempDir Path dir) throws Exception {
        assertTrue(EarningsCommandTest.run(2, "node", "--port", "0", "--key", dir.resolve("bad.key").toString(),
                "--advertise", "no-port").contains("address 'no-port' must be HOST:PORT"));
        try (DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0).start();
             ChildCli node = new ChildCli(dir, "node", Map.of(), "node", "--port", "0", "--key",
                     dir.resolve("node.key").toString(), "--directory", directory.address(), "--threads", "1",
                     "--advertise", "203.0.113.7:31001", "--stop-on-stdin-eof");
             GrpcNetwork net = GrpcNetwork.builder().directory(directory.address(), directory.publicKey())
                     .offerCache(Duration.ZERO).build()) {
            String line = node.nextLine();
            assertTrue(line != null && line.startsWith("depin node "), line + "\nstderr: " + node.stderr());
            List<ProviderOffer> offers = List.of();
            for (int i = 0; i < 600 && offers.isEmpty(); i++) {
                offers = net.offers(new OfferQuery(BuiltinKernel.SAXPY.id(), Requirements.ANY, 10)).join();
                if (offers.isEmpty()) {
                    Thread.sleep(100);
                }
            }
            assertEquals(1, offers.size(), "the node listed itself");
            assertEquals("depin://203.0.113.7:31001", offers.get(0).terms().endpoint(),
                    "buyers are sent to the advertised address, not the bound one");
        }
    }
}
