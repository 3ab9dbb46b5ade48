package dev.depin.settlement;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.depin.DepinException;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.CanonicalJson;
import dev.depin.money.MicroUsd;
import java.io.IOException;
import java.time.Instant;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The JSON form of an {@link Operation}, as a settlement service receives it: one object whose
 * {@code op} names the member, with exactly that member's fields (amounts and times as integer
 * micro-USD and epoch milliseconds). Read strictly: at most {@link Operation#MAX_JSON_BYTES},
 * no unknown or missing field, no field of the wrong type, then the member's own checks.
 */
final class OperationJson {
    private static final Map<String, Set<String>> FIELDS = Map.of(
            "mint", Set.of("op", "key", "to", "amount"),
            "transfer", Set.of("op", "key", "from", "to", "amount"),
            "hold", Set.of("op", "key", "payer", "payee", "amount", "expiresAt", "specHash", "pricePerDeviceSecond",
                    "pricePerGigabyte"),
            "post", Set.of("op", "key", "hold", "amount"),
            "void", Set.of("op", "key", "hold"),
            "expire", Set.of("op", "key", "hold"),
            "slash", Set.of("op", "key", "stake", "beneficiary", "toBeneficiary", "burned", "evidence"),
            "claim", Set.of("op", "key", "hold", "amount", "evidence"),
            "dispute", Set.of("op", "key", "hold", "evidence"));
    private static final Set<String> OPTIONAL = Set.of("specHash", "beneficiary", "pricePerDeviceSecond", "pricePerGigabyte");

    private OperationJson() {
    }

    /**
     * The canonical JSON of {@code op}, written straight to a generator with each member's keys in
     * code-point order (the fields below are listed in that order), no intermediate map or tree:
     * the same bytes as writing a sorted map of the same values ({@code OperationJsonTest} checks
     * them against that form), at a fraction of the cost on a settlement client's busiest path.
     */
    static byte[] write(Operation op) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(256);
        try (JsonGenerator g = CanonicalJson.writer().createGenerator(out)) {
            g.writeStartObject();
            if (op instanceof Operation.Mint o) {
                g.writeNumberField("amount", o.amount().micros());
                common(g, op, "mint");
                g.writeStringField("to", o.to().value());
            } else if (op instanceof Operation.Transfer o) {
                g.writeNumberField("amount", o.amount().micros());
                g.writeStringField("from", o.from().value());
                common(g, op, "transfer");
                g.writeStringField("to", o.to().value());
            } else if (op instanceof Operation.Hold o) {
                g.writeNumberField("amount", o.amount().micros());
                g.writeNumberField("expiresAt", o.expiresAt().toEpochMilli());
                common(g, op, "hold");
                g.writeStringField("payee", o.payee().value());
                g.writeStringField("payer", o.payer().value());
                if (o.price().isPresent()) {
                    g.writeNumberField("pricePerDeviceSecond", o.price().get().perDeviceSecond().micros());
                    g.writeNumberField("pricePerGigabyte", o.price().get().perGigabyte().micros());
                }
                if (o.specHash().isPresent()) {
                    g.writeStringField("specHash", o.specHash().get());
                }
            } else if (op instanceof Operation.Post o) {
                g.writeNumberField("amount", o.amount().micros());
                g.writeStringField("hold", o.hold().value());
                common(g, op, "post");
            } else if (op instanceof Operation.VoidHold o) {
                g.writeStringField("hold", o.hold().value());
                common(g, op, "void");
            } else if (op instanceof Operation.Expire o) {
                g.writeStringField("hold", o.hold().value());
                common(g, op, "expire");
            } else if (op instanceof Operation.Slash o) {
                if (o.beneficiary().isPresent()) {
                    g.writeStringField("beneficiary", o.beneficiary().get().value());
                }
                g.writeNumberField("burned", o.burned().micros());
                g.writeStringField("evidence", o.evidence());
                common(g, op, "slash");
                g.writeStringField("stake", o.stake().value());
                g.writeNumberField("toBeneficiary", o.toBeneficiary().micros());
            } else if (op instanceof Operation.Claim o) {
                g.writeNumberField("amount", o.amount().micros());
                g.writeStringField("evidence", o.evidence());
                g.writeStringField("hold", o.hold().value());
                common(g, op, "claim");
            } else if (op instanceof Operation.Dispute o) {
                g.writeStringField("evidence", o.evidence());
                g.writeStringField("hold", o.hold().value());
                common(g, op, "dispute");
            } else {
                throw new IllegalStateException("a new Operation member needs its JSON form: " + op);
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException("canonical JSON of a validated operation cannot fail", e);
        }
        return out.toByteArray();
    }

    /** The two fields every member has, which sort together: {@code key}, then {@code op}. */
    private static void common(JsonGenerator g, Operation op, String type) throws IOException {
        g.writeStringField("key", op.key().value());
        g.writeStringField("op", type);
    }

    static Operation read(byte[] json) {
        InvalidArgumentException.requireNonNull(json, "operation JSON");
        if (json.length > Operation.MAX_JSON_BYTES) {
            throw bad("has " + json.length + " bytes, more than the " + Operation.MAX_JSON_BYTES + " any operation needs");
        }
        JsonNode n;
        try {
            n = CanonicalJson.readTree(json);
        } catch (DepinException e) {
            throw bad("is not one strict JSON document (" + e.getMessage() + ")");
        }
        if (!n.isObject()) {
            throw bad("is a JSON " + n.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + ", not an object");
        }
        JsonNode opNode = n.get("op");
        if (opNode == null || !opNode.isTextual()) {
            throw bad("has no text field 'op': name one of " + new java.util.TreeSet<>(FIELDS.keySet()));
        }
        String type = opNode.textValue();
        Set<String> allowed = FIELDS.get(type);
        if (allowed == null) {
            throw bad("names op '" + shorten(type) + "': use one of " + new java.util.TreeSet<>(FIELDS.keySet()));
        }
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw bad("of a " + type + " has an unknown field '" + shorten(f) + "': its fields are "
                        + new java.util.TreeSet<>(allowed));
            }
        }
        for (String f : allowed) {
            if (!OPTIONAL.contains(f) && !n.has(f)) {
                throw bad("of a " + type + " lacks the field '" + f + "'");
            }
        }
        try {
            OperationKey key = OperationKey.of(text(n, "key"));
            return switch (type) {
                case "mint" -> new Operation.Mint(key, account(n, "to"), micros(n, "amount"));
                case "transfer" -> new Operation.Transfer(key, account(n, "from"), account(n, "to"), micros(n, "amount"));
                case "hold" -> new Operation.Hold(key, account(n, "payer"), account(n, "payee"), micros(n, "amount"),
                        Instant.ofEpochMilli(integer(n, "expiresAt", Long.MIN_VALUE)),
                        n.has("specHash") ? Optional.of(text(n, "specHash")) : Optional.empty(), price(n));
                case "post" -> new Operation.Post(key, OperationKey.of(text(n, "hold")), micros(n, "amount"));
                case "void" -> new Operation.VoidHold(key, OperationKey.of(text(n, "hold")));
                case "expire" -> new Operation.Expire(key, OperationKey.of(text(n, "hold")));
                case "slash" -> new Operation.Slash(key, account(n, "stake"),
                        n.has("beneficiary") ? Optional.of(account(n, "beneficiary")) : Optional.empty(),
                        micros(n, "toBeneficiary"), micros(n, "burned"), text(n, "evidence"));
                case "claim" -> new Operation.Claim(key, OperationKey.of(text(n, "hold")), micros(n, "amount"),
                        text(n, "evidence"));
                case "dispute" -> new Operation.Dispute(key, OperationKey.of(text(n, "hold")), text(n, "evidence"));
                default -> throw new IllegalStateException("unreachable: " + type);
            };
        } catch (InvalidArgumentException e) {
            if (e.getMessage().startsWith("operation JSON ")) {
                throw e;
            }
            throw bad("of a " + type + " is refused: " + e.getMessage());
        }
    }

    /** A hold's price: both of its fields or neither. */
    private static Optional<dev.depin.money.Price> price(JsonNode n) {
        boolean second = n.has("pricePerDeviceSecond");
        if (second != n.has("pricePerGigabyte")) {
            throw bad("of a hold has only one of 'pricePerDeviceSecond' and 'pricePerGigabyte': give both or neither");
        }
        return second ? Optional.of(new dev.depin.money.Price(micros(n, "pricePerDeviceSecond"),
                micros(n, "pricePerGigabyte"))) : Optional.empty();
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (!v.isTextual()) {
            throw bad("field '" + field + "' is not a string");
        }
        return v.textValue();
    }

    private static AccountId account(JsonNode n, String field) {
        return AccountId.of(text(n, field));
    }

    private static long integer(JsonNode n, String field, long min) {
        JsonNode v = n.get(field);
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw bad("field '" + field + "' is not an integer within a signed 64-bit range");
        }
        long x = v.longValue();
        if (x < min) {
            throw bad("field '" + field + "' is " + x + ", below " + min);
        }
        return x;
    }

    private static MicroUsd micros(JsonNode n, String field) {
        return MicroUsd.ofMicros(integer(n, field, 0));
    }

    private static String shorten(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }

    private static InvalidArgumentException bad(String what) {
        return new InvalidArgumentException("operation JSON " + what);
    }
}
