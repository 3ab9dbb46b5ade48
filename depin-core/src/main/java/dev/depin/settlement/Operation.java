package dev.depin.settlement;

import dev.depin.InvalidArgumentException;
import dev.depin.money.MicroUsd;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

/**
 * One money movement, as a value: what {@link dev.depin.settlement.spi.Settlement#apply}
 * applies exactly once per {@link #key()}.
 *
 * <p>Each member validates its fields when built (amounts are {@link MicroUsd}, so never
 * negative; where a zero amount means nothing, it is refused). {@link #fields()} is the
 * canonical text of everything but the key: a retry is "identical" when its fields are
 * equal, and "the same key with other fields" otherwise.
 */
public sealed interface Operation {

    /** Largest JSON form {@link #fromJson} reads: 4 KiB (the longest operation is about 700 bytes). */
    int MAX_JSON_BYTES = 4096;

    /**
     * The operation as one compact JSON object with sorted keys: {@code op} names the member
     * ({@code mint}, {@code transfer}, {@code hold}, {@code post}, {@code void}, {@code expire},
     * {@code slash}, {@code claim}, {@code dispute}), {@code key} is the idempotency key, and the member's fields follow
     * (amounts in integer micro-USD, {@code expiresAt} in epoch milliseconds). What a
     * settlement service receives.
     *
     * @return UTF-8 JSON
     */
    default byte[] toJson() {
        return OperationJson.write(this);
    }

    /**
     * Reads the form {@link #toJson()} writes, strictly: at most {@link #MAX_JSON_BYTES}, one JSON
     * object, no unknown, missing or mistyped field, then the member's own checks.
     *
     * @param json UTF-8 JSON
     * @return the operation
     * @throws InvalidArgumentException if the bytes are not such an object, saying what is wrong
     */
    static Operation fromJson(byte[] json) {
        return OperationJson.read(json);
    }

    /** @return the idempotency key */
    OperationKey key();

    /** @return the canonical text of the operation's fields (not its key) */
    String fields();

    /**
     * Money enters the ledger: a transfer from {@link AccountId#ISSUER}. The only
     * operation that changes the sum over the accounts other than the issuer.
     *
     * @param key    the idempotency key
     * @param to     the account credited
     * @param amount how much, &gt; 0
     */
    record Mint(OperationKey key, AccountId to, MicroUsd amount) implements Operation {
        /**
         * Checks the fields.
         *
         * @param key    the idempotency key
         * @param to     the account credited
         * @param amount how much, &gt; 0
         * @throws InvalidArgumentException if a field is null or the amount is zero
         */
        public Mint {
            InvalidArgumentException.requireNonNull(key, "key");
            InvalidArgumentException.requireNonNull(to, "account to mint into");
            positive(amount, "mint amount");
        }

        @Override
        public String fields() {
            return "mint|" + to + "|" + amount.micros();
        }
    }

    /**
     * An immediate transfer between two accounts: a deposit to a stake, an SLA credit, a
     * fee, a withdrawal.
     *
     * @param key    the idempotency key
     * @param from   the account debited
     * @param to     the account credited
     * @param amount how much, &gt; 0
     */
    record Transfer(OperationKey key, AccountId from, AccountId to, MicroUsd amount) implements Operation {
        /**
         * Checks the fields.
         *
         * @param key    the idempotency key
         * @param from   the account debited
         * @param to     the account credited
         * @param amount how much, &gt; 0
         * @throws InvalidArgumentException if a field is null, the accounts are the same or
         *                                  the amount is zero
         */
        public Transfer {
            InvalidArgumentException.requireNonNull(key, "key");
            distinct(from, to);
            positive(amount, "transfer amount");
        }

        @Override
        public String fields() {
            return "transfer|" + from + "|" + to + "|" + amount.micros();
        }
    }

