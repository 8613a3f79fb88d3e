/**
 * The two methods the pipeline implements, as pure arithmetic on plain records: West-of-N synthetic
 * preference pairs (selection, pairwise knockouts, confidence and likelihood filters) and
 * Self-refined DPO/IPO terms (margins, refinement, losses) plus the evaluation of a trained policy.
 * The specification is {@code docs/method.md}.
 *
 * <p>Nothing here imports Spark or DJL: the Spark adapters feed these types with rewards and
 * log-probabilities computed elsewhere, so every rule is tested without a session or a model. Every
 * type is immutable and thread-safe; the configuration-like ones are {@link java.io.Serializable}
 * so they can travel in Spark closures.
 */
package org.prefscore.method;
