package dev.depin.provider;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.BadSignatureException;
import dev.depin.crypto.CanonicalJson;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

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

    /** @throws InvalidArgumentException on null fields or a signature that is not 64 bytes */
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
     * @throws InvalidOfferException naming which check failed
     */
    public void verify(Instant now) {
        InvalidArgumentException.requireNonNull(now, "time of use");
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
        if (!now.isBefore(terms.validUntil())) {
            throw new InvalidOfferException("offer from " + nodeId.shortId() + " expired at " + terms.validUntil()
                    + ": ask the network for a fresh offer");
        }
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
        Map<String, Object> m = new TreeMap<>();
        m.put("format", "depin.offer/v1");
        m.put("endpoint", t.endpoint());
        List<Object> devices = new ArrayList<>();
        for (DeviceInfo d : t.devices()) {
            Map<String, Object> dm = new TreeMap<>();
            dm.put("kind", d.kind().name());
            dm.put("model", d.model());
            dm.put("memoryBytes", d.memoryBytes());
            dm.put("computeCapability", d.computeCapability());
            dm.put("units", d.units());
            dm.put("fp32Gflops", Double.toHexString(d.fp32Gflops()));
            dm.put("uuidHash", d.uuidHash());
            devices.add(dm);
        }
        m.put("devices", devices);
        m.put("region", t.region().toString());
        m.put("kernels", new TreeSet<>(t.kernels()));
        m.put("pricePerDeviceSecondMicroUsd", t.price().perDeviceSecond().micros());
        m.put("pricePerGigabyteMicroUsd", t.price().perGigabyte().micros());
        m.put("stakeMicroUsd", t.stake().micros());
        m.put("validUntilEpochMillis", t.validUntil().toEpochMilli());
        try {
            return CanonicalJson.writer().writeValueAsBytes(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("canonical JSON of validated terms cannot fail", e);
        }
    }
}
