package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.grpc.internal.LedgerWire;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.ApplyRequest;
import dev.depin.grpc.internal.wire.LedgerGrpc;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.SettlementAssertions;
import dev.depin.settlement.SettlementException;
import dev.depin.settlement.SettlementException.Reason;
import dev.depin.settlement.StatementLine;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may do what on the settlement service, and what hostile requests get: each refusal is
 * checked for its exact status or reason and message, and for changing nothing in the ledger
 * behind the service (balances, open holds, statements, audit).
 */
class LedgerServiceAccessTest {
    private static final NodeKeyPair LEDGER_KEY = NodeKeyPair.generate();
    private static final NodeKeyPair OPERATOR = NodeKeyPair.generate();
    private static final NodeKeyPair BUYER_KEY = NodeKeyPair.generate();
    private static final NodeKeyPair OTHER_BUYER_KEY = NodeKeyPair.generate();
    private static final NodeKeyPair PROVIDER_KEY = NodeKeyPair.generate();
    private static final NodeKeyPair STRANGER = NodeKeyPair.generate();
    private static final AccountId BUYER = AccountId.of("buyer:acme");
    private static final AccountId OTHER_BUYER = AccountId.of("buyer:other");
    private static final AccountId PROVIDER = AccountId.of("provider:" + PROVIDER_KEY.nodeId().hex());
    private static final AccountId STAKE = AccountId.of("stake:" + PROVIDER_KEY.nodeId().hex());
    private static final String SPEC = "5e".repeat(32);

    private JdbcLedger jdbc;
    private LedgerServer server;
    private RemoteSettlement operator;
    private RemoteSettlement buyer;
    private RemoteSettlement otherBuyer;
    private RemoteSettlement provider;
    private RemoteSettlement stranger;

    @BeforeEach
    void start(@TempDir Path dir) {
        jdbc = JdbcLedger.builder().sqlite(dir.resolve("ledger.db")).certifyHolds(LEDGER_KEY).open();
        LedgerAccess access = LedgerAccess.builder().operator(OPERATOR.publicKey())
                .grant(Hex.encode(BUYER_KEY.publicKey().raw()) + "=" + BUYER)
                .grant(OTHER_BUYER_KEY.publicKey(), OTHER_BUYER).build();
        server = LedgerServer.builder(jdbc, LEDGER_KEY, access).start();
        operator = client(OPERATOR);
        buyer = client(BUYER_KEY);
        otherBuyer = client(OTHER_BUYER_KEY);
        provider = client(PROVIDER_KEY);
        stranger = client(STRANGER);
        operator.open(BUYER, AccountKind.BUYER, false).join();
        operator.open(OTHER_BUYER, AccountKind.BUYER, false).join();
        operator.open(PROVIDER, AccountKind.PROVIDER, false).join();
        operator.open(STAKE, AccountKind.STAKE, false).join();
        operator.apply(new Operation.Mint(key("fund-acme"), BUYER, usd(100))).join();
        operator.apply(new Operation.Mint(key("fund-other"), OTHER_BUYER, usd(100))).join();
    }

    private RemoteSettlement client(NodeKeyPair key) {
        return RemoteSettlement.builder(key, server.address(), LEDGER_KEY.publicKey()).callTimeout(Duration.ofSeconds(60)).connect();
    }

    @AfterEach
    void stop() {
        for (RemoteSettlement c : List.of(operator, buyer, otherBuyer, provider, stranger)) {
            c.close();
        }
        server.close();
        assertTrue(jdbc.audit().sound(), () -> "audit: " + jdbc.audit().violations());
        assertEquals(0, jdbc.balances().stream().mapToLong(Balance::posted).sum());
        jdbc.close();
    }

    private static OperationKey key(String k) {
        return OperationKey.of(k);
    }

    private static MicroUsd usd(long dollars) {
        return MicroUsd.ofMicros(dollars * 1_000_000);
    }

    private static Instant later() {
        return Instant.now().plus(Duration.ofMinutes(10));
    }

