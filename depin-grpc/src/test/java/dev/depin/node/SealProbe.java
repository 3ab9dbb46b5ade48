package dev.depin.node;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import java.time.Duration;

/**
 * The node's package-private seal controls, for the transport's tests: a node whose seal
 * linger outlasts any test (a job is sealed early only because of what runs), and the count of
 * finished statements waiting for a signature.
 */
public final class SealProbe {
    private SealProbe() {
    }

    /**
     * @param key the node's key
     * @return a CPU node with one worker and an hour's seal linger
     */
    public static ProviderNode lingeringNode(NodeKeyPair key) {
        return ProviderNode.builder(key, new CpuExecutor(1)).sealLinger(Duration.ofHours(1)).build();
    }

    /**
     * @param node a node
     * @return jobs whose statements wait for a batch signature right now
     */
    public static int pendingSeals(ProviderNode node) {
        return node.pendingSeals();
    }
}
