package dev.depin.grpc.internal;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.depin.crypto.Hex;
import dev.depin.crypto.InclusionProof;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.Sha256;
import dev.depin.InvalidArgumentException;
import dev.depin.grpc.internal.wire.AccountBalance;
import dev.depin.grpc.internal.wire.AppliedReply;
import dev.depin.grpc.internal.wire.HoldClaim;
import dev.depin.grpc.internal.wire.HoldEntry;
import dev.depin.grpc.internal.wire.HoldOperation;
import dev.depin.grpc.internal.wire.HoldProof;
import dev.depin.grpc.internal.wire.Leg;
import dev.depin.grpc.internal.wire.PostOperation;
import dev.depin.grpc.internal.wire.ResolveOperation;
import dev.depin.grpc.internal.wire.StatementEntry;
import dev.depin.grpc.internal.wire.WireOperation;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.HoldCertificate;
import dev.depin.settlement.HoldRecord;
import dev.depin.settlement.LedgerFailureException;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.Posting;
import dev.depin.settlement.SettlementException;
import dev.depin.settlement.StatementLine;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The settlement service's messages and statuses, both ways: values to protobuf and back, and a
 * {@link SettlementException}'s reason carried in the trailer {@value #REASON_HEADER} so that the
 * client rebuilds the same refusal.
 */
public final class LedgerWire {
    /** The trailer that carries a refusal's {@link SettlementException.Reason} name. */
    public static final String REASON_HEADER = "depin-settlement-reason";
    /** Its key. */
    public static final Metadata.Key<String> REASON = Metadata.Key.of(REASON_HEADER, Metadata.ASCII_STRING_MARSHALLER);
    /**
     * Items per page of a listing (balances, statement lines, holds): a page is what the service
     * may queue for a reader beyond {@link AnswerStream#QUEUED_BYTES}, so it is kept to tens of
     * KiB (a client takes pages of any size: the page size is the service's alone).
     */
    public static final int PAGE = 100;

    private LedgerWire() {
    }

    /**
     * The status a failure of the ledger (or of a check before it) is answered with.
     *
     * @param failure the failure, possibly wrapped
     * @return the status exception, with the reason trailer for a settlement refusal
     */
    public static StatusRuntimeException toStatus(Throwable failure) {
        Throwable t = Wire.unwrap(failure);
        if (t instanceof StatusRuntimeException s) {
            return s;
        }
        if (t instanceof SettlementException s) {
            Status code = switch (s.reason()) {
                case LEDGER_FAILURE -> Status.UNAVAILABLE;
                case UNKNOWN_ACCOUNT, UNKNOWN_HOLD -> Status.NOT_FOUND;
                case NOT_PERMITTED -> Status.PERMISSION_DENIED;
                default -> Status.FAILED_PRECONDITION;
            };
            Metadata trailers = new Metadata();
            trailers.put(REASON, s.reason().name());
            return code.withDescription(s.getMessage()).asRuntimeException(trailers);
        }
        if (t instanceof java.util.concurrent.TimeoutException) {
            return Status.UNAVAILABLE.withDescription("the ledger did not answer in time; the operation may still "
                    + "apply: retry it with the same key").asRuntimeException();
        }
        if (t instanceof InvalidArgumentException) {
            return Status.INVALID_ARGUMENT.withDescription(t.getMessage()).asRuntimeException();
        }
        return Status.INTERNAL.withDescription("the settlement service failed (a bug): " + t).asRuntimeException();
    }

    /**
     * @param reason the reason
     * @param message what was wrong and what to do
     * @return a refusal as a status with the reason trailer
     */
    public static StatusRuntimeException refusal(SettlementException.Reason reason, String message) {
        return toStatus(new SettlementException(reason, message));
    }

