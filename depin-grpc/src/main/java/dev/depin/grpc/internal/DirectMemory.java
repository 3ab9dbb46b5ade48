package dev.depin.grpc.internal;

import io.netty.util.internal.PlatformDependent;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;

/**
 * Direct (off-heap) buffer bytes in use in this JVM: what the JDK counts against
 * {@code -XX:MaxDirectMemorySize} ({@code ByteBuffer.allocateDirect}, which Netty uses by default
 * on Java 17), plus Netty's own counter for the buffers it allocates without the JDK's
 * accounting (only with reflective access to {@code java.nio}; then it holds them to
 * {@code io.netty.maxDirectMemory}, which defaults to the same limit). The two never count the
 * same buffer.
 */
public final class DirectMemory {
    private static final BufferPoolMXBean DIRECT = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)
            .stream().filter(p -> p.getName().equals("direct")).findFirst().orElse(null);

    private DirectMemory() {
    }

    /** @return direct buffer bytes in use now, 0 when the JVM does not say */
    public static long used() {
        long jdk = DIRECT == null ? 0 : Math.max(0, DIRECT.getMemoryUsed());
        long netty = PlatformDependent.usedDirectMemory(); // -1: Netty does not count its own
        return jdk + Math.max(0, netty);
    }
}
