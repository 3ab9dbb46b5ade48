package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.grpc.internal.LedgerWire;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.AppliedReply;
import dev.depin.grpc.internal.wire.ApplyBatchReply;
import dev.depin.grpc.internal.wire.ApplyBatchRequest;
import dev.depin.grpc.internal.wire.HoldOperation;
import dev.depin.grpc.internal.wire.HoldProof;
import dev.depin.grpc.internal.wire.LedgerGrpc;
import dev.depin.grpc.internal.wire.OperationBatch;
import dev.depin.grpc.internal.wire.PostOperation;
import dev.depin.grpc.internal.wire.WireOperation;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.HoldCertificate;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.VerifiedRoots;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operations' binary form ({@code ApplyOperations}): the same operation sent as JSON or in
 * typed fields leaves the identical ledger; a hold proof stands for the very certificate the
 * text would have carried; every malformed field is refused on its own with its reason, and
 * moves no money.
 */
class LedgerServiceBinaryTest {
    private static final long SEED = 20261207L;
    private static final NodeKeyPair LEDGER_KEY = NodeKeyPair.fromSeed(new byte[32]);
    private static final NodeKeyPair BUYER_KEY = NodeKeyPair.generate();
    private static final AccountId BUYER = AccountId.of("buyer:acme");
    private static final NodeKeyPair PROVIDER_KEY = NodeKeyPair.generate();
    private static final AccountId PROVIDER = AccountId.of("provider:" + PROVIDER_KEY.nodeId().hex());
    private static final AccountId OTHER = AccountId.of("provider:" + "ab".repeat(32));
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-07T12:00:00Z"), ZoneOffset.UTC);
    private static final Instant EXPIRES = Instant.parse("2100-01-01T00:00:00.123Z");

    @TempDir
    Path dir;
    private final List<JdbcLedger> ledgers = new ArrayList<>();
    private final List<LedgerServer> servers = new ArrayList<>();
    private final List<ManagedChannel> channels = new ArrayList<>();

    @AfterEach
    void close() throws InterruptedException {
        for (ManagedChannel c : channels) {
            c.shutdownNow();
            c.awaitTermination(5, TimeUnit.SECONDS);
        }
        servers.forEach(LedgerServer::close);
        for (JdbcLedger l : ledgers) {
            assertTrue(l.audit().sound(), () -> "audit: " + l.audit().violations());
            assertEquals(0, l.balances().stream().mapToLong(Balance::posted).sum());
            l.close();
        }
    }

    private JdbcLedger ledger(String name) {
        // one fixed clock: the two ledgers' answers (a refused expiry says when it was refused) compare equal
        JdbcLedger jdbc = JdbcLedger.builder().sqlite(dir.resolve(name + ".db")).clock(CLOCK).expirySweep(Duration.ZERO)
                .certifyHolds(LEDGER_KEY).open();
        ledgers.add(jdbc);
        jdbc.open(BUYER, AccountKind.BUYER, false).join();
        jdbc.open(PROVIDER, AccountKind.PROVIDER, false).join();
        jdbc.open(OTHER, AccountKind.PROVIDER, false).join();
        jdbc.apply(new Operation.Mint(OperationKey.of("fund"), BUYER, MicroUsd.ofMicros(1_000_000_000))).join();
        return jdbc;
    }