    /**
     * The exception a client sees for a final status (after any retries).
     *
     * @param e       the status exception
     * @param address the service's address, for the message
     * @return a {@link SettlementException} with the trailer's reason, a
     *         {@link LedgerFailureException} for an unavailable or failed service, or an
     *         {@link InvalidArgumentException} for a request the service found malformed
     */
    public static RuntimeException fromStatus(StatusRuntimeException e, String address) {
        Status s = Wire.readable(e.getStatus());
        Metadata trailers = e.getTrailers();
        String reason = trailers == null ? null : trailers.get(REASON);
        String description = s.getDescription() == null ? s.getCode().toString() : s.getDescription();
        if (reason != null) {
            SettlementException.Reason r;
            try {
                r = SettlementException.Reason.valueOf(reason);
            } catch (IllegalArgumentException unknown) {
                r = null;
            }
            if (r == SettlementException.Reason.LEDGER_FAILURE) {
                return new LedgerFailureException("settlement service " + address + ": " + description, e);
            }
            if (r != null) {
                return new SettlementException(r, description, e);
            }
        }
        return switch (s.getCode()) {
            case INVALID_ARGUMENT -> new InvalidArgumentException("settlement service " + address + " refused the request as "
                    + "malformed: " + description);
            case PERMISSION_DENIED, UNAUTHENTICATED -> new SettlementException(SettlementException.Reason.NOT_PERMITTED,
                    "settlement service " + address + ": " + description, e);
            default -> new LedgerFailureException("settlement service " + address + " failed the request ("
                    + Wire.describe(s) + "); nothing was judged: retrying with the same key is safe", e);
        };
    }

    // ---- values ---------------------------------------------------------------------

    static AccountBalance balance(Balance b) {
        return AccountBalance.newBuilder().setAccount(b.account().value()).setKind(b.kind().name())
                .setAllowCredit(b.allowCredit()).setPosted(b.posted()).setHeld(b.held()).build();
    }

    /**
     * @param m a balance as received
     * @return the balance
     * @throws InvalidArgumentException if a field is malformed
     */
    public static Balance balance(AccountBalance m) {
        return new Balance(AccountId.of(m.getAccount()), kind(m.getKind()), m.getAllowCredit(), m.getPosted(), m.getHeld());
    }

    /**
     * @param name an account kind's name
     * @return the kind
     * @throws InvalidArgumentException if it names none
     */
    public static AccountKind kind(String name) {
        try {
            return AccountKind.valueOf(name);
        } catch (IllegalArgumentException e) {
            throw new InvalidArgumentException("account kind '" + (name.length() > 40 ? name.substring(0, 40) + "..." : name)
                    + "' is none of " + java.util.Arrays.toString(AccountKind.values()));
        }
    }

    static AppliedReply applied(Applied a) {
        return applied(a, true);
    }

    /** @param echo whether the reply carries the operation's JSON (a request with omit_echo does not want it) */
    public static AppliedReply applied(Applied a, boolean echo) {
        AppliedReply.Builder b = AppliedReply.newBuilder().setSequence(a.sequence()).setAtEpochMillis(a.at().toEpochMilli());
        if (echo) {
            b.setOperationJson(ByteString.copyFrom(a.operation().toJson()));
        }
        for (Posting p : a.postings()) {
            b.addPostings(Leg.newBuilder().setDebit(p.debit().value()).setCredit(p.credit().value())
                    .setAmount(p.amount().micros()).setPending(p.pending()));
        }
        // toBytes() is a new array no one else holds: wrapped, not copied again
        a.certificate().ifPresent(c -> b.setHoldCertificate(UnsafeByteOperations.unsafeWrap(c.toBytes())));
        return b.build();
    }

