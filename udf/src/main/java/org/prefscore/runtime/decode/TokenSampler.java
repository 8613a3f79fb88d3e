package org.prefscore.runtime.decode;

import java.nio.FloatBuffer;
import java.util.Arrays;
import org.prefscore.runtime.LogMath;
import org.prefscore.runtime.SamplingHead;

/**
 * Chooses the next token from one row of logits and reports its log-probabilities. Pure logic: no
 * engine, no allocation beyond scratch buffers reused across calls (one instance per thread).
 *
 * <p>Warping follows transformers' order: temperature, then top-k, then top-p (the smallest set of
 * most likely tokens whose mass reaches p, always at least one). Token ids at or beyond {@code
 * sampleableVocab} (padded embedding rows that no tokenizer id maps to) are never chosen, but still
 * count in the temperature-1 softmax that defines log π. The draw is the inverse CDF of the kept
 * tokens taken in id order, so a sample is a pure function of its logits and its uniforms.
 *
 * <p>Exponentials come from {@link LogMath#expInPlace} (pure arithmetic, relative error below 2e-9,
 * the same bits on every JVM) and sums of a whole row from {@link LogMath#blockSums} (fixed blocks
 * of ids, each added in id order, then the blocks in id order): at 151,936 ids the two exp passes a
 * sampled row needs (log π's normalizer and the warped weights) cost about a fifth of what {@code
 * Math.exp} costs. The inverse CDF of a whole-row draw walks the same block sums, then the ids of
 * the block that holds the target.
 */
public final class TokenSampler {

  /** The chosen token with its log-probability under the model and under the warped sampler. */
  public record Choice(int token, double logprob, double samplingLogprob) {}

  private final SamplingConfig config;
  private final int sampleableVocab;
  private double[] scratchProbs = new double[0];

  /** Ids per pass of a whole-row exp (three scratch arrays in the L1 cache). */
  static final int CHUNK = LogMath.CHUNK;

  private final double[] scratchX = new double[CHUNK];
  private final double[] scratchNorm = new double[CHUNK];
  private final double[] scratchWarp = new double[CHUNK];
  private double[] normSums = new double[0];
  private double[] warpSums = new double[0];
  private long[] scratchKeys = new long[0];
  private int[] sortedIds = new int[0];
  private double[] sortedProbs = new double[0];
  private int[] candidates = new int[0];
  private float[] rowCopy = new float[0];

  private final HeadSampler headSampler;
  private final boolean headServes;
  private long headRefusals;

  /** The JVM's own sampling head for graphs without one (null: scalar passes only). */
  private final BlockMasses blockMasses;

  /** The last row width weighed by {@link #blockMasses}, and its one-row head. */
  private int ownHeadWidth = -1;

  private SamplingHead ownHead;

  public TokenSampler(SamplingConfig config, int sampleableVocab) {
    this(config, sampleableVocab, BlockMasses.vectorised());
  }

  /**
   * Whether samplers in this JVM weigh rows of {@code width} logits with the vector API ({@link
   * BlockMasses}) when their configuration can use a head: the module is present, the CPU
   * qualifies, and a block size divides the width.
   */
  public static boolean weighsRowsInVectors(int width) {
    return BlockMasses.vectorised() != null && BlockMasses.blockSize(width) > 0;
  }

  /**
   * A sampler that never uses the JVM's vector API (the scalar passes only, whatever the JVM has):
   * for benchmarks and comparisons.
   */
  public static TokenSampler scalarOnly(SamplingConfig config, int sampleableVocab) {
    return new TokenSampler(config, sampleableVocab, null);
  }

  /** With {@code blockMasses} for rows the graph's head does not describe (null: none). */
  TokenSampler(SamplingConfig config, int sampleableVocab, BlockMasses blockMasses) {
    this.config = config;
    this.sampleableVocab = sampleableVocab;
    this.headSampler = new HeadSampler(config, sampleableVocab);
    this.headServes = HeadSampler.serves(config, sampleableVocab);
    this.blockMasses = headServes ? blockMasses : null;
  }

  /**
   * Whether rows without a graph head are weighed by the JVM's vector API ({@link BlockMasses})
   * when they are wide enough: the module is present and this configuration can use a head.
   */
  public boolean weighsRowsInVectors() {
    return blockMasses != null;
  }

