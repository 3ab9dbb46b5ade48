package dev.depin.ledger;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.settlement.HoldCertificate;
import dev.depin.settlement.LedgerFailureException;
import dev.depin.settlement.Operation;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Group commit for hold certificates: one thread signs, and each time it is free it certifies
 * every hold that became durable meanwhile (up to {@link HoldCertificate#MAX_BATCH}) under one
 * signed root ({@link HoldCertificate#issueBatch}). An idle ledger certifies a lone hold at once
 * (a batch of one: one signature, as before); a busy one signs once for as many holds as arrived
 * while the previous batch was signed, so signing stops growing with the rate of holds.
 * Certificates complete on this thread: continuations that do real work belong elsewhere.
 */
final class HoldCertifier {
    private static final Pending STOP = new Pending(null, null);

    private final NodeKeyPair key;
    private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean stopped;

    private record Pending(Operation.Hold hold, CompletableFuture<HoldCertificate> future) {
    }

    HoldCertifier(NodeKeyPair key) {
        this.key = key;
        this.thread = new Thread(this::run, "depin-ledger-certifier");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /** @return the certificate of {@code hold} (durable already), once its batch is signed */
    CompletableFuture<HoldCertificate> certify(Operation.Hold hold) {
        Pending p = new Pending(hold, new CompletableFuture<>());
        queue.add(p);
        if (stopped && queue.remove(p)) {
            p.future.completeExceptionally(new LedgerFailureException("the ledger is closed: its hold was applied; "
                    + "open the ledger again and retry with the same key for the certificate"));
        }
        return p.future;
    }

    /** Signs what is queued now, then stops; later holds are refused a certificate. */
    void stop() {
        stopped = true;
        queue.add(STOP);
    }

    private void run() {
        List<Pending> batch = new ArrayList<>();
        boolean running = true;
        while (running) {
            Pending first;
            try {
                first = queue.take();
            } catch (InterruptedException e) {
                continue; // only stop() ends this thread, so that no queued hold is left uncertified
            }
            batch.add(first);
            queue.drainTo(batch, HoldCertificate.MAX_BATCH - 1);
            int stop = batch.indexOf(STOP);
            if (stop >= 0) {
                running = false;
                // anything queued after the stop came from a late caller: sign it too, then end
                batch.remove(stop);
                queue.drainTo(batch);
            }
            for (int from = 0; from < batch.size(); from += HoldCertificate.MAX_BATCH) {
                sign(batch.subList(from, Math.min(batch.size(), from + HoldCertificate.MAX_BATCH)));
            }
            batch.clear();
        }
    }

    private void sign(List<Pending> batch) {
        if (batch.isEmpty()) {
            return;
        }
        List<Operation.Hold> holds = new ArrayList<>(batch.size());
        for (Pending p : batch) {
            holds.add(p.hold);
        }
        List<HoldCertificate> certificates;
        try {
            certificates = HoldCertificate.issueBatch(holds, key);
        } catch (RuntimeException | Error e) {
            for (Pending p : batch) {
                p.future.completeExceptionally(e);
            }
            return;
        }
        for (int i = 0; i < batch.size(); i++) {
            batch.get(i).future.complete(certificates.get(i));
        }
    }
}
