package dev.depin.cuda.internal;

import dev.depin.crypto.Sha256;
import dev.depin.executor.spi.ExecutionFailedException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.Properties;

/**
 * The committed kernel artefacts on the class path ({@code dev/depin/cuda/kernels/}): the PTX
 * (compute_80), the fatbin with SASS for sm_80, sm_86, sm_89 and sm_90, and the manifest that
 * {@code depin-cuda/scripts/build-kernels.sh} writes with the SHA-256 of every source and
 * artefact. Loading an artefact checks it against the manifest, so a truncated or replaced
 * resource fails with a clear message instead of a driver error.
 */
public final class KernelArtefacts {
    /** Class-path folder of the artefacts. */
    public static final String ROOT = "/dev/depin/cuda/kernels/";
    /** The PTX module (JIT-compiled by drivers &ge; 580 on any sm &ge; 8.0). */
    public static final String PTX = "depin_kernels.ptx";
    /** The fatbin with SASS for sm_80, sm_86, sm_89, sm_90. */
    public static final String FATBIN = "depin_kernels.fatbin";
    /** The manifest written by the build script. */
    public static final String MANIFEST = "kernels.properties";
    /** Largest artefact read from the class path. */
    private static final int MAX_BYTES = 16 << 20;

    private KernelArtefacts() {
    }

    /**
     * The manifest.
     *
     * @return its properties
     * @throws ExecutionFailedException if it is missing or unreadable
     */
    public static Properties manifest() {
        Properties p = new Properties();
        try {
            p.load(new StringReader(new String(read(MANIFEST), StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new ExecutionFailedException("the CUDA kernel manifest is unreadable: " + e.getMessage()
                    + "; rebuild depin-cuda", e);
        }
        return p;
    }

    /**
     * Reads an artefact and checks it against the manifest's SHA-256.
     *
     * @param name {@link #PTX} or {@link #FATBIN}
     * @return its bytes; a PTX module ends with a NUL byte, as {@code cuModuleLoadData} expects
     * @throws ExecutionFailedException if it is missing or differs from the manifest
     */
    public static byte[] load(String name) {
        byte[] bytes = read(name);
        String expected = manifest().getProperty("artefact." + name);
        String actual = Sha256.hex(bytes);
        if (expected == null || !expected.equals(actual)) {
            throw new ExecutionFailedException("CUDA kernel artefact " + name + " has SHA-256 " + actual
                    + " but the manifest says " + expected + ": the jar is damaged or was built from other "
                    + "sources; run depin-cuda/scripts/build-kernels.sh and rebuild");
        }
        if (name.endsWith(".ptx")) {
            byte[] z = new byte[bytes.length + 1];
            System.arraycopy(bytes, 0, z, 0, bytes.length);
            return z;
        }
        return bytes;
    }

    private static byte[] read(String name) {
        try (InputStream in = KernelArtefacts.class.getResourceAsStream(ROOT + name)) {
            if (in == null) {
                throw new ExecutionFailedException("CUDA kernel artefact " + ROOT + name
                        + " is not on the class path: use a complete depin-cuda jar");
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[1 << 16];
            for (int r; (r = in.read(buf)) > 0; ) {
                out.write(buf, 0, r);
                if (out.size() > MAX_BYTES) {
                    throw new ExecutionFailedException("CUDA kernel artefact " + name + " exceeds " + MAX_BYTES
                            + " bytes: the jar is damaged");
                }
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new ExecutionFailedException("cannot read CUDA kernel artefact " + name + ": " + e.getMessage(), e);
        }
    }
}
