package dev.depin.settlement;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationException.Reason;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.regex.Pattern;

/**
 * A ledger's signed word that money is held for one job on one provider: the answer to a
 * hold, which the buyer sends with the job and the provider checks before it runs anything.
 *
 * <p>The payload is eight ASCII lines, each {@code name value}, in this order and nothing else
 * ({@link #PAYLOAD_TYPE}, one {@code \n} after each line):
 * <pre>
 * depin-hold-certificate v1
 * ledger  &lt;the ledger key's node id, 64 hex&gt;
 * hold    &lt;the hold's operation key&gt;
 * buyer   &lt;the payer's account&gt;
 * payee   &lt;the payee's account, provider:&lt;node id&gt; for a provider&gt;
 * amount  &lt;micro-USD, decimal&gt;
 * spec    &lt;the job spec's SHA-256, 64 lower-case hex&gt;
 * expires &lt;the hold's expiry, epoch milliseconds&gt;
 * price   &lt;micro-USD per device-second&gt;/&lt;micro-USD per 10^9 bytes moved&gt;   (only if the hold names one)
 * </pre>
 * with exactly one space between name and value. The last line is there exactly when the hold
 * names the price of the offer the buyer placed the job with ({@link Operation.Hold#price()}):
 * the provider checks it is its own price, and a settlement service bounds the provider's claim
 * by it. It travels as a DSSE envelope (JSON) signed by
 * the ledger's Ed25519 key over the PAE of that payload type and payload, so it cannot pass as
 * any other depin signature. Parsing re-encodes the fields and requires the same bytes, so
 * each certificate has exactly one encoding.
 *
 * @param ledger    the id of the key that signed it
 * @param hold      the hold's key
 * @param buyer     whose money is held
 * @param payee     who a post pays
 * @param amount    how much is held
 * @param specHash  the SHA-256 (hex) of the job spec the money is held for
 * @param expiresAt when the hold expires
 * @param price     the price the hold names, if any
 * @param envelope  the signed envelope
 */