    @Test
    void buyer_holdsPostsAndReadsItsOwn_providerReadsWhatPaysIt() {
        Applied hold = buyer.apply(new Operation.Hold(key("buyer:acme/j1/0/hold"), BUYER, PROVIDER, usd(10), later(),
                Optional.of(SPEC))).join();
        assertTrue(hold.certificate().isPresent(), "a hold for a spec comes with the ledger's certificate");
        hold.certificate().get().verify(LEDGER_KEY.publicKey(), PROVIDER_KEY.nodeId(), SPEC, new dev.depin.money.Price(dev.depin.money.MicroUsd.ofMicros(1), dev.depin.money.MicroUsd.ofMicros(1)), Instant.now());
        assertEquals(List.of(new OpenHold(key("buyer:acme/j1/0/hold"), BUYER, PROVIDER, usd(10),
                hold.operation() instanceof Operation.Hold h ? h.expiresAt() : null)), buyer.openHolds());
        assertEquals(buyer.openHolds(), provider.openHolds(), "the payee sees the hold that pays it");
        assertEquals(List.of(), otherBuyer.openHolds(), "another buyer sees none of it");
        assertEquals(List.of(), stranger.openHolds());
        assertEquals(Optional.of(SPEC), provider.hold(key("buyer:acme/j1/0/hold")).orElseThrow().specHash());

        buyer.apply(new Operation.Post(key("buyer:acme/j1/0/post"), key("buyer:acme/j1/0/hold"), usd(4))).join();
        assertEquals(new Balance(BUYER, AccountKind.BUYER, false, 96_000_000, 0), buyer.balance(BUYER));
        assertEquals(4_000_000, provider.balance(PROVIDER).posted());
        assertEquals(List.of(buyer.balance(BUYER)), buyer.balances(), "a client lists only what it may read");
        assertEquals(List.of(provider.balance(PROVIDER), provider.balance(STAKE)), provider.balances());
        assertEquals(List.of(), stranger.balances());
        List<StatementLine> lines = provider.statement(PROVIDER);
        assertEquals(1, lines.size());
        assertEquals(key("buyer:acme/j1/0/post"), lines.get(0).key());
    }

    @Test
    void otherKeys_mayNotTouchAHoldTheyDoNotActFor() {
        buyer.apply(new Operation.Hold(key("buyer:acme/j2/0/hold"), BUYER, PROVIDER, usd(10), later())).join();
        String other = OTHER_BUYER_KEY.nodeId().shortId();
        String otherHex = Hex.encode(OTHER_BUYER_KEY.publicKey().raw());
        refused(Reason.NOT_PERMITTED, "key " + other + " may not void hold buyer:acme/j2/0/hold, which is not from an "
                        + "account it acts for: ask the service's operator to grant this key the account (depin ledger "
                        + "serve --client " + otherHex + "=ACCOUNT), or use the key that has it",
                () -> otherBuyer.apply(new Operation.VoidHold(key("x/void"), key("buyer:acme/j2/0/hold"))).join());
        refused(Reason.NOT_PERMITTED, "key " + other + " may not post hold buyer:acme/j2/0/hold",
                () -> otherBuyer.apply(new Operation.Post(key("x/post"), key("buyer:acme/j2/0/hold"), usd(10))).join());
        refused(Reason.NOT_PERMITTED, "key " + other + " may not hold from account buyer:acme, which it does not act for",
                () -> otherBuyer.apply(new Operation.Hold(key("x/hold"), BUYER, PROVIDER, usd(1), later())).join());
        refused(Reason.NOT_PERMITTED, "key " + other + " may not read account buyer:acme, which it does not act for",
                () -> otherBuyer.balance(BUYER));
        refused(Reason.NOT_PERMITTED, "key " + other + " may not read account buyer:acme",
                () -> otherBuyer.statement(BUYER));
        refused(Reason.NOT_PERMITTED, "key " + other + " may not read hold buyer:acme/j2/0/hold",
                () -> otherBuyer.hold(key("buyer:acme/j2/0/hold")));
        // The provider is paid by the buyer's post, never by its own hand.
        String p = PROVIDER_KEY.nodeId().shortId();
        refused(Reason.NOT_PERMITTED, "key " + p + " may not post hold buyer:acme/j2/0/hold",
                () -> provider.apply(new Operation.Post(key("p/post"), key("buyer:acme/j2/0/hold"), usd(10))).join());
        refused(Reason.NOT_PERMITTED, "key " + p + " may not hold from account " + PROVIDER,
                () -> provider.apply(new Operation.Hold(key("p/hold"), PROVIDER, BUYER, usd(1), later())).join());
        // Money enters and moves between accounts only by an operator.
        String b = BUYER_KEY.nodeId().shortId();
        // Anyone may open a provider's earnings account (a place to pay), and sees its balance only if it may read it.
        AccountId fresh = AccountId.of("provider:" + NodeKeyPair.generate().nodeId().hex());
        assertEquals(new Balance(fresh, AccountKind.PROVIDER, false, 0, 0),
                buyer.open(fresh, AccountKind.PROVIDER, false).join());
        buyer.apply(new Operation.Hold(key("buyer:acme/j3/0/hold"), BUYER, fresh, usd(2), later())).join();
        buyer.apply(new Operation.Post(key("buyer:acme/j3/0/post"), key("buyer:acme/j3/0/hold"), usd(2))).join();
        assertEquals(new Balance(fresh, AccountKind.PROVIDER, false, 0, 0),
                buyer.open(fresh, AccountKind.PROVIDER, false).join(), "a buyer does not see a provider's earnings");
        assertEquals(provider.balance(PROVIDER), provider.open(PROVIDER, AccountKind.PROVIDER, false).join(),
                "a provider sees its own");
        refused(Reason.NOT_PERMITTED, "key " + b + " may not open account " + fresh.value().replace("provider:", "stake:"),
                () -> buyer.open(AccountId.of(fresh.value().replace("provider:", "stake:")), AccountKind.STAKE, false).join());
        refused(Reason.NOT_PERMITTED, "key " + b + " may not apply a mint: only an operator key mints, transfers and slashes",
                () -> buyer.apply(new Operation.Mint(key("b/mint"), BUYER, usd(1))).join());
        refused(Reason.NOT_PERMITTED, "key " + b + " may not apply a transfer",
                () -> buyer.apply(new Operation.Transfer(key("b/t"), BUYER, PROVIDER, usd(1))).join());
        refused(Reason.NOT_PERMITTED, "key " + b + " may not apply a slash",
                () -> buyer.apply(new Operation.Slash(key("b/s"), STAKE, Optional.of(BUYER), usd(1), MicroUsd.ZERO,
                        "d")).join());
        refused(Reason.NOT_PERMITTED, "key " + b + " may not open account buyer:new: only an operator key opens accounts other than providers'",
                () -> buyer.open(AccountId.of("buyer:new"), AccountKind.BUYER, false).join());
        // An account that does not exist reads as one the key may not read: no oracle of names.
        refused(Reason.NOT_PERMITTED, "key " + b + " may not read account buyer:ghost",
                () -> buyer.balance(AccountId.of("buyer:ghost")));
        // The buyer's own hold is still open and still the buyer's.
        buyer.apply(new Operation.VoidHold(key("buyer:acme/j2/0/void"), key("buyer:acme/j2/0/hold"))).join();
    }

