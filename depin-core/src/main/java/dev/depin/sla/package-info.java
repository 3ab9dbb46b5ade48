/**
 * Service-level agreements with money behind them: {@link dev.depin.provider.SlaTerms} in a
 * provider's offer (time-to-result per size class, a credit schedule),
 * {@link dev.depin.sla.SlaMeter} measuring them from the buyer's job histories, and
 * {@link dev.depin.sla.SlaCredits} paying credits from the provider's stake through the ledger,
 * exactly once per provider, period and buyer.
 */
package dev.depin.sla;
