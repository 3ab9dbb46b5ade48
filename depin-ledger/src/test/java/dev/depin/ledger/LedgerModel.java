package dev.depin.ledger;

import dev.depin.settlement.SettlementException.Reason;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Balance;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.SettlementException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A plain in-memory reference of the ledger's rules, written independently of the SQL, for
 * the property test: every operation's outcome (applied, or which refusal) and every
 * balance must agree with it.
 */
final class LedgerModel {
    private static final class Acct {
        final AccountKind kind;
        final boolean credit;
        long posted;
        long held;

        Acct(AccountKind kind, boolean credit) {
            this.kind = kind;
            this.credit = credit;
        }
    }

    private static final class HoldM {
        final AccountId payer;
        final AccountId payee;
        final long amount;
        final long expiresMs;
        boolean open = true;
        boolean expired;
        /** Claimed amount, 0 while unclaimed. */
        long claimed;
        boolean disputed;
        long windowEndMs;

        HoldM(AccountId payer, AccountId payee, long amount, long expiresMs) {
            this.payer = payer;
            this.payee = payee;
            this.amount = amount;
            this.expiresMs = expiresMs;
        }
    }

    private final Map<AccountId, Acct> accounts = new TreeMap<>((a, b) -> a.value().compareTo(b.value()));
    private final Map<OperationKey, String> keys = new HashMap<>();
    private final Map<OperationKey, HoldM> holds = new java.util.LinkedHashMap<>();
    private final long windowMs;
    private final long recheckMs;
    /** How many of the claims {@link #postDueClaims} posted were disputed ones past their re-check deadline. */
    int disputedPosted;

    LedgerModel() {
        this(JdbcLedger.DEFAULT_DISPUTE_WINDOW.toMillis(), JdbcLedger.DEFAULT_RECHECK_WINDOW.toMillis());
    }

    LedgerModel(long disputeWindowMs, long recheckWindowMs) {
        this.windowMs = disputeWindowMs;
        this.recheckMs = recheckWindowMs;
        accounts.put(AccountId.ISSUER, new Acct(AccountKind.ISSUER, true));
        accounts.put(AccountId.BURN, new Acct(AccountKind.BURN, false));
    }

    Reason open(AccountId id, AccountKind kind, boolean credit) {
        Acct a = accounts.get(id);
        if (a != null) {
            return a.kind == kind && a.credit == credit ? null : Reason.ACCOUNT_CONFLICT;
        }
        accounts.put(id, new Acct(kind, credit));
        return null;
    }

    List<Balance> balances() {
        List<Balance> out = new ArrayList<>();
        accounts.forEach((id, a) -> out.add(new Balance(id, a.kind, a.credit, a.posted, a.held)));
        return out;
    }

    /** Applies the operation to the model; returns the refusal expected, or null when it applies. */
    Reason apply(Operation op, long nowMs) {
        String earlier = keys.get(op.key());
        if (earlier != null) {
            return earlier.equals(op.fields()) ? null : Reason.IDEMPOTENCY_CONFLICT;
        }
        try {
            applyNew(op, nowMs);
            keys.put(op.key(), op.fields());
            return null;
        } catch (Refusal r) {
            return r.type;
        }
    }

    private static final class Refusal extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final Reason type;

