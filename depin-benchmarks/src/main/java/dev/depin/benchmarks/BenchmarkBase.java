package dev.depin.benchmarks;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Shared JMH defaults for every benchmark in this module: one fork with a 4 GiB heap, 3 warmup
 * and 5 measurement iterations of 2 s each, average time per operation in microseconds, and a
 * benchmark-wide state. JMH reads these annotations from the superclass, so a benchmark only
 * extends this class and overrides what it needs (an annotation on the subclass or on a method
 * wins). Command-line options ({@code -f -wi -w -i -r -tu}) override all of them.
 *
 * <p>Keep the defaults modest: the whole suite must stay runnable on a 2-core machine. Prepare
 * data in {@code @Setup} methods with a fixed seed, and compare with a baseline in the same run.
 */
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
@Warmup(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
public abstract class BenchmarkBase {

    /** Seed for every benchmark's input data, so that runs are comparable. */
    protected static final long SEED = 20240601L;

    /** For subclasses only. */
    protected BenchmarkBase() {
    }
}
