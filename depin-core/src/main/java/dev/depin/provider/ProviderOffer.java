package dev.depin.provider;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.BadSignatureException;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import java.time.Instant;
import java.util.List;

/**
 * A provider's signed offer: its {@link OfferTerms}, its public key, and an Ed25519
 * signature over the DSSE PAE of the terms' canonical JSON with payload type
 * {@value #PAYLOAD_TYPE} (so an offer signature can never pass for a receipt's).
 *
 * <p>The node id is the SHA-256 of the key, so an offer names its own identity. A buyer
 * calls {@link #verify(Instant)} before using an offer; an expired or badly signed
 * offer is never matched.
 *
 * @param nodeId    SHA-256 of {@code publicKey}
 * @param publicKey the provider's Ed25519 key, which also signs its receipts
 * @param terms     what is offered
 * @param signature 64-byte Ed25519 signature
 */
public record ProviderOffer(NodeId nodeId, NodePublicKey publicKey, OfferTerms terms, byte[] signature) {
    /** DSSE payload type that offer signatures are bound to. */
    public static final String PAYLOAD_TYPE = "application/vnd.depin.offer+json";

    /**
     * Checks the fields and copies the signature.
     *
     * @param nodeId    SHA-256 of {@code publicKey}
     * @param publicKey the provider's Ed25519 key, which also signs its receipts
     * @param terms     what is offered
     * @param signature 64-byte Ed25519 signature
     * @throws InvalidArgumentException on null fields or a signature that is not 64 bytes
     */
    public ProviderOffer {
        InvalidArgumentException.requireNonNull(nodeId, "offer node id");
        InvalidArgumentException.requireNonNull(publicKey, "offer public key");
        InvalidArgumentException.requireNonNull(terms, "offer terms");
        InvalidArgumentException.requireNonNull(signature, "offer signature");
        if (signature.length != NodePublicKey.SIGNATURE_LENGTH) {
            throw new InvalidArgumentException("offer signature has " + signature.length
                    + " bytes: an Ed25519 signature has 64");
        }
        signature = signature.clone();
    }

    /**
     * Signs {@code terms} with the provider's key.
     *
     * @param key   the provider's identity
     * @param terms what it offers
     * @return the signed offer
     */
    public static ProviderOffer sign(NodeKeyPair key, OfferTerms terms) {
        InvalidArgumentException.requireNonNull(key, "provider key");
        InvalidArgumentException.requireNonNull(terms, "offer terms");
        byte[] sig = Envelope.sign(PAYLOAD_TYPE, canonicalTerms(terms), key).signatures().get(0).sig();
        return new ProviderOffer(key.nodeId(), key.publicKey(), terms, sig);
    }

    /**
     * Checks that this offer may be used at {@code now}: the node id is the key's hash,
     * the signature covers these terms, and the offer has not expired.
     *
     * @param now the time of use
     * @throws InvalidOfferException naming which check failed
     */
    public void verify(Instant now) {
        InvalidArgumentException.requireNonNull(now, "time of use");
        verifySignature();
        if (!now.isBefore(terms.validUntil())) {
            throw new InvalidOfferException("offer from " + nodeId.shortId() + " expired at " + terms.validUntil()
                    + ": ask the network for a fresh offer");
        }
    }

    /**
     * Checks that the provider signed this offer, whenever it was valid: the node id is the
     * key's hash and the signature covers these terms. What a past offer promised (an SLA a buyer
     * holds a provider to) is checked this way; an offer used now needs {@link #verify}.
     *
     * @throws InvalidOfferException naming which check failed
     */
    public void verifySignature() {
        if (!publicKey.nodeId().equals(nodeId)) {
            throw new InvalidOfferException("offer claims node " + nodeId.shortId() + " but its key hashes to "
                    + publicKey.nodeId().shortId() + ": ignore this offer");
        }
        try {
            publicKey.verify(PAYLOAD_TYPE, canonicalTerms(terms), signature);
        } catch (BadSignatureException e) {
            throw new InvalidOfferException("offer from " + nodeId.shortId()
                    + " is not signed by its key (terms altered or forged): ignore this offer");
        }
    }

    /**
     * A digest that identifies this exact signed offer: SHA-256 over the key, the
     * canonical terms and the signature. Two offers with equal digests are the same offer,
     * so a buyer verifies each signature once and caches the answer under this digest.
     *
     * @return 64 lower-case hex characters
     */
    public String digest() {
        byte[] terms = canonicalTerms(this.terms);
        byte[] key = publicKey.raw();
        java.nio.ByteBuffer all = java.nio.ByteBuffer.allocate(key.length + terms.length + signature.length);
        all.put(key).put(terms).put(signature);
        return dev.depin.crypto.Sha256.hex(all.array());
    }

    /** @return a copy of the signature */
    @Override
    public byte[] signature() {
        return signature.clone();
    }

    /** @return the offer's region (shortcut for {@code terms().region()}) */
    public Region region() {
        return terms.region();
    }

    /** @return the offer's devices (shortcut for {@code terms().devices()}) */
    public List<DeviceInfo> devices() {
        return terms.devices();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ProviderOffer other && nodeId.equals(other.nodeId) && terms.equals(other.terms)
                && java.util.Arrays.equals(signature, other.signature);
    }

    @Override
    public int hashCode() {
        return nodeId.hashCode() * 31 + terms.hashCode();
    }

    @Override
    public String toString() {
        return "ProviderOffer[" + nodeId.shortId() + " " + terms.region() + " " + terms.endpoint() + " "
                + terms.price() + " until " + terms.validUntil() + "]";
    }

    /** Canonical JSON of the terms: the bytes the signature covers. */
    static byte[] canonicalTerms(OfferTerms t) {
        return OfferJson.canonicalTerms(t);
    }

    /**
     * The offer as it travels between nodes, directories and buyers: canonical JSON of
     * the terms, the key, the node id and the signature.
     *
     * @return the JSON form (UTF-8)
     */
    public byte[] toJson() {
        return OfferJson.signed(this);
    }

    /**
     * Parses an offer strictly (at most 64 KiB; exact fields and types; canonical numbers).
     * The signature is not checked here: call {@link #verify} before using the offer.
     *
     * @param json the JSON form
     * @return the offer
     * @throws InvalidOfferException naming what is wrong
     */
    public static ProviderOffer fromJson(byte[] json) {
        return OfferJson.read(json);
    }
}
