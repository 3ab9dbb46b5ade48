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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The buyer's SLA evidence on disk: every finished job's {@link SlaRecord}, appended as one line
 * of JSON and forced to the disk before the job's result is delivered, so a crash loses nothing
 * that was recorded. {@link #read} rebuilds the {@link SlaBook} from it ({@code depin sla}).
 *
 * <pre>
 * {"buyer":"buyer:demo","format":"depin-sla-journal/1"}                   header: whose journal
 * {"offer":{...signed offer...},"type":"offer"}                            once per offer, before its first use
 * {"attempts":[{"dispatched":"...","end":"ACCEPTED","ended":"...","firstByte":"...","n":1,"offer":"DIGEST"}],
 *  "charges":{"NODEID":"MICROS"},"flops":N,"job":"ID","type":"job"}       one per finished job
 * </pre>
 *
 * <p>An attempt's {@code firstByte} (when its first result byte arrived) is there only when the
 * transport reported one; journals written before first bytes were timed have none anywhere and
 * read as they always did (their attempts' first bytes are taken as their ends).
 *
 * <p><b>Group commit.</b> One writer thread per journal appends the lines of every job handed in
 * since its last write and forces them with one {@code force}; each job's
 * {@link #recordAsync} future completes only once its line is on the disk, so many jobs ending
 * together share one disk flush instead of queuing for one each. The queue is bounded
 * ({@value #QUEUE} jobs): a caller finding it full waits for the writer (backpressure), never
 * drops a record. A write or force that fails fails every job waiting for it, and every job
 * after, with a {@link SlaJournalException} naming the job; the lines of that write are cut off
 * again where the file allows, and the journal records nothing more until it is reopened.
 * {@link #close} writes what is queued before it returns.
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
    /** Jobs waiting for the writer at most; a caller finding the queue full waits. */
    static final int QUEUE = 4096;

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SlaJournal.class);

    private final Path file;
    private final AccountId buyer;
    private final FileChannel channel;
    private final FileLock lock;
    private final SlaBook book;
    private final int capacity;
    private final Thread writer;

    private final ReentrantLock queueLock = new ReentrantLock();
    private final Condition notEmpty = queueLock.newCondition();
    private final Condition notFull = queueLock.newCondition();
    /** Jobs handed in and not yet taken by the writer (queueLock). */
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    /** Ids of jobs handed in whose line is not yet on the disk (queueLock): a job counts once. */
    private final Set<String> pendingJobs = new HashSet<>();
    /** Set by {@link #close} (queueLock): nothing more is taken; the writer drains the queue and ends. */
    private boolean closing;
    /** The write that failed (queueLock): nothing more is taken. */
    private SlaJournalException failure;

    /** Offers whose line is in the file (writer thread only). */
    private final Set<String> offersWritten;
    /** The file's length up to the last line forced to the disk (writer thread only). */
    private long durable;

    /** A job handed in: its record, its line (made on the caller's thread), and who waits for it. */
    private record Pending(SlaRecord record, byte[] line, CompletableFuture<Void> done) {
    }

    private SlaJournal(Path file, AccountId buyer, FileChannel channel, FileLock lock, SlaBook book,
                       Set<String> offersWritten, long durable, int capacity) {
        this.file = file;
        this.buyer = buyer;
        this.channel = channel;
        this.lock = lock;
        this.book = book;
        this.offersWritten = offersWritten;
        this.durable = durable;
        this.capacity = capacity;
        this.writer = new Thread(this::writeLoop, "depin-sla-journal-" + file.getFileName());
        this.writer.setDaemon(true);
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
        return open(file, buyer, new SlaBook(), QUEUE);
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
        return open(file, buyer, new SlaBook(InvalidArgumentException.requireNonNull(registry, "meter registry")),
                QUEUE);
    }

    /**
     * Opens a journal whose queue holds at most {@code capacity} jobs (tests of the backpressure).
     *
     * @param file     the journal's file
     * @param buyer    the buyer's account
     * @param capacity jobs waiting for the writer at most, &ge; 1
     * @return the journal
     */
    static SlaJournal open(Path file, AccountId buyer, int capacity) {
        if (capacity < 1) {
            throw new InvalidArgumentException("SLA journal queue capacity must be >= 1, got " + capacity);
        }
        return open(file, buyer, new SlaBook(), capacity);
    }

    private static SlaJournal open(Path file, AccountId buyer, SlaBook book, int capacity) {
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
            long end = ch.size();
            ch.position(end);
            SlaJournal j = new SlaJournal(file, buyer, ch, lock, book, digests, end, capacity);
            j.writer.start();
            return j;
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
     * Appends a finished job and waits until its line is on the disk ({@link #recordAsync}), then
     * returns; {@link #book()} holds it by then.
     *
     * @param record the job
     * @throws InvalidArgumentException if it was recorded (or handed in) before
     * @throws SlaJournalException      if the journal is closed, a write failed (the job is then not
     *                                  recorded), or the thread was interrupted while waiting
     */
    @Override
    public void record(SlaRecord record) {
        try {
            recordAsync(record).join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    /**
     * Hands a finished job to the writer thread. Its line is made here; the writer appends it with
     * the lines of every other job handed in meanwhile, forces them to the disk together, records
     * them in {@link #book()}, and then completes each job's future, in the order they were handed
     * in. If {@value #QUEUE} jobs are already waiting, this waits for room (backpressure).
     *
     * @param record the job
     * @return completes once the job's line is on the disk; fails with {@link InvalidArgumentException}
     *     if the job was recorded or handed in before, and with {@link SlaJournalException} if the
     *     journal is closed, the write failed (or an earlier one did), or this thread was
     *     interrupted while waiting for room
     * @throws InvalidArgumentException on null
     */
    @Override
    public CompletableFuture<Void> recordAsync(SlaRecord record) {
        InvalidArgumentException.requireNonNull(record, "SLA record");
        byte[] jobLine;
        try {
            jobLine = line(jobNode(record));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        Pending p = new Pending(record, jobLine, new CompletableFuture<>());
        queueLock.lock();
        try {
            while (true) {
                if (closing) {
                    return CompletableFuture.failedFuture(new SlaJournalException("the SLA journal " + file
                            + " is closed: job " + record.jobId() + " was not recorded", null));
                }
                if (failure != null) {
                    return CompletableFuture.failedFuture(notRecorded(record, failure));
                }
                if (queue.size() < capacity) {
                    break;
                }
                try {
                    notFull.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return CompletableFuture.failedFuture(new SlaJournalException("interrupted while waiting for "
                            + "room in the SLA journal " + file + "'s queue: job " + record.jobId()
                            + " was not recorded", e));
                }
            }
            if (book.contains(record.jobId()) || !pendingJobs.add(record.jobId())) {
                return CompletableFuture.failedFuture(new InvalidArgumentException("job " + record.jobId()
                        + " was recorded already: each job counts once"));
            }
            queue.add(p);
            notEmpty.signal();
        } finally {
            queueLock.unlock();
        }
        return p.done();
    }

    /**
     * Stops taking jobs, waits until the writer has written every job handed in before (their
     * futures complete), then releases the lock and closes the file. Jobs handed in after this
     * fail. Called from a thread that a journal's future completed on, it does not wait.
     */
    @Override
    public void close() {
        queueLock.lock();
        try {
            closing = true;
            notEmpty.signalAll();
            notFull.signalAll();
        } finally {
            queueLock.unlock();
        }
        if (Thread.currentThread() == writer) {
            return; // the writer closes the file once it has drained the queue
        }
        boolean interrupted = false;
        while (writer.isAlive()) {
            try {
                writer.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    // ---------------------------------------------------------------- the writer thread

    private void writeLoop() {
        List<Pending> batch = new ArrayList<>();
        try {
            while (true) {
                queueLock.lock();
                try {
                    while (queue.isEmpty() && !closing) {
                        notEmpty.awaitUninterruptibly();
                    }
                    if (queue.isEmpty()) {
                        return; // closing, and everything handed in is written (or failed)
                    }
                    batch.addAll(queue);
                    queue.clear();
                    notFull.signalAll();
                } finally {
                    queueLock.unlock();
                }
                write(batch);
                batch.clear();
            }
        } catch (Throwable t) {
            // Not an I/O failure (those are handled in write): still, no job may wait forever.
            fail(batch, t);
            throw t;
        } finally {
            try {
                lock.release();
            } catch (IOException ignored) {
                // closing the channel releases it too
            }
            closeQuietly(channel);
        }
    }

    /** Appends a batch's lines (and the offers they name for the first time), forces them, then completes them. */
    private void write(List<Pending> batch) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Set<String> newOffers = new HashSet<>();
        try {
            for (Pending p : batch) {
                for (SlaRecord.Attempt a : p.record().attempts()) {
                    String digest = a.offer().digest();
                    if (!offersWritten.contains(digest) && newOffers.add(digest)) {
                        ObjectNode o = CanonicalJson.object();
                        o.put("type", "offer");
                        o.set("offer", CanonicalJson.readTree(a.offer().toJson()));
                        bytes.writeBytes(line(o));
                    }
                }
                bytes.writeBytes(p.line());
            }
            ByteBuffer b = ByteBuffer.wrap(bytes.toByteArray());
            while (b.hasRemaining()) {
                channel.write(b);
            }
            channel.force(false);
            durable = channel.position();
        } catch (IOException | RuntimeException e) {
            fail(batch, e);
            return;
        }
        offersWritten.addAll(newOffers);
        List<String> ids = new ArrayList<>(batch.size());
        for (Pending p : batch) {
            book.record(p.record()); // cannot refuse: a job id is taken once, under the queue's lock
            ids.add(p.record().jobId());
        }
        queueLock.lock();
        try {
            ids.forEach(pendingJobs::remove);
        } finally {
            queueLock.unlock();
        }
        for (Pending p : batch) {
            p.done().complete(null);
        }
    }

    /**
     * A write failed: cuts the file back to its last forced line (where it can: otherwise the
     * next open cuts off a torn line, and complete lines of the failed write stay, measured but
     * reported as not recorded), and fails the batch, everything queued, and everything after.
     */
    private void fail(List<Pending> batch, Throwable cause) {
        SlaJournalException f = new SlaJournalException("could not write to the SLA journal " + file + ": "
                + cause + " -- it records nothing more; free disk space or fix the file system, then reopen it", cause);
        try {
            channel.truncate(durable);
            channel.force(false);
        } catch (IOException | RuntimeException e) {
            f.addSuppressed(e);
        }
        List<Pending> failed = new ArrayList<>(batch);
        queueLock.lock();
        try {
            if (failure == null) {
                failure = f;
            }
            failed.addAll(queue);
            queue.clear();
            pendingJobs.clear();
            notFull.signalAll();
        } finally {
            queueLock.unlock();
        }
        LOG.warn("{}; {} job(s) waiting for it were not recorded", f.getMessage(), failed.size());
        for (Pending p : failed) {
            p.done().completeExceptionally(notRecorded(p.record(), f));
        }
    }

    private SlaJournalException notRecorded(SlaRecord record, SlaJournalException why) {
        return new SlaJournalException("job " + record.jobId() + " was not recorded: " + why.getMessage(), why);
    }

    private static ObjectNode jobNode(SlaRecord record) {
        ObjectNode job = CanonicalJson.object();
        job.put("type", "job");
        job.put("job", record.jobId());
        job.put("flops", record.flops());
        ArrayNode attempts = job.putArray("attempts");
        for (SlaRecord.Attempt a : record.attempts()) {
            ObjectNode n = attempts.addObject();
            n.put("n", a.number());
            n.put("offer", a.offer().digest());
            n.put("dispatched", a.dispatched().toString());
            if (a.end() != null) {
                n.put("end", a.end().name());
                n.put("ended", a.endedAt().toString());
            }
            if (a.firstByteAt() != null) {
                n.put("firstByte", a.firstByteAt().toString());
            }
        }
        ObjectNode charges = job.putObject("charges");
        new TreeMap<>(record.charges()).forEach((p, c) -> charges.put(p.hex(), String.valueOf(c.micros())));
        return job;
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
                boolean firstByte = a.has("firstByte");
                Set<String> expected = new HashSet<>(Set.of("n", "offer", "dispatched"));
                if (ended) {
                    expected.addAll(Set.of("end", "ended"));
                }
                if (firstByte) {
                    expected.add("firstByte");
                }
                fields(a, expected);
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
                        ended ? instant(a, "ended") : null, firstByte ? instant(a, "firstByte") : null));
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
