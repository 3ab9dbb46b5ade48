package dev.depin.grpc;

import dev.depin.settlement.Applied;
import dev.depin.settlement.ForwardingLedger;
import dev.depin.settlement.Operation;
import dev.depin.settlement.spi.Settlement;
import java.util.concurrent.CompletableFuture;

/**
 * The ledger behind a settlement service, holding back the service's decisions on disputes
 * while shut: a void or post under the service's own keys ({@code claim:…/void},
 * {@code claim:…/post}) waits until {@link #open} (forever, if never). Everything else, the
 * freezing {@code Dispute} included, goes straight through, so a test can stand a re-check
 * between freezing a claim and deciding it, where the clock moves or the service is killed.
 */
final class GatedSettlement extends ForwardingLedger {
    private volatile CompletableFuture<Void> gate = CompletableFuture.completedFuture(null);

    GatedSettlement(Settlement inner) {
        super(inner);
    }

    /** Holds back the decisions applied from now until {@link #open}. */
    void shut() {
        gate = new CompletableFuture<>();
    }

    /** Lets the decisions held back through, and every later one. */
    void open() {
        gate.complete(null);
    }

    private static boolean decision(Operation op) {
        String k = op.key().value();
        return k.startsWith("claim:") && (k.endsWith("/void") || k.endsWith("/post"));
    }

    @Override
    public CompletableFuture<Applied> apply(Operation op) {
        return decision(op) ? gate.thenCompose(v -> super.apply(op)) : super.apply(op);
    }
}