        Refusal(Reason type) {
            super(type.name(), null, false, false);
            this.type = type;
        }
    }

    private Acct acct(AccountId id) {
        Acct a = accounts.get(id);
        if (a == null) {
            throw new Refusal(Reason.UNKNOWN_ACCOUNT);
        }
        return a;
    }

    private static void require(boolean ok, Reason type) {
        if (!ok) {
            throw new Refusal(type);
        }
    }

    private static void range(Acct a, long d) {
        try {
            long after = Math.addExact(a.posted, d);
            Math.subtractExact(after, a.held);
            require(after != Long.MIN_VALUE, Reason.AMOUNT_OVERFLOW);
        } catch (ArithmeticException e) {
            throw new Refusal(Reason.AMOUNT_OVERFLOW);
        }
    }

    private static void available(Acct a, long amount) {
        require(a.credit || a.posted - a.held >= amount, Reason.INSUFFICIENT_FUNDS);
    }

    private void applyNew(Operation op, long nowMs) {
        if (op instanceof Operation.Mint) {
            Operation.Mint m = (Operation.Mint) op;
            Acct to = acct(m.to());
            require(to.kind != AccountKind.ISSUER && to.kind != AccountKind.BURN, Reason.ACCOUNT_KIND);
            Acct issuer = accounts.get(AccountId.ISSUER);
            long amt = m.amount().micros();
            range(issuer, -amt);
            range(to, amt);
            issuer.posted -= amt;
            to.posted += amt;
        } else if (op instanceof Operation.Transfer) {
            Operation.Transfer t = (Operation.Transfer) op;
            Acct from = acct(t.from());
            Acct to = acct(t.to());
            require(from.kind != AccountKind.ISSUER && from.kind != AccountKind.BURN, Reason.ACCOUNT_KIND);
            require(to.kind != AccountKind.ISSUER, Reason.ACCOUNT_KIND);
            long amt = t.amount().micros();
            available(from, amt);
            range(from, -amt);
            range(to, amt);
            from.posted -= amt;
            to.posted += amt;
        } else if (op instanceof Operation.Hold) {
            Operation.Hold h = (Operation.Hold) op;
            Acct payer = acct(h.payer());
            Acct payee = acct(h.payee());
            require(payer.kind != AccountKind.ISSUER && payer.kind != AccountKind.BURN, Reason.ACCOUNT_KIND);
            require(payee.kind != AccountKind.ISSUER, Reason.ACCOUNT_KIND);
            long amt = h.amount().micros();
            available(payer, amt);
            try {
                payer.held = Math.addExact(payer.held, amt);
            } catch (ArithmeticException e) {
                throw new Refusal(Reason.AMOUNT_OVERFLOW);
            }
            holds.put(h.key(), new HoldM(h.payer(), h.payee(), amt, h.expiresAt().toEpochMilli()));
        } else if (op instanceof Operation.Post) {
            Operation.Post p = (Operation.Post) op;
            HoldM found = holds.get(p.hold());
            require(found == null || !found.expired, Reason.HOLD_EXPIRED);
            HoldM h = open(p.hold());
            long amt = p.amount().micros();
            require(h.claimed > 0 || nowMs < h.expiresMs, Reason.HOLD_EXPIRED);
            require(h.claimed == 0 || h.disputed || amt >= h.claimed, Reason.HOLD_CLAIMED);
            // A disputed claim whose re-check deadline came stands: no post for less.
            require(!h.disputed || amt >= h.claimed || nowMs < h.windowEndMs + recheckMs, Reason.DISPUTE_WINDOW_CLOSED);
            require(amt <= h.amount, Reason.POST_EXCEEDS_HOLD);
            Acct payer = accounts.get(h.payer);
            Acct payee = accounts.get(h.payee);
            range(payer, -amt);
            range(payee, amt);
            h.open = false;
            payer.posted -= amt;
            payer.held -= h.amount;
            payee.posted += amt;
        } else if (op instanceof Operation.VoidHold || op instanceof Operation.Expire) {
            boolean expire = op instanceof Operation.Expire;
            HoldM h = open(expire ? ((Operation.Expire) op).hold() : ((Operation.VoidHold) op).hold());
            require(h.claimed == 0 || (h.disputed && !expire), Reason.HOLD_CLAIMED);
            require(!h.disputed || nowMs < h.windowEndMs + recheckMs, Reason.DISPUTE_WINDOW_CLOSED);
            require(!expire || nowMs >= h.expiresMs, Reason.HOLD_NOT_EXPIRED);
            h.open = false;
            h.expired = expire;
            accounts.get(h.payer).held -= h.amount;
        } else if (op instanceof Operation.Claim c) {
            HoldM found = holds.get(c.hold());
            require(found == null || !found.expired, Reason.HOLD_EXPIRED);
            HoldM h = open(c.hold());
            require(h.claimed == 0, Reason.HOLD_CLAIMED);
            require(nowMs < h.expiresMs, Reason.HOLD_EXPIRED);
            require(c.amount().micros() <= h.amount, Reason.POST_EXCEEDS_HOLD);
            h.claimed = c.amount().micros();
            h.windowEndMs = nowMs + windowMs;
        } else if (op instanceof Operation.Dispute d) {
            HoldM h = open(d.hold());
            require(h.claimed > 0, Reason.HOLD_NOT_CLAIMED);
            require(!h.disputed, Reason.HOLD_CLAIMED);
            require(nowMs < h.windowEndMs, Reason.DISPUTE_WINDOW_CLOSED);
            h.disputed = true;
        } else {
            Operation.Slash s = (Operation.Slash) op;
            Acct stake = acct(s.stake());
            require(stake.kind == AccountKind.STAKE, Reason.ACCOUNT_KIND);
            Acct ben = s.beneficiary().isPresent() ? acct(s.beneficiary().get()) : null;
            if (ben != null) {
                require(ben.kind != AccountKind.ISSUER, Reason.ACCOUNT_KIND);
            }
            long total = s.total().micros();
            available(stake, total);
            Acct burn = accounts.get(AccountId.BURN);
            if (ben != null) {
                range(stake, -total);
                range(ben, s.toBeneficiary().micros());
            }
            range(stake, -total);
            range(burn, s.burned().micros());
            stake.posted -= total;
            if (ben != null) {
                ben.posted += s.toBeneficiary().micros();
            }
            burn.posted += s.burned().micros();
        }
    }

    /**
     * What the ledger's sweep does: posts every undisputed claim on an open hold whose window
     * has ended, and every disputed one whose re-check deadline (window end + re-check window)
     * has come, for the amount claimed (a post the rules refuse stays unposted).
     *
     * @return how many it posted
     */
    int postDueClaims(long nowMs) {
        int posted = 0;
        for (Map.Entry<OperationKey, HoldM> e : holds.entrySet()) {
            HoldM h = e.getValue();
            if (h.open && h.claimed > 0 && h.windowEndMs + (h.disputed ? recheckMs : 0) <= nowMs) {
                OperationKey key = JdbcLedger.claimPostKey(e.getKey());
                if (apply(new Operation.Post(key, e.getKey(), dev.depin.money.MicroUsd.ofMicros(h.claimed)), nowMs) == null) {
                    posted++;
                    disputedPosted += h.disputed ? 1 : 0;
                }
            }
        }
        return posted;
    }

    private HoldM open(OperationKey key) {
        HoldM h = holds.get(key);
        require(h != null, Reason.UNKNOWN_HOLD);
        require(h.open, Reason.HOLD_RESOLVED);
        return h;
    }
}