  /**
   * Chooses a token from {@code logits[offset, offset + width)} with row {@code headRow} of the
   * graph's sampling head ({@link HeadSampler}: one or two blocks of the row instead of two exp
   * passes over all of it) where the head serves this configuration (greedy, or neither top-k nor
   * top-p) and describes the row; otherwise as {@link #choose(float[], int, int, double)}, counting
   * the rows the head was refused for ({@link #headRefusals()}).
   *
   * @param head the pass's sampling head, or null
   */
  public Choice choose(
      float[] logits, int offset, int width, SamplingHead head, int headRow, double uniform) {
    if (head != null && headServes) {
      Choice choice = headSampler.choose(logits, offset, width, head, headRow, uniform);
      if (choice != null) {
        return choice;
      }
      headRefusals++;
    }
    Choice own = chooseWithOwnHead(logits, offset, width, uniform);
    return own != null ? own : choose(logits, offset, width, uniform);
  }

  /**
   * The row's block masses weighed here ({@link BlockMasses}), then {@link HeadSampler}'s draw;
   * null where that is not available for this row (the caller samples the whole row).
   */
  private Choice chooseWithOwnHead(float[] logits, int offset, int width, double uniform) {
    if (blockMasses == null) {
      return null;
    }
    if (width != ownHeadWidth) {
      ownHeadWidth = width;
      int d = BlockMasses.blockSize(width);
      boolean twoMasses = !config.isGreedy() && config.temperature() != 1.0;
      float[] mass = d == 0 ? null : new float[width / d];
      ownHead =
          d == 0
              ? null
              : new SamplingHead(
                  width / d,
                  d,
                  config.temperature(),
                  mass,
                  twoMasses ? new float[width / d] : mass);
    }
    if (ownHead == null) {
      return null;
    }
    float[] warped = config.isGreedy() ? null : ownHead.warpedMass();
    if (!blockMasses.weigh(
        logits, offset, width, ownHead.blockSize(), config.temperature(), ownHead.mass(), warped)) {
      return null;
    }
    return headSampler.choose(logits, offset, width, ownHead, 0, uniform);
  }

  /**
   * As {@link #choose(float[], int, int, SamplingHead, int, double)} for a row of a buffer ({@link
   * org.prefscore.runtime.StepOutput#lentLogits()}): the head reads a block or two of it, a greedy
   * scan reads it in chunks; every other case copies the row once and samples the copy.
   */
  public Choice choose(
      FloatBuffer logits, int offset, int width, SamplingHead head, int headRow, double uniform) {
    if (logits.hasArray()) {
      return choose(logits.array(), logits.arrayOffset() + offset, width, head, headRow, uniform);
    }
    if (head != null && headServes) {
      Choice choice = headSampler.choose(logits, offset, width, head, headRow, uniform);
      if (choice != null) {
        return choice;
      }
      headRefusals++;
    }
    if (rowCopy.length < width) {
      rowCopy = new float[width];
    }
    logits.get(offset, rowCopy, 0, width);
    Choice own = chooseWithOwnHead(rowCopy, 0, width, uniform);
    return own != null ? own : choose(rowCopy, 0, width, uniform);
  }

  /** Rows for which a sampling head was given and serves the configuration but was refused. */
  public long headRefusals() {
    return headRefusals;
  }

  /**
   * Chooses a token from {@code logits[offset, offset + width)}.
   *
   * @param uniform a draw in [0, 1) from the sample's own random stream (ignored when greedy)
   */
  public Choice choose(float[] logits, int offset, int width, double uniform) {
    int limit = Math.min(width, sampleableVocab);
    if (config.isGreedy()) {
      // The first largest sampleable logit, then the largest of the whole row.
      int first = firstLargest(logits, offset, limit);
      int best = Math.max(first, 0);
      float bestValue = first < 0 ? Float.NEGATIVE_INFINITY : logits[offset + first];
      float rowMax = tailMax(logits, offset, limit, width, bestValue);
      return new Choice(best, bestValue - logNormalizer(logits, offset, width, rowMax), 0.0);
    }
    // Sampling needs the largest values only, not where they are: a pass without an index.
    float maxLogit = Float.NEGATIVE_INFINITY;
    for (int i = 0; i < limit; i++) {
      float v = logits[offset + i];
      maxLogit = v > maxLogit ? v : maxLogit; // NaN never wins, as in the greedy pass
    }
    float rowMax = tailMax(logits, offset, limit, width, maxLogit);
    if (config.drawsFromWholeDistribution(limit)) {
      return chooseFromAll(logits, offset, limit, width, maxLogit, rowMax, uniform);
    }
    int count = collectCandidates(logits, offset, limit);
    // Warped softmax over the candidates.
    double invT = 1.0 / config.temperature();
    ensureProbs(limit);
    double logZ;
    double mass;
    if (count == limit) {
      // Every sampleable id, in id order: one pass over the row for both exps, as chooseFromAll.
      logZ = weighRow(logits, offset, limit, width, maxLogit, rowMax, true);
      mass = LogMath.sumInOrder(warpSums, LogMath.blocksFor(limit));
    } else {
      logZ = logNormalizer(logits, offset, width, rowMax);
      mass = warpCandidates(logits, offset, count, invT);
    }
    int kept = count;
    if (config.topP() < 1.0) {
      kept = nucleus(count, mass);
    }
    // candidates[0..kept) hold the kept tokens in id order.
    double keptMass = 0;
    for (int c = 0; c < kept; c++) {
      keptMass += scratchProbs[c];
    }
    double target = uniform * keptMass;
    double acc = 0;
    int chosen = kept - 1;
    for (int c = 0; c < kept; c++) {
      acc += scratchProbs[c];
      if (target < acc) {
        chosen = c;
        break;
      }
    }
    int token = candidates[chosen];
    return new Choice(
        token, logits[offset + token] - logZ, Math.log(scratchProbs[chosen] / keptMass));
  }

