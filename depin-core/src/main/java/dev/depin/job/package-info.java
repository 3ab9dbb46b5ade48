/**
 * Jobs: {@link dev.depin.job.JobSpec} (canonical JSON, SHA-256 anchor),
 * {@link dev.depin.job.Job} (spec plus inputs), {@link dev.depin.job.JobHandle},
 * {@link dev.depin.job.JobResult} and the {@link dev.depin.job.JobState} lifecycle.
 *
 * <pre>{@code
 * Job job = Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 3).input("x", new float[] {1, 2, 3}).build();
 * String anchor = job.spec().hash();
 * }</pre>
 */
package dev.depin.job;
