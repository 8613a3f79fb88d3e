package org.prefscore.runtime.decode;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link BlockMasses} on the JDK's vector API: one read of the row, block by block (the block's
 * largest value, then both exponentials relative to it, summed per lane), each block's sums then
 * rescaled to the row's largest value. Loaded only through {@link BlockMasses#vectorised()}, so
 * that a JVM without the module never links this class. Stateless and thread-safe.
 *
 * <p>Sums are float per vector lane within a block (at most {@link BlockMasses#MAX_BLOCK} ids),
 * then double across blocks; a block's share is accurate to about 1e-6 relative, which only moves a
 * draw whose target falls that close to a token boundary ({@link HeadSampler}). The bits depend on
 * the CPU's vector width and the JDK's exp stubs, not on the thread count.
 */
final class VectorBlockMasses implements BlockMasses {

  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  private static final int LANES = SPECIES.length();

  private VectorBlockMasses() {}

  /**
   * The implementation, or null where the JDK's vector exp falls back to scalar code per lane
   * (slower than the scalar sampler): the exp stubs exist on x86-64 with vectors of 256 bits or
   * more.
   */
  public static BlockMasses create() {
    String arch = System.getProperty("os.arch", "");
    boolean x86 = arch.equals("amd64") || arch.equals("x86_64");
    if (!x86 || LANES < 8 || BlockMasses.LANE_MULTIPLE % LANES != 0) {
      return null;
    }
    return new VectorBlockMasses();
  }

  @Override
  public boolean weigh(
      float[] row,
      int offset,
      int width,
      int blockSize,
      double temperature,
      float[] mass,
      float[] warpedMass) {
    if (blockSize <= 0 || blockSize % LANES != 0 || width % blockSize != 0) {
      throw new IllegalArgumentException(
          "block of " + blockSize + " ids for a row of " + width + " on " + LANES + " lanes");
    }
    boolean warped = warpedMass != null && warpedMass != mass && temperature != 1.0;
    float invT = (float) (1.0 / temperature);
    int blocks = width / blockSize;
    float[] peaks = peaks(blocks);
    // One read of the row: each block's largest value, then its sums relative to that value,
    // from the same loads (a block is at most 32 vectors, in the L1 cache).
    float max = Float.NEGATIVE_INFINITY;
    for (int b = 0; b < blocks; b++) {
      int from = offset + b * blockSize;
      int to = from + blockSize;
      FloatVector top = FloatVector.fromArray(SPECIES, row, from);
      for (int i = from + LANES; i < to; i += LANES) {
        top = top.max(FloatVector.fromArray(SPECIES, row, i));
      }
      float peak = top.reduceLanes(VectorOperators.MAX);
      if (Float.isNaN(peak) || peak == Float.POSITIVE_INFINITY) {
        return false; // NaN wins the lane max
      }
      peaks[b] = peak;
      max = Math.max(max, peak);
      if (peak == Float.NEGATIVE_INFINITY) {
        mass[b] = 0;
        if (warped) {
          warpedMass[b] = 0;
        }
        continue;
      }
      FloatVector shift = FloatVector.broadcast(SPECIES, peak);
      FloatVector sum = FloatVector.zero(SPECIES);
      if (warped) {
        FloatVector warpedSum = FloatVector.zero(SPECIES);
        for (int i = from; i < to; i += LANES) {
          FloatVector x = FloatVector.fromArray(SPECIES, row, i).sub(shift);
          sum = sum.add(x.lanewise(VectorOperators.EXP));
          warpedSum = warpedSum.add(x.mul(invT).lanewise(VectorOperators.EXP));
        }
        warpedMass[b] = warpedSum.reduceLanes(VectorOperators.ADD);
      } else {
        for (int i = from; i < to; i += LANES) {
          sum =
              sum.add(
                  FloatVector.fromArray(SPECIES, row, i).sub(shift).lanewise(VectorOperators.EXP));
        }
      }
      mass[b] = sum.reduceLanes(VectorOperators.ADD);
    }
    if (max == Float.NEGATIVE_INFINITY) {
      return false; // every id at -∞: no distribution
    }
    // Each block's sums relative to the row's largest value: times exp(peak - max), summed in
    // double.
    rescale(mass, peaks, blocks, max, 1f);
    if (warped) {
      rescale(warpedMass, peaks, blocks, max, invT);
    } else if (warpedMass != null && warpedMass != mass) {
      System.arraycopy(mass, 0, warpedMass, 0, blocks);
    }
    return true;
  }

  /** A thread's scratch for the blocks' largest values. */
  private static final ThreadLocal<float[][]> PEAKS =
      ThreadLocal.withInitial(() -> new float[1][0]);

  private static float[] peaks(int blocks) {
    float[][] holder = PEAKS.get();
    if (holder[0].length < blocks) {
      holder[0] = new float[blocks];
    }
    return holder[0];
  }

  /**
   * values[b] *= exp((peaks[b] - max) * invT), then values /= their sum (in double); the factors in
   * float, one vector exp per {@code LANES} blocks.
   */
  private static void rescale(float[] values, float[] peaks, int count, float max, float invT) {
    double total = 0;
    int b = 0;
    for (; b + LANES <= count; b += LANES) {
      FloatVector factor =
          FloatVector.fromArray(SPECIES, peaks, b).sub(max).mul(invT).lanewise(VectorOperators.EXP);
      FloatVector v = FloatVector.fromArray(SPECIES, values, b).mul(factor);
      v.intoArray(values, b);
      total += v.reduceLanes(VectorOperators.ADD);
    }
    for (; b < count; b++) {
      values[b] *= (float) Math.exp((peaks[b] - max) * invT);
      total += values[b];
    }
    for (int i = 0; i < count; i++) {
      values[i] = (float) (values[i] / total);
    }
  }
}
