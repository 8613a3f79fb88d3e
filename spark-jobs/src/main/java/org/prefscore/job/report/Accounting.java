package org.prefscore.job.report;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.countDistinct;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.when;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.prefscore.job.io.RunOutput;
import org.prefscore.spark.OutputSchema;

/**
 * "Nothing lost": every input row ends in exactly one of pairs, filtered or rejects. Checked on the
 * tables as written (read back), so it is the output itself that is proven complete: the input_row
 * ids across the tables must be exactly 0..n-1, each once.
 *
 * @param inputRows rows read
 * @param perTable rows per written table
 * @param holds whether the identity holds
 * @param problem what is wrong, when it does not
 */
public record Accounting(
    long inputRows, Map<String, Long> perTable, boolean holds, String problem) {

  /** The column that names each id's table in the check's union. */
  private static final String TABLE = "_table";

  /** Thrown when the identity does not hold: the run fails without a manifest. */
  public static final class AccountingException extends RuntimeException {
    public AccountingException(String message) {
      super(message);
    }
  }

  /**
   * Checks the identity on the written {@code tables} in one aggregation over their input_row ids
   * (the rows per table, all rows, distinct ids and their range).
   */
  public static Accounting check(
      SparkSession spark, RunOutput output, long inputRows, List<String> tables) {
    Dataset<Row> tagged = null;
    for (String t : tables) {
      Dataset<Row> d = output.read(t).select(col(OutputSchema.INPUT_ROW), lit(t).as(TABLE));
      tagged = tagged == null ? d : tagged.union(d);
    }
    List<Column> aggregates = new ArrayList<>();
    for (String t : tables) {
      aggregates.add(count(when(col(TABLE).equalTo(lit(t)), true)));
    }
    aggregates.add(countDistinct(col(OutputSchema.INPUT_ROW)));
    aggregates.add(min(OutputSchema.INPUT_ROW));
    aggregates.add(max(OutputSchema.INPUT_ROW));
    Row s = tagged.agg(count(lit(1)), aggregates.toArray(Column[]::new)).first();
    Map<String, Long> perTable = new LinkedHashMap<>();
    for (int i = 0; i < tables.size(); i++) {
      perTable.put(tables.get(i), s.getLong(1 + i));
    }
    Dataset<Row> ids = tagged.select(col(OutputSchema.INPUT_ROW));
    int k = 1 + tables.size();
    long rows = s.getLong(0);
    long distinct = s.getLong(k);
    boolean inRange = rows == 0 || (s.getLong(k + 1) >= 0 && s.getLong(k + 2) < inputRows);
    if (rows == inputRows && distinct == inputRows && inRange) {
      return new Accounting(inputRows, perTable, true, null);
    }
    List<String> problems = new ArrayList<>();
    problems.add(
        "input rows "
            + inputRows
            + " != "
            + String.join(" + ", tables)
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
