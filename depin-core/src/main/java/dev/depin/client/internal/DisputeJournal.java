package dev.depin.client.internal;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Sha256;
import dev.depin.settlement.LedgerFailureException;
import dev.depin.settlement.OperationKey;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The buyer's disputes on the disk until a settlement service answered them
 * ({@link dev.depin.settlement.Escrow.Builder#disputeJournal}): one file per disputed hold,
 * {@code dispute-<sha256 of the hold key>.bin}, written to a temporary name, synced, renamed
 * into place and the directory synced, so a file that is there is whole; deleted once answered.
 *
 * <p>A file is {@value #MAGIC} then, in {@link DataOutputStream} form: the hold key (UTF), the
 * record's JSON (int length, bytes), the inputs and then the outputs (int count, then each name
 * UTF, long length, bytes), then the SHA-256 of everything before it. A file that fails to read
 * (a disk that lost a write despite the sync, someone's edit) is renamed {@code .corrupt},
 * logged and skipped: it can no longer be disputed, and is not deleted silently.
 */
final class DisputeJournal {
    private static final Logger LOG = LoggerFactory.getLogger(DisputeJournal.class);
    private static final String MAGIC = "depin-dispute v1\n";
    /** Largest dispute file read back: a dispute the service would take is far smaller (64 MiB by default). */
    static final long MAX_FILE_BYTES = 1L << 31;

    private final Path dir;

    /** A dispute as kept: what {@link dev.depin.settlement.spi.ClaimDisputes#dispute} takes. */
    record Entry(OperationKey hold, byte[] record, Map<String, ByteBuffer> inputs, Map<String, ByteBuffer> outputs) {
        Entry {
            InvalidArgumentException.requireNonNull(hold, "hold key");
            InvalidArgumentException.requireNonNull(record, "dispute record");
            inputs = Map.copyOf(InvalidArgumentException.requireNonNull(inputs, "inputs"));
            outputs = Map.copyOf(InvalidArgumentException.requireNonNull(outputs, "outputs"));
        }
    }

    DisputeJournal(Path dir) {
        this.dir = InvalidArgumentException.requireNonNull(dir, "dispute journal directory");
    }

    private Path file(OperationKey hold) {
        return dir.resolve("dispute-" + Sha256.hex(hold.value().getBytes(StandardCharsets.UTF_8)) + ".bin");
    }

    /**
     * Writes a dispute durably (synced and renamed into place) before the engine acts on it.
     *
     * @throws LedgerFailureException if it cannot be written: the caller acts on it anyway, in memory only
     */
    void write(Entry e) {
        Path target = file(e.hold());
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        try {
            Files.createDirectories(dir);
            MessageDigest sha = Sha256.newDigest();
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteArrayOutputStream head = new ByteArrayOutputStream();
                DataOutputStream out = new DataOutputStream(head);
                out.write(MAGIC.getBytes(StandardCharsets.US_ASCII));
                out.writeUTF(e.hold().value());
                out.writeInt(e.record().length);
                out.write(e.record());
                put(ch, sha, ByteBuffer.wrap(head.toByteArray()));
                for (Map<String, ByteBuffer> part : List.of(e.inputs(), e.outputs())) {
                    head.reset();
                    out.writeInt(part.size());
                    put(ch, sha, ByteBuffer.wrap(head.toByteArray()));
                    for (Map.Entry<String, ByteBuffer> b : new java.util.TreeMap<>(part).entrySet()) {
                        head.reset();
                        out.writeUTF(b.getKey());
                        out.writeLong(b.getValue().remaining());
                        put(ch, sha, ByteBuffer.wrap(head.toByteArray()));
                        put(ch, sha, b.getValue().duplicate());
                    }
                }
                ch.write(ByteBuffer.wrap(sha.digest()));
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            syncDirectory();
        } catch (IOException | RuntimeException x) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // left for the next read to remove
            }
            throw new LedgerFailureException("could not keep the dispute of hold " + e.hold() + " in " + dir + ": " + x,
                    x);
        }
    }

    private static void put(FileChannel ch, MessageDigest sha, ByteBuffer b) throws IOException {
        sha.update(b.duplicate());
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private void syncDirectory() {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // Some file systems cannot open a directory to sync it; the rename is still atomic.
            LOG.debug("could not sync directory {}: {}", dir, e.toString());
        }
    }

    /** Deletes a dispute the service answered; absent is fine. */
    void delete(OperationKey hold) {
        try {
            Files.deleteIfExists(file(hold));
        } catch (IOException e) {
            LOG.warn("could not delete the answered dispute of hold {} from {}: {}", hold, dir, e.toString());
        }
    }

    /**
     * Reads every whole dispute in the directory, removing temporaries of writes a crash cut
     * short (the dispute they were for was never acted on) and setting aside files that do not
     * read back.
     */
    List<Entry> readAll() {
        List<Entry> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "dispute-*")) {
            ds.forEach(files::add);
        } catch (IOException e) {
            throw new LedgerFailureException("could not list the disputes in " + dir + ": " + e, e);
        }
        files.sort(null);
        for (Path f : files) {
            String name = f.getFileName().toString();
            try {
                if (name.endsWith(".tmp")) {
                    Files.deleteIfExists(f);
                } else if (name.endsWith(".bin")) {
                    out.add(read(f));
                }
            } catch (IOException | RuntimeException e) {
                LOG.warn("dispute file {} does not read back ({}): set aside as .corrupt, not disputed", f, e.toString());
                try {
                    Files.move(f, f.resolveSibling(name + ".corrupt"), StandardCopyOption.REPLACE_EXISTING);
                } catch (IOException moved) {
                    LOG.warn("could not set aside {}: {}", f, moved.toString());
                }
            }
        }
        return out;
    }

    private static Entry read(Path f) throws IOException {
        long size = Files.size(f);
        if (size > MAX_FILE_BYTES || size < MAGIC.length() + 32) {
            throw new IOException("it has " + size + " bytes");
        }
        byte[] all = Files.readAllBytes(f);
        byte[] body = Arrays.copyOf(all, all.length - 32);
        if (!MessageDigest.isEqual(Sha256.digest(body), Arrays.copyOfRange(all, all.length - 32, all.length))) {
            throw new IOException("its digest does not match its contents");
        }
        DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(body));
        byte[] magic = new byte[MAGIC.length()];
        in.readFully(magic);
        if (!MAGIC.equals(new String(magic, StandardCharsets.US_ASCII))) {
            throw new IOException("it does not begin '" + MAGIC.trim() + "'");
        }
        OperationKey hold = OperationKey.of(in.readUTF());
        byte[] record = bytes(in, in.readInt(), body.length);
        Map<String, ByteBuffer> inputs = buffers(in, body.length);
        Map<String, ByteBuffer> outputs = buffers(in, body.length);
        if (in.available() != 0) {
            throw new IOException(in.available() + " bytes follow the dispute");
        }
        return new Entry(hold, record, inputs, outputs);
    }

    private static Map<String, ByteBuffer> buffers(DataInputStream in, int max) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > 4096) {
            throw new IOException("it declares " + n + " buffers");
        }
        Map<String, ByteBuffer> m = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            String name = in.readUTF();
            long len = in.readLong();
            if (m.put(name, ByteBuffer.wrap(bytes(in, len, max)).asReadOnlyBuffer()) != null) {
                throw new IOException("it names buffer '" + name + "' twice");
            }
        }
        return m;
    }

    private static byte[] bytes(DataInputStream in, long len, int max) throws IOException {
        if (len < 0 || len > max) {
            throw new IOException("it declares " + len + " bytes in a file of " + max);
        }
        byte[] b = new byte[(int) len];
        in.readFully(b);
        return b;
    }
}
