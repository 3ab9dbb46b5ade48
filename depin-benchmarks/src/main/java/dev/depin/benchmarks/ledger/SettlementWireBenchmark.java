package dev.depin.benchmarks.ledger;

import com.google.protobuf.ByteString;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.grpc.internal.LedgerWire;
import dev.depin.grpc.internal.wire.ApplyBatchReply;
import dev.depin.grpc.internal.wire.ApplyBatchRequest;
import dev.depin.grpc.internal.wire.ApplyResult;
import dev.depin.grpc.internal.wire.OperationBatch;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.HoldCertificate;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.Posting;
import dev.depin.settlement.VerifiedRoots;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * The settlement service's encoding work per operation, both ends, in one thread: a call of
 * {@code batch} holds for job specs (certified in one v2 batch) and then a call of their
 * {@code batch} posts, as {@code SettlementServiceBenchmark}'s jobs make them, sent as JSON
 * ({@code ApplyBatch}, what clients sent before the binary form) and in the binary form
 * ({@code ApplyOperations}). Client: encode the request, read the reply (a certificate parsed, or
 * rebuilt from its proof) and check each certificate against the pinned key with one
 * {@link VerifiedRoots} per batch. Service: read the request and its operations, build and
 * encode the reply. The ledger's own work (the writer, the signature) is not in it: this is what
 * the wire form costs. Reports the calling thread's CPU time per operation (so the machine's
 * load moves it less than wall time) and the bytes per operation each way.
 *
 * <pre>
 * java -cp depin-benchmarks/target/benchmarks.jar dev.depin.benchmarks.ledger.SettlementWireBenchmark [batch] [rounds]
 * </pre>
 * (defaults 256 and 400).
 */
public final class SettlementWireBenchmark {
    private static final NodeKeyPair LEDGER = NodeKeyPair.fromSeed(new byte[32]);
    private static final Instant EXPIRES = Instant.parse("2030-01-01T00:00:00.125Z");
    private static final Instant AT = Instant.parse("2029-01-01T00:00:00Z");
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private SettlementWireBenchmark() {
    }

    /** One round's calls: the holds, their answers, the posts and theirs, as the ledger gave them. */
    private record Round(List<Operation> holds, List<Applied> holdsApplied, List<Operation> posts,
                         List<Applied> postsApplied) {
    }

