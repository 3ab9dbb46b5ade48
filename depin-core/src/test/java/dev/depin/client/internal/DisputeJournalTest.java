package dev.depin.client.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.settlement.OperationKey;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The buyer's dispute journal: what it writes reads back whole; what a crash or a stranger left is not disputed. */
class DisputeJournalTest {
    private static final long SEED = 61206L;

    private static byte[] random(SplittableRandom rnd, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) rnd.nextInt(256);
        }
        return b;
    }

    private static DisputeJournal.Entry entry(SplittableRandom rnd, String hold) {
        return new DisputeJournal.Entry(OperationKey.of(hold), random(rnd, 1 + rnd.nextInt(3000)),
                Map.of("x", ByteBuffer.wrap(random(rnd, 4097)), "y", ByteBuffer.wrap(random(rnd, 0))),
                Map.of("y", ByteBuffer.wrap(random(rnd, 65_537))));
    }

    @Test
    void write_readsBackWhole_andDeleteForgetsIt(@TempDir Path tmp) {
        System.out.println("DisputeJournalTest seed = " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        DisputeJournal j = new DisputeJournal(tmp.resolve("d"));
        assertEquals(List.of(), j.readAll(), "no directory yet: nothing kept");
        DisputeJournal.Entry a = entry(rnd, "s/job-1/1/hold");
        DisputeJournal.Entry b = entry(rnd, "s/job-2/3/hold");
        j.write(a);
        j.write(b);
        j.write(a); // a second write of the same hold replaces it
        List<DisputeJournal.Entry> back = j.readAll();
        assertEquals(2, back.size());
        for (DisputeJournal.Entry e : List.of(a, b)) {
            DisputeJournal.Entry r = back.stream().filter(x -> x.hold().equals(e.hold())).findFirst().orElseThrow();
            assertArrayEquals(e.record(), r.record());
            assertEquals(e.inputs(), r.inputs());
            assertEquals(e.outputs(), r.outputs());
        }
        j.delete(a.hold());
        j.delete(a.hold()); // absent is fine
        assertEquals(List.of(b.hold()), j.readAll().stream().map(DisputeJournal.Entry::hold).toList());
    }

    @Test
    void readAll_removesTornTemporaries_andSetsAsideFilesThatDoNotReadBack(@TempDir Path tmp) throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        Path dir = tmp.resolve("d");
        DisputeJournal j = new DisputeJournal(dir);
        j.write(entry(rnd, "s/ok/1/hold"));
        Files.write(dir.resolve("dispute-torn.bin.tmp"), random(rnd, 100)); // a write a crash cut short
        byte[] whole = Files.readAllBytes(only(dir));
        byte[] flipped = whole.clone();
        flipped[whole.length / 2] ^= 1;
        Files.write(dir.resolve("dispute-flipped.bin"), flipped);
        Files.write(dir.resolve("dispute-short.bin"), java.util.Arrays.copyOf(whole, 20));
        Files.write(dir.resolve("dispute-empty.bin"), new byte[0]);
        List<DisputeJournal.Entry> back = j.readAll();
        assertEquals(List.of(OperationKey.of("s/ok/1/hold")), back.stream().map(DisputeJournal.Entry::hold).toList());
        try (Stream<Path> s = Files.list(dir)) {
            List<String> names = s.map(p -> p.getFileName().toString()).sorted().toList();
            assertTrue(names.containsAll(List.of("dispute-empty.bin.corrupt", "dispute-flipped.bin.corrupt",
                    "dispute-short.bin.corrupt")), names.toString());
            assertTrue(names.stream().noneMatch(n -> n.endsWith(".tmp")), names.toString());
            assertEquals(4, names.size(), names.toString());
        }
    }

    private static Path only(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".bin")).findFirst().orElseThrow();
        }
    }
}
