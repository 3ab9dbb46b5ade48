package dev.depin.client.internal;

import dev.depin.crypto.NodeId;
import dev.depin.crypto.VerificationReport;
import dev.depin.job.AttemptState;
import dev.depin.job.DisputeRecord;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.provider.ProviderOffer;

/**
 * One dispatch of a job to one provider, and how it ended. Fields other than the final
 * ones are written under the owning {@link JobRun}'s lock.
 */
final class Attempt {
    final ProviderOffer offer;
    final ExecutionRequest request;
    final int round;
    Dispatch dispatch;
    AttemptState state = AttemptState.DISPATCHED;
    /** The provider's answer, once it came. */
    ExecutionResponse response;
    /** Why it failed before answering, once it did. */
    String failure;
    /** Set once the attempt has answered, failed or timed out. */
    boolean settled;
    /** Set when the attempt's timeout fired: the failure it reports, whatever the provider answers to the cancel. */
    String timedOut;
    /** Fires at the attempt's timeout; cancelled once the attempt is settled or stopped. */
    java.util.concurrent.ScheduledFuture<?> timer;
    /**
     * The attempt's timeout in nanoseconds when it is the job's deadline: then it has no
     * {@link #timer}, and the job's deadline watchdog times it out; 0 when it has its own timer.
     */
    long timeoutAtDeadline;
    /** Whether this attempt hedges a slow one of the same round. */
    boolean hedge;
    /** Set once the attempt's answer has been judged (accepted, failed, disputed) or it lost a race. */
    boolean judged;
    /** Its spot check drawn at dispatch ({@link AttemptVerifier#prepare}), or null; set before the dispatch. */
    volatile HeldSpotCheck.Prepared prepared;
    Attempt(ProviderOffer offer, ExecutionRequest request, int round) {
        this.offer = offer;
        this.request = request;
        this.round = round;
    }

    NodeId provider() {
        return offer.nodeId();
    }

    int number() {
        return request.attempt();
    }

    /**
     * How a settled attempt was judged.
     *
     * @param attempt the attempt
     * @param state   ACCEPTED, FAILED or DISPUTED
     * @param detail  why, for the event
     * @param report  what was verified (ACCEPTED), else null
     * @param dispute the evidence (DISPUTED), else null
     */
    record Outcome(Attempt attempt, AttemptState state, String detail, VerificationReport report,
                   DisputeRecord dispute) {
        static Outcome accepted(Attempt a, VerificationReport report) {
            return new Outcome(a, AttemptState.ACCEPTED, report.summary(), report, null);
        }

        static Outcome failed(Attempt a, String why) {
            return new Outcome(a, AttemptState.FAILED, why, null, null);
        }

        static Outcome disputed(Attempt a, String why, DisputeRecord d) {
            return new Outcome(a, AttemptState.DISPUTED, why, null, d);
        }
    }
}
