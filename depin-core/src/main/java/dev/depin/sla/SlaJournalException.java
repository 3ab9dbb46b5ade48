package dev.depin.sla;

import dev.depin.DepinException;

/**
 * An SLA journal cannot be used: it is missing, not a regular file, not a journal, belongs to
 * another buyer, is held by another process, holds a record that does not check, or the disk
 * failed. The message names the file, the line where there is one, and what to do. Nothing is
 * recorded or paid from a journal that fails.
 */
public class SlaJournalException extends DepinException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what is wrong and what to do
     * @param cause   the failure underneath, or {@code null}
     */
    public SlaJournalException(String message, Throwable cause) {
        super(message, cause);
    }
}
