package dev.depin.crypto;

import dev.depin.DepinException;

/**
 * A key file could not be read or written, and {@link #reason()} says why: it does not
 * exist, is not a regular file, is open to other users, or the file system refused. What the
 * file holds is judged by {@link KeyFormatException} and its subclasses.
 */
public final class KeyFileException extends DepinException {
    private static final long serialVersionUID = 1L;

    /** Why a key file was refused. */
    public enum Reason {
        /** The path names nothing, or a symbolic link to nothing. */
        NOT_FOUND,
        /** The path is a directory, FIFO, socket or device: only a regular file is read. */
        NOT_A_REGULAR_FILE,
        /**
         * A private key readable or writable by the group or others (any of mode 077), which
         * is refused as OpenSSH refuses it, encrypted or not.
         */
        TOO_OPEN,
        /** The file system refused to read it. */
        UNREADABLE,
        /** The file system refused to write it or its directory. */
        UNWRITABLE
    }

    /** Why the file was refused. */
    private final Reason reason;

    /**
     * Creates the exception.
     *
     * @param reason  why; not null
     * @param message what was wrong and what to do
     * @param cause   the I/O failure; may be {@code null}
     */
    public KeyFileException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = java.util.Objects.requireNonNull(reason, "reason");
    }

    /** @return why the file was refused */
    public Reason reason() {
        return reason;
    }
}
