package org.prefscore.runtime;

/**
 * The result of one forward pass.
 *
 * @param logits flat {@code [batch, positions, logitsWidth]} where positions is 1 for {@link
 *     StepInput.LogitsWanted#LAST_POSITION} and seqLen for {@link
 *     StepInput.LogitsWanted#ALL_POSITIONS}
 * @param positions number of positions per row in {@code logits}
 * @param logitsWidth width of one logits row
 * @param present the cache extended by this step's tokens; the caller owns and closes it
 * @param head the graph's sampling head for the last position of each row, or null (no head, or not
 *     a {@link StepInput.LogitsWanted#LAST_POSITION} pass)
 */
public record StepOutput(
    float[] logits, int positions, int logitsWidth, KvCache present, SamplingHead head) {

  /** A pass without a sampling head. */
  public StepOutput(float[] logits, int positions, int logitsWidth, KvCache present) {
    this(logits, positions, logitsWidth, present, null);
  }

  /** Offset in {@link #logits()} of the logits row for (row, position). */
  public int offset(int row, int position) {
    return (row * positions + position) * logitsWidth;
  }
}
