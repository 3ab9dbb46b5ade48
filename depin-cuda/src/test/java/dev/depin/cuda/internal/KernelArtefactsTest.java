package dev.depin.cuda.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.depin.crypto.Sha256;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The committed PTX and fatbin are what the committed sources compile to: each source's
 * SHA-256 is the manifest's, each artefact's is too, and where the toolkit is installed the
 * PTX assembles for every SASS target and nvcc regenerates it byte for byte.
 */
class KernelArtefactsTest {
    private static final List<String> TARGETS = List.of("sm_80", "sm_86", "sm_89", "sm_90");

    @Test
    void manifest_matchesEverySource() throws IOException {
        Properties m = KernelArtefacts.manifest();
        Path src = CudaToolkit.module().resolve("src/main/cuda");
        Set<String> files = new TreeSet<>();
        try (var list = Files.list(src)) {
            list.forEach(p -> files.add(p.getFileName().toString()));
        }
        Set<String> listed = new TreeSet<>();
        for (String key : m.stringPropertyNames()) {
            if (key.startsWith("source.")) {
                listed.add(key.substring("source.".length()));
            }
        }
        assertEquals(files, listed, "sources in the manifest: run depin-cuda/scripts/build-kernels.sh");
        for (String f : files) {
            assertEquals(m.getProperty("source." + f), Sha256.hex(Files.readAllBytes(src.resolve(f))),
                    f + " changed since the artefacts were built: run depin-cuda/scripts/build-kernels.sh");
        }
        assertEquals("sm_80,sm_86,sm_89,sm_90", m.getProperty("sass.targets"));
    }

    @Test
    void load_checksEachArtefactAgainstTheManifest() {
        byte[] ptx = KernelArtefacts.load(KernelArtefacts.PTX);
        assertEquals(0, ptx[ptx.length - 1], "PTX handed to cuModuleLoadData ends with NUL");
        String text = new String(ptx, 0, ptx.length - 1, StandardCharsets.US_ASCII);
        assertTrue(text.contains(".version " + KernelArtefacts.manifest().getProperty("ptx.isa")), "PTX ISA");
        assertTrue(text.contains(".target sm_80"), "PTX targets compute_80");
        for (String entry : CudaKernel.moduleEntries()) {
            assertTrue(text.contains(".entry " + entry + "("), "PTX has entry " + entry);
        }
        byte[] fatbin = KernelArtefacts.load(KernelArtefacts.FATBIN);
        // fatbin magic 0xBA55ED50, little-endian
        assertEquals(0x50, fatbin[0] & 0xff);
        assertEquals(0xed, fatbin[1] & 0xff);
        assertEquals(0x55, fatbin[2] & 0xff);
        assertEquals(0xba, fatbin[3] & 0xff);
    }

    @Test
    void ptx_assemblesForEveryTarget() throws Exception {
        Optional<Path> ptxas = CudaToolkit.find("ptxas");
        assumeTrue(ptxas.isPresent(), "ptxas not found (PATH, $PTXAS, /usr/local/cuda/bin): PTX assembly not checked");
        Path dir = Files.createTempDirectory("depin-ptxas");
        Path ptx = dir.resolve("k.ptx");
        byte[] bytes = KernelArtefacts.load(KernelArtefacts.PTX);
        Files.write(ptx, java.util.Arrays.copyOf(bytes, bytes.length - 1));
        List<Process> runs = new ArrayList<>();
        for (String t : TARGETS) {
            runs.add(new ProcessBuilder(ptxas.get().toString(), "-arch=" + t, ptx.toString(), "-o",
                    dir.resolve(t + ".cubin").toString()).redirectErrorStream(true).start());
        }
        for (int i = 0; i < runs.size(); i++) {
            Process p = runs.get(i);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "ptxas timed out");
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), "ptxas -arch=" + TARGETS.get(i) + ": " + out);
            assertTrue(Files.size(dir.resolve(TARGETS.get(i) + ".cubin")) > 0);
        }
    }

    @Test
    void ptx_isWhatNvccMakesOfTheSources() throws Exception {
        Optional<Path> nvcc = CudaToolkit.find("nvcc");
        assumeTrue(nvcc.isPresent(), "nvcc not found (PATH, $NVCC, /usr/local/cuda/bin): PTX not regenerated");
        Path out = Files.createTempFile("depin-kernels", ".ptx");
        Path src = CudaToolkit.module().resolve("src/main/cuda");
        // The flags scripts/build-kernels.sh used, as its manifest records them.
        String flags = KernelArtefacts.manifest().getProperty("nvcc.flags");
        assertTrue(flags != null && flags.contains("-fmad=false") && flags.contains("-ftz=false"),
                "the manifest records the numerics flags: " + flags);
        List<String> cmd = new ArrayList<>(List.of(nvcc.get().toString()));
        cmd.addAll(List.of(flags.trim().split("\\s+")));
        cmd.addAll(List.of("-I", src.toString(), "-ptx", "-arch=compute_80", "depin_kernels.cu", "-o", out.toString()));
        Process p = new ProcessBuilder(cmd).directory(src.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "nvcc timed out");
        assertEquals(0, p.exitValue(), log);
        String version = new String(new ProcessBuilder(nvcc.get().toString(), "--version").start().getInputStream()
                .readAllBytes(), StandardCharsets.UTF_8);
        String built = KernelArtefacts.manifest().getProperty("nvcc");
        assumeTrue(version.contains("V" + built), "artefacts were built by nvcc " + built
                + ", this is another version: byte comparison skipped");
        assertEquals(KernelArtefacts.manifest().getProperty("artefact.depin_kernels.ptx"),
                Sha256.hex(Files.readAllBytes(out)), "committed PTX differs from nvcc's: run scripts/build-kernels.sh");
        Files.deleteIfExists(out);
    }
}
