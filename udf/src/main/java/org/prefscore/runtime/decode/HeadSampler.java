package org.prefscore.runtime.decode;

import java.nio.FloatBuffer;
import org.prefscore.runtime.LogMath;
import org.prefscore.runtime.SamplingHead;

/**
 * Chooses the next token from a graph's sampling head ({@link SamplingHead}) and one or two blocks
 * of the logits row, instead of exponentiating the whole row twice as {@link TokenSampler} does.
 * Pure logic; one instance per thread (scratch buffers).
 *
 * <p>The same distribution as {@link TokenSampler} and the same inverse CDF over the sampleable ids
 * in id order: the block is found by walking the head's warped block masses, the id inside it by
 * walking the block's warped weights, computed here in double precision. Draws therefore agree with
 * {@link TokenSampler}'s except where the target falls within the head's float rounding (about 1e-7
 * of cumulative probability) of a token boundary: the masses before the block place the target
 * inside it, so a boundary that close moves the draw to a neighbouring id (at 151,936 ids about one
 * draw in a few hundred to a few thousand, {@code VectorBlockMassesTest}). log π uses log Z = c +
 * log Σ_block exp(x - c) - log mass, taken from the block of largest mass (at least 1/blocks, so
 * the float mass is accurate to about 1e-7 relative). Greedy decoding takes the first largest
 * sampleable logit, scanning the row as {@link TokenSampler} does, and only log Z from the head.
 * Ids at or beyond the tokenizer's vocabulary are never chosen: the block they end inside has its
 * sampleable share recomputed here.
 *
 * <p>The head is input from the graph: a row whose masses are not finite, non-negative and summing
 * to 1 (within 1e-3) is refused ({@code null}) and the caller samples it the whole-row way.
 */
final class HeadSampler {

  /** How far a row's head masses may sum from 1 before the head is not trusted. */
  static final double MASS_TOLERANCE = 1e-3;

  private final SamplingConfig config;
  private final int sampleableVocab;
  private double[] xs = new double[0];
  private double[] weights = new double[0];
  private float[] chunk = new float[0];

  /** The row being sampled: {@code rowArray} or else {@code rowBuffer}, from {@code rowOffset}. */
  private float[] rowArray;

  private FloatBuffer rowBuffer;
  private int rowOffset;

  HeadSampler(SamplingConfig config, int sampleableVocab) {
    this.config = config;
    this.sampleableVocab = sampleableVocab;
  }

  /**
   * Whether the head can serve {@code config}: greedy, or no top-k and no top-p (those need the
   * ranks of the whole row).
   */
  static boolean serves(SamplingConfig config, int sampleableVocab) {
    return config.isGreedy() || config.drawsFromWholeDistribution(sampleableVocab);
  }

  /**
   * The token for logits row {@code logits[offset, offset + width)}, described by row {@code
   * headRow} of {@code head}; null when the head does not describe it (see the class comment).
   *
   * @param uniform a draw in [0, 1) from the sample's own random stream (ignored when greedy)
   */
  TokenSampler.Choice choose(
      float[] logits, int offset, int width, SamplingHead head, int headRow, double uniform) {
    rowArray = logits;
    rowBuffer = null;
    rowOffset = offset;
    try {
      return choose(width, head, headRow, uniform);
    } finally {
      rowArray = null; // not kept alive past the call
    }
  }

  /**
   * As {@link #choose(float[], int, int, SamplingHead, int, double)} for a row of a buffer (read
   * with absolute gets: a block, or the row in chunks when greedy).
   */
  TokenSampler.Choice choose(
      FloatBuffer logits, int offset, int width, SamplingHead head, int headRow, double uniform) {
    rowArray = null;
    rowBuffer = logits;
    rowOffset = offset;
    try {
      return choose(width, head, headRow, uniform);
    } finally {
      rowBuffer = null;
    }
  }

  private TokenSampler.Choice choose(int width, SamplingHead head, int headRow, double uniform) {
    int d = head.blockSize();
    // The head must describe this row, at this sampler's temperature (the graph's float32 copy).
    if (head.width() != width
        || headRow < 0
        || (long) head.offset(headRow) + head.blocks() > head.mass().length
        || (!config.isGreedy() && (float) head.temperature() != (float) config.temperature())) {
      return null;
    }
    int base = head.offset(headRow);
    int blocks = head.blocks();
    float[] mass = head.mass();
    float[] warped = head.warpedMass();
    double massSum = 0;
    double warpedSum = 0;
    int largest = -1;
    float largestMass = -1;
    for (int b = 0; b < blocks; b++) {
      float m = mass[base + b];
      float t = warped[base + b];
      if (!(m >= 0 && t >= 0) || Float.isInfinite(m) || Float.isInfinite(t)) {
        return null;
      }
      massSum += m;
      warpedSum += t;
      if (m > largestMass) {
        largestMass = m;
        largest = b;
      }
    }
    if (!(Math.abs(massSum - 1) <= MASS_TOLERANCE)
        || !(Math.abs(warpedSum - 1) <= MASS_TOLERANCE)
        || !(largestMass > 0)) {
      return null;
    }
    ensure(d);
    int limit = Math.min(width, sampleableVocab);
    int full = limit / d; // blocks whose ids are all sampleable
    int rest = limit - full * d; // sampleable ids of block `full`
    double logZ = logNormalizer(largest * d, d, largestMass);
    if (!Double.isFinite(logZ)) {
      return null;
    }
    if (config.isGreedy()) {
      return greedy(full * d + rest, logZ);
    }
    return sample(head, base, full, rest, logZ, uniform);
  }

