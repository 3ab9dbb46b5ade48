package dev.depin.grpc.internal;

import dev.depin.DepinException;
import dev.depin.provider.ProviderRejectedException;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;

class WireTest {
    @Test
    void readable_negativeLengthFromGrpc_givenAsTheUnsignedLengthSent() {
        Status s = Status.RESOURCE_EXHAUSTED.withDescription("gRPC message exceeds maximum size 4194304: -2147483648");
        assertEquals("a message of 2147483648 bytes (its length prefix) passed the limit of 4194304 bytes per "
                + "message: the stream was closed", Wire.readable(s).getDescription());
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, Wire.readable(s).getCode());
        Status small = Status.RESOURCE_EXHAUSTED.withDescription("gRPC message exceeds maximum size 4194304: 5242885");
        assertEquals("a message of 5242885 bytes (its length prefix) passed the limit of 4194304 bytes per message: "
                + "the stream was closed", Wire.readable(small).getDescription());
        Status other = Status.RESOURCE_EXHAUSTED.withDescription("node is busy");
        assertSame(other, Wire.readable(other));
        DepinException e = Wire.fromStatus("abc", s.asRuntimeException());
        assertInstanceOf(ProviderRejectedException.class, e);
        assertEquals("provider abc refused the attempt (RESOURCE_EXHAUSTED: a message of 2147483648 bytes (its "
                + "length prefix) passed the limit of 4194304 bytes per message: the stream was closed)", e.getMessage());
    }
}