    /**
     * An answer to ApplyOperations: no echo (the caller keeps what it sent), and a v2 certificate
     * as its {@link HoldProof} (the caller has the hold's fields) rather than its text, so that
     * neither end writes or reads the certificate's hex; a v1 certificate as its text.
     */
    public static AppliedReply appliedBinary(Applied a) {
        AppliedReply.Builder b = AppliedReply.newBuilder().setSequence(a.sequence()).setAtEpochMillis(a.at().toEpochMilli());
        for (Posting p : a.postings()) {
            b.addPostings(Leg.newBuilder().setDebit(p.debit().value()).setCredit(p.credit().value())
                    .setAmount(p.amount().micros()).setPending(p.pending()));
        }
        a.certificate().ifPresent(c -> {
            if (c.batch().isEmpty()) {
                b.setHoldCertificate(UnsafeByteOperations.unsafeWrap(c.toBytes()));
                return;
            }
            InclusionProof p = c.batch().get();
            List<byte[]> path = p.path();
            byte[] joined = new byte[path.size() * Sha256.LENGTH];
            for (int i = 0; i < path.size(); i++) {
                System.arraycopy(path.get(i), 0, joined, i * Sha256.LENGTH, Sha256.LENGTH);
            }
            b.setHoldProof(HoldProof.newBuilder().setLeaf(p.leafIndex()).setSize(p.leafCount())
                    .setPath(UnsafeByteOperations.unsafeWrap(joined))
                    .setRoot(UnsafeByteOperations.unsafeWrap(c.batchRoot()))
                    .setSignature(UnsafeByteOperations.unsafeWrap(c.envelope().signatures().get(0).sig())));
        });
        return b.build();
    }

    /**
     * An operation in its binary form, as ApplyOperations carries it: a hold, post, void or expiry
     * in typed fields, any other kind as its JSON.
     *
     * @param op the operation
     * @return its wire form
     */
    public static WireOperation wire(Operation op) {
        WireOperation.Builder b = WireOperation.newBuilder();
        if (op instanceof Operation.Hold h) {
            HoldOperation.Builder hb = HoldOperation.newBuilder().setPayer(h.payer().value()).setPayee(h.payee().value())
                    .setAmount(h.amount().micros()).setExpiresEpochMillis(h.expiresAt().toEpochMilli());
            h.specHash().ifPresent(spec -> hb.setSpecHash(UnsafeByteOperations.unsafeWrap(
                    Hex.decode(spec))));
            h.price().ifPresent(p -> hb.setPrice(dev.depin.grpc.internal.wire.HoldPrice.newBuilder()
                    .setPerDeviceSecond(p.perDeviceSecond().micros()).setPerGigabyte(p.perGigabyte().micros())));
            return b.setKey(h.key().value()).setHold(hb).build();
        }
        if (op instanceof Operation.Post p) {
            return b.setKey(p.key().value()).setPost(PostOperation.newBuilder().setHold(p.hold().value())
                    .setAmount(p.amount().micros())).build();
        }
        if (op instanceof Operation.VoidHold v) {
            return b.setKey(v.key().value()).setVoidHold(ResolveOperation.newBuilder().setHold(v.hold().value())).build();
        }
        if (op instanceof Operation.Expire e) {
            return b.setKey(e.key().value()).setExpire(ResolveOperation.newBuilder().setHold(e.hold().value())).build();
        }
        return b.setJson(UnsafeByteOperations.unsafeWrap(op.toJson())).build();
    }

