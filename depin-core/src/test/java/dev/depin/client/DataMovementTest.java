package dev.depin.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.DataMovement;
import dev.depin.job.Job;
import dev.depin.job.JobResult;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.InputCache;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The buyer's account of a job's data ({@link JobResult#dataMovement()}): which inputs the
 * provider already held, the bytes sent and not sent, and what the data part of the price was.
 */
class DataMovementTest {
    private static final long SEED = 0xDA7A_2026_1206L;
    private final SplittableRandom random = new SplittableRandom(SEED);

    DataMovementTest() {
        System.out.println("DataMovementTest seed 0x" + Long.toHexString(SEED));
    }

    private float[] floats(int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) random.nextDouble(-1, 1);
        }
        return f;
    }

    @Test
    void chain_secondStepSendsOnlyTheInputNotHeld_andSaysWhatItCost() {
        byte[] seed = new byte[32];
        seed[0] = 0x3d;
        Price price = new Price(MicroUsd.ofMicros(1_000), MicroUsd.ofMicros(100_000_000));
        ProviderNode node = ProviderNode.builder(NodeKeyPair.fromSeed(seed), new CpuExecutor(1)).receiptBatching(0)
                .price(price).inputCache(InputCache.Limits.of(16L << 20, 64)).build();
        try (LocalNetwork net = LocalNetwork.of(List.of(node)); DepinClient client = DepinClient.builder(net).build()) {
            int n = 1024;
            JobResult first = client.submit(Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2f)
                    .input("x", floats(n)).input("y", floats(n)).maxPrice(MicroUsd.ofMicros(1_000_000))
                    .leaveOutputsOnNode(Duration.ofMinutes(5)).build()).result();
            DataMovement cold = first.dataMovement().orElseThrow();
            assertEquals(new DataMovement(8192, 8192, List.of(), List.of(), Map.of(), List.of(),
                    price.charge(0, 3 * 4096)), cold);
            assertEquals(0, cold.inputBytesNotSent());

            JobResult second = client.submit(Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2f)
                    .inputFrom("x", first, "out").input("y", floats(n)).maxPrice(MicroUsd.ofMicros(1_000_000))
                    .build()).result();
            DataMovement warm = second.dataMovement().orElseThrow();
            assertEquals(8192, warm.inputBytes());
            assertEquals(4096, warm.inputBytesSent());
            assertEquals(4096, warm.inputBytesNotSent());
            assertEquals(Map.of("x", first.heldOutputs().get("out")), warm.heldInputs());
            assertEquals(node.nodeId(), second.provider());
            // Offers price every declared byte, sent or held: 12,288 bytes at $100/GB round up to 1,229 micro-USD.
            assertEquals(MicroUsd.ofMicros(1_229), warm.dataCharge());
            assertEquals("inputs: 4096 of 8192 bytes sent; from the provider's cache: " + warm.fromCache()
                    + "; held there by an earlier job: [x]; data charge " + MicroUsd.ofMicros(1_229), warm.summary());
        } finally {
            node.close();
        }
    }

    @Test
    void constructor_sentAboveDeclared_refused() {
        assertEquals("data movement of 9 of 8 input bytes sent: give 0 <= sent <= declared", assertThrows(
                InvalidArgumentException.class, () -> new DataMovement(8, 9, List.of(), List.of(), Map.of(), List.of(),
                        MicroUsd.ZERO)).getMessage());
    }
}
