package dev.depin.grpc;

import io.netty.buffer.AbstractByteBuf;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

import java.lang.reflect.Field;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Fails a test class when Netty reports a leaked buffer (or any other tracked resource)
 * during it. Registered for every test class of this module (JUnit extension
 * auto-detection, {@code META-INF/services/org.junit.jupiter.api.extension.Extension} with
 * {@code junit-platform.properties}); surefire runs with
 * {@code -Dio.netty.leakDetectionLevel=paranoid}, and {@link #install} sets that level too, so
 * every buffer is tracked. {@link Session} installs a detector factory whose detectors record
 * what they report when the test run opens, before any test class (or Netty class) loads;
 * each class checks first that Netty's buffer detector is one of those (else the check would
 * pass blind) and, after its tests, collects garbage and allocates again, which is when Netty
 * reports what was collected unreleased.
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

    /** Installs the recording detectors (once) and turns detection up to paranoid. */
    static synchronized void install() {
        if (!installed) {
            ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
            installed = true;
        }
        if (ResourceLeakDetector.getLevel() != ResourceLeakDetector.Level.PARANOID) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        }
    }

    /** Installs the check when the test run opens, before any test class is loaded. */
    public static final class Session implements LauncherSessionListener {
        @Override
        public void launcherSessionOpened(LauncherSession session) {
            install();
        }
    }

    /**
     * @return the class of the detector Netty's buffers report to (the static detector of
     *         {@code AbstractByteBuf}, made when that class was first loaded)
     * @throws ReflectiveOperationException if Netty no longer has that field
     */
    static Class<?> bufferDetectorClass() throws ReflectiveOperationException {
        Field f = AbstractByteBuf.class.getDeclaredField("leakDetector");
        f.setAccessible(true);
        return f.get(null).getClass();
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
    public void beforeAll(ExtensionContext context) throws ReflectiveOperationException {
        install();
        Class<?> detector = bufferDetectorClass();
        assertEquals(RecordingFactory.class, detector.getEnclosingClass(), "Netty's buffer leak detector is "
                + detector.getName() + ", made before the leak check was installed: leaks would go unrecorded. "
                + "Is NettyLeaks$Session registered as a LauncherSessionListener?");
        assertEquals(ResourceLeakDetector.Level.PARANOID, ResourceLeakDetector.getLevel());
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        collect();
        List<String> leaks = List.copyOf(REPORTED);
        REPORTED.clear();
        assertEquals(List.of(), leaks, "Netty reported leaks in " + context.getDisplayName());
    }
}