    @Test
    void unknownHoldsAndReusedKeys_areRefusedWithoutShowingAnotherClientsOperation() {
        refused(Reason.UNKNOWN_HOLD, "no hold has key buyer:acme/none/hold: hold first, then post, void or expire it "
                        + "by that key",
                () -> buyer.apply(new Operation.Post(key("buyer:acme/none/post"), key("buyer:acme/none/hold"),
                        usd(1))).join());
        otherBuyer.apply(new Operation.Hold(key("shared-key"), OTHER_BUYER, PROVIDER, usd(3), later())).join();
        refused(Reason.IDEMPOTENCY_CONFLICT, "this key was already used for another operation: use a new key for a "
                        + "different operation",
                () -> buyer.apply(new Operation.Hold(key("shared-key"), BUYER, PROVIDER, usd(5), later())).join());
        // An operator sees the full conflict.
        SettlementException e = refused(Reason.IDEMPOTENCY_CONFLICT, "key shared-key was used for [hold|buyer:other|",
                () -> operator.apply(new Operation.Hold(key("shared-key"), BUYER, PROVIDER, usd(5), later())).join());
        assertTrue(e.getMessage().contains("buyer:other"));
        refused(Reason.UNKNOWN_ACCOUNT, "", () -> buyer.apply(new Operation.Hold(key("buyer:acme/g/hold"), BUYER,
                AccountId.of("provider:ghost"), usd(1), later())).join());
        refused(Reason.INSUFFICIENT_FUNDS, "", () -> buyer.apply(new Operation.Hold(key("buyer:acme/big/hold"), BUYER,
                PROVIDER, usd(101), later())).join());
    }

