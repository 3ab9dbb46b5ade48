package dev.depin.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.provider.ProviderRejectedException;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.HoldCertificate;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A private network: nodes built with {@code requireHoldCertificates} run a job only with the
 * ledger's certificate for exactly that job, sent by the engine from the hold's answer.
 */
class HoldCertificateAdmissionTest {
    private static final AccountId BUYER = AccountId.of("buyer:acme");
    private static final NodeKeyPair LEDGER_KEY = NodeKeyPair.fromSeed(new byte[32]);

    private static Job job() {
        return Job.builder(BuiltinKernel.SAXPY).param("n", 4).param("alpha", 2).input("x", new float[] {1, 2, 3, 4})
                .input("y", new float[] {1, 1, 1, 1}).maxPrice(MicroUsd.ofMicros(50_000))
                .timeout(Duration.ofSeconds(60)).build();
    }

    private static JdbcLedger ledger() throws Exception {
        JdbcLedger ledger = JdbcLedger.builder().sqlite(Databases.temporaryDirectory("depin-cert").resolve("l.db"))
                .certifyHolds(LEDGER_KEY).open();
        ledger.open(BUYER, AccountKind.BUYER, false).join();
        ledger.apply(new Operation.Mint(OperationKey.of("fund"), BUYER, MicroUsd.ofUsd("1"))).join();
        return ledger;
    }