    /**
     * Reserve funds of the payer for the payee (escrow, a pending transfer). It resolves
     * exactly once: by {@link Post}, {@link VoidHold} or {@link Expire}.
     *
     * @param key       the idempotency key; posts, voids and expiries name the hold by it
     * @param payer     the account whose funds are reserved
     * @param payee     the account a post pays
     * @param amount    how much is reserved, &gt; 0
     * @param expiresAt when the hold may be expired and can no longer be posted
     *                  (kept to the millisecond)
     * @param specHash  the SHA-256 (hex) of the job spec the money is held for, if any: a ledger
     *                  with a key answers such a hold with a {@link HoldCertificate}
     * @param price     the price of the offer the buyer placed the job with, if any: a settlement
     *                  service then bounds a claim of the hold by what the claim's receipt comes
     *                  to at this price ({@link Escrow#payable}), and the certificate names it so
     *                  that the provider can refuse a price it did not offer; only with a spec hash
     */
    record Hold(OperationKey key, AccountId payer, AccountId payee, MicroUsd amount, Instant expiresAt,
                Optional<String> specHash, Optional<dev.depin.money.Price> price) implements Operation {
        /**
         * Checks the fields.
         *
         * @param key       the idempotency key
         * @param payer     the account whose funds are reserved
         * @param payee     the account a post pays
         * @param amount    how much is reserved, &gt; 0
         * @param expiresAt when the hold expires
         * @param specHash  the job spec's SHA-256 (64 lower-case hex), or empty
         * @param price     the offer's price the job was placed at, or empty
         * @throws InvalidArgumentException if a field is null, the accounts are the same,
         *                                  the amount is zero, the spec hash is malformed or a
         *                                  price is given without a spec hash
         */
        public Hold {
            InvalidArgumentException.requireNonNull(key, "key");
            distinct(payer, payee);
            positive(amount, "hold amount");
            InvalidArgumentException.requireNonNull(expiresAt, "hold expiry");
            expiresAt = expiresAt.truncatedTo(ChronoUnit.MILLIS);
            InvalidArgumentException.requireNonNull(specHash, "spec hash (Optional.empty() for none)");
            specHash.ifPresent(HoldCertificate::requireSpecHash);
            InvalidArgumentException.requireNonNull(price, "price (Optional.empty() for none)");
            if (price.isPresent() && specHash.isEmpty()) {
                throw new InvalidArgumentException("hold " + key + " names a price but no job spec: a price bounds "
                        + "the claim of one job, give the hold its spec hash too");
            }
        }

        /**
         * A hold for a job spec, without the offer's price (a claim is bounded by the hold only).
         *
         * @param key       the idempotency key
         * @param payer     the account whose funds are reserved
         * @param payee     the account a post pays
         * @param amount    how much is reserved, &gt; 0
         * @param expiresAt when the hold expires
         * @param specHash  the job spec's SHA-256, or empty
         * @throws InvalidArgumentException as the canonical constructor
         */
        public Hold(OperationKey key, AccountId payer, AccountId payee, MicroUsd amount, Instant expiresAt,
                    Optional<String> specHash) {
            this(key, payer, payee, amount, expiresAt, specHash, Optional.empty());
        }

        /**
         * A hold for no particular job spec.
         *
         * @param key       the idempotency key
         * @param payer     the account whose funds are reserved
         * @param payee     the account a post pays
         * @param amount    how much is reserved, &gt; 0
         * @param expiresAt when the hold expires
         * @throws InvalidArgumentException if a field is null, the accounts are the same or
         *                                  the amount is zero
         */
        public Hold(OperationKey key, AccountId payer, AccountId payee, MicroUsd amount, Instant expiresAt) {
            this(key, payer, payee, amount, expiresAt, Optional.empty(), Optional.empty());
        }

        @Override
        public String fields() {
            return "hold|" + payer + "|" + payee + "|" + amount.micros() + "|" + expiresAt.toEpochMilli()
                    + specHash.map(h -> "|spec:" + h).orElse("")
                    + price.map(p -> "|price:" + p.perDeviceSecond().micros() + "/" + p.perGigabyte().micros()).orElse("");
        }
    }

    /**
     * Pay the payee from an open hold: {@code amount} (at most the hold's) moves, the rest
     * returns to the payer.
     *
     * @param key    the idempotency key
     * @param hold   the key of the hold
     * @param amount how much is paid, 0 to the hold's amount
     */
    record Post(OperationKey key, OperationKey hold, MicroUsd amount) implements Operation {
        /**
         * Checks the fields.
         *
         * @param key    the idempotency key
         * @param hold   the key of the hold
         * @param amount how much is paid
         * @throws InvalidArgumentException if a field is null or the key is the hold's
         */
        public Post {
            resolving(key, hold);
            InvalidArgumentException.requireNonNull(amount, "post amount");
        }

