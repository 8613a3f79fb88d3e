package org.prefscore.job.report;

/**
 * The work a run did, counted on what it wrote or from action results, never from accumulators: an
 * accumulator updated inside a transformation counts a retried or recomputed task again (a lost
 * executor's cached partitions are recomputed) and misses a task whose result was reused.
 *
 * @param generatedTokens sum of response_tokens over the written candidates
 * @param rewardTexts (prompt, response) texts the reward model scored: one per candidate
 * @param sequencesScored teacher-forced sequences of the scoring pass: 4 per scored pair per model
 * @param prefixMismatchPairs written pairs with prefix_mismatch = true
 */
public record WorkCounts(
    long generatedTokens, long rewardTexts, long sequencesScored, long prefixMismatchPairs) {}
