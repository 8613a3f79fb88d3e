package org.prefscore.runtime.decode;

import java.util.Objects;
import java.util.concurrent.ExecutorService;

/**
 * How a {@link SampleGenerator} batches and parallelises its work; none of it changes the samples.
 *
 * @param tokenBudget upper bound on rows × (longest prompt + maxNewTokens) per batch: bounds the
 *     cache's memory however long the prompts and however large N (at least 1)
 * @param sharePrefill prefill each prompt once and share its cache across its samples (the
 *     default); false prefills every sample row separately, for benchmarking the gain
 * @param samplingThreads threads that sample the rows of one decoding step (at least 1). Give it
 *     the cores the caller may use, as for the engine's intra-op threads: more than that only
 *     contends with the forward pass
 * @param samplingPool where the threads beyond the caller's come from, for sampling slices and
 *     lanes; required when {@code samplingThreads > 1} or {@code lanes > 1}. It must start threads
 *     on demand (a fixed-size pool could starve: a lane waits for its own sampling slices); an
 *     executor's is {@code ExecutorRegistry.samplingPool()}
 * @param logitsBytes upper bound on the logits one forward pass outputs (runtime.logits-budget-mb):
 *     rows × logits width × 4 bytes for a decoding step, rows × positions × width × 4 for a prefill
 *     on a graph that computes every position's logits (prefills are then run in chunks of
 *     positions). A single row above it still runs, alone
 * @param lanes batches decoded at once (at least 1): each batch is cut into this many pieces of
 *     about equal rows, each decoded on its own thread with its own session, so that one piece's
 *     forward pass runs while another's rows are sampled (on a GPU: the device computes while the
 *     host samples). Memory stays within the budgets (a piece is a part of a batch). Samples depend
 *     on it only as on any change of batch mates (see {@link SampleGenerator}); the same lanes give
 *     the same samples
 * @param samplingHead use the graph's sampling head where it has one, and the JVM's own ({@link
 *     BlockMasses}, the vector API) where it has none (runtime.sampling-head, the default): the
 *     sampler then draws from one or two blocks of each logits row instead of exponentiating all of
 *     it twice in scalar code. Samples differ from the whole-row sampler's only where a draw falls
 *     within float rounding of a token boundary (see {@code HeadSampler})
 * @param lentLogits ask for the next-token logits lent ({@link
 *     org.prefscore.runtime.StepInput.LogitsWanted#LAST_POSITION_LENT}) instead of copied to the
 *     heap each step (the default: a sampler with a sampling head reads a block of each row, the
 *     whole-row sampler copies one row at a time; false measures the copy, as the generation
 *     benchmark's {@code ours_copied} and {@code ours_head_copied}). The samples are the same
 *     either way
 */
public record GenerationOptions(
    long tokenBudget,
    boolean sharePrefill,
    int samplingThreads,
    ExecutorService samplingPool,
    long logitsBytes,
    int lanes,
    boolean samplingHead,
    boolean lentLogits) {

  /** Default {@link #logitsBytes}: 256 MB, as runtime.logits-budget-mb. */
  public static final long DEFAULT_LOGITS_BYTES = 256L << 20;

  public GenerationOptions {
    if (logitsBytes < 1) {
      throw new IllegalArgumentException("logits bytes must be >= 1, got " + logitsBytes);
    }
    if (tokenBudget < 1) {
      throw new IllegalArgumentException("token budget must be >= 1, got " + tokenBudget);
    }
    if (samplingThreads < 1) {
      throw new IllegalArgumentException("sampling threads must be >= 1, got " + samplingThreads);
    }
    if (samplingThreads > 1 && samplingPool == null) {
      throw new IllegalArgumentException(
          samplingThreads + " sampling threads need a sampling pool");
    }
    if (lanes < 1) {
      throw new IllegalArgumentException("lanes must be >= 1, got " + lanes);
    }
    if (lanes > 1 && samplingPool == null) {
      throw new IllegalArgumentException(lanes + " lanes need a pool for their threads");
    }
  }

  /** A shared prefill, sampled on the calling thread. */
  public static GenerationOptions of(long tokenBudget) {
    return new GenerationOptions(tokenBudget, true, 1, null, DEFAULT_LOGITS_BYTES, 1, true, true);
  }

  /** The same options with prefill sharing on or off. */
  public GenerationOptions withSharePrefill(boolean share) {
    return new GenerationOptions(
        tokenBudget,
        share,
        samplingThreads,
        samplingPool,
        logitsBytes,
        lanes,
        samplingHead,
        lentLogits);
  }

  /** The same options with another bound on one forward pass's logits, in bytes. */
  public GenerationOptions withLogitsBytes(long bytes) {
    return new GenerationOptions(
        tokenBudget,
        sharePrefill,
        samplingThreads,
        samplingPool,
        bytes,
        lanes,
        samplingHead,
        lentLogits);
  }

  /**
   * The same options sampling each step's rows on {@code threads} threads, taken from {@code pool}.
   */
  public GenerationOptions withSamplingThreads(int threads, ExecutorService pool) {
    return new GenerationOptions(
        tokenBudget,
        sharePrefill,
        threads,
        Objects.requireNonNull(pool),
        logitsBytes,
        lanes,
        samplingHead,
        lentLogits);
  }

  /**
   * The same options decoding {@code count} pieces of each batch at once, on threads of {@code
   * pool}.
   */
  public GenerationOptions withLanes(int count, ExecutorService pool) {
    return new GenerationOptions(
        tokenBudget,
        sharePrefill,
        samplingThreads,
        Objects.requireNonNull(pool),
        logitsBytes,
        count,
        samplingHead,
        lentLogits);
  }

  /** The same options with a graph's sampling head used (the default) or ignored. */
  public GenerationOptions withSamplingHead(boolean use) {
    return new GenerationOptions(
        tokenBudget,
        sharePrefill,
        samplingThreads,
        samplingPool,
        logitsBytes,
        lanes,
        use,
        lentLogits);
  }

  /** The same options with next-token logits lent (the default) or copied to the heap. */
  public GenerationOptions withLentLogits(boolean lend) {
    return new GenerationOptions(
        tokenBudget,
        sharePrefill,
        samplingThreads,
        samplingPool,
        logitsBytes,
        lanes,
        samplingHead,
        lend);
  }
}
