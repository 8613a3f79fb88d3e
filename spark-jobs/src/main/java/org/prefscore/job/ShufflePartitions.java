package org.prefscore.job;

/**
 * How many partitions the run's shuffles (the prepare stage's duplicate windows, the West-of-N
 * grouping of samples by prompt, the accounting and manifest aggregations) get when the run does
 * not set {@code spark.sql.shuffle.partitions} itself: as many as its data needs, instead of
 * Spark's fixed 200, which on a small run means 200 tasks per stage for a handful of rows (seen: 6
 * prompts, about 50 s of task overhead). Pure: no Spark.
 *
 * <p>The rule, for {@code rows} rows in the largest shuffled table (input rows, times N samples in
 * west-of-n) and {@code parallelism} task slots: one partition per {@value #ROWS_PER_PARTITION}
 * rows, and no fewer than one per {@value #MAX_ROWS_PER_PARTITION} rows or than the slots the rows
 * can fill at {@value #ROWS_PER_PARTITION} each; at least 1, at most Spark's default of {@value
 * #SPARK_DEFAULT}. The output does not depend on it: the model stages partition by {@code
 * spark.partitions}, and every written value is independent of the shuffle layout.
 */
public final class ShufflePartitions {

  /** The Spark SQL property this sizes. */
  public static final String PROPERTY = "spark.sql.shuffle.partitions";

  /** Rows one shuffle partition takes before another is worth its task. */
  public static final long ROWS_PER_PARTITION = 1_000;

  /** Rows one shuffle partition holds at most while the cap allows more partitions. */
  public static final long MAX_ROWS_PER_PARTITION = 100_000;

  /** Spark's default, the most this rule gives (a larger run sets its own). */
  public static final int SPARK_DEFAULT = 200;

  private ShufflePartitions() {}

  /**
   * The partitions for {@code rows} rows on {@code parallelism} task slots.
   *
   * @param rows rows of the largest shuffled table, ≥ 0
   * @param parallelism task slots (Spark's default parallelism), ≥ 1
   */
  public static int forRows(long rows, int parallelism) {
    long fill = Math.min(Math.max(1, parallelism), ceilDiv(rows, ROWS_PER_PARTITION));
    long partitions = Math.max(ceilDiv(rows, MAX_ROWS_PER_PARTITION), fill);
    return (int) Math.max(1, Math.min(SPARK_DEFAULT, partitions));
  }

  private static long ceilDiv(long a, long b) {
    return a <= 0 ? 0 : (a + b - 1) / b;
  }
}
