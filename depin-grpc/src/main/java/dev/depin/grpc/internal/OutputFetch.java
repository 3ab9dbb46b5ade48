package dev.depin.grpc.internal;

import com.google.protobuf.ByteString;
import dev.depin.DepinException;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Evidence;
import dev.depin.crypto.Hex;
import dev.depin.crypto.InclusionProof;
import dev.depin.crypto.Merkle;
import dev.depin.crypto.MerkleTree;
import dev.depin.crypto.VerificationException;
import dev.depin.grpc.internal.wire.FetchReply;
import dev.depin.grpc.internal.wire.FetchRequest;
import dev.depin.grpc.internal.wire.FetchedChunk;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import dev.depin.job.JobSpec;
import dev.depin.network.OutputGoneException;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Both sides of {@code Provider.Fetch}: chunks of an output a node keeps for a buyer, each
 * with its RFC 6962 inclusion proof. The bounds of one call are here, checked by the node
 * before it reads anything and by the buyer before it sends; the buyer checks every chunk
 * against the root it names (the one its verified receipt signed) before returning any.
 */
public final class OutputFetch {
    /** Chunk indices one call may ask for. */
    public static final int MAX_CHUNKS = 64;
    /** Chunk bytes one call may return in all (the reply stays below {@link Wire#MAX_MESSAGE_BYTES}). */
    public static final int MAX_BYTES = 2 << 20;
    /** The largest chunk: 1 MiB (256 leaves). */
    public static final int MAX_CHUNK_BYTES = 1 << 20;
    /** Fetch calls one peer may have in progress on a node at once. */
    public static final int MAX_CALLS_PER_PEER = 4;
    /** How long the buyer waits for one call. */
    public static final long DEADLINE_MILLIS = 30_000;
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");

    private OutputFetch() {
    }

    /**
     * Checks one call's request against the bounds.
     *
     * @param root       the output's root, hex
     * @param bytes      its size
     * @param chunkBytes the chunk size
     * @param chunks     the chunk indices asked for
     * @return null when it is well formed, else what is wrong
     */
    public static String malformed(String root, long bytes, long chunkBytes, List<Integer> chunks) {
        if (root == null || !HEX64.matcher(root).matches()) {
            return "the root must be 64 lower-case hex characters";
        }
        if (bytes < 1) {
            return "an output of " + bytes + " bytes has no chunks to fetch";
        }
        if (chunkBytes < JobSpec.MERKLE_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES
                || chunkBytes % JobSpec.MERKLE_CHUNK_BYTES != 0
                || Long.bitCount(chunkBytes / JobSpec.MERKLE_CHUNK_BYTES) != 1) {
            return "a chunk of " + chunkBytes + " bytes is not " + JobSpec.MERKLE_CHUNK_BYTES
                    + " bytes times a power of two, at most " + MAX_CHUNK_BYTES;
        }
        long count = ((bytes + chunkBytes - 1) / chunkBytes);
        if (chunks.isEmpty() || chunks.size() > MAX_CHUNKS) {
            return "ask for 1 to " + MAX_CHUNKS + " chunks per call, not " + chunks.size();
        }
        long total = 0;
        long previous = -1;
        for (int c : chunks) {
            long i = Integer.toUnsignedLong(c);
            if (i <= previous || i >= count) {
                return "chunk indices must be strictly increasing and below the output's " + count + " chunk(s) of "
                        + chunkBytes + " bytes; got " + i + " after " + previous;
            }
            previous = i;
            total += length(i, bytes, chunkBytes);
        }
        if (total > MAX_BYTES) {
            return total + " bytes of chunks in one call: at most " + MAX_BYTES + " per call";
        }
        return null;
    }

    private static int length(long index, long bytes, long chunkBytes) {
        return (int) Math.min(chunkBytes, bytes - index * chunkBytes);
    }

    /**
     * The node's answer from an entry it holds: each chunk asked for, copied, with its proof.
     *
     * @param data the entry's bytes (read-only view, position 0)
     * @param tree the entry's tree
     * @param r    a request {@link #malformed} accepted, for this entry's size
     * @return the reply
     */
    public static FetchReply serve(ByteBuffer data, MerkleTree tree, FetchRequest r) {
        int chunkBytes = r.getChunkBytes();
        FetchReply.Builder reply = FetchReply.newBuilder();
        for (int c : r.getChunksList()) {
            long from = (long) c * chunkBytes;
            ByteBuffer part = data.duplicate().position((int) from).limit((int) from + length(c, r.getBytes(),
                    chunkBytes));
            FetchedChunk.Builder chunk = FetchedChunk.newBuilder().setIndex(c).setData(ByteString.copyFrom(part));
            for (byte[] h : tree.chunkProof(c, chunkBytes).path()) {
                chunk.addPath(ByteString.copyFrom(h));
            }
            reply.addChunks(chunk);
        }
        return reply.build();
    }

