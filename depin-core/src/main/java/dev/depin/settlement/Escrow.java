package dev.depin.settlement;

import dev.depin.InvalidArgumentException;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.spi.PriceOracle;
import dev.depin.settlement.spi.Settlement;
import java.time.Duration;
import java.util.regex.Pattern;

/**
 * How a {@link dev.depin.client.DepinClient} pays for its jobs: which ledger, which buyer
 * account, which token rate, and the buyer's bounds. Given to
 * {@link dev.depin.client.DepinClient.Builder#escrow(Escrow)}.
 *
 * <p>With an escrow, each attempt of a job holds its share of the job's max price before it
 * is dispatched ({@code ESCROWED}); a verified result posts what the provider charged (the
 * rest of the hold returns to the buyer) and the job ends {@code SETTLED}; a failed,
 * cancelled or timed-out attempt is voided; a disputed one is voided and the provider's
 * stake slashed per {@link SlashPolicy}, with the dispute's hash as evidence. Every
 * operation's idempotency key is {@code session/jobId/attempt/operation}, so each happens
 * exactly once; a client built with the same session after a crash resolves the holds its
 * predecessor left open (voids them, or expires those past their expiry).
 *
 * <p>Two clients running at the same time must use different sessions.
 */
public final class Escrow {
    private static final Pattern SESSION = Pattern.compile("[A-Za-z0-9:._-]{1,64}");

    private final Settlement ledger;
    private final AccountId buyer;
    private final PriceOracle oracle;
    private final Duration maxRateAge;
    private final Duration quoteTtl;
    private final long maxSlippageBps;
    private final SlashPolicy slashing;
    private final Duration expiryGrace;
    private final String session;
    private final java.nio.file.Path disputeJournal;

    private Escrow(Builder b) {
        this.disputeJournal = b.disputeJournal;
        this.ledger = b.ledger;
        this.buyer = b.buyer;
        this.oracle = b.oracle;
        this.maxRateAge = b.maxRateAge;
        this.quoteTtl = b.quoteTtl;
        this.maxSlippageBps = b.maxSlippageBps;
        this.slashing = b.slashing;
        this.expiryGrace = b.expiryGrace;
        this.session = b.session != null ? b.session : b.buyer.value();
    }

    /**
     * Starts an escrow on {@code ledger} paid from {@code buyer}, an account of kind
     * {@link AccountKind#BUYER} that the caller opened and funded.
     *
     * @param ledger where money moves; the client does not close it
     * @param buyer  the buyer's account
     * @return a builder with the defaults
     * @throws InvalidArgumentException if an argument is null
     */
    public static Builder builder(Settlement ledger, AccountId buyer) {
        return new Builder(ledger, buyer);
    }

    /** @return the ledger */
    public Settlement ledger() {
        return ledger;
    }

    /** @return the account holds are taken from */
    public AccountId buyer() {
        return buyer;
    }

    /** @return where token rates come from */
    public PriceOracle oracle() {
        return oracle;
    }

    /** @return the oldest rate the buyer accepts */
    public Duration maxRateAge() {
        return maxRateAge;
    }

    /** @return how long a quote's rate stays locked */
    public Duration quoteTtl() {
        return quoteTtl;
    }

    /** @return how far, in basis points, a later quote of a job may be from its first */
    public long maxSlippageBps() {
        return maxSlippageBps;
    }

    /** @return what a proven dispute costs the provider */
    public SlashPolicy slashing() {
        return slashing;
    }

    /** @return how long after the job's deadline its holds may be expired */
    public Duration expiryGrace() {
        return expiryGrace;
    }

    /** @return the prefix of this client's operation keys */
    public String session() {
        return session;
    }

    /** @return where disputes are kept until answered ({@link Builder#disputeJournal}), if anywhere */
    public java.util.Optional<java.nio.file.Path> disputeJournal() {
        return java.util.Optional.ofNullable(disputeJournal);
    }

    /**
     * The ledger account a provider is paid into.
     *
     * @param node the provider's node id
     * @return {@code provider:<node id>}
     */
    public static AccountId providerAccount(dev.depin.crypto.NodeId node) {
        return AccountId.of("provider:" + InvalidArgumentException.requireNonNull(node, "node").hex());
    }

    /**
     * What an attempt's hold pays its provider: the charge of its measured device time and the
     * bytes it moved at its offer's price, never more than the hold. The engine posts this; a
     * settlement service refuses a claim above it where the hold names the price
     * ({@link Operation.Hold#price()}); a provider's claimer claims it. A charge too large for a
     * {@code long} (a hostile device time) is bounded by the hold like any other.
     *
     * @param price       the price the attempt was placed at
     * @param deviceNanos the device time its receipt states, &ge; 0
     * @param bytesMoved  the bytes of its inputs plus its outputs, &ge; 0
     * @param held        the hold
     * @return {@code min(price.charge(deviceNanos, bytesMoved), held)}
     * @throws InvalidArgumentException if an argument is null or negative
     */
    public static MicroUsd payable(dev.depin.money.Price price, long deviceNanos, long bytesMoved, MicroUsd held) {
        InvalidArgumentException.requireNonNull(price, "price");
        InvalidArgumentException.requireNonNull(held, "hold amount");
        long charge;
        try {
            charge = price.charge(deviceNanos, bytesMoved).micros();
        } catch (ArithmeticException overflow) {
            charge = Long.MAX_VALUE;
        }
        return MicroUsd.ofMicros(Math.min(charge, held.micros()));
    }

