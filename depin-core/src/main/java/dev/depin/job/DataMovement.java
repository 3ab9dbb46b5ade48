package dev.depin.job;

import dev.depin.InvalidArgumentException;
import dev.depin.money.MicroUsd;
import java.util.List;
import java.util.Map;

/**
 * What a finished job's data did, as the buyer's transport counted it for the accepted attempt:
 * which inputs the provider ({@link JobResult#provider()}) already held so that only their roots
 * travelled, how many input bytes went over the network, what the provider keeps afterwards,
 * and what the data part of the price came to. Outputs left on the provider are in
 * {@link JobResult#heldOutputs()}, each with its node and expiry.
 *
 * @param inputBytes     input bytes the job's spec declares
 * @param inputBytesSent input bytes the transport put on the wire for the accepted attempt (a
 *                       network that does not count them reports every declared byte)
 * @param fromCache      inputs the provider served from its cache by root, by name
 * @param resent         inputs sent by root that the provider no longer held, then with their bytes
 * @param heldInputs     inputs taken by reference from outputs an earlier job left on the provider
 *                       ({@link Job.Builder#inputFrom}), by name
 * @param keptInputs     inputs the provider says it holds for this buyer after the job, by name:
 *                       a following job on them may send only their roots
 * @param dataCharge     the part of the job's price for data, at the accepted offer's price per
 *                       gigabyte: offers price every byte the spec declares, sent or held, so
 *                       bytes not sent save transfer time, not money
 */
public record DataMovement(long inputBytes, long inputBytesSent, List<String> fromCache, List<String> resent,
                           Map<String, HeldOutput> heldInputs, List<String> keptInputs, MicroUsd dataCharge) {
    /**
     * Validates and copies.
     *
     * @param inputBytes     input bytes declared, &ge; 0
     * @param inputBytesSent input bytes sent, 0 to {@code inputBytes}
     * @param fromCache      inputs served from the provider's cache
     * @param resent         inputs resent after a cache miss
     * @param heldInputs     inputs taken from held outputs
     * @param keptInputs     inputs the provider holds afterwards
     * @param dataCharge     the data part of the price
     * @throws InvalidArgumentException on null or counts out of range
     */
    public DataMovement {
        if (inputBytes < 0 || inputBytesSent < 0 || inputBytesSent > inputBytes) {
            throw new InvalidArgumentException("data movement of " + inputBytesSent + " of " + inputBytes
                    + " input bytes sent: give 0 <= sent <= declared");
        }
        fromCache = List.copyOf(InvalidArgumentException.requireNonNull(fromCache, "inputs from cache"));
        resent = List.copyOf(InvalidArgumentException.requireNonNull(resent, "inputs resent"));
        heldInputs = Map.copyOf(InvalidArgumentException.requireNonNull(heldInputs, "held inputs"));
        keptInputs = List.copyOf(InvalidArgumentException.requireNonNull(keptInputs, "kept inputs"));
        InvalidArgumentException.requireNonNull(dataCharge, "data charge");
    }

    /** @return input bytes the job did not send because the provider held them */
    public long inputBytesNotSent() {
        return inputBytes - inputBytesSent;
    }

    /** @return e.g. {@code "inputs: 4096 of 8392704 bytes sent; from the provider's cache: [a]; data charge $0.000084"} */
    public String summary() {
        return "inputs: " + inputBytesSent + " of " + inputBytes + " bytes sent"
                + (fromCache.isEmpty() ? "" : "; from the provider's cache: " + fromCache)
                + (heldInputs.isEmpty() ? "" : "; held there by an earlier job: " + new java.util.TreeSet<>(heldInputs.keySet()))
                + (resent.isEmpty() ? "" : "; resent after a cache miss: " + resent)
                + (keptInputs.isEmpty() ? "" : "; kept by the provider: " + keptInputs)
                + "; data charge " + dataCharge;
    }
}
