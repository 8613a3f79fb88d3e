/**
 * Batched scoring: teacher-forced log-probabilities with TRL's tokenization ({@link
 * org.prefscore.runtime.score.SequenceScorer}) and rewards ({@link
 * org.prefscore.runtime.score.RewardScorer}), in length-sorted batches bounded by a token budget.
 */
package org.prefscore.runtime.score;
