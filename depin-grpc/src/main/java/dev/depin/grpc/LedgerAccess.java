package dev.depin.grpc;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodePublicKey;
import dev.depin.settlement.AccountId;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Who may do what on a {@link LedgerServer}, by the TLS key a caller connects with. The
 * service's operator decides it; nothing a caller sends can widen it.
 *
 * <ul>
 *   <li>An <b>operator</b> key ({@link Builder#operator}) may do everything: open accounts, mint,
 *       transfer, slash, and read every account.</li>
 *   <li>A key <b>granted</b> an account ({@link Builder#grant}, such as a buyer's key and
 *       {@code buyer:acme}) acts for it: holds from it, posts, voids and expires its holds, and
 *       reads its balance, statement and holds.</li>
 *   <li>Every key may read its <b>own provider accounts</b>, {@code provider:<its node id>} and
 *       {@code stake:<its node id>} (a node's key is its identity, and hold certificates pay
 *       {@code provider:<node id>}), and read the holds that pay it. It acts for neither: a
 *       provider is paid by the buyer's post (or by its claim), never by its own hand.</li>
 * </ul>
 *
 * <p>Everything else is refused with PERMISSION_DENIED, saying which grant is missing.
 *
 * <pre>{@code
 * LedgerAccess access = LedgerAccess.builder()
 *         .operator(operatorKey.publicKey())
 *         .grant(buyerKey.publicKey(), AccountId.of("buyer:acme"))
 *         .build();
 * }</pre>
 */
public final class LedgerAccess {
    private final Set<NodePublicKey> operators;
    private final Map<NodePublicKey, Set<AccountId>> grants;

    private LedgerAccess(Builder b) {
        this.operators = Set.copyOf(b.operators);
        Map<NodePublicKey, Set<AccountId>> g = new HashMap<>();
        b.grants.forEach((k, v) -> g.put(k, Set.copyOf(v)));
        this.grants = Map.copyOf(g);
    }

    /** @return a builder with no operator and no grant */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * @param key a caller's key
     * @return whether it is an operator's
     */
    public boolean isOperator(NodePublicKey key) {
        return operators.contains(key);
    }

    /**
     * @param key     a caller's key
     * @param account an account
     * @return whether the key acts for the account (holds from it, resolves its holds)
     */
    public boolean actsFor(NodePublicKey key, AccountId account) {
        return isOperator(key) || grants.getOrDefault(key, Set.of()).contains(account);
    }

    /**
     * @param key     a caller's key
     * @param account an account
     * @return whether the key may read the account: it acts for it, or it is the key's own
     *         provider or stake account
     */
    public boolean reads(NodePublicKey key, AccountId account) {
        return actsFor(key, account) || ownProviderAccounts(key).contains(account);
    }

    /**
     * @param key a caller's key
     * @return {@code provider:<node id>} and {@code stake:<node id>} of that key
     */
    public static Set<AccountId> ownProviderAccounts(NodePublicKey key) {
        String id = key.nodeId().hex();
        return Set.of(AccountId.of("provider:" + id), AccountId.of("stake:" + id));
    }

    /**
     * @param key a caller's key
     * @return the accounts it acts for (empty for an operator, who acts for all)
     */
    public Set<AccountId> grantsOf(NodePublicKey key) {
        return grants.getOrDefault(key, Set.of());
    }

    /** @return how many operator keys and granted keys there are, in words */
    @Override
    public String toString() {
        return operators.size() + " operator key(s), " + grants.size() + " client key(s) with "
                + grants.values().stream().mapToInt(Set::size).sum() + " account grant(s)";
    }

    /** Builds a {@link LedgerAccess}. */
    public static final class Builder {
        private final Set<NodePublicKey> operators = new LinkedHashSet<>();
        private final Map<NodePublicKey, Set<AccountId>> grants = new HashMap<>();

        private Builder() {
        }

        /**
         * @param key a key that may do everything
         * @return this builder
         * @throws InvalidArgumentException on null
         */
        public Builder operator(NodePublicKey key) {
            operators.add(InvalidArgumentException.requireNonNull(key, "operator key"));
            return this;
        }

        /**
         * @param key     a client's key
         * @param account an account it acts for (repeat for more)
         * @return this builder
         * @throws InvalidArgumentException on null, or on a system account (only operators move
         *                                  the issuer's or the burn account's money)
         */
        public Builder grant(NodePublicKey key, AccountId account) {
            InvalidArgumentException.requireNonNull(key, "client key");
            InvalidArgumentException.requireNonNull(account, "account");
            if (account.equals(AccountId.ISSUER) || account.equals(AccountId.BURN)) {
                throw new InvalidArgumentException("account " + account + " is the ledger's own: only operator keys "
                        + "act for it");
            }
            grants.computeIfAbsent(key, k -> new HashSet<>()).add(account);
            return this;
        }

        /**
         * Reads one grant in its command-line form, {@code HEXKEY=ACCOUNT}: the client's raw
         * Ed25519 public key as 64 hex characters, then the account.
         *
         * @param spec such as {@code 3fa1...9c=buyer:acme}
         * @return this builder
         * @throws InvalidArgumentException if it is not in that form, saying what is wrong
         */
        public Builder grant(String spec) {
            InvalidArgumentException.requireNonNull(spec, "grant");
            int eq = spec.indexOf('=');
            if (eq < 0) {
                throw new InvalidArgumentException("grant '" + shorten(spec) + "' is not HEXKEY=ACCOUNT "
                        + "(the client's public key as 64 hex characters, '=', the account it acts for)");
            }
            NodePublicKey key;
            try {
                key = NodePublicKey.of(Hex.decode(spec.substring(0, eq)));
            } catch (RuntimeException e) {
                throw new InvalidArgumentException("grant '" + shorten(spec) + "': the key is not an Ed25519 public "
                        + "key as 64 hex characters (" + e.getMessage() + ")");
            }
            return grant(key, AccountId.of(spec.substring(eq + 1)));
        }

        private static String shorten(String s) {
            return s.length() <= 100 ? s : s.substring(0, 100) + "...";
        }

        /** @return the access rules */
        public LedgerAccess build() {
            return new LedgerAccess(this);
        }
    }
}
