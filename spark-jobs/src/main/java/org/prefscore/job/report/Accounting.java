package org.prefscore.job.report;

import static org.apache.spark.sql.functions.col;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.prefscore.spark.OutputSchema;

/**
 * "Nothing lost": every input row ends in exactly one of pairs, filtered or rejects. Checked on the
 * tables as written (read back, {@link OutputCheck}), so it is the output itself that is proven
 * complete: the input_row ids across the tables must be exactly 0..n-1, each once.
 *
 * @param inputRows rows read
 * @param perTable rows per written table
 * @param holds whether the identity holds
 * @param problem what is wrong, when it does not
 */
public record Accounting(
    long inputRows, Map<String, Long> perTable, boolean holds, String problem) {

  /** Thrown when the identity does not hold: the run fails without a manifest. */
  public static final class AccountingException extends RuntimeException {
    public AccountingException(String message) {
      super(message);
    }
  }

  /**
   * Judges the identity from the figures of one aggregation over the tables' input_row ids; when it
   * does not hold, looks up examples of missing and repeated ids in {@code ids}.
   *
   * @param perTable rows per table, in the identity's order
   * @param rows all rows of the tables
   * @param distinct distinct input_row ids among them
   * @param minId the smallest id (ignored when {@code rows} is 0)
   * @param maxId the largest id (ignored when {@code rows} is 0)
   * @param ids the tables' input_row column, one row per table row (read only when it fails)
   */
  static Accounting judge(
      SparkSession spark,
      long inputRows,
      Map<String, Long> perTable,
      long rows,
      long distinct,
      long minId,
      long maxId,
      Dataset<Row> ids) {
    boolean inRange = rows == 0 || (minId >= 0 && maxId < inputRows);
    if (rows == inputRows && distinct == inputRows && inRange) {
      return new Accounting(inputRows, perTable, true, null);
    }
    List<String> problems = new ArrayList<>();
    problems.add(
        "input rows "
            + inputRows
            + " != "
            + String.join(" + ", perTable.keySet())
            + " = "
            + rows
            + " ("
            + distinct
            + " distinct input_row ids)");
    List<Long> missing =
        spark
            .range(inputRows)
            .toDF(OutputSchema.INPUT_ROW)
            .except(ids)
            .limit(5)
            .as(org.apache.spark.sql.Encoders.LONG())
            .collectAsList();
    if (!missing.isEmpty()) {
      problems.add("missing input_row e.g. " + missing);
    }
    List<Row> twice =
        ids.groupBy(OutputSchema.INPUT_ROW)
            .count()
            .filter(col("count").gt(1))
            .limit(5)
            .collectAsList();
    if (!twice.isEmpty()) {
      problems.add("input_row in more than one place e.g. " + twice);
    }
    return new Accounting(inputRows, perTable, false, String.join("; ", problems));
  }
}
