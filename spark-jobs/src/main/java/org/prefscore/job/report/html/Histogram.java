package org.prefscore.job.report.html;

import java.io.Serializable;
import java.util.Arrays;

/**
 * Counts of values in equal-width bins: {@code counts[i]} values lie in [{@code edges[i]}, {@code
 * edges[i+1]}) (the last bin includes its upper edge). Pure: the Spark side counts with {@link
 * Bins#indexOf}, the same function the tests use.
 *
 * @param edges bin edges, ascending, one more than the counts
 * @param counts values per bin
 */
public record Histogram(double[] edges, long[] counts) {

  /** Bins of a histogram drawn in the report. */
  public static final int DEFAULT_BINS = 40;

  public Histogram {
    if (edges.length != counts.length + 1 || counts.length == 0) {
      throw new IllegalArgumentException(
          "a histogram needs one more edge than counts, and at least one bin");
    }
    edges = edges.clone();
    counts = counts.clone();
  }

  /** Values counted. */
  public long total() {
    return Arrays.stream(counts).sum();
  }

  /** The largest count of a bin. */
  public long maxCount() {
    return Arrays.stream(counts).max().orElse(0);
  }

  @Override
  public double[] edges() {
    return edges.clone();
  }

  @Override
  public long[] counts() {
    return counts.clone();
  }

  /** Counts {@code values} (non-finite ones are left out) into {@code bins}. */
  public static Histogram of(double[] values, Bins bins) {
    long[] counts = new long[bins.count()];
    for (double v : values) {
      int i = bins.indexOf(v);
      if (i >= 0) {
        counts[i]++;
      }
    }
    return bins.histogram(counts);
  }

  /**
   * {@code count} equal-width bins over [{@code min}, {@code max}].
   *
   * @param min lower edge, finite
   * @param max upper edge, finite, greater than min
   * @param count bins, at least 1
   */
  public record Bins(double min, double max, int count) implements Serializable {

    public Bins {
      if (!Double.isFinite(min) || !Double.isFinite(max) || !(max > min) || count < 1) {
        throw new IllegalArgumentException(
            "bins need finite min < max and count >= 1, got " + min + ", " + max + ", " + count);
      }
    }

    /**
     * Bins covering the values from {@code lo} to {@code hi} (both finite): {@code count} bins, or
     * one bin of width 1 centred on the value when every value is the same.
     */
    public static Bins covering(double lo, double hi, int count) {
      if (!(hi > lo)) {
        return new Bins(lo - 0.5, lo + 0.5, 1);
      }
      return new Bins(lo, hi, count);
    }

    /**
     * Bins for whole numbers from {@code lo} to {@code hi}: one per value, centred on it, when
     * there are at most {@code maxCount} values; else {@code maxCount} bins over the range.
     */
    public static Bins integers(long lo, long hi, int maxCount) {
      long values = hi - lo + 1;
      if (values <= maxCount) {
        return new Bins(lo - 0.5, hi + 0.5, (int) values);
      }
      return new Bins(lo, hi, maxCount);
    }

    /** The bin of {@code v}, or -1 when it is outside [min, max] or not finite. */
    public int indexOf(double v) {
      if (!(v >= min && v <= max)) {
        return -1;
      }
      int i = (int) ((v - min) / (max - min) * count);
      return Math.min(Math.max(i, 0), count - 1);
    }

    /** Lower edge of bin {@code i} ({@code i = count}: the upper edge of the last). */
    public double edge(int i) {
      return i == count ? max : min + (max - min) * i / count;
    }

    /** The histogram of these bins with {@code counts}. */
    public Histogram histogram(long[] counts) {
      double[] edges = new double[count + 1];
      for (int i = 0; i <= count; i++) {
        edges[i] = edge(i);
      }
      return new Histogram(edges, counts);
    }
  }
}
