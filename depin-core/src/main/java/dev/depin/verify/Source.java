package dev.depin.verify;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.BufferDigest;
import dev.depin.crypto.Hex;
import dev.depin.crypto.Merkle;
import dev.depin.kernel.BufferDecl;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * Bytes to verify: a buffer in memory, or a file that is streamed through a Merkle
 * builder (1 MiB at a time, O(log n) memory, any size) or mapped read-only when a
 * recomputation needs random access. Nothing here copies a file onto the heap.
 */
abstract class Source {
    private static final int READ_BYTES = 1 << 20;

    /** What the bytes are, for messages: {@code output 'c' (c.bin)}. */
    final String what;

    private Source(String what) {
        this.what = what;
    }

    static Source of(String what, ByteBuffer data) {
        return new Memory(what, data.duplicate());
    }

    static Source of(String what, Path file) {
        return new FileSource(what, file);
    }

    /*
     * The inputs and outputs a check was given, by name, each name once: ReceiptCheck and
     * DisputeCheck take their evidence through these ("kind" is "input" or "output", for messages).
     */
    static void add(Map<String, Source> given, String kind, String name, Path file) {
        put(given, kind, name, of(kind + " '" + name + "'",
                InvalidArgumentException.requireNonNull(file, "file of " + kind + " '" + name + "'")));
    }

    static void add(Map<String, Source> given, String kind, String name, ByteBuffer data) {
        put(given, kind, name, of(kind + " '" + name + "'",
                InvalidArgumentException.requireNonNull(data, "data of " + kind + " '" + name + "'")));
    }

    static void put(Map<String, Source> given, String kind, String name, Source s) {
        InvalidArgumentException.requireNonNull(name, kind + " name");
        if (given.putIfAbsent(name, s) != null) {
            throw new InvalidArgumentException(kind + " '" + name + "' given twice: give each once");
        }
    }

    /** @return the size in bytes, without reading the content */
    abstract long size();

    /** @return the RFC 6962 commitment of all the bytes, computed in one streaming pass */
    abstract BufferDigest digest(String name, int chunkSize);

    /** @return the bytes as a little-endian buffer (a read-only mapping for a file) */
    abstract ByteBuffer load();

    private static final class Memory extends Source {
        private final ByteBuffer data;

        Memory(String what, ByteBuffer data) {
            super(what);
            this.data = data;
        }

        @Override
        long size() {
            return data.remaining();
        }

        @Override
        BufferDigest digest(String name, int chunkSize) {
            return BufferDigest.of(name, data, chunkSize);
        }

        @Override
        ByteBuffer load() {
            return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    private static final class FileSource extends Source {
        private final Path file;
        private final String kind;

        FileSource(String what, Path file) {
            super(what + " (" + file + ")");
            this.file = file;
            this.kind = what;
        }

        @Override
        long size() {
            return EvidenceFiles.size(file, kind);
        }

        @Override
        BufferDigest digest(String name, int chunkSize) {
            size(); // refuses a directory, FIFO or device before opening it
            Merkle.Builder b = Merkle.builder(chunkSize);
            ByteBuffer buf = ByteBuffer.allocate(READ_BYTES);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                while (ch.read(buf.clear()) >= 0) {
                    b.update(buf.flip());
                }
            } catch (IOException e) {
                throw EvidenceFiles.unreadable(file, kind, e);
            }
            return new BufferDigest(name, Hex.encode(b.root()), b.bytes());
        }

        @Override
        ByteBuffer load() {
            long size = size();
            if (size > BufferDecl.MAX_BYTES) {
                throw new OversizedEvidenceException(what + " has " + size + " bytes, more than the "
                        + BufferDecl.MAX_BYTES + " a job's buffer can have: it is not this job's data; reject it");
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                return ch.map(FileChannel.MapMode.READ_ONLY, 0, size).order(ByteOrder.LITTLE_ENDIAN);
            } catch (IOException e) {
                throw EvidenceFiles.unreadable(file, kind, e);
            }
        }
    }
}