  /**
   * No top-k, no top-p: every sampleable id is a candidate, in id order; no index indirection. The
   * row is read once more ({@link #weighRow}), keeping only the block sums of both exps. The draw
   * walks the warped weights' block sums, then computes again, the same way (the same bits), the
   * weights of the one block that holds the target.
   */
  private Choice chooseFromAll(
      float[] logits,
      int offset,
      int limit,
      int width,
      float maxLogit,
      float rowMax,
      double uniform) {
    double invT = 1.0 / config.temperature();
    double max = maxLogit * invT; // = max_i (logits[i] * invT): the product is monotonic, invT > 0
    double logZ = weighRow(logits, offset, limit, width, maxLogit, rowMax, false);
    double[] xs = scratchX;
    double[] warp = scratchWarp;
    int blocks = LogMath.blocksFor(limit);
    double mass = LogMath.sumInOrder(warpSums, blocks);
    double target = uniform * mass;
    int chosen = limit - 1;
    double chosenWeight = Double.NaN;
    double before = 0;
    for (int b = 0; b < blocks; b++) {
      double through = before + warpSums[b];
      if (target < through) {
        // The block's running sum ends at warpSums[b] exactly (the same additions in the same
        // order), so the target is passed inside it.
        int from = b * LogMath.SUM_BLOCK;
        int n = Math.min(limit - from, LogMath.SUM_BLOCK);
        LogMath.widen(logits, offset + from, n, xs);
        LogMath.expAffine(xs, warp, n, invT, -max);
        double acc = 0;
        for (int j = 0; j < n; j++) {
          acc += warp[j];
          if (target < before + acc) {
            chosen = from + j;
            chosenWeight = warp[j];
            break;
          }
        }
        break;
      }
      before = through;
    }
    if (Double.isNaN(chosenWeight)) {
      // Not passed (a NaN row, or a target rounded up to the mass): the last id, as before.
      double[] last = {logits[offset + chosen]};
      LogMath.expAffine(last, last, 1, invT, -max);
      chosenWeight = last[0];
    }
    return new Choice(chosen, logits[offset + chosen] - logZ, Math.log(chosenWeight / mass));
  }