        @Override
        public String fields() {
            return "post|" + hold + "|" + amount.micros();
        }
    }

    /**
     * Release an open hold in full to the payer (a failed or cancelled job).
     *
     * @param key  the idempotency key
     * @param hold the key of the hold
     */
    record VoidHold(OperationKey key, OperationKey hold) implements Operation {
        /**
         * Checks the fields.
         *
         * @param key  the idempotency key
         * @param hold the key of the hold
         * @throws InvalidArgumentException if a field is null or the key is the hold's
         */
        public VoidHold {
            resolving(key, hold);
        }

        @Override
        public String fields() {
            return "void|" + hold;
        }
    }

    /**
     * Release an open hold whose expiry has passed (by the ledger's clock) to the payer.
     *
     * @param key  the idempotency key
     * @param hold the key of the hold
     */
    record Expire(OperationKey key, OperationKey hold) implements Operation {
        /**
         * Checks the fields.
         *
         * @param key  the idempotency key
         * @param hold the key of the hold
         * @throws InvalidArgumentException if a field is null or the key is the hold's
         */
        public Expire {
            resolving(key, hold);
        }

        @Override
        public String fields() {
            return "expire|" + hold;
        }
    }

    /**
     * Take from a provider's stake on a proven dispute: part to a beneficiary (usually the
     * buyer), part to {@link AccountId#BURN}.
     *
     * @param key         the idempotency key
     * @param stake       the stake account, of kind {@link AccountKind#STAKE}
     * @param beneficiary who receives {@code toBeneficiary}, if anyone
     * @param toBeneficiary how much the beneficiary receives (zero when there is none)
     * @param burned      how much is burned
     * @param evidence    what proves the dispute, such as the dispute record's hash (1 to 200
     *                    printable characters); part of the fields
     */
    record Slash(OperationKey key, AccountId stake, Optional<AccountId> beneficiary, MicroUsd toBeneficiary,
                 MicroUsd burned, String evidence) implements Operation {
        /**
         * Checks the fields.
         *
         * @param key           the idempotency key
         * @param stake         the stake account
         * @param beneficiary   who receives {@code toBeneficiary}, if anyone
         * @param toBeneficiary how much the beneficiary receives
         * @param burned        how much is burned
         * @param evidence      what proves the dispute
         * @throws InvalidArgumentException if a field is null, both amounts are zero, an amount
         *                                  goes to a missing beneficiary, the stake is its own
         *                                  beneficiary, the total overflows, or the evidence is
         *                                  empty, too long or not printable ASCII
         */
        public Slash {
            InvalidArgumentException.requireNonNull(key, "key");
            InvalidArgumentException.requireNonNull(stake, "stake account");
            InvalidArgumentException.requireNonNull(beneficiary, "beneficiary (Optional.empty() for none)");
            InvalidArgumentException.requireNonNull(toBeneficiary, "amount to the beneficiary");
            InvalidArgumentException.requireNonNull(burned, "amount burned");
            if (beneficiary.isEmpty() && toBeneficiary.micros() != 0) {
                throw new InvalidArgumentException("slash gives " + toBeneficiary
                        + " to a beneficiary but names none: name the buyer's account or burn it all");
            }
            if (beneficiary.isPresent() && beneficiary.get().equals(stake)) {
                throw new InvalidArgumentException("slash pays stake " + stake + " to itself: name the buyer's account");
            }
            if (toBeneficiary.micros() == 0 && burned.micros() == 0) {
                throw new InvalidArgumentException("slash of nothing: give an amount to the beneficiary or to burn");
            }
            try {
                Math.addExact(toBeneficiary.micros(), burned.micros());
            } catch (ArithmeticException e) {
                throw new InvalidArgumentException("slash total " + toBeneficiary + " + " + burned
                        + " overflows: slash at most " + MicroUsd.ofMicros(Long.MAX_VALUE));
            }
            requireEvidence(evidence, "slash", "a dispute hash");
        }

        /** @return {@code toBeneficiary + burned} */
        public MicroUsd total() {
            return MicroUsd.ofMicros(toBeneficiary.micros() + burned.micros());
        }

        @Override
        public String fields() {
            return "slash|" + stake + "|" + beneficiary.map(AccountId::value).orElse("-") + "|"
                    + toBeneficiary.micros() + "|" + burned.micros() + "|" + evidence;
        }
    }