    /**
     * Asks a provider for chunks of an output it keeps for this buyer and checks each against
     * {@code root} before returning it.
     *
     * @param channel    a channel to the provider (mutual TLS, its key pinned)
     * @param provider   the provider's short id, for messages
     * @param root       the output's root as the buyer's verified receipt commits to it, hex
     * @param bytes      the output's size
     * @param chunkBytes the chunk size: 4 KiB times a power of two, at most 1 MiB
     * @param chunks     chunk indices, strictly increasing, at most {@link #MAX_CHUNKS} and
     *                   {@link #MAX_BYTES} in all
     * @return the chunks in the order asked, read-only; or failed with
     *         {@link OutputGoneException} (the provider no longer holds it, or never did for
     *         this buyer), {@link VerificationException} (a chunk or proof that does not lead to
     *         {@code root}: nothing is returned) or a {@link DepinException} for the network
     * @throws InvalidArgumentException on a request outside the bounds
     */
    public static CompletableFuture<List<ByteBuffer>> fetch(Channel channel, String provider, String root,
                                                            long bytes, int chunkBytes, List<Integer> chunks) {
        return fetch(channel, provider, root, bytes, chunkBytes, chunks, DEADLINE_MILLIS);
    }

    /**
     * As {@link #fetch(Channel, String, String, long, int, List)}, waiting at most
     * {@code deadlineMillis} (what is left of a deadline that other addresses' tries shared).
     *
     * @param channel        a channel to the provider
     * @param provider       the provider's short id, for messages
     * @param root           the output's root, hex
     * @param bytes          the output's size
     * @param chunkBytes     the chunk size
     * @param chunks         chunk indices within the bounds
     * @param deadlineMillis how long the call may take, 1 to {@link #DEADLINE_MILLIS}
     * @return as the other overload
     */
    public static CompletableFuture<List<ByteBuffer>> fetch(Channel channel, String provider, String root,
                                                            long bytes, int chunkBytes, List<Integer> chunks,
                                                            long deadlineMillis) {
        FetchRequest request = request(root, bytes, chunkBytes, chunks);
        return call(channel, provider, request, deadlineMillis).thenApply(reply -> verify(provider, request, reply));
    }

    /**
     * As {@link #fetch}, but returns the chunks with their audit paths unchecked, for a caller that
     * checks them itself (the buyer's engine, through {@code ComputeNetwork.fetchHeld}); only the
     * reply's shape (one chunk per index asked, in order) is checked here.
     *
     * @param channel    a channel to the provider
     * @param provider   the provider's short id, for messages
     * @param root       the output's root, hex
     * @param bytes      the output's size
     * @param chunkBytes the chunk size
     * @param chunks     chunk indices within the bounds
     * @return the chunks with their paths; or failed as {@link #fetch}
     * @throws InvalidArgumentException on a request outside the bounds
     */
    public static CompletableFuture<List<dev.depin.network.spi.HeldChunk>> fetchUnchecked(
            Channel channel, String provider, String root, long bytes, int chunkBytes, List<Integer> chunks) {
        return fetchUnchecked(channel, provider, root, bytes, chunkBytes, chunks, DEADLINE_MILLIS);
    }

    /**
     * As {@link #fetchUnchecked(Channel, String, String, long, int, List)}, waiting at most
     * {@code deadlineMillis}.
     *
     * @param channel        a channel to the provider
     * @param provider       the provider's short id, for messages
     * @param root           the output's root, hex
     * @param bytes          the output's size
     * @param chunkBytes     the chunk size
     * @param chunks         chunk indices within the bounds
     * @param deadlineMillis how long the call may take, 1 to {@link #DEADLINE_MILLIS}
     * @return as the other overload
     */
    public static CompletableFuture<List<dev.depin.network.spi.HeldChunk>> fetchUnchecked(
            Channel channel, String provider, String root, long bytes, int chunkBytes, List<Integer> chunks,
            long deadlineMillis) {
        FetchRequest request = request(root, bytes, chunkBytes, chunks);
        return call(channel, provider, request, deadlineMillis).thenApply(reply -> {
            int got = reply == null ? 0 : reply.getChunksCount();
            if (got != chunks.size()) {
                throw refused(provider, root, "sent " + got + " chunk(s) for " + chunks.size() + " asked", null);
            }
            List<dev.depin.network.spi.HeldChunk> out = new ArrayList<>(got);
            for (FetchedChunk c : reply.getChunksList()) {
                if (c.getPathCount() > 64 || c.getIndex() < 0) {
                    throw refused(provider, root, "sent chunk " + Integer.toUnsignedString(c.getIndex()) + " with a "
                            + "path of " + c.getPathCount() + " hashes", null);
                }
                out.add(new dev.depin.network.spi.HeldChunk(c.getIndex(), c.getData().asReadOnlyByteBuffer(),
                        c.getPathList().stream().map(ByteString::toByteArray).toList()));
            }
            return out;
        });
    }