  /** The first largest of the row's first {@code limit} logits. */
  private TokenSampler.Choice greedy(int limit, double logZ) {
    int best;
    float value;
    if (rowArray != null) {
      best = TokenSampler.firstLargest(rowArray, rowOffset, limit);
      value = best < 0 ? Float.NaN : rowArray[rowOffset + best];
    } else {
      // In chunks copied from the buffer: the array scan, the first of equal largest values kept.
      if (chunk.length < CHUNK) {
        chunk = new float[CHUNK];
      }
      best = -1;
      value = Float.NEGATIVE_INFINITY;
      for (int from = 0; from < limit; from += CHUNK) {
        int n = Math.min(CHUNK, limit - from);
        rowBuffer.get(rowOffset + from, chunk, 0, n);
        int local = TokenSampler.firstLargest(chunk, 0, n);
        if (local >= 0 && chunk[local] > value) {
          value = chunk[local];
          best = from + local;
        }
      }
    }
    return best < 0 ? null : new TokenSampler.Choice(best, value - logZ, 0.0);
  }

  /** Floats per copy of a greedy scan over a buffer (a chunk in the L1 cache). */
  private static final int CHUNK = 4096;

  private TokenSampler.Choice sample(
      SamplingHead head, int base, int full, int rest, double logZ, double uniform) {
    int d = head.blockSize();
    double invT = 1.0 / head.temperature();
    float[] warped = head.warpedMass();
    // The sampleable share of the block the tokenizer's ids end inside.
    double partial = 0;
    if (rest > 0) {
      double all = warpedWeights(full * d, d, invT);
      double some = LogMath.sumInOrder(weights, rest);
      partial = all > 0 ? warped[base + full] * (some / all) : 0;
    }
    double total = 0;
    for (int b = 0; b < full; b++) {
      total += warped[base + b];
    }
    total += partial;
    if (!(total > 0)) {
      return null;
    }
    double target = uniform * total;
    int chosenBlock = -1;
    double blockMass = 0;
    double before = 0;
    for (int b = 0; b < full; b++) {
      double through = before + warped[base + b];
      if (target < through) {
        chosenBlock = b;
        blockMass = warped[base + b];
        break;
      }
      before = through;
    }
    if (chosenBlock < 0) {
      // The partial block, or a target rounded up to the total: the last block with mass.
      if (partial > 0) {
        chosenBlock = full;
        blockMass = partial;
      } else {
        for (int b = full - 1; b >= 0 && chosenBlock < 0; b--) {
          if (warped[base + b] > 0) {
            chosenBlock = b;
            blockMass = warped[base + b];
            before = total - blockMass;
          }
        }
      }
    }
    if (chosenBlock < 0) {
      return null;
    }
    int from = chosenBlock * d;
    int n = chosenBlock == full ? rest : d;
    double blockSum = warpedWeights(from, n, invT);
    if (!(blockSum > 0) || Double.isInfinite(blockSum)) {
      return null;
    }
    double local = Math.max(0, target - before) / blockMass * blockSum;
    int chosen = n - 1;
    double acc = 0;
    for (int j = 0; j < n; j++) {
      acc += weights[j];
      if (local < acc) {
        chosen = j;
        break;
      }
    }
    while (chosen > 0 && weights[chosen] == 0) {
      chosen--; // a target rounded up past the last id of weight > 0
    }
    double samplingLogprob = Math.log(weights[chosen] / blockSum) + Math.log(blockMass / total);
    int token = from + chosen;
    // xs holds the chosen block, widened exactly: xs[chosen] is the token's logit.
    return new TokenSampler.Choice(token, xs[chosen] - logZ, samplingLogprob);
  }

  /**
   * exp((x - c) / T) of ids [from, from + n) into {@code weights} (c their largest value); returns
   * their sum in id order.
   */
  private double warpedWeights(int from, int n, double invT) {
    double c = widenBlock(from, n);
    if (c == Double.NEGATIVE_INFINITY || Double.isNaN(c)) {
      return Double.NaN;
    }
    LogMath.expAffine(xs, weights, n, invT, -c * invT);
    return LogMath.sumInOrder(weights, n);
  }

  /** log Z of the row from block [from, from + d) and that block's share {@code mass} of it. */
  private double logNormalizer(int from, int d, float mass) {
    double c = widenBlock(from, d);
    LogMath.expAffine(xs, weights, d, 1.0, -c);
    return c + Math.log(LogMath.sumInOrder(weights, d)) - Math.log(mass);
  }

  /** Widens ids [from, from + n) into {@code xs}; returns their largest value (NaN if one is). */
  private double widenBlock(int from, int n) {
    if (rowArray != null) {
      LogMath.widen(rowArray, rowOffset + from, n, xs);
    } else {
      if (chunk.length < n) {
        chunk = new float[Math.max(n, CHUNK)];
      }
      rowBuffer.get(rowOffset + from, chunk, 0, n);
      LogMath.widen(chunk, 0, n, xs);
    }
    double c = Double.NEGATIVE_INFINITY;
    for (int j = 0; j < n; j++) {
      c = Math.max(c, xs[j]);
    }
    return c;
  }

  private void ensure(int d) {
    if (xs.length < d) {
      xs = new double[d];
      weights = new double[d];
    }
  }
}
