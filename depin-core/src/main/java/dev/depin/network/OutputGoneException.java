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
}