    /**
     * Reads an operation's binary form strictly, without a JSON reader for the typed kinds: at
     * most {@link Operation#MAX_JSON_BYTES} encoded, every field then checked as the operation's
     * own constructor checks it.
     *
     * @param m the operation as received
     * @return the operation
     * @throws InvalidArgumentException if it is too large, names no kind, or a field is malformed
     */
    public static Operation operation(WireOperation m) {
        int size = m.getSerializedSize();
        if (size > Operation.MAX_JSON_BYTES) {
            throw new InvalidArgumentException("an operation of " + size + " bytes: at most " + Operation.MAX_JSON_BYTES
                    + " bytes each");
        }
        WireOperation.KindCase kind = m.getKindCase();
        if (kind == WireOperation.KindCase.JSON) {
            if (!m.getKey().isEmpty()) {
                throw new InvalidArgumentException("an operation in JSON carries its key in the JSON: leave the key "
                        + "field empty");
            }
            return Operation.fromJson(m.getJson().toByteArray());
        }
        if (kind == WireOperation.KindCase.KIND_NOT_SET) {
            throw new InvalidArgumentException("operation '" + abbreviate(m.getKey()) + "' names no kind: send a hold, "
                    + "post, void_hold, expire or json");
        }
        OperationKey key = OperationKey.of(m.getKey());
        return switch (kind) {
            case HOLD -> {
                HoldOperation h = m.getHold();
                Optional<String> spec = Optional.empty();
                if (!h.getSpecHash().isEmpty()) {
                    if (h.getSpecHash().size() != Sha256.LENGTH) {
                        throw new InvalidArgumentException("hold " + key + ": a spec hash of " + h.getSpecHash().size()
                                + " bytes; send the job spec's SHA-256 (32 bytes) or none");
                    }
                    spec = Optional.of(Hex.encode(h.getSpecHash().toByteArray()));
                }
                yield new Operation.Hold(key, AccountId.of(h.getPayer()), AccountId.of(h.getPayee()),
                        micros(h.getAmount(), "hold amount"), Instant.ofEpochMilli(h.getExpiresEpochMillis()), spec,
                        h.hasPrice() ? Optional.of(price(h.getPrice())) : Optional.empty());
            }
            case POST -> new Operation.Post(key, OperationKey.of(m.getPost().getHold()),
                    micros(m.getPost().getAmount(), "post amount"));
            case VOID_HOLD -> new Operation.VoidHold(key, OperationKey.of(m.getVoidHold().getHold()));
            case EXPIRE -> new Operation.Expire(key, OperationKey.of(m.getExpire().getHold()));
            default -> throw new InvalidArgumentException("operation " + key + " is of an unknown kind " + kind);
        };
    }

    private static MicroUsd micros(long amount, String what) {
        if (amount < 0) {
            throw new InvalidArgumentException(what + " " + Long.toUnsignedString(amount)
                    + " is beyond the range of micro-USD (at most " + Long.MAX_VALUE + ")");
        }
        return MicroUsd.ofMicros(amount);
    }

