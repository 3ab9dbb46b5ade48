package dev.depin.client;

import dev.depin.client.internal.JobRun;
import dev.depin.job.JobHandle;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Test seams ({@link DepinClient.Builder#seams}) that keep the lock of each job the client makes,
 * so that a test asks the engine which lock decides a job's end instead of assuming that the
 * handle locks on itself: a refactor to a private lock keeps these checks meaningful.
 */
final class JobLocks implements JobRun.Seams {
    private final Map<JobHandle, JobRun.JobLock> locks = new ConcurrentHashMap<>();

    @Override
    public void made(JobHandle job, JobRun.JobLock lock) {
        locks.put(job, lock);
    }

    /**
     * @param job a job of the client these seams were given to
     * @return whether the current thread holds the job's lock
     */
    boolean heldHere(JobHandle job) {
        JobRun.JobLock lock = locks.get(job);
        if (lock == null) {
            throw new AssertionError("job " + job.jobId() + " was not made by the client these seams were given to");
        }
        return lock.heldByCurrentThread();
    }
}