public record HoldCertificate(NodeId ledger, OperationKey hold, AccountId buyer, AccountId payee, MicroUsd amount,
                              String specHash, Instant expiresAt, java.util.Optional<Price> price, Envelope envelope) {
    /** The DSSE payload type of a hold certificate. */
    public static final String PAYLOAD_TYPE = "application/vnd.depin.hold-certificate.v1";
    /** The largest encoded certificate accepted. */
    public static final int MAX_BYTES = 4096;
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
    private static final String[] NAMES = {"ledger", "hold", "buyer", "payee", "amount", "spec", "expires"};
    private static final String FIRST = "depin-hold-certificate v1";

    /**
     * Checks the fields.
     *
     * @param ledger    the signing key's id
     * @param hold      the hold's key
     * @param buyer     the payer
     * @param payee     the payee
     * @param amount    the amount, &gt; 0
     * @param specHash  64 lower-case hex characters
     * @param expiresAt the expiry, whole milliseconds
     * @param price     the price, or empty
     * @param envelope  the envelope
     * @throws InvalidArgumentException if a field is null or malformed
     */
    public HoldCertificate {
        InvalidArgumentException.requireNonNull(ledger, "ledger key id");
        InvalidArgumentException.requireNonNull(hold, "hold key");
        InvalidArgumentException.requireNonNull(buyer, "buyer account");
        InvalidArgumentException.requireNonNull(payee, "payee account");
        InvalidArgumentException.requireNonNull(amount, "amount");
        requireSpecHash(specHash);
        InvalidArgumentException.requireNonNull(expiresAt, "expiry");
        InvalidArgumentException.requireNonNull(price, "price (Optional.empty() for none)");
        InvalidArgumentException.requireNonNull(envelope, "envelope");
    }

    /**
     * Signs a certificate for a hold (what a ledger does when it applies a hold for a job).
     *
     * @param hold      the applied hold; its {@link Operation.Hold#specHash()} must be present
     * @param ledgerKey the ledger's key
     * @return the certificate
     * @throws InvalidArgumentException if an argument is null or the hold names no spec
     */
    public static HoldCertificate issue(Operation.Hold hold, NodeKeyPair ledgerKey) {
        InvalidArgumentException.requireNonNull(hold, "hold");
        InvalidArgumentException.requireNonNull(ledgerKey, "ledger key");
        String spec = hold.specHash().orElseThrow(() -> new InvalidArgumentException("hold " + hold.key()
                + " names no job spec: a certificate binds one spec, give the hold its spec hash"));
        NodeId id = ledgerKey.nodeId();
        byte[] payload = encode(id, hold.key(), hold.payer(), hold.payee(), hold.amount(), spec, hold.expiresAt(),
                hold.price());
        return new HoldCertificate(id, hold.key(), hold.payer(), hold.payee(), hold.amount(), spec, hold.expiresAt(),
                hold.price(), Envelope.sign(PAYLOAD_TYPE, payload, ledgerKey));
    }

    /**
     * Reads a certificate from its encoding (the envelope's JSON). Does not check the
     * signature: {@link #verify} does.
     *
     * @param bytes the encoding, at most {@link #MAX_BYTES}
     * @return the certificate
     * @throws InvalidArgumentException if {@code bytes} is null
     * @throws VerificationException    ({@code MALFORMED_ENVELOPE}, {@code WRONG_PAYLOAD_TYPE},
     *                                  {@code MALFORMED_STATEMENT}) if it is not a well-formed
     *                                  hold certificate in its one encoding
     */
    public static HoldCertificate parse(byte[] bytes) {
        InvalidArgumentException.requireNonNull(bytes, "certificate bytes");
        if (bytes.length > MAX_BYTES) {
            throw new VerificationException(Reason.MALFORMED_ENVELOPE, "hold certificate of " + bytes.length
                    + " bytes is over the " + MAX_BYTES + "-byte limit: reject it");
        }
        Envelope env = Envelope.parse(bytes, MAX_BYTES);
        if (!PAYLOAD_TYPE.equals(env.payloadType())) {
            throw new VerificationException(Reason.WRONG_PAYLOAD_TYPE, "payload type '" + env.payloadType()
                    + "' is not a hold certificate's (" + PAYLOAD_TYPE + "): reject it");
        }
        byte[] payload = env.payload();
        String text = new String(payload, StandardCharsets.US_ASCII);
        String[] lines = text.split("\n", -1);
        boolean priced = lines.length == NAMES.length + 3;
        if ((lines.length != NAMES.length + 2 && !priced) || !lines[0].equals(FIRST)
                || !lines[lines.length - 1].isEmpty()) {
            throw malformed("it is not " + (NAMES.length + 1) + " lines (or " + (NAMES.length + 2)
                    + " with a price) starting '" + FIRST + "'");
        }
        String[] v = new String[NAMES.length];
        for (int i = 0; i < NAMES.length; i++) {
            String prefix = NAMES[i] + " ";
            if (!lines[i + 1].startsWith(prefix)) {
                throw malformed("line " + (i + 2) + " is not '" + NAMES[i] + " <value>'");
            }
            v[i] = lines[i + 1].substring(prefix.length());
        }
        java.util.Optional<Price> price = java.util.Optional.empty();
        HoldCertificate c;
        try {
            if (priced) {
                String line = lines[NAMES.length + 1];
                if (!line.startsWith("price ")) {
                    throw malformed("line " + (NAMES.length + 2) + " is not 'price <per device-second>/<per GB>'");
                }
                String[] p = line.substring("price ".length()).split("/", -1);
                if (p.length != 2) {
                    throw malformed("line " + (NAMES.length + 2) + " is not 'price <per device-second>/<per GB>'");
                }
                price = java.util.Optional.of(new Price(MicroUsd.ofMicros(Long.parseLong(p[0])),
                        MicroUsd.ofMicros(Long.parseLong(p[1]))));
            }
            c = new HoldCertificate(NodeId.parse(v[0]), OperationKey.of(v[1]), AccountId.of(v[2]), AccountId.of(v[3]),
                    MicroUsd.ofMicros(Long.parseLong(v[4])), v[5], Instant.ofEpochMilli(Long.parseLong(v[6])), price,
                    env);
        } catch (InvalidArgumentException | NumberFormatException | java.time.DateTimeException e) {
            throw malformed(e.getMessage());
        }
        if (!Arrays.equals(payload, encode(c.ledger, c.hold, c.buyer, c.payee, c.amount, c.specHash, c.expiresAt,
                c.price))) {
            throw malformed("its fields are not in their one canonical form");
        }
        return c;
    }

    /** @return the encoding: the signed envelope's JSON */
    public byte[] toBytes() {
        return envelope.toJsonBytes();
    }

    /**
     * What a provider checks before it admits a job: the certificate is signed by the ledger it
     * trusts, pays it, is for exactly this spec, and has not expired.
     *
     * @param ledgerKey the ledger's public key the provider trusts
     * @param provider  the provider's node id (the payee must be {@code provider:<node id>})
     * @param specHash  the SHA-256 (hex) of the spec the provider is asked to run
     * @param offered   the provider's own price: a certificate that names a price must name this
     * @param now       the provider's clock
     * @throws InvalidArgumentException if an argument is null
     * @throws VerificationException    {@code KEY_MISMATCH} or {@code BAD_SIGNATURE} (not signed
     *                                  by that ledger), {@code PAYEE_MISMATCH} (pays someone
     *                                  else), {@code SPEC_HASH_MISMATCH} (held for another job),
     *                                  {@code PRICE_MISMATCH} (held at another price),
     *                                  {@code CERTIFICATE_EXPIRED} (at or past its expiry)
     */
    public void verify(NodePublicKey ledgerKey, NodeId provider, String specHash, Price offered, Instant now) {
        InvalidArgumentException.requireNonNull(offered, "the provider's price");
        InvalidArgumentException.requireNonNull(ledgerKey, "ledger key");
        InvalidArgumentException.requireNonNull(provider, "provider");
        InvalidArgumentException.requireNonNull(specHash, "spec hash");
        InvalidArgumentException.requireNonNull(now, "now");
        if (!ledgerKey.nodeId().equals(ledger)) {
            throw new VerificationException(Reason.KEY_MISMATCH, "hold certificate " + hold + " names ledger "
                    + ledger.shortId() + ", not the trusted ledger " + ledgerKey.nodeId().shortId() + ": reject the job");
        }
        envelope.verify(PAYLOAD_TYPE, ledgerKey);
        AccountId expected = AccountId.of("provider:" + provider.hex());
        if (!payee.equals(expected)) {
            throw new VerificationException(Reason.PAYEE_MISMATCH, "hold certificate " + hold + " pays " + payee
                    + ", not this provider (" + expected + "): reject the job");
        }
        if (!this.specHash.equals(specHash)) {
            throw new VerificationException(Reason.SPEC_HASH_MISMATCH, "hold certificate " + hold
                    + " holds money for spec " + this.specHash + ", not for the spec sent (" + specHash
                    + "): reject the job");
        }
        if (price.isPresent() && !price.get().equals(offered)) {
            throw new VerificationException(Reason.PRICE_MISMATCH, "hold certificate " + hold + " holds money at "
                    + "price " + describe(price.get()) + ", not at this provider's price " + describe(offered)
                    + ": the buyer's claim bound would not pay it; reject the job");
        }
        if (!now.isBefore(expiresAt)) {
            throw new VerificationException(Reason.CERTIFICATE_EXPIRED, "hold certificate " + hold + " expired at "
                    + expiresAt + " (now " + now + "): the money is no longer held; reject the job");
        }
    }

    private static String describe(Price p) {
        return p.perDeviceSecond().micros() + "/" + p.perGigabyte().micros() + " micro-USD per device-second/GB";
    }

    static String requireSpecHash(String specHash) {
        InvalidArgumentException.requireNonNull(specHash, "spec hash");
        if (!HEX64.matcher(specHash).matches()) {
            throw new InvalidArgumentException("spec hash '" + specHash + "' must be 64 lower-case hex characters");
        }
        return specHash;
    }

    private static byte[] encode(NodeId ledger, OperationKey hold, AccountId buyer, AccountId payee, MicroUsd amount,
                                 String spec, Instant expires, java.util.Optional<Price> price) {
        String text = FIRST + "\nledger " + ledger.hex() + "\nhold " + hold.value() + "\nbuyer " + buyer.value()
                + "\npayee " + payee.value() + "\namount " + amount.micros() + "\nspec " + spec + "\nexpires "
                + expires.toEpochMilli() + "\n" + price.map(p -> "price " + p.perDeviceSecond().micros() + "/"
                + p.perGigabyte().micros() + "\n").orElse("");
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    private static VerificationException malformed(String why) {
        return new VerificationException(Reason.MALFORMED_STATEMENT, "malformed hold certificate: " + why
                + "; reject it");
    }
}