    private static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }

    /**
     * @param m an applied operation as received
     * @return the value
     * @throws InvalidArgumentException if a field is malformed (a certificate that does not
     *                                  parse included)
     */
    public static Applied applied(AppliedReply m) {
        return applied(m, null);
    }

    /**
     * @param m    an applied operation as received
     * @param sent the operation the request carried, taken when the reply omits its echo; null
     *             to require the echo
     * @return the value
     * @throws InvalidArgumentException if a field is malformed (a certificate that does not
     *                                  parse included), or the echo is missing where it is required
     */
    public static Applied applied(AppliedReply m, Operation sent) {
        return applied(m, sent, null);
    }

    /**
     * @param m      an applied operation as received
     * @param sent   the operation the request carried, taken when the reply omits its echo; null
     *               to require the echo
     * @param ledger the ledger key's id, which a {@link HoldProof} is rebuilt under into the
     *               certificate it stands for; null where the answer may carry none
     * @return the value
     * @throws InvalidArgumentException if a field is malformed (a certificate that does not parse
     *                                  included), the echo is missing where it is required, or a
     *                                  hold proof answers anything but the hold sent
     */
    public static Applied applied(AppliedReply m, Operation sent, NodeId ledger) {
        return applied(m, sent, ledger, null);
    }

    /**
     * {@link #applied(AppliedReply, Operation, NodeId)}, a hold proof rebuilt sharing the signed
     * batch statement of {@code sameBatch} where it names the same batch ({@link
     * HoldCertificate#fromProof(Operation.Hold, NodeId, int, int, List, byte[], byte[], HoldCertificate)}).
     *
     * @param m         an applied operation as received
     * @param sent      the operation the request carried, taken when the reply omits its echo;
     *                  null to require the echo
     * @param ledger    the ledger key's id, which a {@link HoldProof} is rebuilt under; null
     *                  where the answer may carry none
     * @param sameBatch the certificate rebuilt from the answer before, or null
     * @return the value
     * @throws InvalidArgumentException as {@link #applied(AppliedReply, Operation, NodeId)}
     */
    public static Applied applied(AppliedReply m, Operation sent, NodeId ledger, HoldCertificate sameBatch) {
        Operation op = m.getOperationJson().isEmpty() && sent != null ? sent
                : Operation.fromJson(m.getOperationJson().toByteArray());
        List<Posting> legs = new ArrayList<>(m.getPostingsCount());
        for (Leg l : m.getPostingsList()) {
            if (l.getAmount() < 0) {
                throw new InvalidArgumentException("a leg's amount " + Long.toUnsignedString(l.getAmount())
                        + " is beyond the range of micro-USD");
            }
            legs.add(new Posting(AccountId.of(l.getDebit()), AccountId.of(l.getCredit()), MicroUsd.ofMicros(l.getAmount()),
                    l.getPending()));
        }
        Optional<HoldCertificate> cert;
        try {
            if (m.hasHoldProof()) {
                cert = Optional.of(proven(m, op, ledger, sameBatch));
            } else {
                cert = m.getHoldCertificate().isEmpty() ? Optional.empty()
                        : Optional.of(HoldCertificate.parse(m.getHoldCertificate().toByteArray()));
            }
        } catch (dev.depin.crypto.VerificationException e) {
            throw new InvalidArgumentException("the hold certificate is malformed: " + e.getMessage());
        }
        return new Applied(m.getSequence(), op, legs, Instant.ofEpochMilli(m.getAtEpochMillis()), cert);
    }

    /** The certificate a hold proof stands for, rebuilt from the hold sent: checked against the signature later. */
    private static HoldCertificate proven(AppliedReply m, Operation op, NodeId ledger, HoldCertificate sameBatch) {
        if (!m.getHoldCertificate().isEmpty()) {
            throw new InvalidArgumentException("an answer carries both a hold certificate and a hold proof: one of them");
        }
        if (!(op instanceof Operation.Hold h) || h.specHash().isEmpty() || ledger == null) {
            throw new InvalidArgumentException("a hold proof answers operation " + op.key()
                    + ", which is not a hold for a job spec sent with its binary form");
        }
        HoldProof p = m.getHoldProof();
        int n = p.getPath().size();
        if (n % Sha256.LENGTH != 0 || n / Sha256.LENGTH > HoldCertificate.MAX_PATH) {
            throw new InvalidArgumentException("a hold proof's audit path of " + n + " bytes is not 0 to "
                    + HoldCertificate.MAX_PATH + " hashes of " + Sha256.LENGTH + " bytes");
        }
        List<byte[]> path = new ArrayList<>(n / Sha256.LENGTH);
        for (int at = 0; at < n; at += Sha256.LENGTH) {
            path.add(p.getPath().substring(at, at + Sha256.LENGTH).toByteArray());
        }
        return HoldCertificate.fromProof(h, ledger, p.getLeaf(), p.getSize(), path, p.getRoot().toByteArray(),
                p.getSignature().toByteArray(), sameBatch);
    }

    static StatementEntry line(StatementLine l) {
        return StatementEntry.newBuilder().setSequence(l.sequence()).setKey(l.key().value())
                .setCounterparty(l.counterparty().value()).setChange(l.change()).setBalanceAfter(l.balanceAfter())
                .setAtEpochMillis(l.at().toEpochMilli()).build();
    }

    /**
     * @param m a statement line as received
     * @return the value
     * @throws InvalidArgumentException if a field is malformed
     */
    public static StatementLine line(StatementEntry m) {
        return new StatementLine(m.getSequence(), OperationKey.of(m.getKey()), AccountId.of(m.getCounterparty()),
                m.getChange(), m.getBalanceAfter(), Instant.ofEpochMilli(m.getAtEpochMillis()));
    }

    static HoldEntry hold(OpenHold h) {
        return HoldEntry.newBuilder().setKey(h.key().value()).setPayer(h.payer().value()).setPayee(h.payee().value())
                .setAmount(h.amount().micros()).setExpiresEpochMillis(h.expiresAt().toEpochMilli())
                .setState(HoldRecord.State.OPEN.name()).build();
    }

    static HoldEntry hold(HoldRecord h) {
        HoldEntry.Builder b = HoldEntry.newBuilder().setKey(h.key().value()).setPayer(h.payer().value())
                .setPayee(h.payee().value()).setAmount(h.amount().micros())
                .setExpiresEpochMillis(h.expiresAt().toEpochMilli()).setState(h.state().name());
        h.specHash().ifPresent(b::setSpecHash);
        h.price().ifPresent(p -> b.setPrice(dev.depin.grpc.internal.wire.HoldPrice.newBuilder()
                .setPerDeviceSecond(p.perDeviceSecond().micros()).setPerGigabyte(p.perGigabyte().micros())));
        h.resolvedBy().ifPresent(k -> b.setResolvedBy(k.value()));
        h.claim().ifPresent(c -> {
            HoldClaim.Builder cb = HoldClaim.newBuilder().setKey(c.key().value()).setAmount(c.amount().micros())
                    .setEvidence(c.evidence()).setFiledEpochMillis(c.filedAt().toEpochMilli())
                    .setWindowEndEpochMillis(c.windowEnds().toEpochMilli());
            c.disputedBy().ifPresent(k -> cb.setDisputedBy(k.value()));
            b.setClaim(cb);
        });
        return b.build();
    }

    /**
     * @param m an open hold as received
     * @return the value
     * @throws InvalidArgumentException if a field is malformed or the hold is not open
     */
    public static OpenHold openHold(HoldEntry m) {
        HoldRecord r = holdRecord(m);
        if (!r.isOpen()) {
            throw new InvalidArgumentException("hold " + r.key() + " listed as open is " + r.state());
        }
        return new OpenHold(r.key(), r.payer(), r.payee(), r.amount(), r.expiresAt());
    }

    /**
     * @param m a hold as received
     * @return the value
     * @throws InvalidArgumentException if a field is malformed
     */
    public static HoldRecord holdRecord(HoldEntry m) {
        if (m.getAmount() < 0) {
            throw new InvalidArgumentException("hold amount " + Long.toUnsignedString(m.getAmount()) + " is out of range");
        }
        HoldRecord.State state;
        try {
            state = HoldRecord.State.valueOf(m.getState());
        } catch (IllegalArgumentException e) {
            throw new InvalidArgumentException("hold state '" + m.getState() + "' is unknown");
        }
        return new HoldRecord(OperationKey.of(m.getKey()), AccountId.of(m.getPayer()), AccountId.of(m.getPayee()),
                MicroUsd.ofMicros(m.getAmount()), Instant.ofEpochMilli(m.getExpiresEpochMillis()),
                m.getSpecHash().isEmpty() ? Optional.empty() : Optional.of(m.getSpecHash()), state,
                m.getResolvedBy().isEmpty() ? Optional.empty() : Optional.of(OperationKey.of(m.getResolvedBy())),
                m.hasClaim() ? Optional.of(claim(m.getClaim())) : Optional.empty(),
                m.hasPrice() ? Optional.of(price(m.getPrice())) : Optional.empty());
    }

    private static dev.depin.money.Price price(dev.depin.grpc.internal.wire.HoldPrice p) {
        if (p.getPerDeviceSecond() < 0 || p.getPerGigabyte() < 0) {
            throw new InvalidArgumentException("hold price " + Long.toUnsignedString(p.getPerDeviceSecond()) + "/"
                    + Long.toUnsignedString(p.getPerGigabyte()) + " is out of range");
        }
        return new dev.depin.money.Price(MicroUsd.ofMicros(p.getPerDeviceSecond()), MicroUsd.ofMicros(p.getPerGigabyte()));
    }

    private static HoldRecord.ClaimRecord claim(HoldClaim c) {
        if (c.getAmount() <= 0) {
            throw new InvalidArgumentException("claim amount " + Long.toUnsignedString(c.getAmount()) + " is out of range");
        }
        return new HoldRecord.ClaimRecord(OperationKey.of(c.getKey()), MicroUsd.ofMicros(c.getAmount()), c.getEvidence(),
                Instant.ofEpochMilli(c.getFiledEpochMillis()), Instant.ofEpochMilli(c.getWindowEndEpochMillis()),
                c.getDisputedBy().isEmpty() ? Optional.empty() : Optional.of(OperationKey.of(c.getDisputedBy())));
    }
}
