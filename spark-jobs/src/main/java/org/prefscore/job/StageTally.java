package org.prefscore.job;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.spark_partition_id;

import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;

/**
 * What the driver counts on a stage's persisted output, from one Spark action (which also
 * materializes it): all rows and the rows that go on ({@code kept}), both per partition of the
 * persisted dataset, and the kept rows per value of one column when asked. Counts of an action's
 * result, exact under task retries (unlike accumulators).
 *
 * @param rows every row
 * @param kept the rows for which the condition holds
 * @param rowsByPartition rows per partition id of the persisted dataset (empty partitions absent)
 * @param keptByPartition kept rows per partition id (partitions without kept rows absent)
 * @param keptByValue kept rows per value of the column asked for (empty when none was)
 */
record StageTally(
    long rows,
    long kept,
    Map<Integer, Long> rowsByPartition,
    Map<Integer, Long> keptByPartition,
    Map<String, Long> keptByValue) {

  private static final String PARTITION = "_partition";
  private static final String KEPT = "_kept";
  private static final String VALUE = "_value";

  /**
   * Counts {@code stageOutput} in one action.
   *
   * @param condition which rows are kept (null counts as not)
   * @param byValue a string column to count the kept rows by, or null
   */
  static StageTally of(Dataset<Row> stageOutput, Column condition, Column byValue) {
    Column value = byValue == null ? lit(null).cast(DataTypes.StringType) : byValue;
    Map<Integer, Long> byPartition = new TreeMap<>();
    Map<Integer, Long> keptByPartition = new TreeMap<>();
    Map<String, Long> byValues = new TreeMap<>();
    long rows = 0;
    long kept = 0;
    for (Row r :
        stageOutput
            .groupBy(
                spark_partition_id().as(PARTITION),
                condition.eqNullSafe(lit(true)).as(KEPT),
                value.as(VALUE))
            .count()
            .collectAsList()) {
      long n = r.getLong(3);
      rows += n;
      byPartition.merge(r.getInt(0), n, Long::sum);
      if (r.getBoolean(1)) {
        kept += n;
        keptByPartition.merge(r.getInt(0), n, Long::sum);
        if (byValue != null) {
          byValues.merge(r.getString(2), n, Long::sum);
        }
      }
    }
    return new StageTally(rows, kept, byPartition, keptByPartition, byValues);
  }

  /** Counts every row of {@code stageOutput} as kept (rows and rows per partition). */
  static StageTally of(Dataset<Row> stageOutput) {
    return of(stageOutput, lit(true), null);
  }

  /** The condition "not rejected": {@code reject_reason} is null. */
  static Column notRejected() {
    return col(org.prefscore.spark.OutputSchema.REJECT_REASON).isNull();
  }
}