    /**
     * The ledger account that holds a provider's stake.
     *
     * @param node the provider's node id
     * @return {@code stake:<node id>}
     */
    public static AccountId stakeAccount(dev.depin.crypto.NodeId node) {
        return AccountId.of("stake:" + InvalidArgumentException.requireNonNull(node, "node").hex());
    }

    @Override
    public String toString() {
        return "Escrow[" + buyer + " via " + oracle.name() + ", session " + session + "]";
    }

    /** Builds an {@link Escrow}. */
    public static final class Builder {
        private final Settlement ledger;
        private final AccountId buyer;
        private PriceOracle oracle = FixedRateOracle.usdPegged();
        private Duration maxRateAge = Duration.ofMinutes(5);
        private Duration quoteTtl = Duration.ofMinutes(10);
        private long maxSlippageBps = 100;
        private SlashPolicy slashing = SlashPolicy.DEFAULT;
        private Duration expiryGrace = Duration.ofMinutes(1);
        private String session;
        private java.nio.file.Path disputeJournal;

        private Builder(Settlement ledger, AccountId buyer) {
            this.ledger = InvalidArgumentException.requireNonNull(ledger, "ledger");
            this.buyer = InvalidArgumentException.requireNonNull(buyer, "buyer account");
        }

        /**
         * @param oracle where token rates come from; default a USD-pegged token at $1
         * @return this builder
         */
        public Builder oracle(PriceOracle oracle) {
            this.oracle = InvalidArgumentException.requireNonNull(oracle, "price oracle");
            return this;
        }

        /**
         * @param age the oldest rate accepted when a quote is locked, positive; default 5 minutes
         * @return this builder
         */
        public Builder maxRateAge(Duration age) {
            this.maxRateAge = positive(age, "max rate age");
            return this;
        }

        /**
         * @param ttl how long a quote's rate stays locked, positive; default 10 minutes
         * @return this builder
         */
        public Builder quoteTtl(Duration ttl) {
            this.quoteTtl = positive(ttl, "quote time-to-live");
            return this;
        }

        /**
         * @param basisPoints how far a job's later quote may move from its first, 0 to 10000
         *                    (100 = 1 %); default 100
         * @return this builder
         */
        public Builder maxSlippage(long basisPoints) {
            if (basisPoints < 0 || basisPoints > 10_000) {
                throw new InvalidArgumentException("max slippage is " + basisPoints
                        + " basis points: give 0 to 10000 (100 = 1%)");
            }
            this.maxSlippageBps = basisPoints;
            return this;
        }

        /**
         * @param policy what a proven dispute costs the provider; default {@link SlashPolicy#DEFAULT}
         * @return this builder
         */
        public Builder slashing(SlashPolicy policy) {
            this.slashing = InvalidArgumentException.requireNonNull(policy, "slash policy");
            return this;
        }

        /**
         * @param grace how long after a job's deadline its holds may be expired, positive;
         *              default 1 minute
         * @return this builder
         */
        public Builder expiryGrace(Duration grace) {
            this.expiryGrace = positive(grace, "expiry grace");
            return this;
        }

        /**
         * The prefix of this client's operation keys: a client restarted with the same session
         * resolves the holds its predecessor left open. Default the buyer account's name.
         *
         * @param session 1 to 64 characters from {@code [A-Za-z0-9:._-]}
         * @return this builder
         */
        public Builder session(String session) {
            InvalidArgumentException.requireNonNull(session, "session");
            if (!SESSION.matcher(session).matches()) {
                throw new InvalidArgumentException("session '" + session
                        + "' is malformed: use 1 to 64 characters from A-Z a-z 0-9 : . _ -");
            }
            this.session = session;
            return this;
        }

        /**
         * Where the engine keeps a dispute until the settlement service answered it: before it
         * acts on a disputed attempt (the void that a provider's claim may refuse), the engine
         * writes the dispute record, the job's inputs and the delivered outputs to a file here
         * (synced, then renamed into place), and deletes the file once the service answered (the
         * void, the dispute's result, or a refusal). A client built with the same directory and
         * session after a crash files each dispute left there before it resolves the session's
         * other holds, while the claim's dispute window is open, so a buyer killed between a
         * liar's result and its dispute still disputes. Only a settlement that re-checks disputes
         * ({@link dev.depin.settlement.spi.ClaimDisputes}, a settlement service) uses it. Default
         * none: a dispute then lives only in the client's memory.
         *
         * @param directory a directory of this client's own (created if absent)
         * @return this builder
         * @throws InvalidArgumentException on null
         */
        public Builder disputeJournal(java.nio.file.Path directory) {
            this.disputeJournal = InvalidArgumentException.requireNonNull(directory, "dispute journal directory");
            return this;
        }

        /** @return the escrow */
        public Escrow build() {
            return new Escrow(this);
        }

        private static Duration positive(Duration d, String what) {
            InvalidArgumentException.requireNonNull(d, what);
            if (d.isNegative() || d.isZero()) {
                throw new InvalidArgumentException(what + " " + d + " must be positive");
            }
            return d;
        }
    }
}
