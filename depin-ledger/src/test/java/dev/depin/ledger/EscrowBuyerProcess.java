package dev.depin.ledger;

import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.BlockingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobHandle;
import dev.depin.job.JobState;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.Escrow;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The child process of {@link EscrowRecoveryTest}: a buyer that submits jobs with an escrow
 * to a provider that never finishes them, prints {@code HELD} once every job is escrowed and
 * dispatched, and waits to be killed with SIGKILL.
 */
final class EscrowBuyerProcess {
    private EscrowBuyerProcess() {
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        String session = args[1];
        int jobs = Integer.parseInt(args[2]);
        long maxMicros = Long.parseLong(args[3]);
        // Optional: the jobs' timeout and the escrow's expiry grace in milliseconds (a hold
        // expires at the job's deadline plus the grace).
        Duration timeout = Duration.ofMillis(args.length > 5 ? Long.parseLong(args[5]) : 60_000);
        Duration grace = Duration.ofMillis(args.length > 6 ? Long.parseLong(args[6]) : 60_000);
        JdbcLedger ledger = JdbcLedger.sqlite(file);
        ProviderNode node = ProviderNode.builder(NodeKeyPair.generate(), new BlockingExecutor(new CpuExecutor(1)))
                .concurrency(1, jobs).build();
        DepinClient client = DepinClient.builder(LocalNetwork.of(List.of(node)))
                .maxInFlightPerProvider(jobs)
                .escrow(Escrow.builder(ledger, AccountId.of(args[4])).session(session).expiryGrace(grace).build())
                .build();
        List<JobHandle> handles = new ArrayList<>();
        for (int i = 0; i < jobs; i++) {
            handles.add(client.submit(Job.builder(BuiltinKernel.SAXPY).param("n", 4).param("alpha", 1)
                    .input("x", new float[4]).input("y", new float[4]).maxPrice(MicroUsd.ofMicros(maxMicros))
                    .timeout(timeout).build()));
        }
        long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (handles.stream().anyMatch(h -> h.state().ordinal() < JobState.DISPATCHED.ordinal())
                && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        System.out.println("HELD " + handles.stream().filter(h -> h.state() == JobState.DISPATCHED
                || h.state() == JobState.RUNNING).count());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
