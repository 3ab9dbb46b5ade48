package dev.depin.crypto;

import dev.depin.crypto.internal.Statements;
import java.util.List;

/**
 * Reads receipt and wipe statements from their exact bytes: one strict parse of the in-toto
 * statement ({@link Statements#parse}, on {@link CanonicalJson#reader()}'s factory: duplicate
 * keys, trailing tokens, nesting depth and number and string lengths refused) and one reading of
 * its predicate ({@link ReceiptJson#fromPredicate}, {@link WipeJson#fromStatement}). Every
 * verifier path (a buyer's, a batch's, the offline {@code depin verify}) reads signed statements
 * here and nowhere else, so there is one parser for evidence and no two that could disagree on
 * what a signature covers (docs/decisions.md, "One parser for signed statements").
 */
final class StatementReader {
    private StatementReader() {
    }

    /**
     * A receipt statement's subjects and predicate.
     *
     * @param subjects the statement's subjects, in order
     * @param receipt  the predicate, validated
     */
    record Receipt(List<Subject> subjects, ExecutionReceipt receipt) {
    }

    /**
     * Reads a receipt statement.
     *
     * @param payloadType the DSSE payload type
     * @param payload     the statement's exact bytes
     * @return its subjects and receipt
     * @throws VerificationException as {@link Statements#parse} and {@link ReceiptJson#fromPredicate} throw
     */
    static Receipt receipt(String payloadType, byte[] payload) {
        Statements.Parsed st = Statements.parse(payloadType, payload, ExecutionReceipt.PREDICATE_TYPE);
        return new Receipt(st.subjects(), ReceiptJson.fromPredicate(st.predicate()));
    }

    /**
     * Reads a wipe attestation statement.
     *
     * @param payloadType the DSSE payload type
     * @param payload     the statement's exact bytes
     * @return the attestation
     * @throws VerificationException as {@link Statements#parse} and {@link WipeJson#fromStatement} throw
     */
    static WipeAttestation wipe(String payloadType, byte[] payload) {
        return WipeJson.fromStatement(Statements.parse(payloadType, payload, WipeAttestation.PREDICATE_TYPE));
    }
}
