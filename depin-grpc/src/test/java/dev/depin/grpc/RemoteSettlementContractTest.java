package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.ledger.JdbcLedger;
import dev.depin.settlement.SettlementContract;
import dev.depin.settlement.spi.Settlement;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The {@link SettlementContract} through the settlement service: a {@link RemoteSettlement}
 * with an operator's key, over loopback mutual TLS, to a {@link LedgerServer} in front of a
 * real {@link JdbcLedger} on SQLite. Reopening restarts the service and the ledger on the same
 * file, so the contract's durability checks go through a restart. After each test the ledger
 * behind the service is audited. The client sends its batches in the operations' binary form
 * ({@code ApplyOperations}); {@link RemoteSettlementJsonContractTest} runs the same contract with the JSON form an older
 * client sends ({@code ApplyBatch}).
 */
class RemoteSettlementContractTest extends SettlementContract {
    private static final NodeKeyPair LEDGER_KEY = NodeKeyPair.generate();
    private static final NodeKeyPair OPERATOR = NodeKeyPair.generate();

    private Path file;
    private JdbcLedger jdbc;
    private LedgerServer server;

    /** Runs after the contract's own {@code @AfterEach}, which still reads through the client. */
    @RegisterExtension
    final AfterEachCallback stopService = context -> stop();

    @Override
    protected Settlement open(Clock clock) {
        try {
            file = Files.createTempDirectory("depin-remote-ledger").resolve("ledger.db");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return reopen(clock);
    }

    @Override
    protected Settlement reopen(Clock clock) {
        stop();
        jdbc = JdbcLedger.builder().sqlite(file).clock(clock).expirySweep(Duration.ZERO).disputeWindow(DISPUTE_WINDOW)
                .recheckWindow(RECHECK_WINDOW)
                .certifyHolds(LEDGER_KEY).open();
        server = LedgerServer.builder(jdbc, LEDGER_KEY, LedgerAccess.builder().operator(OPERATOR.publicKey()).build())
                .listen("127.0.0.1", 0).start();
        return RemoteSettlement.builder(OPERATOR, server.address(), LEDGER_KEY.publicKey()).binaryOperations(binary())
                .connect();
    }

    /** @return whether the client sends the operations' binary form */
    boolean binary() {
        return true;
    }

    @Override
    protected int postDueClaims() {
        return jdbc.postDueClaims();
    }

    @Override
    protected void checkAfterTest(Settlement settlement) {
        assertTrue(jdbc.audit().sound(), () -> "audit: " + jdbc.audit().violations());
    }

    private void stop() {
        if (server != null) {
            server.close();
            server = null;
        }
        if (jdbc != null) {
            jdbc.close();
            jdbc = null;
        }
    }
}
