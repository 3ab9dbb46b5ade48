package dev.depin.grpc;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import io.netty.util.ResourceLeakTracker;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The leak check itself can fail: a tracked object dropped without release is reported, and
 * a test class that leaks a real pooled buffer fails (run here through the JUnit launcher,
 * as surefire runs every class).
 */
class NettyLeaksTest {
    /** Set only while {@link #leakyClass_failsWithTheLeakReported} runs {@link Leaky}. */
    static volatile boolean leakOnPurpose;

    /**
     * A test class that leaks one pooled direct buffer; run only by the launcher below
     * (surefire skips nested classes, and without the flag it does nothing).
     */
    static final class Leaky {
        @Test
        void leaksOneBuffer() throws Exception {
            Assumptions.assumeTrue(leakOnPurpose, "runs only inside NettyLeaksTest");
            dropUnreleased();
            // Collect until Netty reports it, so that the class's check cannot miss it.
            for (int i = 0; i < 100 && NettyLeaks.REPORTED.isEmpty(); i++) {
                NettyLeaks.collect();
            }
        }

        private static void dropUnreleased() {
            ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(64);
            b.writeLong(0x5EED_1EA4L); // never released
        }
    }

    @Test
    void leakyClass_failsWithTheLeakReported() {
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        leakOnPurpose = true;
        try {
            LauncherFactory.create().execute(LauncherDiscoveryRequestBuilder.request()
                    .selectors(DiscoverySelectors.selectClass(Leaky.class)).build(), listener);
        } finally {
            leakOnPurpose = false;
        }
        TestExecutionSummary summary = listener.getSummary();
        assertEquals(1, summary.getTestsSucceededCount(), "the leaking test itself passes");
        assertEquals(1, summary.getContainersFailedCount(), "its class fails on the leak");
        Throwable failure = summary.getFailures().get(0).getException();
        assertTrue(failure.getMessage().contains("Netty reported leaks in NettyLeaksTest$Leaky"), failure.getMessage());
        assertTrue(failure.getMessage().contains("ByteBuf leaked"), failure.getMessage());
        assertTrue(NettyLeaks.REPORTED.isEmpty(), "the failing class consumed its report");
    }

    @Test
    void bufferDetector_isTheRecordingOneAtParanoid() throws Exception {
        assertEquals(NettyLeaks.RecordingFactory.class, NettyLeaks.bufferDetectorClass().getEnclosingClass());
        assertEquals(ResourceLeakDetector.Level.PARANOID, ResourceLeakDetector.getLevel());
    }
    /** A resource type of its own, so that only this test's leak is counted here. */
    private static final class Probe {
    }

    @Test
    void recordingFactory_reportsAnObjectCollectedWithoutRelease() throws Exception {
        assertInstanceOf(NettyLeaks.RecordingFactory.class, ResourceLeakDetectorFactory.instance(),
                "the leak check is installed before Netty is used");
        ResourceLeakDetector<Probe> detector = ResourceLeakDetectorFactory.instance()
                .newResourceLeakDetector(Probe.class, 1);
        leakOne(detector);
        boolean seen = false;
        for (int i = 0; i < 50 && !seen; i++) {
            System.gc();
            Thread.sleep(20);
            Probe kept = new Probe();
            ResourceLeakTracker<Probe> next = detector.track(kept); // reports what was collected
            assertNotNull(next, "paranoid level tracks every object");
            next.close(kept);
            seen = NettyLeaks.REPORTED.removeIf(s -> s.contains(Probe.class.getSimpleName()));
        }
        assertTrue(seen, "a leaked object must be reported");
    }

    private static void leakOne(ResourceLeakDetector<Probe> detector) {
        detector.track(new Probe()); // never closed: a leak once collected
    }
}
