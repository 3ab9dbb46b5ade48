package dev.depin.cuda.internal;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Finds the CUDA toolkit's command-line tools (nvcc, ptxas) for tests that need them. */
final class CudaToolkit {
    private CudaToolkit() {
    }

    /**
     * @param tool "nvcc" or "ptxas"
     * @return its path: {@code $NVCC}/{@code $PTXAS}, then PATH, then /usr/local/cuda/bin
     */
    static Optional<Path> find(String tool) {
        String env = System.getenv(tool.toUpperCase(java.util.Locale.ROOT));
        if (env != null && Files.isExecutable(Path.of(env))) {
            return Optional.of(Path.of(env));
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, tool);
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        Path p = Path.of("/usr/local/cuda/bin", tool);
        return Files.isExecutable(p) ? Optional.of(p) : Optional.empty();
    }

    /** @return the module's directory (surefire runs tests there) */
    static Path module() {
        Path here = Path.of("").toAbsolutePath();
        return Files.isDirectory(here.resolve("src/main/cuda")) ? here : here.resolve("depin-cuda");
    }
}
