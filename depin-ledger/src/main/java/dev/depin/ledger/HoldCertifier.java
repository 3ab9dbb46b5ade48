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
 *
 * <p><b>One group commit, one batch.</b> The writer completes a group commit's operations one
 * after the other, and each hold among them asks for its certificate as it completes. Queued one
 * by one, the first would wake this thread, which would sign it nearly alone while the writer
 * went on completing the rest: about one signature per hold at a few thousand holds a second
 * (and one verification per hold for whoever checks them). So the writer brackets its
 * completions with {@link #gather()} and {@link #release()}: the holds certified on its thread in
 * between are queued as one unit, and signed together (with whatever else is queued then).
 */
final class HoldCertifier {
    private static final Pending STOP = new Pending(null, null);

    private final NodeKeyPair key;
    /** {@link Pending}s, and {@link Gathered} groups of them. */
    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean stopped;
    /** The thread between {@link #gather()} and {@link #release()}, or null. */
    private volatile Thread gatherer;
    /** What {@link #gatherer} certified since {@link #gather()}; touched only by that thread. */
    private List<Pending> gathered = new ArrayList<>();

    /** Holds certified by the gathering thread, queued as one unit. */
    private record Gathered(List<Pending> pending) {
    }

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
        if (Thread.currentThread() == gatherer) {
            gathered.add(p);
            return p.future;
        }
        enqueue(p, List.of(p));
        return p.future;
    }

    /**
     * From now until {@link #release()}, holds certified on the calling thread wait to be queued
     * together. Called by the ledger's writer before it completes a group commit's operations.
     */
    void gather() {
        gatherer = Thread.currentThread();
    }

    /** Queues what the calling thread certified since {@link #gather()} as one unit; call in a finally. */
    void release() {
        gatherer = null;
        if (gathered.isEmpty()) {
            return;
        }
        List<Pending> group = gathered;
        gathered = new ArrayList<>();
        enqueue(new Gathered(group), group);
    }

    /** Queues {@code unit} (the pending certificates {@code pending}); a closed certifier refuses them. */
    private void enqueue(Object unit, List<Pending> pending) {
        queue.add(unit);
        if (stopped && queue.remove(unit)) {
            LedgerFailureException closed = new LedgerFailureException("the ledger is closed: its hold was applied; "
                    + "open the ledger again and retry with the same key for the certificate");
            for (Pending p : pending) {
                p.future.completeExceptionally(closed);
            }
        }
    }


    /** Signs what is queued now, then stops; later holds are refused a certificate. */
    void stop() {
        stopped = true;
        queue.add(STOP);
    }

    private void run() {
        List<Object> units = new ArrayList<>();
        List<Pending> batch = new ArrayList<>();
        boolean running = true;
        while (running) {
            Object first;
            try {
                first = queue.take();
            } catch (InterruptedException e) {
                continue; // only stop() ends this thread, so that no queued hold is left uncertified
            }
            units.add(first);
            queue.drainTo(units, HoldCertificate.MAX_BATCH - 1);
            if (units.remove(STOP)) {
                running = false;
                // anything queued after the stop came from a late caller: sign it too, then end
                queue.drainTo(units);
            }
            for (Object u : units) {
                if (u instanceof Gathered g) {
                    batch.addAll(g.pending());
                } else {
                    batch.add((Pending) u);
                }
            }
            units.clear();
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
