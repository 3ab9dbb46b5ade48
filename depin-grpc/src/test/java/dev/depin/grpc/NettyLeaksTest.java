package dev.depin.grpc;

import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import io.netty.util.ResourceLeakTracker;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The leak check itself can fail: a tracked object dropped without release is reported. */
class NettyLeaksTest {
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
