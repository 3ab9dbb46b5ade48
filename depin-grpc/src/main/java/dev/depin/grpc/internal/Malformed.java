package dev.depin.grpc.internal;

import com.google.protobuf.Message;
import com.google.protobuf.UnknownFieldSet;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a request that is not a valid protobuf message into INVALID_ARGUMENT. gRPC-java
 * itself answers such bytes with UNKNOWN ("Application error processing RPC") and a SEVERE
 * log line; here the parser returns a per-method sentinel instead of throwing, and the call is
 * closed with INVALID_ARGUMENT while the handler is told the call ended (so it lets go of
 * whatever it held).
 */
public final class Malformed {
    private static final int MARK = (1 << 29) - 1;
    /** How the description of such a refusal ends. */
    private static final String NOT_PROTOBUF = " that is not a valid protobuf message: refused";

    private Malformed() {
    }

    /**
     * @param status how a call ended
     * @return whether it was refused here: a request that is not a valid protobuf message
     */
    public static boolean refused(Status status) {
        return status.getCode() == Status.Code.INVALID_ARGUMENT && status.getDescription() != null
                && status.getDescription().endsWith(NOT_PROTOBUF);
    }

    /**
     * @param service a protobuf service
     * @return the same service, refusing malformed requests with INVALID_ARGUMENT
     */
    public static ServerServiceDefinition refuseWithInvalidArgument(ServerServiceDefinition service) {
        ServiceDescriptor old = service.getServiceDescriptor();
        List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
        ServiceDescriptor.Builder d = ServiceDescriptor.newBuilder(old.getName())
                .setSchemaDescriptor(old.getSchemaDescriptor());
        for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
            ServerMethodDefinition<?, ?> w = wrap(m);
            methods.add(w);
            d.addMethod(w.getMethodDescriptor());
        }
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(d.build());
        methods.forEach(b::addMethod);
        return b.build();
    }

    private static <Q, A> ServerMethodDefinition<Q, A> wrap(ServerMethodDefinition<Q, A> def) {
        MethodDescriptor<Q, A> method = def.getMethodDescriptor();
        if (!(method.getRequestMarshaller() instanceof MethodDescriptor.PrototypeMarshaller<Q> proto)
                || !(proto.getMessagePrototype() instanceof Message prototype)) {
            return def;
        }
        @SuppressWarnings("unchecked")
        Q sentinel = (Q) prototype.toBuilder().setUnknownFields(UnknownFieldSet.newBuilder().addField(MARK,
                UnknownFieldSet.Field.newBuilder().addVarint(1).build()).build()).build();
        MethodDescriptor.Marshaller<Q> tolerant = new MethodDescriptor.Marshaller<>() {
            @Override
            public InputStream stream(Q value) {
                return proto.stream(value);
            }

            @Override
            public Q parse(InputStream stream) {
                try {
                    return proto.parse(stream);
                } catch (StatusRuntimeException e) {
                    return sentinel;
                }
            }
        };
        ServerCallHandler<Q, A> inner = def.getServerCallHandler();
        ServerCallHandler<Q, A> handler = (call, headers) -> {
            ServerCall.Listener<Q> delegate = inner.startCall(call, headers);
            return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
                private boolean refused;

                @Override
                public void onMessage(Q message) {
                    if (refused) {
                        return;
                    }
                    if (message == sentinel) {
                        refused = true;
                        call.close(Status.INVALID_ARGUMENT.withDescription("a request to "
                                + method.getFullMethodName() + NOT_PROTOBUF), new Metadata());
                        super.onCancel();
                        return;
                    }
                    super.onMessage(message);
                }

                @Override
                public void onHalfClose() {
                    if (!refused) {
                        super.onHalfClose();
                    }
                }

                @Override
                public void onCancel() {
                    if (!refused) {
                        super.onCancel();
                    }
                }

                @Override
                public void onComplete() {
                    if (!refused) {
                        super.onComplete();
                    }
                }

                @Override
                public void onReady() {
                    if (!refused) {
                        super.onReady();
                    }
                }
            };
        };
        return ServerMethodDefinition.create(method.toBuilder(tolerant, method.getResponseMarshaller()).build(),
                handler);
    }
}
