package dev.depin.grpc;

import dev.depin.settlement.Applied;
import dev.depin.settlement.HoldRecord;
import dev.depin.settlement.Operation;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A buyer's settlement whose voids wait (at most 30 s) until the hold was claimed: so the liar's
 * claim always comes before the buyer's void, as a provider racing to claim would want.
 */
final class VoidsAfterClaims extends ForwardingSettlement {
    VoidsAfterClaims(RemoteSettlement inner) {
        super(inner);
    }

    @Override
    public CompletableFuture<Applied> apply(Operation op) {
        if (!(op instanceof Operation.VoidHold v)) {
            return inner.apply(op);
        }
        return CompletableFuture.runAsync(() -> {
            long until = System.nanoTime() + Duration.ofSeconds(30).toNanos(); // a bound
            while (System.nanoTime() < until && inner.hold(v.hold()).map(h -> h.state() == HoldRecord.State.OPEN)
                    .orElse(true)) {
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }).thenCompose(x -> inner.apply(op));
    }
}
