package dev.depin.sla;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.depin.DepinException;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.CanonicalJson;
import dev.depin.crypto.NodeId;
import dev.depin.job.AttemptState;
import dev.depin.money.MicroUsd;
import dev.depin.provider.ProviderOffer;
import dev.depin.settlement.AccountId;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The buyer's SLA evidence on disk: every finished job's {@link SlaRecord}, appended as one line
 * of JSON and forced to the disk before the job's result is delivered, so a crash loses nothing
 * that was recorded. {@link #read} rebuilds the {@link SlaBook} from it ({@code depin sla}).
 *
 * <pre>
 * {"buyer":"buyer:demo","format":"depin-sla-journal/1"}                   header: whose journal
 * {"offer":{...signed offer...},"type":"offer"}                            once per offer, before its first use
 * {"attempts":[{"dispatched":"...","end":"ACCEPTED","ended":"...","n":1,"offer":"DIGEST"}],
 *  "charges":{"NODEID":"MICROS"},"flops":N,"job":"ID","type":"job"}       one per finished job
 * </pre>
 *
 * <p>Offers are kept whole, with their signatures, and checked again when the journal is read: the
 * terms a provider is held to are the ones it signed, not what the file claims. The buyer's own
 * timings and charges are its claims (docs/decisions.md, "SLA credits"). A crash in the middle
 * of a line leaves a line without its newline: reading ignores it, opening for appending cuts it
 * off. Any complete line that does not check refuses the whole file, naming the line. One process
 * at a time appends (an exclusive file lock).
 */
public final class SlaJournal implements SlaRecorder, AutoCloseable {
    /** The header's format name. */
    public static final String FORMAT = "depin-sla-journal/1";
    /** The longest line read: an offer is at most 64 KiB, a job of 1,024 attempts well under 1 MiB. */
    static final int MAX_LINE = 1 << 20;

    private final Path file;
    private final AccountId buyer;
    private final FileChannel channel;
    private final FileLock lock;
    private final SlaBook book;
    private final Set<String> offersWritten;
    private boolean closed;

    private SlaJournal(Path file, AccountId buyer, FileChannel channel, FileLock lock, SlaBook book,
                       Set<String> offersWritten) {
        this.file = file;
        this.buyer = buyer;
        this.channel = channel;
        this.lock = lock;
        this.book = book;
        this.offersWritten = offersWritten;
    }

    /**
     * What a journal holds.
     *
     * @param buyer     whose journal it is (the account credits go to)
     * @param book      the measurements, rebuilt from every complete line
     * @param tornTail  whether the file ended in a partial line (a crash while writing it), which was ignored
     */
    public record Contents(AccountId buyer, SlaBook book, boolean tornTail) {
    }

    /**
     * Opens a journal to append to, creating it if it does not exist, after reading back what it
     * holds ({@link #book()}).
     *
     * @param file  the journal's file
     * @param buyer the buyer's account; an existing journal must be this buyer's
     * @return the journal, holding an exclusive lock on the file until {@link #close}
     * @throws InvalidArgumentException on nulls
     * @throws SlaJournalException      if the file is not a regular file or not this buyer's journal,
     *                                  a line does not check, another process holds it, or I/O fails
     */
    public static SlaJournal open(Path file, AccountId buyer) {
        return open(file, buyer, new SlaBook());
    }

    /**
     * Opens a journal as {@link #open(Path, AccountId)} does, publishing its measurements in a
     * registry ({@link SlaBook#SlaBook(io.micrometer.core.instrument.MeterRegistry)}).
     *
     * @param file     the journal's file
     * @param buyer    the buyer's account
     * @param registry where the book's meters go
     * @return the journal
     * @throws InvalidArgumentException on nulls
     * @throws SlaJournalException      as {@link #open(Path, AccountId)}
     */
    public static SlaJournal open(Path file, AccountId buyer, io.micrometer.core.instrument.MeterRegistry registry) {
        return open(file, buyer, new SlaBook(InvalidArgumentException.requireNonNull(registry, "meter registry")));
    }

    private static SlaJournal open(Path file, AccountId buyer, SlaBook book) {
        InvalidArgumentException.requireNonNull(file, "journal file");
        InvalidArgumentException.requireNonNull(buyer, "buyer account");
        boolean exists = Files.exists(file);
        if (exists) {
            requireRegular(file);
        }
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new SlaJournalException("cannot open the SLA journal " + file + ": " + e.getMessage()
                    + " -- check the path and its permissions", e);
        }
        try {
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                throw new SlaJournalException("the SLA journal " + file + " is open for writing elsewhere (another "
                        + "client or process): give each client its own journal", null);
            }
            Set<String> digests = new HashSet<>();
            if (ch.size() == 0) {
                ObjectNode h = CanonicalJson.object();
                h.put("format", FORMAT);
                h.put("buyer", buyer.value());
                ch.write(ByteBuffer.wrap(line(h)));
                ch.force(true);
                forceDirectory(file);
            } else {
                Reader r = new Reader(file);
                long complete = r.read(java.nio.channels.Channels.newInputStream(ch.position(0)), book);
                if (!r.buyer.equals(buyer)) {
                    throw new SlaJournalException("the SLA journal " + file + " is the journal of " + r.buyer.value()
                            + ", not of " + buyer.value() + ": use another file for this buyer", null);
                }
                digests.addAll(r.offers.keySet());
                if (complete < ch.size()) {
                    ch.truncate(complete); // a line torn by a crash: it was never recorded
                    ch.force(true);
                }
            }
            ch.position(ch.size());
            return new SlaJournal(file, buyer, ch, lock, book, digests);
        } catch (IOException e) {
            closeQuietly(ch);
            throw new SlaJournalException("cannot use the SLA journal " + file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    /**
     * Reads a journal without changing it.
     *
     * @param file the journal
     * @return what it holds
     * @throws InvalidArgumentException on a null
     * @throws SlaJournalException      if it is missing, not a regular file, not a journal, or a line does not check
     */
    public static Contents read(Path file) {
        InvalidArgumentException.requireNonNull(file, "journal file");
        requireRegular(file);
        SlaBook book = new SlaBook();
        Reader r = new Reader(file);
        long size;
        long complete;
        try (InputStream in = Files.newInputStream(file)) {
            complete = r.read(in, book);
            size = r.bytes;
        } catch (IOException e) {
            throw new SlaJournalException("cannot read the SLA journal " + file + ": " + e.getMessage(), e);
        }
        return new Contents(r.buyer, book, complete < size);
    }

    /** @return the measurements: what the file held when opened, and every record since */
    public SlaBook book() {
        return book;
    }

    /** @return the buyer whose journal this is */
    public AccountId buyer() {
        return buyer;
    }

    /** @return the file */
    public Path file() {
        return file;
    }

    /**
     * Appends a finished job and forces it to the disk, then records it in {@link #book()}.
     *
     * @param record the job
     * @throws InvalidArgumentException if it was recorded before
     * @throws SlaJournalException      if the journal is closed or the write fails (the job is then not recorded)
     */
    @Override
    public synchronized void record(SlaRecord record) {
        InvalidArgumentException.requireNonNull(record, "SLA record");
        if (closed) {
            throw new SlaJournalException("the SLA journal " + file + " is closed: job " + record.jobId()
                    + " was not recorded", null);
        }
        if (book.contains(record.jobId())) {
            throw new InvalidArgumentException("job " + record.jobId() + " was recorded already: each job counts once");
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Set<String> newOffers = new HashSet<>();
        ObjectNode job = CanonicalJson.object();
        job.put("type", "job");
        job.put("job", record.jobId());
        job.put("flops", record.flops());
        ArrayNode attempts = job.putArray("attempts");
        for (SlaRecord.Attempt a : record.attempts()) {
            String digest = a.offer().digest();
            if (!offersWritten.contains(digest) && newOffers.add(digest)) {
                ObjectNode o = CanonicalJson.object();
                o.put("type", "offer");
                o.set("offer", CanonicalJson.readTree(a.offer().toJson()));
                bytes.writeBytes(line(o));
            }
            ObjectNode n = attempts.addObject();
            n.put("n", a.number());
            n.put("offer", digest);
            n.put("dispatched", a.dispatched().toString());
            if (a.end() != null) {
                n.put("end", a.end().name());
                n.put("ended", a.endedAt().toString());
            }
        }
        ObjectNode charges = job.putObject("charges");
        new TreeMap<>(record.charges()).forEach((p, c) -> charges.put(p.hex(), String.valueOf(c.micros())));
        bytes.writeBytes(line(job));
        try {
            ByteBuffer b = ByteBuffer.wrap(bytes.toByteArray());
            while (b.hasRemaining()) {
                channel.write(b);
            }
            channel.force(false);
        } catch (IOException e) {
            throw new SlaJournalException("could not write job " + record.jobId() + " to the SLA journal " + file
                    + ": " + e.getMessage() + " -- the job is not recorded; free disk space and reopen the journal", e);
        }
        offersWritten.addAll(newOffers);
        book.record(record);
    }

    /** Releases the lock and closes the file; records after this fail. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            try {
                lock.release();
            } catch (IOException ignored) {
                // closing the channel releases it too
            }
            closeQuietly(channel);
        }
    }

    private static byte[] line(JsonNode node) {
        byte[] json = CanonicalJson.write(node);
        byte[] out = java.util.Arrays.copyOf(json, json.length + 1);
        out[json.length] = '\n';
        return out;
    }

    private static void requireRegular(Path file) {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new SlaJournalException("there is no SLA journal at " + file + ": name the file a buyer's client "
                    + "records into (e.g. the sla.jsonl that depin demo --out DIR writes)", e);
        } catch (IOException e) {
            throw new SlaJournalException("cannot read " + file + ": " + e.getMessage(), e);
        }
        if (!a.isRegularFile()) {
            throw new SlaJournalException(file + " is not a regular file (" + (a.isDirectory() ? "a directory"
                    : "a device, pipe or socket") + "): name an SLA journal file", null);
        }
    }

    private static void forceDirectory(Path file) {
        Path dir = file.toAbsolutePath().getParent();
        if (dir == null) {
            return;
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // Not every platform can sync a directory; the file itself is synced.
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing more to do
        }
    }

    /** Reads lines, checks each, and records the jobs into a book. */
    private static final class Reader {
        private final Path file;
        private final Map<String, ProviderOffer> offers = new HashMap<>();
        private AccountId buyer;
        private long bytes;
        private int lineNo;

        Reader(Path file) {
            this.file = file;
        }

        /** @return the length of the complete lines (the rest is a torn tail) */
        long read(InputStream raw, SlaBook book) throws IOException {
            InputStream in = new BufferedInputStream(raw, 1 << 16);
            ByteArrayOutputStream cur = new ByteArrayOutputStream();
            long complete = 0;
            int b;
            while ((b = in.read()) != -1) {
                bytes++;
                if (b != '\n') {
                    if (cur.size() >= MAX_LINE) {
                        throw bad(lineNo + 1, "is longer than " + MAX_LINE + " bytes", null);
                    }
                    cur.write(b);
                    continue;
                }
                lineNo++;
                take(cur.toByteArray(), book);
                cur.reset();
                complete = bytes;
            }
            if (buyer == null) {
                throw new SlaJournalException(file + " is not an SLA journal: it has no header line (an empty file, "
                        + "or one cut off while it was created) -- name the journal the buyer's client wrote", null);
            }
            return complete;
        }

        private void take(byte[] line, SlaBook book) {
            JsonNode n;
            try {
                n = CanonicalJson.readTree(line);
            } catch (DepinException e) {
                throw bad(lineNo, "is not JSON", e);
            }
            if (!n.isObject()) {
                throw bad(lineNo, "is not a JSON object", null);
            }
            if (lineNo == 1) {
                fields(n, Set.of("format", "buyer"));
                if (!FORMAT.equals(text(n, "format"))) {
                    throw new SlaJournalException(file + " is not an SLA journal (format '" + n.get("format")
                            + "', expected '" + FORMAT + "'): name the journal the buyer's client wrote", null);
                }
                try {
                    buyer = AccountId.of(text(n, "buyer"));
                } catch (InvalidArgumentException e) {
                    throw bad(lineNo, "names an invalid buyer account: " + e.getMessage(), e);
                }
                return;
            }
            String type = text(n, "type");
            try {
                if (type.equals("offer")) {
                    fields(n, Set.of("type", "offer"));
                    ProviderOffer o = ProviderOffer.fromJson(CanonicalJson.write(n.get("offer")));
                    o.verifySignature();
                    offers.put(o.digest(), o);
                } else if (type.equals("job")) {
                    fields(n, Set.of("type", "job", "flops", "attempts", "charges"));
                    SlaRecord r = job(n);
                    if (book.contains(r.jobId())) {
                        throw bad(lineNo, "records job " + r.jobId() + " a second time", null);
                    }
                    book.record(r);
                } else {
                    throw bad(lineNo, "has an unknown type '" + type + "'", null);
                }
            } catch (SlaJournalException e) {
                throw e;
            } catch (DepinException e) {
                throw bad(lineNo, "does not check: " + e.getMessage(), e);
            }
        }

        private SlaRecord job(JsonNode n) {
            String id = text(n, "job");
            JsonNode flops = n.get("flops");
            if (!flops.isIntegralNumber() || !flops.canConvertToLong()) {
                throw bad(lineNo, "has flops that are not a whole number", null);
            }
            JsonNode list = n.get("attempts");
            if (!list.isArray() || list.size() > SlaRecord.MAX_ATTEMPTS) {
                throw bad(lineNo, "has attempts that are not a list of at most " + SlaRecord.MAX_ATTEMPTS, null);
            }
            List<SlaRecord.Attempt> attempts = new ArrayList<>();
            for (JsonNode a : list) {
                if (!a.isObject()) {
                    throw bad(lineNo, "has an attempt that is not an object", null);
                }
                boolean ended = a.has("end");
                fields(a, ended ? Set.of("n", "offer", "dispatched", "end", "ended") : Set.of("n", "offer", "dispatched"));
                JsonNode num = a.get("n");
                if (!num.isInt()) {
                    throw bad(lineNo, "has an attempt number that is not a whole number", null);
                }
                ProviderOffer offer = offers.get(text(a, "offer"));
                if (offer == null) {
                    throw bad(lineNo, "names offer " + text(a, "offer") + ", which no earlier line holds", null);
                }
                AttemptState end = null;
                if (ended) {
                    try {
                        end = AttemptState.valueOf(text(a, "end"));
                    } catch (IllegalArgumentException e) {
                        throw bad(lineNo, "has an unknown attempt state '" + text(a, "end") + "'", null);
                    }
                }
                attempts.add(new SlaRecord.Attempt(num.intValue(), offer, instant(a, "dispatched"), end,
                        ended ? instant(a, "ended") : null));
            }
            JsonNode c = n.get("charges");
            if (!c.isObject()) {
                throw bad(lineNo, "has charges that are not an object", null);
            }
            Map<NodeId, MicroUsd> charges = new HashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = c.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                long micros;
                try {
                    micros = Long.parseLong(e.getValue().isTextual() ? e.getValue().textValue() : "x");
                } catch (NumberFormatException x) {
                    throw bad(lineNo, "has a charge that is not a whole number of micro-USD in a string", null);
                }
                if (micros < 0) {
                    throw bad(lineNo, "has a negative charge", null);
                }
                charges.put(NodeId.parse(e.getKey()), MicroUsd.ofMicros(micros));
            }
            return new SlaRecord(id, flops.longValue(), attempts, charges);
        }

        private Instant instant(JsonNode n, String field) {
            try {
                return Instant.parse(text(n, field));
            } catch (DateTimeParseException e) {
                throw bad(lineNo, "has a " + field + " time that is not an ISO-8601 instant", null);
            }
        }

        private String text(JsonNode n, String field) {
            JsonNode v = n.get(field);
            if (v == null || !v.isTextual()) {
                throw bad(lineNo, "has no text field '" + field + "'", null);
            }
            return v.textValue();
        }

        private void fields(JsonNode n, Set<String> expected) {
            Set<String> got = new HashSet<>();
            n.fieldNames().forEachRemaining(got::add);
            if (!got.equals(expected)) {
                throw bad(lineNo, "has fields " + new java.util.TreeSet<>(got) + ", expected "
                        + new java.util.TreeSet<>(expected), null);
            }
        }

        private SlaJournalException bad(int line, String what, Throwable cause) {
            return new SlaJournalException("line " + line + " of the SLA journal " + file + " " + what
                    + (line == 1 ? " (is this an SLA journal?)" : "") + ": nothing was read from this file; restore it "
                    + "from the buyer's copy or name the right file", cause);
        }
    }
}