    @Test
    void ledger_answersAHoldForASpecWithItsCertificate_andRetriesGetTheSame() throws Exception {
        try (JdbcLedger ledger = ledger()) {
            NodeKeyPair node = NodeKeyPair.fromSeed(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32});
            AccountId payee = Escrow.providerAccount(node.nodeId());
            ledger.open(payee, AccountKind.PROVIDER, false).join();
            String spec = job().spec().hash();
            Operation.Hold hold = new Operation.Hold(OperationKey.of("j/1/hold"), BUYER, payee, MicroUsd.ofMicros(10),
                    java.time.Instant.now().plusSeconds(60), Optional.of(spec));
            Applied first = ledger.apply(hold).join();
            HoldCertificate c = first.certificate().orElseThrow();
            c.verify(LEDGER_KEY.publicKey(), node.nodeId(), spec, new Price(MicroUsd.ofMicros(1), MicroUsd.ofMicros(1)),
                    java.time.Instant.now());
            assertEquals(first, ledger.apply(hold).join(), "an identical retry gets the same certificate");
            assertEquals(Optional.of(LEDGER_KEY.publicKey()), ledger.certificateKey());
            // A hold that names no spec gets no certificate.
            Applied plain = ledger.apply(new Operation.Hold(OperationKey.of("j/2/hold"), BUYER, payee,
                    MicroUsd.ofMicros(10), java.time.Instant.now().plusSeconds(60))).join();
            assertEquals(Optional.empty(), plain.certificate());
        }
    }

    @Test
    void privateNode_runsAnEscrowedJob_andRefusesOneWithoutACertificate() throws Exception {
        try (JdbcLedger ledger = ledger();
             ProviderNode node = ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(1))
                     .requireHoldCertificates(LEDGER_KEY.publicKey()).build();
             LocalNetwork net = LocalNetwork.of(List.of(node))) {
            try (DepinClient paying = DepinClient.builder(net)
                    .escrow(Escrow.builder(ledger, BUYER).session("paying").build()).build()) {
                JobResult r = paying.submit(job()).result();
                assertEquals(JobState.SETTLED, r.history().get(r.history().size() - 1).state());
            }
            assertEquals(1, node.completedCount());
            try (DepinClient free = DepinClient.builder(net).maxAttempts(1).build()) {
                JobFailedException e = assertThrows(JobFailedException.class, () -> free.submit(job()).result());
                assertTrue(e.getMessage().contains("runs only jobs whose money is held: send the hold certificate of "
                        + "ledger " + LEDGER_KEY.nodeId().shortId()), e.getMessage());
            }
            assertEquals(1, node.completedCount(), "the unpaid job never ran");
            assertEquals(List.of(), ledger.openHolds());
        }
    }

    @Test
    void privateNode_runsOneAttemptPerCertificate_andRefusesAReplay() throws Exception {
        try (JdbcLedger ledger = ledger();
             ProviderNode node = ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(1))
                     .requireHoldCertificates(LEDGER_KEY.publicKey()).build();
             LocalNetwork net = LocalNetwork.of(List.of(node))) {
            AccountId payee = Escrow.providerAccount(node.nodeId());
            ledger.open(payee, AccountKind.PROVIDER, false).join();
            Job job = job();
            HoldCertificate c = ledger.apply(new Operation.Hold(OperationKey.of("replay/1/hold"), BUYER, payee,
                    MicroUsd.ofMicros(10), java.time.Instant.now().plusSeconds(60), Optional.of(job.spec().hash())))
                    .join().certificate().orElseThrow();
            ExecutionRequest paid = new ExecutionRequest("0123456789abcdef0123456789abcdef", 1, job.spec(),
                    job.inputs(), new byte[32], Optional.of(c));
            assertEquals(Optional.empty(), node.admissionRefusal(paid), "a transport's early check spends nothing");
            net.dispatch(node.offer(), paid, p -> { }).response().get(30, TimeUnit.SECONDS);
            assertEquals(1, node.completedCount());
            // The very same request again, and the certificate under another job id: both refused.
            String spent = "hold certificate replay/1/hold was already spent by job 0123456789abcdef0123456789abcdef "
                    + "attempt 1; a certificate pays for one attempt";
            assertTrue(node.admissionRefusal(paid).orElseThrow().contains(spent), node.admissionRefusal(paid).toString());
            for (ExecutionRequest replay : List.of(paid, new ExecutionRequest("fedcba9876543210fedcba9876543210", 1,
                    job.spec(), job.inputs(), new byte[32], Optional.of(c)))) {
                ExecutionException e = assertThrows(ExecutionException.class,
                        () -> net.dispatch(node.offer(), replay, p -> { }).response().get(30, TimeUnit.SECONDS));
                assertTrue(e.getCause() instanceof ProviderRejectedException, e.toString());
                assertTrue(e.getCause().getMessage().contains(spent), e.getCause().getMessage());
            }
            assertEquals(1, node.completedCount(), "a replayed certificate never ran the job again");
        }
    }

    @Test
    void privateNode_refusesACertificateFromAnotherLedger() throws Exception {
        NodeKeyPair otherLedger = NodeKeyPair.generate();
        try (JdbcLedger ledger = ledger();
             ProviderNode node = ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(1))
                     .requireHoldCertificates(otherLedger.publicKey()).build();
             LocalNetwork net = LocalNetwork.of(List.of(node));
             DepinClient client = DepinClient.builder(net).maxAttempts(1)
                     .escrow(Escrow.builder(ledger, BUYER).session("other").build()).build()) {
            JobFailedException e = assertThrows(JobFailedException.class, () -> client.submit(job()).result());
            assertTrue(e.getMessage().contains("KEY_MISMATCH: hold certificate "), e.getMessage());
            assertEquals(0, node.completedCount());
        }
        // The refused attempt's hold was voided: nothing stays held.
    }

    @Test
    void privateNode_refusesACertificateThatNamesAnotherPrice() throws Exception {
        Price offered = new Price(MicroUsd.ofMicros(300), MicroUsd.ofMicros(20));
        try (JdbcLedger ledger = ledger();
             ProviderNode node = ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(1)).price(offered)
                     .requireHoldCertificates(LEDGER_KEY.publicKey()).build();
             LocalNetwork net = LocalNetwork.of(List.of(node))) {
            AccountId payee = Escrow.providerAccount(node.nodeId());
            ledger.open(payee, AccountKind.PROVIDER, false).join();
            Job job = job();
            // A buyer that holds at a price below the offer's would bound the provider's claim by it.
            HoldCertificate cheap = ledger.apply(new Operation.Hold(OperationKey.of("cheap/1/hold"), BUYER, payee,
                    MicroUsd.ofMicros(10), java.time.Instant.now().plusSeconds(60), Optional.of(job.spec().hash()),
                    Optional.of(new Price(MicroUsd.ofMicros(299), MicroUsd.ofMicros(20))))).join().certificate().orElseThrow();
            ExecutionRequest request = new ExecutionRequest("0123456789abcdef0123456789abcdef", 1, job.spec(),
                    job.inputs(), new byte[32], Optional.of(cheap));
            assertEquals(Optional.of("provider " + node.nodeId().shortId() + " refuses job "
                    + "0123456789abcdef0123456789abcdef: PRICE_MISMATCH: hold certificate cheap/1/hold holds money at "
                    + "price 299/20 micro-USD per device-second/GB, not at this provider's price 300/20 micro-USD per "
                    + "device-second/GB: the buyer's claim bound would not pay it; reject the job"),
                    node.admissionRefusal(request));
            // The engine holds at the offer's own price, which the node admits.
            try (DepinClient paying = DepinClient.builder(net)
                    .escrow(Escrow.builder(ledger, BUYER).session("priced").build()).build()) {
                JobResult r = paying.submit(job).result();
                assertEquals(JobState.SETTLED, r.history().get(r.history().size() - 1).state());
            }
            assertEquals(1, node.completedCount(), "only the job held at the offer's price ran");
            ledger.apply(new Operation.VoidHold(OperationKey.of("cheap/1/void"), OperationKey.of("cheap/1/hold"))).join();
        }
    }
}
