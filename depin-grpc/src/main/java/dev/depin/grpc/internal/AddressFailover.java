package dev.depin.grpc.internal;

import dev.depin.network.NetworkException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * An idempotent call (a read of held data) tried on each address a provider is listed at, in
 * turn: the next address is tried only when the last one could not be reached (UNAVAILABLE:
 * refused, reset, no route), never after the provider answered (an answer, a refusal or a
 * missing output is the provider's word, the same at any of its addresses), and only while the
 * call's own deadline has time left, so a provider listed at many dead addresses costs the
 * caller at most that deadline. The address that answered is reported, for the caller to keep
 * as the provider's route.
 */
public final class AddressFailover {
    private AddressFailover() {
    }

    /**
     * @param addresses  the provider's addresses, its route first; at least one
     * @param deadlineMs the time all tries together may take
     * @param nanoTime   the clock (System::nanoTime)
     * @param call       the call on one address, given the milliseconds left (at least 1)
     * @param answered   told the address that answered (with a result or the provider's own error)
     * @param <T>        the call's result
     * @return the first answer; or the last address's failure, its message naming every address
     *         tried; or a {@link NetworkException} when the deadline passed before the next try
     */
    public static <T> CompletableFuture<T> inTurn(List<String> addresses, long deadlineMs, LongSupplier nanoTime,
                                                  BiFunction<String, Long, CompletableFuture<T>> call,
                                                  Consumer<String> answered) {
        CompletableFuture<T> out = new CompletableFuture<>();
        long until = nanoTime.getAsLong() + TimeUnit.MILLISECONDS.toNanos(deadlineMs);
        next(addresses, 0, until, nanoTime, call, answered, out, new StringBuilder());
        return out;
    }

    private static <T> void next(List<String> addresses, int i, long until, LongSupplier nanoTime,
                                 BiFunction<String, Long, CompletableFuture<T>> call, Consumer<String> answered,
                                 CompletableFuture<T> out, StringBuilder tried) {
        String address = addresses.get(i);
        long left = TimeUnit.NANOSECONDS.toMillis(until - nanoTime.getAsLong());
        CompletableFuture<T> f;
        try {
            f = call.apply(address, Math.max(1, left));
        } catch (RuntimeException e) {
            out.completeExceptionally(e);
            return;
        }
        f.whenComplete((r, e) -> {
            if (e == null) {
                answered.accept(address);
                out.complete(r);
                return;
            }
            if (!unreached(e)) {
                answered.accept(address);
                out.completeExceptionally(e);
                return;
            }
            tried.append(tried.length() == 0 ? "" : "; ").append(address).append(": ").append(reason(e));
            if (i + 1 == addresses.size()) {
                out.completeExceptionally(new NetworkException("provider not reached at any of its "
                        + addresses.size() + " listed addresses (" + tried + ")", e));
            } else if (until - nanoTime.getAsLong() <= 0) {
                out.completeExceptionally(new NetworkException("provider not reached before the deadline at "
                        + (i + 1) + " of its " + addresses.size() + " listed addresses (" + tried + ")", e));
            } else {
                next(addresses, i + 1, until, nanoTime, call, answered, out, tried);
            }
        });
    }

    /** @return whether the failure is UNAVAILABLE: the address did not answer, another may */
    static boolean unreached(Throwable failure) {
        for (Throwable c = Wire.unwrap(failure); c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof StatusRuntimeException s) {
                return s.getStatus().getCode() == Status.Code.UNAVAILABLE;
            }
        }
        return false;
    }

    private static String reason(Throwable e) {
        Throwable t = Wire.unwrap(e);
        String m = String.valueOf(t.getMessage());
        return m.length() > 200 ? m.substring(0, 200) + "…" : m;
    }
}
