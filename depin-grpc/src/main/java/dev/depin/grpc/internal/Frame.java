package dev.depin.grpc.internal;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.UnsafeByteOperations;
import dev.depin.grpc.internal.wire.ExecuteRequest;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * One Execute request as the provider received it: the message and the array its bytes
 * were read into, which the provider owns. The message is parsed with aliasing, so its
 * {@code bytes} fields (input data, spec, nonce) are views of that array rather than
 * protobuf's own copies: overwriting the array overwrites the received bytes, which is
 * how the node wipes what it received. A frame that is not a valid message has no message.
 */
final class Frame {
    /** Reads each request into a fresh array the provider owns and parses it in place. */
    static final MethodDescriptor.Marshaller<Frame> MARSHALLER = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(Frame value) {
            return new ByteArrayInputStream(value.bytes());
        }

        @Override
        public Frame parse(InputStream stream) {
            byte[] bytes;
            try {
                bytes = read(stream);
            } catch (IOException e) {
                return new Frame(null, new byte[0]);
            }
            try {
                CodedInputStream in = UnsafeByteOperations.unsafeWrap(bytes).newCodedInput();
                in.enableAliasing(true);
                return new Frame(ExecuteRequest.parseFrom(in), bytes);
            } catch (IOException e) { // InvalidProtocolBufferException: not a valid message
                Arrays.fill(bytes, (byte) 0);
                return new Frame(null, bytes);
            }
        }
    };

    /**
     * gRPC's deframer hands a stream of known length (the message size, already checked
     * against the inbound limit): read it into an array of exactly that size, so no
     * intermediate copy is left behind. A compressed stream's size is unknown; it is read
     * in full (gRPC bounds it by the same limit).
     */
    private static byte[] read(InputStream stream) throws IOException {
        if (stream instanceof KnownLength) {
            int n = stream.available();
            byte[] b = stream.readNBytes(n);
            if (b.length == n && stream.read() == -1) {
                return b;
            }
            Arrays.fill(b, (byte) 0);
            throw new IOException("the message was not of its announced length");
        }
        return stream.readAllBytes();
    }

    private final ExecuteRequest message;
    private final byte[] bytes;

    /** Deliberately no copy: the point is that the provider owns the array the message aliases. */
    private Frame(ExecuteRequest message, byte[] bytes) {
        this.message = message;
        this.bytes = bytes;
    }

    /** @return the parsed request, or {@code null} when the bytes were not a valid message */
    ExecuteRequest message() {
        return message;
    }

    /** @return the received bytes themselves (not a copy) */
    byte[] bytes() {
        return bytes;
    }
}
