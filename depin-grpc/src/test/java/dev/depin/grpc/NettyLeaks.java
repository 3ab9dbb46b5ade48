package dev.depin.grpc;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Fails a test class when Netty reports a leaked buffer (or any other tracked resource)
 * during it. Registered for every test class of this module (JUnit extension
 * auto-detection); surefire runs with {@code -Dio.netty.leakDetectionLevel=paranoid}, so every
 * buffer is tracked. Before the first Netty class loads, it installs a detector factory whose
 * detectors record what they report; after each class it collects garbage and allocates
 * again, which is when Netty reports what was collected unreleased.
 */
public final class NettyLeaks implements BeforeAllCallback, AfterAllCallback {
    /** Leaks reported since the last check. */
    static final List<String> REPORTED = new CopyOnWriteArrayList<>();
    private static volatile boolean installed;

    /** Detectors that record each leak besides logging it. */
    static final class RecordingFactory extends ResourceLeakDetectorFactory {
        @Override
        @SuppressWarnings("deprecation")
        public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval,
                                                                   long maxActive) {
            return newResourceLeakDetector(resource, samplingInterval);
        }

        @Override
        public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval) {
            return new ResourceLeakDetector<>(resource, samplingInterval) {
                @Override
                protected boolean needReport() {
                    return true;
                }

                @Override
                protected void reportTracedLeak(String resourceType, String records) {
                    REPORTED.add(resourceType + " leaked:" + records);
                    super.reportTracedLeak(resourceType, records);
                }

                @Override
                protected void reportUntracedLeak(String resourceType) {
                    REPORTED.add(resourceType + " leaked (untraced)");
                    super.reportUntracedLeak(resourceType);
                }
            };
        }
    }

    static synchronized void install() {
        if (!installed) {
            ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
            installed = true;
        }
    }

    /** Collects garbage and allocates, so that Netty reports buffers collected unreleased. */
    static void collect() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(20);
            for (int j = 0; j < 16; j++) {
                ByteBuf a = PooledByteBufAllocator.DEFAULT.directBuffer(64);
                a.release();
                ByteBuf b = Unpooled.buffer(64);
                b.release();
            }
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        install();
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        collect();
        List<String> leaks = List.copyOf(REPORTED);
        REPORTED.clear();
        assertEquals(List.of(), leaks, "Netty reported leaks in " + context.getDisplayName());
    }
}
