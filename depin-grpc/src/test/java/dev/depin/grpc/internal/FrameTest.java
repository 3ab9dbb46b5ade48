package dev.depin.grpc.internal;

import com.google.protobuf.ByteString;
import dev.depin.grpc.internal.wire.ExecuteRequest;
import dev.depin.grpc.internal.wire.InputChunk;
import dev.depin.grpc.internal.wire.Start;
import io.grpc.KnownLength;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A received frame is parsed in place: the input bytes the provider uses are the frame's own
 * bytes, so zeroing the frame zeroes them (what makes the receive wipe real), for streams of
 * known length (gRPC's) and of unknown length alike; bytes that are no message are refused
 * and zeroed.
 */
class FrameTest {
    private static final long SEED = 42L;

    /** A stream of known length, as gRPC's deframer hands over. */
    private static final class Known extends ByteArrayInputStream implements KnownLength {
        Known(byte[] b) {
            super(b);
        }
    }

    private static byte[] request(SplittableRandom rnd, int bytes) {
        byte[] data = new byte[bytes];
        rnd.nextBytes(data);
        return ExecuteRequest.newBuilder().setStart(Start.newBuilder().setJobId("0123456789abcdef0123456789abcdef")
                .setAttempt(1).addInputs(InputChunk.newBuilder().setName("x").setData(ByteString.copyFrom(data))))
                .build().toByteArray();
    }

    @Test
    void parse_aliasesTheReceivedBytes() {
        System.out.println("FrameTest seed " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int n : new int[] {1, 7, 4096, 65_537, 1 + rnd.nextInt(300_000)}) {
            for (boolean known : new boolean[] {true, false}) {
                byte[] wire = request(rnd, n);
                InputStream in = known ? new Known(wire.clone()) : new ByteArrayInputStream(wire.clone());
                Frame f = Frame.MARSHALLER.parse(in);
                assertNotNull(f.message(), "size " + n);
                ByteString data = f.message().getStart().getInputs(0).getData();
                assertEquals(n, data.size());
                assertArrayEquals(ExecuteRequestBytes.data(wire), data.toByteArray(), "size " + n);
                java.util.Arrays.fill(f.bytes(), (byte) 0);
                assertTrue(data.toByteArray().length == n && allZero(data.toByteArray()),
                        "zeroing the frame did not reach the parsed input bytes (size " + n + ")");
            }
        }
    }

    @Test
    void parse_bytesThatAreNoMessage() {
        byte[] garbage = "\u00ff\u00ff\u00ff\u00ff garbage".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        Frame f = Frame.MARSHALLER.parse(new Known(garbage));
        assertNull(f.message());
        assertTrue(allZero(f.bytes()), "a refused frame is zeroed");
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    /** The input bytes of a serialized request, parsed with protobuf's own copying parser. */
    private static final class ExecuteRequestBytes {
        static byte[] data(byte[] wire) {
            try {
                return ExecuteRequest.parseFrom(wire).getStart().getInputs(0).getData().toByteArray();
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                throw new AssertionError(e);
            }
        }
    }
}