    private static Round round(SplittableRandom r, int n, int k) {
        AccountId provider = Escrow.providerAccount(NodeKeyPair.fromSeed(new byte[] {
                1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
                30, 31, (byte) k}).nodeId());
        List<Operation.Hold> holds = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            byte[] spec = new byte[32];
            r.nextBytes(spec);
            holds.add(new Operation.Hold(OperationKey.of("buyer:b" + r.nextInt(64) + "/job-" + k + "-" + i + "/1/hold"),
                    AccountId.of("buyer:b" + r.nextInt(64)), provider, MicroUsd.ofMicros(1 + r.nextInt(1_000_000)),
                    EXPIRES, Optional.of(Hex.encode(spec)), Optional.of(new Price(MicroUsd.ofMicros(250),
                    MicroUsd.ofMicros(10_000)))));
        }
        List<HoldCertificate> certs = HoldCertificate.issueBatch(holds, LEDGER);
        List<Applied> held = new ArrayList<>(n);
        List<Operation> posts = new ArrayList<>(n);
        List<Applied> posted = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Operation.Hold h = holds.get(i);
            held.add(new Applied(2L * i, h, List.of(new Posting(h.payer(), h.payee(), h.amount(), true)), AT,
                    Optional.of(certs.get(i))));
            Operation.Post p = new Operation.Post(OperationKey.of(h.key().value() + "/post"), h.key(),
                    MicroUsd.ofMicros(h.amount().micros() / 2));
            posts.add(p);
            posted.add(new Applied(2L * i + 1, p, List.of(new Posting(h.payer(), h.payee(), p.amount(), false)), AT,
                    Optional.empty()));
        }
        return new Round(List.copyOf(holds), held, posts, posted);
    }

    private static long bytesSent;
    private static long bytesAnswered;
    private static long sink;

    /** The client's and the service's CPU for one call of {@code ops}, in the chosen form; returns {client, service} ns. */
    private static long[] call(List<Operation> ops, List<Applied> applied, boolean binary, VerifiedRoots roots) {
        long t0 = THREADS.getCurrentThreadCpuTime();
        byte[] request;
        if (binary) {
            OperationBatch.Builder b = OperationBatch.newBuilder();
            ops.forEach(op -> b.addOperations(LedgerWire.wire(op)));
            request = b.build().toByteArray();
        } else {
            ApplyBatchRequest.Builder b = ApplyBatchRequest.newBuilder().setOmitEcho(true);
            ops.forEach(op -> b.addOperationJson(ByteString.copyFrom(op.toJson())));
            request = b.build().toByteArray();
        }
        long t1 = THREADS.getCurrentThreadCpuTime();
        byte[] reply;
        try {
            ApplyBatchReply.Builder out = ApplyBatchReply.newBuilder();
            if (binary) {
                OperationBatch in = OperationBatch.parseFrom(request);
                for (int i = 0; i < in.getOperationsCount(); i++) {
                    sink += LedgerWire.operation(in.getOperations(i)).key().value().length();
                    out.addResults(ApplyResult.newBuilder().setApplied(LedgerWire.appliedBinary(applied.get(i))));
                }
            } else {
                ApplyBatchRequest in = ApplyBatchRequest.parseFrom(request);
                for (int i = 0; i < in.getOperationJsonCount(); i++) {
                    sink += Operation.fromJson(in.getOperationJson(i).toByteArray()).key().value().length();
                    out.addResults(ApplyResult.newBuilder().setApplied(LedgerWire.applied(applied.get(i), false)));
                }
            }
            reply = out.build().toByteArray();
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
        long t2 = THREADS.getCurrentThreadCpuTime();
        try {
            ApplyBatchReply in = ApplyBatchReply.parseFrom(reply);
            HoldCertificate sameBatch = null; // as RemoteSettlement reads an answer: the batch's statement shared
            for (int i = 0; i < ops.size(); i++) {
                Applied a = LedgerWire.applied(in.getResults(i).getApplied(), ops.get(i), LEDGER.nodeId(), sameBatch);
                if (a.certificate().isPresent()) {
                    sameBatch = a.certificate().get();
                    sameBatch.verifyIssuer(LEDGER.publicKey(), roots);
                }
                sink += a.sequence();
            }
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
        long t3 = THREADS.getCurrentThreadCpuTime();
        bytesSent += request.length;
        bytesAnswered += reply.length;
        return new long[] {(t1 - t0) + (t3 - t2), t2 - t1};
    }

    /**
     * Runs both forms, alternating, after a warm-up of the same length.
     *
     * @param args optional: operations per call, rounds
     */
    public static void main(String[] args) {
        int batch = args.length > 0 ? Integer.parseInt(args[0]) : 256;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 400;
        SplittableRandom r = new SplittableRandom(20261207L);
        List<Round> data = new ArrayList<>();
        for (int k = 0; k < 16; k++) {
            data.add(round(r, batch, k));
        }
        System.out.printf(Locale.ROOT, "%d operations per call (holds, then their posts), %d rounds, load average %.2f, %s%n",
                batch, rounds, ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), Runtime.version());
        System.out.println("form       client us/op  service us/op  request B/op  reply B/op");
        for (int pass = 0; pass < 2; pass++) {
            long[][] sum = new long[2][2];
            long[][] bytes = new long[2][2];
            for (int i = 0; i < rounds; i++) {
                for (int form = 0; form < 2; form++) {
                    Round d = data.get(i % data.size());
                    bytesSent = 0;
                    bytesAnswered = 0;
                    VerifiedRoots roots = new VerifiedRoots(16);
                    long[] h = call(d.holds(), d.holdsApplied(), form == 1, roots);
                    long[] p = call(d.posts(), d.postsApplied(), form == 1, roots);
                    sum[form][0] += h[0] + p[0];
                    sum[form][1] += h[1] + p[1];
                    bytes[form][0] += bytesSent;
                    bytes[form][1] += bytesAnswered;
                }
            }
            if (pass == 0) {
                continue; // warm-up
            }
            double ops = 2.0 * batch * rounds;
            for (int form = 0; form < 2; form++) {
                System.out.printf(Locale.ROOT, "%-10s %12.2f %14.2f %13.0f %11.0f%n", form == 1 ? "binary" : "json",
                        sum[form][0] / ops / 1_000, sum[form][1] / ops / 1_000, bytes[form][0] / ops, bytes[form][1] / ops);
            }
        }
        if (sink == 42) {
            System.out.println();
        }
    }
}
