package dev.depin.grpc;

import dev.depin.client.DepinClient;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.HealthRequest;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import dev.depin.job.Job;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.node.ProviderNode;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A provider in its own JVM is killed with SIGKILL while it runs a job: the buyer's attempt
 * fails, and the job completes on another provider, exactly once.
 */
class CrashTest {

    @Test
    void kill9_providerMidJobTheJobCompletesElsewhereOnce() throws Exception {
        byte[] seed = new byte[32];
        new SecureRandom().nextBytes(seed);
        NodeKeyPair victimKey = NodeKeyPair.fromSeed(seed);
        NodeKeyPair survivorKey = NodeKeyPair.generate();
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start()) {
            Process victim = new ProcessBuilder(java, "-cp", classPath, "-Xmx256m",
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", ProviderProcess.class.getName(), dir.address(),
                    Hex.encode(seed)).redirectErrorStream(true).start();
            ManagedChannel probe = null;
            try {
                BufferedReader out = new BufferedReader(new InputStreamReader(victim.getInputStream(),
                        StandardCharsets.UTF_8));
                String line;
                String address = null;
                StringBuilder said = new StringBuilder();
                while ((line = out.readLine()) != null) {
                    if (line.startsWith("LISTENING ")) {
                        address = line.substring("LISTENING ".length()).trim();
                        break;
                    }
                    said.append(line).append('\n');
                }
                assertTrue(address != null, "the provider process never served:\n" + said);
                probe = NettyChannelBuilder.forTarget(address)
                        .sslContext(NodeTls.client(NodeTls.identity(NodeKeyPair.generate()), victimKey.publicKey()))
                        .build();
                try (GrpcNetwork net = GrpcNetwork.builder().directory(dir.address()).offerCache(Duration.ZERO)
                        .build();
                     DepinClient client = DepinClient.builder(net).maxAttempts(10).build()) {
                    // Only the victim is listed: the job goes there and blocks in its executor.
                    float[] x = {1, 2, 3, 4};
                    JobHandle h = client.submit(Job.builder(BuiltinKernel.SAXPY).param("n", 4).param("alpha", 2)
                            .input("x", x).input("y", x).timeout(Duration.ofSeconds(60)).build());
                    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                    while (ProviderGrpc.newBlockingStub(probe).withDeadlineAfter(5, TimeUnit.SECONDS)
                            .health(HealthRequest.getDefaultInstance()).getBusy() == 0 && System.nanoTime() < until) {
                        Thread.sleep(5);
                    }
                    try (ProviderServer survivor = ProviderServer.builder(
                            ProviderNode.builder(survivorKey, new CpuExecutor(1)).build(), survivorKey)
                            .directory(dir.address()).start()) {
                        survivor.renewNow();
                        victim.destroyForcibly(); // SIGKILL
                        assertTrue(victim.waitFor(10, TimeUnit.SECONDS));
                        JobResult r = h.result(Duration.ofSeconds(30));
                        assertEquals(survivorKey.nodeId(), r.provider());
                        float[] got = r.floats("out");
                        assertEquals(List.of(3f, 6f, 9f, 12f), List.of(got[0], got[1], got[2], got[3]));
                        assertEquals(1, survivor.node().completedCount(), "completed once, on the survivor");
                    }
                }
            } finally {
                if (probe != null) {
                    probe.shutdownNow();
                }
                victim.destroyForcibly();
                victim.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
