package dev.depin.provider;

/**
 * A provider refused a job because it declares more output bytes or more working memory
 * than the provider takes for one job ({@code ProviderNode.Builder.jobLimits}). Another
 * provider with larger limits may run it; this one never will.
 */
public class JobTooLargeException extends ProviderRejectedException {
    private static final long serialVersionUID = 1L;

    /** @param message what was too large, the limit, and what to do */
    public JobTooLargeException(String message) {
        super(message);
    }
}