    /**
     * The payee claims an open hold before its expiry, with its evidence (such as the digest
     * of its signed execution receipt): the hold becomes CLAIMED and can no longer be voided or
     * expired; the ledger posts {@code amount} itself when the ledger's dispute window has
     * passed since the claim, unless a {@link Dispute} came first. A settlement service lets
     * only the payee's key claim, after checking the receipt.
     *
     * @param key      the idempotency key
     * @param hold     the key of the hold
     * @param amount   how much the payee claims, 1 micro-USD to the hold's amount
     * @param evidence what the claim rests on, such as the receipt's SHA-256 (1 to 200 printable
     *                 ASCII characters without spaces); part of the fields
     */
    record Claim(OperationKey key, OperationKey hold, MicroUsd amount, String evidence) implements Operation {
        /**
         * Checks the fields.
         *
         * @param key      the idempotency key
         * @param hold     the key of the hold
         * @param amount   how much is claimed, &gt; 0
         * @param evidence what the claim rests on
         * @throws InvalidArgumentException if a field is null, the key is the hold's, the amount
         *                                  is zero or the evidence is malformed
         */
        public Claim {
            resolving(key, hold);
            positive(amount, "claim amount");
            requireEvidence(evidence, "claim", "a receipt's SHA-256");
        }

        @Override
        public String fields() {
            return "claim|" + hold + "|" + amount.micros() + "|" + evidence;
        }
    }

    /**
     * The payer disputes a claimed hold within the dispute window, with its evidence (such as
     * the SHA-256 of its dispute record): the hold becomes DISPUTED, the ledger no longer posts
     * it by itself, and whoever re-checked the dispute resolves it with a {@link Post} (the
     * claim stands) or a {@link VoidHold} (the dispute is upheld). A settlement service applies
     * it only after its own re-check upheld the dispute.
     *
     * @param key      the idempotency key
     * @param hold     the key of the claimed hold
     * @param evidence what the dispute rests on (1 to 200 printable ASCII characters without
     *                 spaces); part of the fields
     */
    record Dispute(OperationKey key, OperationKey hold, String evidence) implements Operation {
        /**
         * Checks the fields.
         *
         * @param key      the idempotency key
         * @param hold     the key of the hold
         * @param evidence what the dispute rests on
         * @throws InvalidArgumentException if a field is null, the key is the hold's or the
         *                                  evidence is malformed
         */
        public Dispute {
            resolving(key, hold);
            requireEvidence(evidence, "dispute", "a dispute record's SHA-256");
        }

        @Override
        public String fields() {
            return "dispute|" + hold + "|" + evidence;
        }
    }

    private static void requireEvidence(String evidence, String what, String example) {
        InvalidArgumentException.requireNonNull(evidence, what + " evidence");
        if (evidence.isEmpty() || evidence.length() > 200 || !evidence.chars().allMatch(c -> c > 32 && c < 127)) {
            throw new InvalidArgumentException(what + " evidence '" + evidence
                    + "' must be 1 to 200 printable ASCII characters without spaces, such as " + example);
        }
    }

    private static void positive(MicroUsd amount, String what) {
        InvalidArgumentException.requireNonNull(amount, what);
        if (amount.micros() == 0) {
            throw new InvalidArgumentException(what + " is zero: move at least 1 micro-USD");
        }
    }

    private static void distinct(AccountId from, AccountId to) {
        InvalidArgumentException.requireNonNull(from, "account debited");
        InvalidArgumentException.requireNonNull(to, "account credited");
        if (from.equals(to)) {
            throw new InvalidArgumentException("debit and credit are both " + from + ": name two accounts");
        }
    }

    private static void resolving(OperationKey key, OperationKey hold) {
        InvalidArgumentException.requireNonNull(key, "key");
        InvalidArgumentException.requireNonNull(hold, "hold key");
        if (key.equals(hold)) {
            throw new InvalidArgumentException("key " + key + " is the hold's own key: resolve it under a key of its own");
        }
    }
}
