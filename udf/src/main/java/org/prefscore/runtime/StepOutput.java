package org.prefscore.runtime;

import java.nio.FloatBuffer;

/**
 * The result of one forward pass.
 *
 * @param logits flat {@code [batch, positions, logitsWidth]} where positions is 1 for {@link
 *     StepInput.LogitsWanted#LAST_POSITION} and seqLen for {@link
 *     StepInput.LogitsWanted#ALL_POSITIONS}; null for {@link
 *     StepInput.LogitsWanted#LAST_POSITION_LENT}
 * @param positions number of positions per row in {@code logits}
 * @param logitsWidth width of one logits row
 * @param present the cache extended by this step's tokens; the caller owns and closes it
 * @param head the graph's sampling head for the last position of each row, or null (no head, or not
 *     a last-position pass)
 * @param lentLogits for {@link StepInput.LogitsWanted#LAST_POSITION_LENT}: the {@code [batch,
 *     logitsWidth]} logits, laid out as {@code logits} would be, read with absolute gets (its
 *     position and limit are not to be moved; several threads may read it at once) and valid until
 *     the session's next forward pass or its close; else null
 */
public record StepOutput(
    float[] logits,
    int positions,
    int logitsWidth,
    KvCache present,
    SamplingHead head,
    FloatBuffer lentLogits) {

  /** A pass whose logits are on the heap. */
  public StepOutput(
      float[] logits, int positions, int logitsWidth, KvCache present, SamplingHead head) {
    this(logits, positions, logitsWidth, present, head, null);
  }

  /** A pass without a sampling head. */
  public StepOutput(float[] logits, int positions, int logitsWidth, KvCache present) {
    this(logits, positions, logitsWidth, present, null, null);
  }

  /**
   * Offset in {@link #logits()} (or {@link #lentLogits()}) of the logits row for (row, position).
   */
  public int offset(int row, int position) {
    return (row * positions + position) * logitsWidth;
  }
}
