package dev.depin.executor;

import static dev.depin.executor.ExecutorContractTest.bytes;
import static dev.depin.executor.ExecutorContractTest.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Merkle;
import dev.depin.crypto.MerkleTree;
import dev.depin.crypto.Parallelism;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.executor.spi.ExecutionFailedException;
import dev.depin.job.JobSpec;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.LaunchParams;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link ExecutionContext#outputTree} on the CPU executor: the tree built from the SGEMM's row
 * blocks as the kernel finished them (leaves spanning blocks, rows that do not divide a leaf,
 * column splits, one thread) is {@link MerkleTree#of} of the finished output, for any number of
 * threads; a kernel that tells no blocks (SAXPY) gets none (the node hashes it); no tree after the output is wiped
 * or handed over, nor before the run.
 */
class CpuExecutorOutputTreeTest {
    private static final long SEED = 0x73EE_C0DEL;
    /** m x k x n: rows of 1332 bytes (leaves span rows and blocks), rows of one leaf, a column split, tiny. */
    private static final int[][] SHAPES = {{301, 17, 333}, {100, 64, 1024}, {40, 300, 1024}, {7, 1, 5},
        {1000, 20, 1000}, {145, 300, 129}};

    @Test
    void outputTree_sgemmRowBlocks_equalsTreeOfTheFinishedOutput() {
        System.out.println("outputTree_sgemmRowBlocks seed=0x" + Long.toHexString(SEED));
        SplittableRandom rnd = new SplittableRandom(SEED);
        try (Parallelism pool = Parallelism.newPool(2)) {
            for (int run = 0; run < 5; run++) {
                // Idle kernel threads hashing final leaves, or not: the same tree.
                int threads = 1 + (run + 1) / 2;
                boolean hashWhileIdle = run % 2 == 0;
                try (CpuExecutor cpu = new CpuExecutor(threads, hashWhileIdle)) {
                    for (int[] s : SHAPES) {
                        int m = s[0];
                        int k = s[1];
                        int n = s[2];
                        String what = "threads=" + threads + (hashWhileIdle ? " hashing while idle " : " ")
                                + m + "x" + k + "x" + n;
                        for (Parallelism p : new Parallelism[] {Parallelism.callerThread(), pool}) {
                            try (ExecutionContext ctx = cpu.open(BuiltinKernel.SGEMM,
                                    LaunchParams.builder().put("m", m).put("k", k).put("n", n).build())) {
                                ctx.input("a").put(bytes(random(rnd, m * k)));
                                ctx.input("b").put(bytes(random(rnd, k * n)));
                                ctx.run();
                                assertTrue(ctx.timing().deviceNanos() > 0, what);
                                MerkleTree tree = ctx.outputTree("c", p).orElseThrow();
                                ByteBuffer c = ctx.output("c");
                                assertArrayEquals(Merkle.root(c, JobSpec.MERKLE_CHUNK_BYTES), tree.root(), what);
                                MerkleTree full = MerkleTree.of(c, JobSpec.MERKLE_CHUNK_BYTES);
                                assertEquals(full.leafCount(), tree.leafCount(), what);
                                for (int leaf = 0; leaf < tree.leafCount(); leaf++) {
                                    assertArrayEquals(full.leafHash(leaf), tree.leafHash(leaf), what + " leaf " + leaf);
                                }
                                assertArrayEquals(tree.root(), ctx.outputTree("c", p).orElseThrow().root(), what);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void outputTree_kernelThatTellsNoBlocks_emptySoTheCallerHashes() {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        int n = 70_001;
        try (CpuExecutor cpu = new CpuExecutor(2);
             ExecutionContext ctx = cpu.open(BuiltinKernel.SAXPY,
                     LaunchParams.builder().put("n", n).put("alpha", 1.5f).build())) {
            ctx.input("x").put(bytes(random(rnd, n)));
            ctx.input("y").put(bytes(random(rnd, n)));
            ctx.run();
            String out = BuiltinKernel.SAXPY.outputs(LaunchParams.builder().put("n", n).put("alpha", 1.5f).build())
                    .get(0).name();
            assertTrue(ctx.outputTree(out, Parallelism.callerThread()).isEmpty());
            assertTrue(ctx.timing().deviceNanos() > 0);
        }
    }

    @Test
    void outputTree_beforeRunAfterWipeOrHandover_refused() {
        LaunchParams p = LaunchParams.builder().put("m", 3).put("k", 4).put("n", 5).build();
        try (CpuExecutor cpu = new CpuExecutor(1)) {
            try (ExecutionContext ctx = cpu.open(BuiltinKernel.SGEMM, p)) {
                assertThrows(ExecutionFailedException.class, () -> ctx.outputTree("c", Parallelism.callerThread()));
                ctx.input("a").put(bytes(new float[12]));
                ctx.input("b").put(bytes(new float[20]));
                ctx.run();
                InvalidArgumentException none = assertThrows(InvalidArgumentException.class,
                        () -> ctx.outputTree("d", Parallelism.callerThread()));
                assertTrue(none.getMessage().contains("no output 'd'"), none.getMessage());
                ctx.wipe((byte) 0x5a);
                ExecutionFailedException wiped = assertThrows(ExecutionFailedException.class,
                        () -> ctx.outputTree("c", Parallelism.callerThread()));
                assertTrue(wiped.getMessage().contains("was wiped"), wiped.getMessage());
            }
            try (ExecutionContext ctx = cpu.open(BuiltinKernel.SGEMM, p)) {
                ctx.input("a").put(bytes(new float[12]));
                ctx.input("b").put(bytes(new float[20]));
                ctx.run();
                ctx.keepOutput("c").orElseThrow();
                InvalidArgumentException kept = assertThrows(InvalidArgumentException.class,
                        () -> ctx.outputTree("c", Parallelism.callerThread()));
                assertTrue(kept.getMessage().contains("handed over"), kept.getMessage());
            }
        }
    }
}
