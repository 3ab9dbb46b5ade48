package dev.depin.ledger;

import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.Posting;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The writer thread's copy of the ledger's live state: every account's balance, every open
 * hold, and the results of the most recent operations by key. Loaded from the database when
 * the ledger opens; only the writer thread reads or changes it. Its size is bounded by the
 * number of accounts, the number of open holds and {@code recentKeys}, never by the length of
 * the history.
 */
final class Live {
    final Map<String, Account> accounts = new HashMap<>();
    final Map<String, Hold> holds = new HashMap<>();
    final LinkedHashMap<String, Done> recent;
    /** The sequence number the next operation gets (SQLite; PostgreSQL draws from its sequence). */
    long nextSeq;

    Live(int recentKeys) {
        this.recent = new LinkedHashMap<>(Math.min(recentKeys, 1 << 16) * 4 / 3 + 1) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Done> eldest) {
                return size() > recentKeys;
            }
        };
    }

    /** An account and its balance as committed (or as the current batch has changed it). */
    static final class Account {
        final AccountId id;
        final AccountKind kind;
        final boolean credit;
        long posted;
        long held;

        Account(AccountId id, AccountKind kind, boolean credit, long posted, long held) {
            this.id = id;
            this.kind = kind;
            this.credit = credit;
            this.posted = posted;
            this.held = held;
        }

        long available() {
            return posted - held;
        }

        Balance balance() {
            return new Balance(id, kind, credit, posted, held);
        }
    }

    /**
     * An open hold (immutable but for {@code seq}: resolving it removes it). {@code seq} is its
     * operation's sequence number, its row's key in hold_rows: 0 for a hold of the batch being
     * written until that batch's operations are numbered.
     */
    static final class Hold {
        final OperationKey key;
        final AccountId payer;
        final AccountId payee;
        final long amount;
        final long expiresMs;
        long seq;

        Hold(OperationKey key, AccountId payer, AccountId payee, long amount, long expiresMs, long seq) {
            this.key = key;
            this.payer = payer;
            this.payee = payee;
            this.amount = amount;
            this.expiresMs = expiresMs;
            this.seq = seq;
        }
    }

    /**
     * An applied operation as an identical retry needs it. The sequence number is known once
     * the batch that applies it has been written ({@code seq} is 0 until then).
     */
    static final class Done {
        final String key;
        final String fields;
        final long atMs;
        final List<Posting> postings;
        long seq;

        Done(String key, String fields, long seq, long atMs, List<Posting> postings) {
            this.key = key;
            this.fields = fields;
            this.seq = seq;
            this.atMs = atMs;
            this.postings = postings;
        }

        static Done of(Applied a) {
            return new Done(a.operation().key().value(), a.operation().fields(), a.sequence(),
                    a.at().toEpochMilli(), a.postings());
        }

        /** The original result; {@code op} has the same key and fields, so it equals the original operation. */
        Applied applied(Operation op) {
            return new Applied(seq, op, postings, Instant.ofEpochMilli(atMs));
        }
    }
}
