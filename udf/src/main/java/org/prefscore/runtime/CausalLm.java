package org.prefscore.runtime;

/**
 * A causal language model graph with a key/value cache, independent of the engine running it.
 *
 * <p>Implementations are loaded once per JVM and shared by task threads: {@link #openSession()}
 * must be safe to call concurrently. The ONNX Runtime implementation is {@link
 * org.prefscore.runtime.onnx.OnnxCausalLm}; a TorchScript or CUDA-provider engine implements this
 * same contract.
 */
public interface CausalLm extends AutoCloseable {

  /** The graph's shape, discovered at load time. */
  DecoderSignature signature();

  /**
   * Whether the graph computes logits only for the positions asked for ({@link
   * StepInput.LogitsWanted}): an ONNX export with a {@code logits_to_keep} input. Without it the
   * engine computes and outputs logits for every new position even when the caller reads only the
   * last, and callers bound such passes by their logits budget.
   */
  default boolean selectsLogitPositions() {
    return false;
  }

  /**
   * Whether the graph has a sampling head ({@link SamplingHead}): then a {@link
   * StepInput.LogitsWanted#LAST_POSITION} pass returns it with the logits.
   */
  default boolean hasSamplingHead() {
    return false;
  }

  /**
   * Logits positions per row that a forward pass over {@code seqLen} new tokens makes the engine
   * compute and output when {@code wanted} are read: what a logits budget must bound.
   */
  default int outputPositions(int seqLen, StepInput.LogitsWanted wanted) {
    return selectsLogitPositions() && wanted.lastOnly() ? 1 : seqLen;
  }

  /**
   * The largest logits output one forward pass may have, in bytes, whatever the caller's budget
   * (ONNX Runtime's Java API: 2 GiB). Unbounded by default.
   */
  default long maxLogitsBytes() {
    return Long.MAX_VALUE;
  }

  /**
   * How many rows × positions of logits fit in {@code budgetBytes} (and {@link #maxLogitsBytes}),
   * at least 1.
   */
  default long logitsRowsWithin(long budgetBytes) {
    long bytes = Math.min(budgetBytes, maxLogitsBytes());
    return Math.max(1, bytes / ((long) Float.BYTES * signature().logitsWidth()));
  }

  /** Opens a session for one batch of work. */
  DecodeSession openSession();

  @Override
  void close();
}
