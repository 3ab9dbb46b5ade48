package dev.depin.settlement;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.depin.InvalidArgumentException;
import dev.depin.money.MicroUsd;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class OperationJsonTest {
    private static final AccountId A = AccountId.of("buyer:acme");
    private static final AccountId B = AccountId.of("provider:p1");
    private static final Instant T = Instant.parse("2026-01-01T00:00:00.123Z");

    @Test
    void toJson_roundTripsEveryMember() {
        List<Operation> ops = List.of(
                new Operation.Mint(OperationKey.of("m"), A, MicroUsd.ofMicros(5)),
                new Operation.Transfer(OperationKey.of("t"), A, B, MicroUsd.ofMicros(Long.MAX_VALUE)),
                new Operation.Hold(OperationKey.of("h"), A, B, MicroUsd.ofMicros(7), T),
                new Operation.Hold(OperationKey.of("h2"), A, B, MicroUsd.ofMicros(7), T, Optional.of("0f".repeat(32))),
                new Operation.Hold(OperationKey.of("h3"), A, B, MicroUsd.ofMicros(7), T, Optional.of("0f".repeat(32)),
                        Optional.of(new dev.depin.money.Price(MicroUsd.ofMicros(250), MicroUsd.ZERO))),
                new Operation.Post(OperationKey.of("p"), OperationKey.of("h"), MicroUsd.ZERO),
                new Operation.VoidHold(OperationKey.of("v"), OperationKey.of("h")),
                new Operation.Expire(OperationKey.of("x"), OperationKey.of("h")),
                new Operation.Slash(OperationKey.of("s"), AccountId.of("stake:p1"), Optional.of(A), MicroUsd.ofMicros(1),
                        MicroUsd.ZERO, "sha256:ab"),
                new Operation.Slash(OperationKey.of("s2"), AccountId.of("stake:p1"), Optional.empty(), MicroUsd.ZERO,
                        MicroUsd.ofMicros(3), "d"),
                new Operation.Claim(OperationKey.of("c"), OperationKey.of("h"), MicroUsd.ofMicros(7), "sha256:cd"),
                new Operation.Dispute(OperationKey.of("d"), OperationKey.of("h"), "sha256:ef"));
        for (Operation op : ops) {
            byte[] json = op.toJson();
            assertEquals(op, Operation.fromJson(json), new String(json, StandardCharsets.UTF_8));
            assertArrayEquals(json, Operation.fromJson(json).toJson());
        }
        assertEquals("{\"amount\":7,\"expiresAt\":1767225600123,\"key\":\"h\",\"op\":\"hold\",\"payee\":\"provider:p1\","
                + "\"payer\":\"buyer:acme\"}", new String(ops.get(2).toJson(), StandardCharsets.UTF_8));
    }

    /**
     * The generator writes the bytes the sorted-map form wrote before it: the strict reader gives
     * back the same operation (every field there with its value, nothing else), and the bytes are
     * what the canonical writer makes of their own tree (keys in code-point order, compact, the
     * same number and string forms). Every member, with and without its optional fields, random
     * ids, amounts and evidence (quotes and backslashes included), fixed seed.
     */
    @Test
    void toJson_sameBytesAsTheSortedMapForm() {
        long seed = 20261206L;
        java.util.Random r = new java.util.Random(seed);
        for (int i = 0; i < 2_000; i++) {
            Operation op = randomOperation(r, i);
            byte[] json = op.toJson();
            String where = "seed " + seed + ", operation " + i + ": " + new String(json, StandardCharsets.UTF_8);
            assertEquals(op, Operation.fromJson(json), where);
            assertEquals(new String(dev.depin.crypto.CanonicalJson.write(dev.depin.crypto.CanonicalJson.readTree(json)),
                    StandardCharsets.UTF_8), new String(json, StandardCharsets.UTF_8), where);
        }
    }

    private static Operation randomOperation(java.util.Random r, int i) {
        OperationKey key = OperationKey.of(id(r, "k/") + i);
        OperationKey hold = OperationKey.of(id(r, "h/"));
        AccountId a = AccountId.of(id(r, "buyer:"));
        AccountId b = AccountId.of(id(r, "provider:"));
        MicroUsd amount = MicroUsd.ofMicros(1 + (r.nextBoolean() ? r.nextInt(1_000) : r.nextLong() & (Long.MAX_VALUE - 1)));
        String evidence = evidence(r);
        return switch (i % 9) {
            case 0 -> new Operation.Mint(key, a, amount);
            case 1 -> new Operation.Transfer(key, a, b, amount);
            case 2 -> hold(r, key, a, b, amount);
            case 3 -> new Operation.Post(key, hold, MicroUsd.ofMicros(r.nextInt(5)));
            case 4 -> new Operation.VoidHold(key, hold);
            case 5 -> new Operation.Expire(key, hold);
            case 6 -> {
                boolean beneficiary = r.nextBoolean();
                yield new Operation.Slash(key, AccountId.of(id(r, "stake:")), beneficiary ? Optional.of(a) : Optional.empty(),
                        MicroUsd.ofMicros(beneficiary ? r.nextInt(50) : 0), MicroUsd.ofMicros(1 + r.nextInt(50)), evidence);
            }
            case 7 -> new Operation.Claim(key, hold, amount, evidence);
            default -> new Operation.Dispute(key, hold, evidence);
        };
    }

    /** A hold with or without a spec hash, and with a price only where it has one. */
    private static Operation hold(java.util.Random r, OperationKey key, AccountId a, AccountId b, MicroUsd amount) {
        Optional<String> spec = r.nextBoolean() ? Optional.of(dev.depin.crypto.Hex.encode(bytes(r, 32))) : Optional.empty();
        Optional<dev.depin.money.Price> price = spec.isPresent() && r.nextBoolean()
                ? Optional.of(new dev.depin.money.Price(MicroUsd.ofMicros(r.nextInt(900)), MicroUsd.ofMicros(r.nextInt(900))))
                : Optional.empty();
        return new Operation.Hold(key, a, b, amount, Instant.ofEpochMilli(r.nextLong() & 0xffff_ffff_ffffL), spec, price);
    }

    private static final String ID_CHARS = "ABCXYZabcxyz0189:._-";

    private static String id(java.util.Random r, String prefix) {
        StringBuilder sb = new StringBuilder(prefix);
        int n = 1 + r.nextInt(40);
        for (int i = 0; i < n; i++) {
            sb.append(ID_CHARS.charAt(r.nextInt(ID_CHARS.length())));
        }
        return sb.toString();
    }

    /** 1 to 60 printable ASCII characters without spaces, quotes and backslashes included. */
    private static String evidence(java.util.Random r) {
        StringBuilder sb = new StringBuilder();
        int n = 1 + r.nextInt(60);
        for (int i = 0; i < n; i++) {
            sb.append((char) (33 + r.nextInt(94)));
        }
        return sb.toString();
    }

    private static byte[] bytes(java.util.Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    @Test
    void fromJson_refusesEachMalformationSayingWhat() {
        refused("{\"op\":\"mint\",\"key\":\"m\",\"to\":\"buyer:acme\"", "operation JSON is not one strict JSON document");
        refused("[1]", "operation JSON is a JSON array, not an object");
        refused("{\"key\":\"m\"}", "operation JSON has no text field 'op'");
        refused("{\"op\":\"steal\",\"key\":\"m\"}", "operation JSON names op 'steal'");
        refused("{\"op\":\"mint\",\"key\":\"m\",\"to\":\"buyer:acme\",\"amount\":1,\"x\":1}",
                "operation JSON of a mint has an unknown field 'x'");
        refused("{\"op\":\"mint\",\"key\":\"m\",\"to\":\"buyer:acme\"}", "operation JSON of a mint lacks the field 'amount'");
        refused("{\"op\":\"mint\",\"key\":\"m\",\"to\":\"buyer:acme\",\"amount\":-1}",
                "operation JSON field 'amount' is -1, below 0");
        refused("{\"op\":\"mint\",\"key\":\"m\",\"to\":\"buyer:acme\",\"amount\":1.5}",
                "operation JSON field 'amount' is not an integer");
        refused("{\"op\":\"mint\",\"key\":\"m\",\"to\":\"buyer:acme\",\"amount\":99999999999999999999}",
                "operation JSON field 'amount' is not an integer");
        refused("{\"op\":\"mint\",\"key\":\"m\",\"to\":1,\"amount\":1}", "operation JSON field 'to' is not a string");
        refused("{\"op\":\"claim\",\"key\":\"c\",\"hold\":\"h\",\"amount\":0,\"evidence\":\"r\"}",
                "operation JSON of a claim is refused: claim amount is zero");
        refused("{\"op\":\"dispute\",\"key\":\"d\",\"hold\":\"h\",\"evidence\":\"a b\"}",
                "operation JSON of a dispute is refused: dispute evidence 'a b' must be 1 to 200 printable ASCII");
        refused("{\"op\":\"dispute\",\"key\":\"d\",\"hold\":\"h\"}", "operation JSON of a dispute lacks the field 'evidence'");
        refused("{\"op\":\"mint\",\"key\":\"m\",\"to\":\"buyer:acme\",\"amount\":0}",
                "operation JSON of a mint is refused: mint amount is zero");
        refused("{\"op\":\"mint\",\"key\":\"has space\",\"to\":\"buyer:acme\",\"amount\":1}",
                "operation JSON of a mint is refused: operation key 'has space' is malformed");
        refused("{\"op\":\"mint\",\"op\":\"mint\",\"key\":\"m\",\"to\":\"buyer:acme\",\"amount\":1}",
                "operation JSON is not one strict JSON document");
        refused("{\"op\":\"hold\",\"key\":\"h\",\"payer\":\"a\",\"payee\":\"a\",\"amount\":1,\"expiresAt\":1}",
                "operation JSON of a hold is refused: debit and credit are both a");
        refused("{\"op\":\"hold\",\"key\":\"h\",\"payer\":\"a\",\"payee\":\"b\",\"amount\":1,\"expiresAt\":1,"
                + "\"specHash\":\"" + "0f".repeat(32) + "\",\"pricePerDeviceSecond\":5}",
                "operation JSON of a hold has only one of 'pricePerDeviceSecond' and 'pricePerGigabyte': give both or neither");
        refused("{\"op\":\"hold\",\"key\":\"h\",\"payer\":\"a\",\"payee\":\"b\",\"amount\":1,\"expiresAt\":1,"
                + "\"pricePerDeviceSecond\":5,\"pricePerGigabyte\":0}",
                "operation JSON of a hold is refused: hold h names a price but no job spec");
        refused("{\"op\":\"hold\",\"key\":\"h\",\"payer\":\"a\",\"payee\":\"b\",\"amount\":1,\"expiresAt\":1,"
                + "\"specHash\":\"" + "0f".repeat(32) + "\",\"pricePerDeviceSecond\":-5,\"pricePerGigabyte\":0}",
                "operation JSON field 'pricePerDeviceSecond' is -5, below 0");
        refused("{\"op\":\"mint\",\"key\":\"" + "m".repeat(5000) + "\",\"to\":\"a\",\"amount\":1}",
                "operation JSON has 5042 bytes, more than the 4096");
        assertThrows(InvalidArgumentException.class, () -> Operation.fromJson(null));
    }

    private static void refused(String json, String prefix) {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> Operation.fromJson(json.getBytes(StandardCharsets.UTF_8)));
        if (!e.getMessage().startsWith(prefix)) {
            throw new AssertionError("expected a message starting '" + prefix + "', got '" + e.getMessage() + "'");
        }
    }
}