  /**
   * One pass over the row in cached chunks, each widened once: the temperature-1 normalizer's block
   * sums over all {@code width} ids into {@code normSums}, the warped weights' block sums over the
   * {@code limit} sampleable ids into {@code warpSums} (and, with {@code keepWeights}, the warped
   * weights themselves into {@code scratchProbs}, in id order). Returns log Z, the same bits as
   * {@link #logNormalizer}.
   */
  private double weighRow(
      float[] logits,
      int offset,
      int limit,
      int width,
      float maxLogit,
      float rowMax,
      boolean keepWeights) {
    double invT = 1.0 / config.temperature();
    double max = maxLogit * invT;
    // At T = 1 with the largest logit sampleable the warped weights are the normalizer's own
    // (x·1 - max = x - rowMax, the same bits): one exp pass, and its block sums are the warped
    // weights' too, except in a chunk that the sampleable ids end inside.
    boolean sameWeights = invT == 1.0 && maxLogit == rowMax;
    double[] xs = scratchX;
    double[] norm = scratchNorm;
    double[] warp = scratchWarp;
    double[] normSums = ensureNormSums(width);
    double[] warpSums = ensureWarpSums(limit);
    for (int base = 0; base < width; base += CHUNK) {
      int n = Math.min(CHUNK, width - base);
      int w = Math.max(0, Math.min(n, limit - base));
      LogMath.widen(logits, offset + base, n, xs);
      int block = base / LogMath.SUM_BLOCK;
      LogMath.expAffine(xs, norm, n, 1.0, -rowMax);
      LogMath.blockSums(norm, n, normSums, block);
      if (sameWeights && w == n) {
        System.arraycopy(normSums, block, warpSums, block, LogMath.blocksFor(n));
      } else if (w > 0) {
        if (!sameWeights) {
          LogMath.expAffine(xs, warp, w, invT, -max);
        }
        LogMath.blockSums(sameWeights ? norm : warp, w, warpSums, block);
      }
      if (keepWeights && w > 0) {
        System.arraycopy(sameWeights ? norm : warp, 0, scratchProbs, base, w);
      }
    }
    return rowMax == Float.NEGATIVE_INFINITY
        ? Double.NEGATIVE_INFINITY
        : rowMax + Math.log(LogMath.sumInOrder(normSums, LogMath.blocksFor(width)));
  }

  /** The top-k candidates' warped weights into {@code scratchProbs}; returns their mass. */
  private double warpCandidates(float[] logits, int offset, int count, double invT) {
    double max = Double.NEGATIVE_INFINITY;
    for (int c = 0; c < count; c++) {
      max = Math.max(max, logits[offset + candidates[c]] * invT);
    }
    for (int c = 0; c < count; c++) {
      scratchProbs[c] = logits[offset + candidates[c]] * invT - max;
    }
    LogMath.expInPlace(scratchProbs, count);
    double mass = 0;
    for (int c = 0; c < count; c++) {
      mass += scratchProbs[c];
    }
    return mass;
  }

  /** log Σ exp(logits[i]) over the row, {@code rowMax} its largest value, as LogMath has it. */
  private double logNormalizer(float[] logits, int offset, int width, float rowMax) {
    return LogMath.logSumExp(
        logits, offset, width, rowMax, scratchX, scratchNorm, ensureNormSums(width));
  }

  /**
   * The first id in [0, {@code limit}) with the largest logit (NaN never wins), or -1 when none is
   * above -∞: greedy decoding's choice, with or without a sampling head.
   */
  static int firstLargest(float[] logits, int offset, int limit) {
    int best = -1;
    float top = Float.NEGATIVE_INFINITY;
    for (int i = 0; i < limit; i++) {
      float v = logits[offset + i];
      if (v > top) {
        top = v;
        best = i;
      }
    }
    return best;
  }

  /** The largest of {@code head} and the logits of the ids at or beyond {@code limit}. */
  private static float tailMax(float[] logits, int offset, int limit, int width, float head) {
    float rowMax = head;
    for (int i = limit; i < width; i++) {
      rowMax = Math.max(rowMax, logits[offset + i]);
    }
    return rowMax;
  }

  /** Fills {@code candidates} with every sampleable id, or the top-k of them; returns the count. */
  private int collectCandidates(float[] logits, int offset, int limit) {
    if (candidates.length < limit) {
      candidates = new int[limit];
    }
    int k = config.topK();
    if (k <= 0 || k >= limit) {
      for (int i = 0; i < limit; i++) {
        candidates[i] = i;
      }
      return limit;
    }
    // Min-heap of the k largest logits; ties keep the lower id (transformers keeps torch.topk's).
    int[] heap = new int[k];
    int size = 0;
    for (int i = 0; i < limit; i++) {
      if (size < k) {
        heap[size] = i;
        siftUp(heap, size++, logits, offset);
      } else if (logits[offset + i] > logits[offset + heap[0]]) {
        heap[0] = i;
        siftDown(heap, size, logits, offset);
      }
    }
    System.arraycopy(heap, 0, candidates, 0, k);
    Arrays.sort(candidates, 0, k);
    return k;
  }

  private static boolean less(int a, int b, float[] logits, int offset) {
    float va = logits[offset + a];
    float vb = logits[offset + b];
    return va < vb || (va == vb && a > b);
  }

  private static void siftUp(int[] heap, int i, float[] logits, int offset) {
    while (i > 0) {
      int parent = (i - 1) / 2;
      if (!less(heap[i], heap[parent], logits, offset)) {
        return;
      }
      int t = heap[i];
      heap[i] = heap[parent];
      heap[parent] = t;
      i = parent;
    }
  }

