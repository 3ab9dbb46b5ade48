package dev.depin.provider;

import dev.depin.InvalidArgumentException;

/**
 * The largest job a provider takes, as its signed offer states it: the output bytes one job may
 * declare, and the input plus output bytes (its working memory for a built-in kernel) one job
 * may need. A node refuses a larger job at admission before holding any of its bytes; a buyer
 * reads the same numbers from the offer and never sends it one.
 *
 * @param maxOutputBytes the most output bytes one job may declare, &ge; 1
 * @param maxJobBytes    the most input plus output bytes of one job, &ge; {@code maxOutputBytes}
 */
public record JobLimits(long maxOutputBytes, long maxJobBytes) {
    /**
     * @param maxOutputBytes the most output bytes one job may declare, &ge; 1
     * @param maxJobBytes    the most input plus output bytes of one job, &ge; {@code maxOutputBytes}
     * @throws InvalidArgumentException unless {@code 1 <= maxOutputBytes <= maxJobBytes}
     */
    public JobLimits {
        if (maxOutputBytes < 1 || maxJobBytes < maxOutputBytes) {
            throw new InvalidArgumentException("job limits of " + maxOutputBytes + " output bytes and " + maxJobBytes
                    + " bytes in all: give 1 <= output <= all");
        }
    }

    /**
     * Why a job of this size is refused under these limits.
     *
     * @param outputBytes the output bytes the job declares (saturated at {@code Long.MAX_VALUE})
     * @param jobBytes    its input plus output bytes (saturated likewise)
     * @return the reason, such as {@code "takes at most 1048576 output bytes per job"}, or
     *         {@code null} when the job fits
     */
    public String refusal(long outputBytes, long jobBytes) {
        if (outputBytes > maxOutputBytes) {
            return "takes at most " + maxOutputBytes + " output bytes per job, this one declares " + outputBytes;
        }
        if (jobBytes > maxJobBytes) {
            return "takes at most " + maxJobBytes + " input + output bytes per job, this one needs " + jobBytes;
        }
        return null;
    }
}
