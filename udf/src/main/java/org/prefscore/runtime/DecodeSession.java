package org.prefscore.runtime;

/**
 * A unit of work against a loaded decoder: owns every tensor created while it is open.
 *
 * <p>Sessions are cheap; open one per batch, on the thread that runs the batch. A session is not
 * thread-safe, the {@link CausalLm} that opens it is.
 */
public interface DecodeSession extends AutoCloseable {

  /** An empty cache (zero positions) for {@code batch} rows, to prefill from. */
  KvCache emptyCache(int batch);

  /** Runs the decoder over new tokens on top of {@code input.past()}. */
  StepOutput forward(StepInput input);

  /**
   * A new cache made of the given rows of {@code cache}, in the given order; rows may repeat
   * (sharing one prompt's prefill across its samples) or be dropped (finished samples).
   */
  KvCache selectRows(KvCache cache, int[] rows);

  /** Releases every tensor of the session. */
  @Override
  void close();
}