    @Test
    void malformedAndOversizeRequests_areRefusedWithTheirStatus() throws Exception {
        ManagedChannel raw = NettyChannelBuilder.forTarget(server.address())
                .sslContext(NodeTls.client(NodeTls.identity(OPERATOR), LEDGER_KEY.publicKey())).build();
        try {
            LedgerGrpc.LedgerBlockingStub stub = LedgerGrpc.newBlockingStub(raw).withDeadlineAfter(120, TimeUnit.SECONDS);
            List<Balance> before = jdbc.balances();
            assertStatus(Status.Code.INVALID_ARGUMENT, "operation JSON is not one strict JSON document",
                    () -> stub.apply(apply("{\"op\":\"mint\",\"key\":\"m\"")));
            assertStatus(Status.Code.INVALID_ARGUMENT, "operation JSON names op 'steal': use one of",
                    () -> stub.apply(apply("{\"op\":\"steal\",\"key\":\"m\"}")));
            assertStatus(Status.Code.INVALID_ARGUMENT, "operation JSON of a mint has an unknown field 'extra'",
                    () -> stub.apply(apply("{\"op\":\"mint\",\"key\":\"m\",\"to\":\"buyer:acme\",\"amount\":1,\"extra\":1}")));
            assertStatus(Status.Code.INVALID_ARGUMENT, "operation JSON field 'amount' is -5, below 0",
                    () -> stub.apply(apply("{\"op\":\"mint\",\"key\":\"m\",\"to\":\"buyer:acme\",\"amount\":-5}")));
            assertStatus(Status.Code.INVALID_ARGUMENT, "operation JSON has 5000 bytes, more than the 4096",
                    () -> stub.apply(ApplyRequest.newBuilder().setOperationJson(ByteString.copyFrom(new byte[5000])).build()));
            assertStatus(Status.Code.RESOURCE_EXHAUSTED, "gRPC message exceeds maximum size 65536",
                    () -> stub.apply(ApplyRequest.newBuilder().setOperationJson(ByteString.copyFrom(new byte[100_000])).build()));
            assertStatus(Status.Code.INVALID_ARGUMENT, "account id 'no spaces' is malformed",
                    () -> stub.getBalance(dev.depin.grpc.internal.wire.AccountRequest.newBuilder().setAccount("no spaces").build()));
            assertStatus(Status.Code.INVALID_ARGUMENT, "accounts of kind ISSUER are the ledger's own",
                    () -> stub.open(dev.depin.grpc.internal.wire.OpenAccount.newBuilder().setAccount("x").setKind("ISSUER").build()));
            assertStatus(Status.Code.INVALID_ARGUMENT, "account kind 'ROOT' is none of",
                    () -> stub.open(dev.depin.grpc.internal.wire.OpenAccount.newBuilder().setAccount("x").setKind("ROOT").build()));
            assertEquals(before, jdbc.balances(), "no malformed request changed a balance");
            assertEquals(List.of(), jdbc.openHolds());
        } finally {
            raw.shutdownNow();
            raw.awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static ApplyRequest apply(String json) {
        return ApplyRequest.newBuilder().setOperationJson(ByteString.copyFrom(json, StandardCharsets.UTF_8)).build();
    }

    static void assertStatus(Status.Code code, String prefix, Runnable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::run);
        assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
        String d = String.valueOf(e.getStatus().getDescription());
        assertTrue(d.startsWith(prefix), "expected '" + prefix + "...', got '" + d + "'");
        if (code == Status.Code.INVALID_ARGUMENT) {
            assertEquals(null, e.getTrailers() == null ? null : e.getTrailers().get(LedgerWire.REASON),
                    "a malformed request carries no settlement reason");
        }
    }

    /** The refusal's reason and message, and that nothing in the ledger changed. */
    private SettlementException refused(Reason reason, String prefix, Supplier<?> action) {
        List<Balance> balances = jdbc.balances();
        List<OpenHold> holds = jdbc.openHolds();
        long ops = jdbc.statement(AccountId.ISSUER).size();
        Throwable thrown;
        try {
            action.get();
            throw new AssertionError("expected " + reason + " but it was done");
        } catch (CompletionException e) {
            thrown = e.getCause();
        } catch (RuntimeException e) {
            thrown = e;
        }
        SettlementException s = SettlementAssertions.assertReason(reason, thrown);
        assertTrue(s.getMessage().startsWith(prefix), "expected '" + prefix + "...', got '" + s.getMessage() + "'");
        assertEquals(balances, jdbc.balances(), "a refusal changed a balance");
        assertEquals(holds, jdbc.openHolds(), "a refusal changed the open holds");
        assertEquals(ops, jdbc.statement(AccountId.ISSUER).size());
        return s;
    }
}
