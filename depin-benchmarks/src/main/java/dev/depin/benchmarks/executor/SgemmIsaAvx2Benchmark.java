package dev.depin.benchmarks.executor;

import org.openjdk.jmh.annotations.Fork;

/** {@link SgemmIsaBenchmark} in a fork limited to AVX2 ({@code -XX:UseAVX=2}: 256-bit vectors). */
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g", "--add-modules", "jdk.incubator.vector", "-XX:UseAVX=2"})
public class SgemmIsaAvx2Benchmark extends SgemmIsaBenchmark {
}
