package dev.depin.executor.spi;

import dev.depin.crypto.WipeRecord;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * One job on one executor: owns every allocation the job makes (heap, direct, pinned host,
 * device) from {@link DeviceExecutor#open} to {@link #close()}.
 *
 * <p>Life: fill each {@link #input} buffer (in chunks as they arrive, no second copy), call
 * {@link #run()} once, read each {@link #output} by reference, then {@link #wipe} (which
 * overwrites and reads back every buffer, after which outputs hold only the pattern), then
 * {@link #close()}. {@code close()} without {@code wipe} still overwrites everything before
 * freeing it; only the records are lost.
 *
 * <p>Single-threaded except {@link #cancel()}, which any thread may call at any time: a
 * running {@link #run()} stops at its next launch boundary and throws
 * {@link ExecutionCancelledException}.
 */
public interface ExecutionContext extends AutoCloseable {

    /**
     * The buffer the caller writes input {@code name} into: writable, little-endian,
     * position 0, capacity and limit exactly the size the kernel declares.
     *
     * @param name an input the kernel declares
     * @return the buffer, owned by this context
     * @throws dev.depin.InvalidArgumentException if the kernel has no such input
     */
    ByteBuffer input(String name);

    /**
     * Lets the kernel read input {@code name} where {@code source} lies instead of from a copy
     * in this context (a node's input cache entry, which outlives the job): when this returns
     * true the context makes no buffer for that input, does not write, wipe or list
     * {@code source}, and {@link #input} refuses that name. The caller keeps {@code source}'s bytes
     * unchanged and reachable until {@link #close()}. Call before {@link #run()}, at most once
     * per input, instead of filling {@link #input}.
     *
     * <p>By default (an executor that must copy, e.g. to a device) nothing happens and this
     * returns false: the caller fills {@link #input} as usual.
     *
     * @param name   an input the kernel declares
     * @param source its bytes, read-only, exactly the declared size from position 0
     * @return whether the kernel will read {@code source} in place
     * @throws dev.depin.InvalidArgumentException if the kernel has no such input, or the size differs
     */
    default boolean readInPlace(String name, ByteBuffer source) {
        return false;
    }

    /**
     * Runs the kernel on the inputs. Called once.
     *
     * @throws ExecutionFailedException    if the device fails
     * @throws ExecutionCancelledException if {@link #cancel()} was called
     * @throws IllegalStateException       never: a second call throws
     *                                     {@link ExecutionFailedException}
     */
    void run();

    /**
     * An output, by reference: read-only, little-endian, position 0, exactly the declared
     * size. Valid until {@link #wipe} or {@link #close()}.
     *
     * @param name an output the kernel declares
     * @return the output
     * @throws dev.depin.InvalidArgumentException if the kernel has no such output
     * @throws ExecutionFailedException if {@link #run()} has not completed
     */
    ByteBuffer output(String name);

    /**
     * Hands output {@code name}'s host memory to the caller, who keeps it beyond the job (a node
     * holding an output its buyer left there): from then on this context neither wipes nor lists
     * it, and {@link #output} refuses that name. Empty when this executor cannot (the output is
     * not one heap array of its own, e.g. it lives on a device): the caller copies
     * {@link #output} as usual. Call after {@link #run()}, before {@link #wipe}.
     *
     * <p>By default empty.
     *
     * @param name an output the kernel declares
     * @return its bytes, exactly the declared size, now the caller's; or empty
     * @throws ExecutionFailedException if {@link #run()} has not completed
     */
    default Optional<byte[]> keepOutput(String name) {
        return Optional.empty();
    }

    /**
     * The RFC 6962 Merkle root ({@link dev.depin.job.JobSpec#MERKLE_CHUNK_BYTES}-byte leaves) of an output, when the executor computed it
     * where the output lives (on the device, before download). Empty means the caller
     * hashes the bytes of {@link #output} itself.
     *
     * @param name an output the kernel declares
     * @return the 32-byte root, or empty
     */
    default Optional<byte[]> outputRoot(String name) {
        return Optional.empty();
    }

    /**
     * The RFC 6962 Merkle tree ({@link dev.depin.job.JobSpec#MERKLE_CHUNK_BYTES}-byte leaves) of
     * an output, when the executor built it (or began to) as the kernel finished the output's
     * blocks: its root is the commitment to exactly the bytes {@link #output} returns, and the
     * tree gives the inclusion proofs of an output held for later reads. Leaves not hashed yet
     * are hashed here, on {@code parallelism}'s threads and the calling one. Empty means the
     * caller hashes the output itself ({@link #outputRoot} first). Call after {@link #run()},
     * before {@link #keepOutput} and {@link #wipe}.
     *
     * <p>By default empty.
     *
     * @param name        an output the kernel declares
     * @param parallelism threads that may hash the leaves left
     * @return the tree, or empty
     * @throws dev.depin.InvalidArgumentException if the kernel has no such output
     * @throws ExecutionFailedException if {@link #run()} has not completed
     */
    default Optional<dev.depin.crypto.MerkleTree> outputTree(String name, dev.depin.crypto.Parallelism parallelism) {
        return Optional.empty();
    }

    /**
     * @return when the kernel ran and how long the device worked
     * @throws ExecutionFailedException if {@link #run()} has not completed
     */
    ExecutionTiming timing();

    /** Asks a running or future {@link #run()} to stop at its next launch boundary. Thread-safe. */
    void cancel();

    /** @return whether {@link #cancel()} was called */
    boolean isCancelled();

    /** @return every allocation this context made so far, in order */
    List<Allocation> allocations();

    /**
     * Overwrites every buffer this context allocated with {@code pattern} and verifies it
     * (device-side reduction or host compare), returning one record per buffer. Outputs are
     * unreadable afterwards. A second call wipes again and returns fresh records.
     *
     * @param pattern the overwrite byte (non-zero, so a wipe is distinguishable from fresh memory)
     * @return one record per allocation, in allocation order
     * @throws ExecutionFailedException if a read-back differs from the pattern
     */
    List<WipeRecord> wipe(byte pattern);

    /**
     * As {@link #wipe(byte)}, where the host side of the wipe may also run on
     * {@code parallelism}'s threads (a node lends its hashing pool: the kernel is done and the
     * pool idle). The same buffers are overwritten and verified and the same records returned;
     * by default this is {@link #wipe(byte)} on the calling thread.
     *
     * @param pattern     the overwrite byte (non-zero)
     * @param parallelism threads the host wipe may use besides the calling one
     * @return one record per allocation, in allocation order
     * @throws ExecutionFailedException if a read-back differs from the pattern
     */
    default List<WipeRecord> wipe(byte pattern, dev.depin.crypto.Parallelism parallelism) {
        return wipe(pattern);
    }

    /** Frees every allocation, overwriting any not yet wiped. Idempotent; never throws. */
    @Override
    void close();

    /**
     * One allocation of a job.
     *
     * @param location {@link WipeRecord#HOST} or {@link WipeRecord#DEVICE}
     * @param label    what it holds: an input or output name, or {@code scratch:...}
     * @param bytes    its size
     */
    record Allocation(String location, String label, long bytes) {
        /**
         * Creates an allocation record after checking its fields.
         *
         * @param location {@link WipeRecord#HOST} or {@link WipeRecord#DEVICE}; not null
         * @param label    what it holds (an input or output name, or {@code scratch:...}); not null
         * @param bytes    its size in bytes, &ge; 0
         * @throws dev.depin.InvalidArgumentException on nulls or a negative size
         */
        public Allocation {
            dev.depin.InvalidArgumentException.requireNonNull(location, "allocation location");
            dev.depin.InvalidArgumentException.requireNonNull(label, "allocation label");
            if (bytes < 0) {
                throw new dev.depin.InvalidArgumentException("allocation '" + label + "' has " + bytes
                        + " bytes: sizes are >= 0");
            }
        }
    }
}
