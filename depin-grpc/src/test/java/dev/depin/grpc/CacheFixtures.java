package dev.depin.grpc;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.AttemptState;
import dev.depin.job.Job;
import dev.depin.job.JobEvent;
import dev.depin.job.JobHandle;
import dev.depin.job.JobState;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.node.InputCache;
import dev.depin.node.ProviderNode;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.SplittableRandom;

/**
 * What the tests of data kept on nodes (inputs by root, kept outputs, fetches, placement by
 * locality) build the same way: a SAXPY job, a node with an input cache served over loopback
 * mutual TLS and listed in a directory, a buyer that keeps its data on providers.
 */
final class CacheFixtures {
    private CacheFixtures() {
    }

    /** {@code n} floats drawn uniformly from [-1, 1). */
    static float[] floats(SplittableRandom random, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) random.nextDouble(-1, 1);
        }
        return f;
    }

    /** A SAXPY job of {@code x} and {@code y} (alpha 2), at most {@code maxPriceMicros}, 60 s. */
    static Job saxpy(float[] x, float[] y, long maxPriceMicros) {
        return Job.builder(BuiltinKernel.SAXPY).param("n", x.length).param("alpha", 2).input("x", x).input("y", y)
                .maxPrice(MicroUsd.ofMicros(maxPriceMicros)).timeout(Duration.ofSeconds(60)).build();
    }

    /** A one-worker CPU node with an input cache, each receipt signed alone. */
    static ProviderNode node(NodeKeyPair key, InputCache.Limits limits) {
        return ProviderNode.builder(key, new CpuExecutor(1)).receiptBatching(0).inputCache(limits).build();
    }

    /** Serves a node on a free loopback port, listed in the directory before it returns. */
    static ProviderServer serve(ProviderNode node, NodeKeyPair key, DirectoryServer directory) {
        ProviderServer s = ProviderServer.builder(node, key).listen("127.0.0.1", 0)
                .directory(directory.address(), directory.publicKey()).renewEvery(Duration.ofSeconds(5)).start();
        s.renewNow();
        return s;
    }

    /** A buyer of the directory (pinned), offers never cached, keeping inputs and/or outputs on providers. */
    static GrpcNetwork buyer(DirectoryServer directory, NodeKeyPair buyerKey, boolean keepInputs, boolean keepOutputs) {
        return GrpcNetwork.builder().directory(directory.address(), directory.publicKey()).identity(buyerKey)
                .offerCache(Duration.ZERO).keepInputsOnProviders(keepInputs).keepOutputsOnProviders(keepOutputs)
                .build();
    }

    /** The first event of the job in that state and attempt state (null: any). */
    static JobEvent event(JobHandle h, JobState state, AttemptState attempt) {
        return h.events().stream()
                .filter(e -> (state == null || e.state() == state) && (attempt == null || e.attemptState() == attempt))
                .findFirst().orElseThrow(() -> new AssertionError("no " + state + "/" + attempt + " in " + h.events()));
    }

    /** The remaining bytes of a buffer, its position unchanged. */
    static byte[] bytes(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return a;
    }
}
