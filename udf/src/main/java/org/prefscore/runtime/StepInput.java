package org.prefscore.runtime;

/**
 * One forward pass of a decoder over {@code batch} rows of {@code seqLen} new tokens each, on top
 * of a cache of {@code past.length()} positions. Arrays are row-major and flat.
 *
 * @param batch number of rows
 * @param seqLen new tokens per row
 * @param inputIds {@code batch * seqLen} token ids
 * @param attentionMask {@code batch * (pastLength + seqLen)} entries, 1 for real tokens, 0 for pads
 * @param positionIds {@code batch * seqLen} positions (ignored by graphs without position ids)
 * @param past the cache to attend to; an empty cache for a prefill
 * @param logits which positions' logits the caller needs back
 * @param samplingTemperature the temperature a graph with a sampling head ({@link SamplingHead})
 *     warps its block masses at, for the row's next token (1 where nothing is sampled); ignored by
 *     graphs without one
 */
public record StepInput(
    int batch,
    int seqLen,
    long[] inputIds,
    long[] attentionMask,
    long[] positionIds,
    KvCache past,
    LogitsWanted logits,
    double samplingTemperature) {

  /** A pass whose sampling head, if the graph has one, is read at temperature 1. */
  public StepInput(
      int batch,
      int seqLen,
      long[] inputIds,
      long[] attentionMask,
      long[] positionIds,
      KvCache past,
      LogitsWanted logits) {
    this(batch, seqLen, inputIds, attentionMask, positionIds, past, logits, 1.0);
  }

  /** Which logits a forward pass returns to the JVM heap. */
  public enum LogitsWanted {
    /** Only the last position of every row: enough to pick the next token. */
    LAST_POSITION,
    /** Every position: needed for teacher-forced scoring. */
    ALL_POSITIONS,
    /**
     * The last position of every row, lent rather than copied to the heap: {@link
     * StepOutput#logits()} is null and {@link StepOutput#lentLogits()} reads them where the engine
     * wrote them, valid until the session's next forward pass or its close. For decoding steps
     * whose sampler reads a block or a row of each (a sampling head), where copying the whole
     * {@code [batch, vocab]} tensor each step costs more than the reads. An engine that cannot lend
     * copies as for {@link #LAST_POSITION} and lends a view of its copy.
     */
    LAST_POSITION_LENT;

    /** Whether only the last position of each row is wanted. */
    public boolean lastOnly() {
      return this != ALL_POSITIONS;
    }
  }

  public StepInput {
    if (!(samplingTemperature > 0) || Double.isInfinite(samplingTemperature)) {
      throw new IllegalArgumentException(
          "sampling temperature must be a finite number > 0, got " + samplingTemperature);
    }
    int pastLength = past.length();
    if (past.batchSize() != batch) {
      throw new IllegalArgumentException(
          "cache has " + past.batchSize() + " rows but the step has " + batch);
    }
    check("input_ids", inputIds.length, (long) batch * seqLen);
    check("position_ids", positionIds.length, (long) batch * seqLen);
    check("attention_mask", attentionMask.length, (long) batch * (pastLength + seqLen));
  }

  private static void check(String name, int actual, long expected) {
    if (actual != expected) {
      throw new IllegalArgumentException(
          name + " has " + actual + " entries, expected " + expected);
    }
  }
}
