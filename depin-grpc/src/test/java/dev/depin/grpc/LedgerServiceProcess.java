package dev.depin.grpc;

import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.ledger.JdbcLedger;

import java.nio.file.Path;

/**
 * A settlement service in a JVM of its own, for kill -9 tests: a {@link LedgerServer} in front
 * of a {@link JdbcLedger} on an SQLite file. Prints {@code SERVING host:port} once it serves.
 */
final class LedgerServiceProcess {
    private LedgerServiceProcess() {
    }

    /**
     * @param args the SQLite file, the port, the ledger key's seed in hex, the operator's
     *             public key in hex, and optionally {@code hold-decisions}: the service's voids
     *             and posts deciding disputes are held back forever ({@link GatedSettlement}), so
     *             a dispute's re-check freezes its claim and never decides it
     * @throws InterruptedException never in practice: the process is killed
     */
    public static void main(String[] args) throws InterruptedException {
        NodeKeyPair key = NodeKeyPair.fromSeed(Hex.decode(args[2]));
        JdbcLedger ledger = JdbcLedger.builder().sqlite(Path.of(args[0])).certifyHolds(key).open();
        GatedSettlement gated = new GatedSettlement(ledger);
        if (args.length > 4 && args[4].equals("hold-decisions")) {
            gated.shut();
        }
        LedgerServer server = LedgerServer.builder(gated, key, LedgerAccess.builder()
                .operator(NodePublicKey.of(Hex.decode(args[3]))).build()).listen("127.0.0.1", Integer.parseInt(args[1]))
                .start();
        System.out.println("SERVING " + server.address());
        System.out.flush();
        server.awaitTermination();
    }
}