  private static void siftDown(int[] heap, int size, float[] logits, int offset) {
    int i = 0;
    while (true) {
      int l = 2 * i + 1;
      int r = l + 1;
      int smallest = i;
      if (l < size && less(heap[l], heap[smallest], logits, offset)) {
        smallest = l;
      }
      if (r < size && less(heap[r], heap[smallest], logits, offset)) {
        smallest = r;
      }
      if (smallest == i) {
        return;
      }
      int t = heap[i];
      heap[i] = heap[smallest];
      heap[smallest] = t;
      i = smallest;
    }
  }

  /**
   * Reorders candidates most likely first and returns how many form the nucleus. Only tokens that
   * can be in the nucleus are sorted: if the tokens with probability at least t already reach mass
   * p, no token below t can enter it.
   */
  private int nucleus(int count, double mass) {
    double maxP = 0;
    for (int c = 0; c < count; c++) {
      maxP = Math.max(maxP, scratchProbs[c]);
    }
    double target = config.topP() * mass;
    double threshold = maxP * 1e-4;
    double above = 0;
    for (int c = 0; c < count; c++) {
      if (scratchProbs[c] >= threshold) {
        above += scratchProbs[c];
      }
    }
    int sortable = count;
    if (above >= target) {
      // Move the tokens at or above the threshold to the front, keeping id order.
      int w = 0;
      for (int c = 0; c < count; c++) {
        if (scratchProbs[c] >= threshold) {
          swap(w++, c);
        }
      }
      sortable = w;
    }
    // Sort (prob desc, id asc) without boxing: a primitive sort on keys made of the probability
    // rounded to float (desc) and the candidate slot (asc, = id order), then an insertion pass
    // with the exact double comparison fixes the few pairs that float rounding tied or swapped.
    if (scratchKeys.length < sortable) {
      scratchKeys = new long[sortable];
      sortedIds = new int[sortable];
      sortedProbs = new double[sortable];
    }
    for (int c = 0; c < sortable; c++) {
      int bits = Float.floatToRawIntBits((float) scratchProbs[c]);
      scratchKeys[c] = ((long) (Integer.MAX_VALUE - bits) << 32) | c;
    }
    Arrays.sort(scratchKeys, 0, sortable);
    for (int c = 0; c < sortable; c++) {
      int from = (int) scratchKeys[c];
      sortedIds[c] = candidates[from];
      sortedProbs[c] = scratchProbs[from];
    }
    for (int c = 1; c < sortable; c++) {
      int id = sortedIds[c];
      double p = sortedProbs[c];
      int j = c - 1;
      while (j >= 0 && (sortedProbs[j] < p || (sortedProbs[j] == p && sortedIds[j] > id))) {
        sortedIds[j + 1] = sortedIds[j];
        sortedProbs[j + 1] = sortedProbs[j];
        j--;
      }
      sortedIds[j + 1] = id;
      sortedProbs[j + 1] = p;
    }
    int kept = sortable;
    double acc = 0;
    for (int c = 0; c < sortable; c++) {
      acc += sortedProbs[c];
      if (acc >= target) {
        kept = c + 1;
        break;
      }
    }
    // Keep, in id order, the candidates ranked at or before the last one of the nucleus.
    double lastP = sortedProbs[kept - 1];
    int lastId = sortedIds[kept - 1];
    int w = 0;
    for (int c = 0; c < sortable; c++) {
      double p = scratchProbs[c];
      int id = candidates[c];
      if (p > lastP || (p == lastP && id <= lastId)) {
        candidates[w] = id;
        scratchProbs[w++] = p;
      }
    }
    return kept;
  }

  private void swap(int a, int b) {
    int ti = candidates[a];
    candidates[a] = candidates[b];
    candidates[b] = ti;
    double tp = scratchProbs[a];
    scratchProbs[a] = scratchProbs[b];
    scratchProbs[b] = tp;
  }

  private void ensureProbs(int n) {
    if (scratchProbs.length < n) {
      scratchProbs = new double[n];
    }
  }

  private double[] ensureNormSums(int n) {
    if (normSums.length < LogMath.blocksFor(n)) {
      normSums = new double[LogMath.blocksFor(n)];
    }
    return normSums;
  }

  private double[] ensureWarpSums(int n) {
    if (warpSums.length < LogMath.blocksFor(n)) {
      warpSums = new double[LogMath.blocksFor(n)];
    }
    return warpSums;
  }
}
