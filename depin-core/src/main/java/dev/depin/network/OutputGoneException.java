package dev.depin.network;

/**
 * A provider no longer holds an output it kept for this buyer (evicted for room, expired
 * after its idle time to live, or the node restarted), or never held it for this buyer's key:
 * its bytes cannot be fetched from there. Nothing was paid for the fetch; run the job that
 * produced the output again (or keep the output's bytes next time).
 */
public class OutputGoneException extends NetworkException {
    private static final long serialVersionUID = 1L;

    /** @param message which provider, which output, and what to do */
    public OutputGoneException(String message) {
        super(message);
    }

    /**
     * The provider no longer holds an output a job left there, which the buyer asked to read.
     *
     * @param provider the provider's short id
     * @param root     the output's root
     * @param bytes    its size
     * @return the exception, naming the root and the provider and saying what to do
     */
    public static OutputGoneException output(String provider, String root, long bytes) {
        return new OutputGoneException("provider " + provider + " no longer holds output " + root + " (" + bytes
                + " bytes): its time to live ended, it was evicted, or the node restarted; run the job that produced "
                + "it again (no money moved for this fetch)");
    }

    /**
     * The provider no longer holds an input a job took by reference from an earlier job's output.
     *
     * @param provider the provider's short id
     * @param input    the input's name
     * @param root     the root the spec commits to
     * @param bytes    its size
     * @return the exception, naming the root and the provider and saying what to do
     */
    public static OutputGoneException heldInput(String provider, String input, String root, long bytes) {
        return new OutputGoneException("provider " + provider + " no longer holds root " + root + " (" + bytes
                + " bytes, input '" + input + "'), an output an earlier job left there (its time to live ended, it was "
                + "evicted, or the node restarted): run the job that produced it again; no money moved for this "
                + "attempt");
    }
}