    private LedgerGrpc.LedgerBlockingStub stub(JdbcLedger jdbc) {
        LedgerServer server = LedgerServer.builder(jdbc, LEDGER_KEY, LedgerAccess.builder().grant(BUYER_KEY.publicKey(),
                BUYER).build()).listen("127.0.0.1", 0).start();
        servers.add(server);
        ManagedChannel c = NettyChannelBuilder.forTarget(server.address())
                .sslContext(NodeTls.client(NodeTls.identity(BUYER_KEY), LEDGER_KEY.publicKey())).build();
        channels.add(c);
        return LedgerGrpc.newBlockingStub(c).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    private static String hex(SplittableRandom r) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 64; i++) {
            b.append(Character.forDigit(r.nextInt(16), 16));
        }
        return b.toString();
    }

    /** Rounds of holds (with and without a spec and a price), then posts, voids and expiries of some of them. */
    private static List<List<Operation>> rounds(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<List<Operation>> rounds = new ArrayList<>();
        List<Operation.Hold> open = new ArrayList<>();
        for (int round = 0; round < 6; round++) {
            List<Operation> ops = new ArrayList<>();
            int n = 1 + r.nextInt(round == 0 ? 1 : 97);
            for (int i = 0; i < n; i++) {
                int spec = r.nextInt(3);
                Operation.Hold h = new Operation.Hold(OperationKey.of("buyer:acme/r" + round + "/" + i), BUYER,
                        r.nextBoolean() ? PROVIDER : OTHER, MicroUsd.ofMicros(1 + r.nextLong(1_000_000)),
                        EXPIRES.plusMillis(r.nextLong(1_000_000_000L)),
                        spec == 0 ? Optional.empty() : Optional.of(hex(r)),
                        spec == 2 ? Optional.of(new Price(MicroUsd.ofMicros(r.nextLong(Long.MAX_VALUE)),
                                MicroUsd.ofMicros(r.nextLong(1_000)))) : Optional.empty());
                ops.add(h);
            }
            for (Operation.Hold h : open) {
                int end = r.nextInt(4);
                OperationKey key = OperationKey.of(h.key().value() + "/end");
                if (end == 0) {
                    ops.add(new Operation.Post(key, h.key(), MicroUsd.ofMicros(r.nextLong(h.amount().micros() + 1))));
                } else if (end == 1) {
                    ops.add(new Operation.VoidHold(key, h.key()));
                } else if (end == 2) {
                    ops.add(new Operation.Expire(key, h.key())); // refused: not expired yet, in both forms alike
                }
            }
            open.clear();
            ops.stream().filter(o -> o instanceof Operation.Hold).forEach(o -> open.add((Operation.Hold) o));
            rounds.add(ops);
        }
        return rounds;
    }

    @Test
    void theSameOperations_asJsonAndInBinary_leaveTheIdenticalLedger() {
        System.out.println("LedgerServiceBinaryTest seed " + SEED);
        JdbcLedger viaJson = ledger("json");
        JdbcLedger viaBinary = ledger("binary");
        LedgerGrpc.LedgerBlockingStub json = stub(viaJson);
        LedgerGrpc.LedgerBlockingStub binary = stub(viaBinary);
        List<Operation> all = new ArrayList<>();
        for (List<Operation> round : rounds(SEED)) {
            ApplyBatchRequest.Builder j = ApplyBatchRequest.newBuilder().setOmitEcho(true);
            OperationBatch.Builder b = OperationBatch.newBuilder();
            for (Operation op : round) {
                j.addOperationJson(ByteString.copyFrom(op.toJson()));
                b.addOperations(LedgerWire.wire(op));
                assertEquals(op, LedgerWire.operation(LedgerWire.wire(op)), "binary form of " + op);
            }
            ApplyBatchReply fromJson = json.applyBatch(j.build());
            ApplyBatchReply fromBinary = binary.applyOperations(b.build());
            assertEquals(round.size(), fromBinary.getResultsCount());
            for (int i = 0; i < round.size(); i++) {
                Operation op = round.get(i);
                assertEquals(fromJson.getResults(i).hasApplied(), fromBinary.getResults(i).hasApplied(), op.toString());
                if (!fromJson.getResults(i).hasApplied()) {
                    assertEquals(fromJson.getResults(i).getRefused(), fromBinary.getResults(i).getRefused());
                    continue;
                }
                AppliedReply t = fromJson.getResults(i).getApplied();
                AppliedReply p = fromBinary.getResults(i).getApplied();
                assertEquals(t.getSequence(), p.getSequence());
                assertEquals(t.getPostingsList(), p.getPostingsList());
                assertTrue(p.getOperationJson().isEmpty(), "no echo");
                Applied a = LedgerWire.applied(p, op, LEDGER_KEY.nodeId());
                assertEquals(t.getHoldCertificate().isEmpty(), a.certificate().isEmpty(), op.toString());
                assertEquals(!t.getHoldCertificate().isEmpty(), p.hasHoldProof(), "a v2 certificate comes as its proof");
                a.certificate().ifPresent(c -> {
                    HoldCertificate text = LedgerWire.applied(t, op).certificate().orElseThrow();
                    // the same hold's fields (each ledger batched and signed its holds as its certifier was free)
                    assertEquals(List.of(text.ledger(), text.hold(), text.buyer(), text.payee(), text.amount(),
                            text.specHash(), text.expiresAt(), text.price()), List.of(c.ledger(), c.hold(), c.buyer(),
                            c.payee(), c.amount(), c.specHash(), c.expiresAt(), c.price()));
                    assertEquals(c, HoldCertificate.parse(c.toBytes()), "the rebuilt certificate reads back as itself");
                    c.verifyIssuer(LEDGER_KEY.publicKey(), new VerifiedRoots(16));
                });
                all.add(op);
            }
        }
        assertTrue(all.size() > 100, "applied " + all.size());
        assertEquals(viaJson.balances(), viaBinary.balances());
        assertEquals(viaJson.openHolds(), viaBinary.openHolds());
        for (AccountId a : List.of(BUYER, PROVIDER, OTHER)) {
            assertEquals(viaJson.statement(a), viaBinary.statement(a));
        }
        for (Operation op : all) {
            OperationKey hold = op instanceof Operation.Hold h ? h.key() : null;
            if (hold != null) {
                assertEquals(viaJson.hold(hold).orElseThrow(), viaBinary.hold(hold).orElseThrow());
            }
        }
    }

    @Test
    void aHoldProof_isTheCertificate_andAForgedOneFailsItsCheck() {
        JdbcLedger jdbc = ledger("proof");
        LedgerGrpc.LedgerBlockingStub stub = stub(jdbc);
        Price price = new Price(MicroUsd.ofMicros(7), MicroUsd.ofMicros(3));
        Operation.Hold h = new Operation.Hold(OperationKey.of("buyer:acme/p/hold"), BUYER, PROVIDER,
                MicroUsd.ofMicros(5_000), EXPIRES, Optional.of("5e".repeat(32)), Optional.of(price));
        AppliedReply reply = stub.applyOperations(OperationBatch.newBuilder().addOperations(LedgerWire.wire(h)).build())
                .getResults(0).getApplied();
        HoldProof proof = reply.getHoldProof();
        assertEquals(0, proof.getLeaf());
        assertEquals(32, proof.getRoot().size());
        assertEquals(64, proof.getSignature().size());
        HoldCertificate c = LedgerWire.applied(reply, h, LEDGER_KEY.nodeId()).certificate().orElseThrow();
        c.verify(LEDGER_KEY.publicKey(), PROVIDER_KEY.nodeId(), "5e".repeat(32), price, CLOCK.instant());
        // What the provider and the offline tools get is the certificate's usual text.
        assertEquals(c, HoldCertificate.parse(c.toBytes()));
        assertTrue(new String(c.toBytes(), java.nio.charset.StandardCharsets.US_ASCII)
                .startsWith("depin-hold-certificate v2\nledger " + LEDGER_KEY.nodeId().hex() + "\nhold buyer:acme/p/hold\n"));

        // A proof rebuilt with another amount than the ledger held does not pass the issuer's check.
        Operation.Hold more = new Operation.Hold(h.key(), BUYER, PROVIDER, MicroUsd.ofMicros(5_001), EXPIRES,
                h.specHash(), h.price());
        HoldCertificate forged = LedgerWire.applied(reply, more, LEDGER_KEY.nodeId()).certificate().orElseThrow();
        assertThrows(dev.depin.DepinException.class, () -> forged.verifyIssuer(LEDGER_KEY.publicKey(), null));

        // Malformed proofs are refused as such, naming what is wrong.
        String[][] cases = {
                {"path", "a hold proof's audit path of 31 bytes is not 0 to 10 hashes of 32 bytes"},
                {"root", "the hold certificate is malformed: MALFORMED_STATEMENT: malformed hold certificate: the root is 31 bytes, not 32; reject it"},
                {"signature", "the hold certificate is malformed: MALFORMED_STATEMENT: malformed hold certificate: the signature is 63 bytes, not 64; reject it"},
                {"size", "the hold certificate is malformed: MALFORMED_STATEMENT: malformed hold certificate: a batch of 4294967295 holds is outside 1..1024; reject it"},
                {"leaf", "the hold certificate is malformed: MALFORMED_STATEMENT: malformed hold certificate: leaf index 1 is not within the batch of 1 holds; reject it"},
                {"both", "an answer carries both a hold certificate and a hold proof: one of them"},
        };
        ByteString b31 = ByteString.copyFrom(new byte[31]);
        for (String[] k : cases) {
            AppliedReply.Builder bad = reply.toBuilder();
            HoldProof.Builder pb = proof.toBuilder();
            switch (k[0]) {
                case "path" -> pb.setPath(b31);
                case "root" -> pb.setRoot(b31);
                case "signature" -> pb.setSignature(ByteString.copyFrom(new byte[63]));
                case "size" -> pb.setSize(-1);
                case "leaf" -> pb.setLeaf(1);
                default -> bad.setHoldCertificate(ByteString.copyFrom(c.toBytes()));
            }
            AppliedReply m = bad.setHoldProof(pb).build();
            dev.depin.InvalidArgumentException e = assertThrows(dev.depin.InvalidArgumentException.class,
                    () -> LedgerWire.applied(m, h, LEDGER_KEY.nodeId()), k[0]);
            assertEquals(k[1], e.getMessage(), k[0]);
        }
        Operation.Post post = new Operation.Post(OperationKey.of("buyer:acme/p/post"), h.key(), MicroUsd.ofMicros(1));
        dev.depin.InvalidArgumentException e = assertThrows(dev.depin.InvalidArgumentException.class,
                () -> LedgerWire.applied(reply, post, LEDGER_KEY.nodeId()));
        assertEquals("a hold proof answers operation buyer:acme/p/post, which is not a hold for a job spec sent with its "
                + "binary form", e.getMessage());
        stub.applyOperations(OperationBatch.newBuilder().addOperations(LedgerWire.wire(new Operation.VoidHold(
                OperationKey.of("buyer:acme/p/void"), h.key()))).build());
    }

    @Test
    void malformedBinaryOperations_areEachRefusedWithTheirReason_andMoveNoMoney() {
        JdbcLedger jdbc = ledger("hostile");
        LedgerGrpc.LedgerBlockingStub stub = stub(jdbc);
        List<Balance> before = jdbc.balances();
        HoldOperation good = LedgerWire.wire(new Operation.Hold(OperationKey.of("buyer:acme/h/ok"), BUYER, PROVIDER,
                MicroUsd.ofMicros(10), EXPIRES, Optional.of("5e".repeat(32)))).getHold();
        List<WireOperation> bad = List.of(
                WireOperation.newBuilder().setKey("buyer:acme/h/none").build(),
                WireOperation.newBuilder().setKey("buyer:acme/h/" + "x".repeat(4_100)).setVoidHold(
                        dev.depin.grpc.internal.wire.ResolveOperation.newBuilder().setHold("buyer:acme/h/ok")).build(),
                WireOperation.newBuilder().setKey("buyer:acme/h/spec").setHold(good.toBuilder()
                        .setSpecHash(ByteString.copyFrom(new byte[31]))).build(),
                WireOperation.newBuilder().setKey("buyer:acme/h/huge").setHold(good.toBuilder().setAmount(-1)).build(),
                WireOperation.newBuilder().setKey("buyer:acme/h/zero").setHold(good.toBuilder().setAmount(0)).build(),
                WireOperation.newBuilder().setKey("buyer:acme/h/self").setHold(good.toBuilder().setPayee("buyer:acme")).build(),
                WireOperation.newBuilder().setKey("buyer:acme/h/acct").setHold(good.toBuilder().setPayee("provider:a b")).build(),
                WireOperation.newBuilder().setKey("buyer:acme/h/price").setHold(good.toBuilder().clearSpecHash()
                        .setPrice(dev.depin.grpc.internal.wire.HoldPrice.newBuilder().setPerDeviceSecond(1))).build(),
                WireOperation.newBuilder().setKey("buyer:acme/h/post").setPost(PostOperation.newBuilder()
                        .setHold("buyer:acme/h/post").setAmount(1)).build(),
                WireOperation.newBuilder().setKey("").setPost(PostOperation.newBuilder().setHold("buyer:acme/x")).build(),
                WireOperation.newBuilder().setKey("buyer:acme/h/json").setJson(ByteString.copyFromUtf8("{}")).build(),
                WireOperation.newBuilder().setJson(ByteString.copyFromUtf8("{\"op\":\"hold\"")).build(),
                WireOperation.newBuilder().setKey("buyer:acme/h/other").setHold(good.toBuilder().setPayer("buyer:other")).build());
        String[] messages = {
                "operation 'buyer:acme/h/none' names no kind: send a hold, post, void_hold, expire or json",
                "an operation of 4135 bytes: at most 4096 bytes each",
                "hold buyer:acme/h/spec: a spec hash of 31 bytes; send the job spec's SHA-256 (32 bytes) or none",
                "hold amount 18446744073709551615 is beyond the range of micro-USD (at most 9223372036854775807)",
                "hold amount is zero: move at least 1 micro-USD",
                "debit and credit are both buyer:acme: name two accounts",
                "account id 'provider:a b' is malformed: use 1 to 128 characters from A-Z a-z 0-9 : . _ -",
                "hold buyer:acme/h/price names a price but no job spec: a price bounds the claim of one job, give the hold "
                        + "its spec hash too",
                "key buyer:acme/h/post is the hold's own key: resolve it under a key of its own",
                null,
                "an operation in JSON carries its key in the JSON: leave the key field empty",
                null,
                null,
        };
        ApplyBatchReply reply = stub.applyOperations(OperationBatch.newBuilder().addAllOperations(bad)
                .addOperations(WireOperation.newBuilder().setKey("buyer:acme/h/ok").setHold(good)).build());
        assertEquals(bad.size() + 1, reply.getResultsCount());
        for (int i = 0; i < bad.size(); i++) {
            assertTrue(reply.getResults(i).hasRefused(), i + ": " + reply.getResults(i));
            int code = reply.getResults(i).getRefused().getCode();
            String message = reply.getResults(i).getRefused().getMessage();
            if (i == bad.size() - 1) {
                assertEquals(Status.Code.PERMISSION_DENIED.value(), code, message);
                continue;
            }
            assertEquals(Status.Code.INVALID_ARGUMENT.value(), code, i + ": " + message);
            if (messages[i] != null) {
                assertEquals(messages[i], message, "operation " + i);
            } else {
                assertTrue(!message.isEmpty(), "operation " + i + " says why");
            }
        }
        assertTrue(reply.getResults(bad.size()).hasApplied(), "the good hold beside them applies");
        assertEquals(10, jdbc.balance(BUYER).held());
        assertEquals(before.stream().map(b -> b.account() + " " + b.posted()).toList(),
                jdbc.balances().stream().map(b -> b.account() + " " + b.posted()).toList(), "nothing posted");

        StatusRuntimeException none = assertThrows(StatusRuntimeException.class,
                () -> stub.applyOperations(OperationBatch.getDefaultInstance()));
        assertEquals(Status.Code.INVALID_ARGUMENT, none.getStatus().getCode());
        assertEquals("a batch of 0 operations: send 1 to 1024 in one ApplyOperations", none.getStatus().getDescription());
        OperationBatch.Builder many = OperationBatch.newBuilder();
        for (int i = 0; i < 1_025; i++) {
            many.addOperations(WireOperation.newBuilder().setKey("k" + i));
        }
        StatusRuntimeException tooMany = assertThrows(StatusRuntimeException.class, () -> stub.applyOperations(many.build()));
        assertEquals("a batch of 1025 operations: send 1 to 1024 in one ApplyOperations", tooMany.getStatus().getDescription());
        stub.applyOperations(OperationBatch.newBuilder().addOperations(LedgerWire.wire(new Operation.VoidHold(
                OperationKey.of("buyer:acme/h/void"), OperationKey.of("buyer:acme/h/ok")))).build());
        assertEquals(0, jdbc.balance(BUYER).held());
    }
}