    private static FetchRequest request(String root, long bytes, int chunkBytes, List<Integer> chunks) {
        String bad = malformed(root, bytes, chunkBytes, chunks);
        if (bad != null) {
            throw new InvalidArgumentException("cannot fetch chunks " + chunks + " of output " + root + " ("
                    + bytes + " bytes): " + bad);
        }
        return FetchRequest.newBuilder().setRoot(root).setBytes(bytes).setChunkBytes(chunkBytes)
                .addAllChunks(chunks).build();
    }

    /** One Fetch call: its reply, or the error it ended with (NOT_FOUND as {@link OutputGoneException}). */
    private static CompletableFuture<FetchReply> call(Channel channel, String provider, FetchRequest request,
                                                      long deadlineMillis) {
        String root = request.getRoot();
        long bytes = request.getBytes();
        CompletableFuture<FetchReply> out = new CompletableFuture<>();
        ProviderGrpc.newStub(channel).withDeadlineAfter(Math.max(1, Math.min(DEADLINE_MILLIS, deadlineMillis)),
                        TimeUnit.MILLISECONDS)
                .fetch(request, new StreamObserver<>() {
                    private FetchReply reply;

                    @Override
                    public void onNext(FetchReply r) {
                        reply = r;
                    }

                    @Override
                    public void onError(Throwable t) {
                        Status s = Status.fromThrowable(t);
                        if (s.getCode() == Status.Code.NOT_FOUND) {
                            out.completeExceptionally(new OutputGoneException("provider " + provider
                                    + " no longer holds output " + root + " (" + bytes + " bytes): NOT_FOUND: "
                                    + bounded(String.valueOf(s.getDescription())) + "; run the job again (no money moved for this fetch)"));
                        } else {
                            out.completeExceptionally(Wire.fromStatus(provider, t));
                        }
                    }

                    @Override
                    public void onCompleted() {
                        out.complete(reply);
                    }
                });
        return out;
    }

    /**
     * Checks a reply chunk by chunk: the index asked for, the chunk's exact length, and its
     * proof from the chunk's bytes to the request's root.
     *
     * @param provider the provider's short id, for messages
     * @param request  what was asked
     * @param reply    what came back (null: none)
     * @return the chunks, read-only, in the order asked
     * @throws VerificationException on the first chunk that does not verify
     */
    public static List<ByteBuffer> verify(String provider, FetchRequest request, FetchReply reply) {
        String root = request.getRoot();
        long bytes = request.getBytes();
        int chunkBytes = request.getChunkBytes();
        int count = (int) ((bytes + chunkBytes - 1) / chunkBytes);
        int asked = request.getChunksCount();
        int got = reply == null ? 0 : reply.getChunksCount();
        if (got != asked) {
            throw refused(provider, root, "sent " + got + " chunk(s) for " + asked + " asked", null);
        }
        byte[] expected = Hex.decode(root);
        List<ByteBuffer> chunks = new ArrayList<>(asked);
        for (int k = 0; k < asked; k++) {
            int index = request.getChunks(k);
            FetchedChunk c = reply.getChunks(k);
            if (c.getIndex() != index) {
                throw refused(provider, root, "sent chunk " + Integer.toUnsignedString(c.getIndex()) + " where chunk "
                        + index + " was asked", null);
            }
            int length = length(index, bytes, chunkBytes);
            if (c.getData().size() != length) {
                throw refused(provider, root, "sent " + c.getData().size() + " bytes for chunk " + index
                        + ", which has " + length, null);
            }
            if (c.getPathCount() > 64) {
                throw refused(provider, root, "sent a path of " + c.getPathCount() + " hashes for chunk " + index,
                        null);
            }
            List<byte[]> path = new ArrayList<>(c.getPathCount());
            for (ByteString h : c.getPathList()) {
                if (h.size() != Merkle.HASH_LENGTH) {
                    throw refused(provider, root, "sent a path hash of " + h.size() + " bytes for chunk " + index,
                            null);
                }
                path.add(h.toByteArray());
            }
            ByteBuffer data = c.getData().asReadOnlyByteBuffer();
            try {
                new InclusionProof(index, count, path).verifyChunk(data, JobSpec.MERKLE_CHUNK_BYTES, expected);
            } catch (VerificationException e) {
                throw refused(provider, root, "sent chunk " + index + " of " + count + " that does not lead to the "
                        + "root its receipt signed", e);
            }
            chunks.add(data);
        }
        return List.copyOf(chunks);
    }

    /** A provider's words, at most 256 characters of them. */
    private static String bounded(String s) {
        return s.length() <= 256 ? s : s.substring(0, 253) + "...";
    }

    private static VerificationException refused(String provider, String root, String what,
                                                 VerificationException cause) {
        return new VerificationException(VerificationException.Reason.MERKLE_PROOF_INVALID, "provider " + provider
                + " " + what + " of output " + root + ": nothing of this fetch is used; treat the provider as "
                + "untrusted", cause == null ? new Evidence("merkle-inclusion", "fetch of output " + root, root, what,
                "") : cause.evidence().orElse(null), cause);
    }
}
