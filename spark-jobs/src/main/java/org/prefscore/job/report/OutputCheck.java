package org.prefscore.job.report;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.countDistinct;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.prefscore.job.io.RunOutput;
import org.prefscore.spark.OutputSchema;

/**
 * What the verify stage reads off the tables as written, in two Spark queries instead of one per
 * figure: (1) one aggregation over the accounting tables' input_row ids ({@link Accounting}: rows
 * per table, all rows, distinct ids and their range), which also sums the candidates' tokens and
 * counts the pairs with a prefix mismatch ({@link WorkCounts}); (2) one grouping of the rejects by
 * stage and reason and of the filtered pairs by reason (the manifest's reason counts). Each figure
 * is the one a query of its own over the same table gives.
 *
 * @param accounting the nothing-lost identity over the accounting tables
 * @param candidates rows of the candidates table (0 when it was not asked for)
 * @param generatedTokens the candidates' response_tokens summed (0 when it was not asked for)
 * @param prefixMismatchPairs rows of the pairs table with prefix_mismatch = true
 * @param rejectsByStageAndReason rejects per stage, then per reason code, in name order
 * @param filteredByReason filtered pairs per filter reason, in reason order (empty without the
 *     filtered table)
 */
public record OutputCheck(
    Accounting accounting,
    long candidates,
    long generatedTokens,
    long prefixMismatchPairs,
    Map<String, Map<String, Long>> rejectsByStageAndReason,
    Map<String, Long> filteredByReason) {

  /** The column that names each row's table in the queries' unions. */
  private static final String TABLE = "_table";

  private static final String CANDIDATES = "candidates";
  private static final String PAIRS = "pairs";
  private static final String REJECTS = "rejects";
  private static final String FILTERED = "filtered";
  private static final String TOKENS = "_tokens";
  private static final String MISMATCH = "_mismatch";
  private static final String KEY = "_key";
  private static final String SUBKEY = "_subkey";

  /**
   * Reads the staged tables of {@code output} and checks them.
   *
   * @param tables the accounting tables, in the identity's order; {@code rejects} among them, and
   *     {@code pairs} and {@code filtered} where the mode writes them
   * @param withCandidates whether to count the candidates table (West-of-N writes one)
   */
  public static OutputCheck of(
      SparkSession spark,
      RunOutput output,
      long inputRows,
      List<String> tables,
      boolean withCandidates) {
    Dataset<Row> tagged = null;
    for (String t : tables) {
      Column mismatch =
          PAIRS.equals(t)
              ? col(OutputSchema.PREFIX_MISMATCH)
              : lit(null).cast(DataTypes.BooleanType);
      Dataset<Row> d =
          output
              .read(t)
              .select(
                  col(OutputSchema.INPUT_ROW),
                  lit(t).as(TABLE),
                  lit(null).cast(DataTypes.LongType).as(TOKENS),
                  mismatch.as(MISMATCH));
      tagged = tagged == null ? d : tagged.union(d);
    }
    if (withCandidates) {
      tagged =
          tagged.union(
              output
                  .read(CANDIDATES)
                  .select(
                      lit(null).cast(DataTypes.LongType).as(OutputSchema.INPUT_ROW),
                      lit(CANDIDATES).as(TABLE),
                      col(OutputSchema.RESPONSE_TOKENS).cast(DataTypes.LongType).as(TOKENS),
                      lit(null).cast(DataTypes.BooleanType).as(MISMATCH)));
    }
    Column accounted = col(TABLE).isin(tables.toArray());
    Column ids = when(accounted, col(OutputSchema.INPUT_ROW));
    List<Column> aggregates = new ArrayList<>();
    for (String t : tables) {
      aggregates.add(count(when(col(TABLE).equalTo(lit(t)), true)));
    }
    aggregates.add(countDistinct(ids));
    aggregates.add(min(ids));
    aggregates.add(max(ids));
    aggregates.add(count(when(col(TABLE).equalTo(lit(CANDIDATES)), true)));
    aggregates.add(sum(when(col(TABLE).equalTo(lit(CANDIDATES)), col(TOKENS))));
    aggregates.add(
        count(when(col(TABLE).equalTo(lit(PAIRS)).and(col(MISMATCH).equalTo(true)), true)));
    Row s = tagged.agg(count(when(accounted, true)), aggregates.toArray(Column[]::new)).first();
    Map<String, Long> perTable = new LinkedHashMap<>();
    for (int i = 0; i < tables.size(); i++) {
      perTable.put(tables.get(i), s.getLong(1 + i));
    }
    int k = 1 + tables.size();
    long rows = s.getLong(0);
    Accounting accounting =
        Accounting.judge(
            spark,
            inputRows,
            perTable,
            rows,
            s.getLong(k),
            s.isNullAt(k + 1) ? 0 : s.getLong(k + 1),
            s.isNullAt(k + 2) ? 0 : s.getLong(k + 2),
            tagged.filter(accounted).select(col(OutputSchema.INPUT_ROW)));
    long candidates = s.getLong(k + 3);
    long tokens = s.isNullAt(k + 4) ? 0 : s.getLong(k + 4);
    long mismatches = s.getLong(k + 5);

    Dataset<Row> reasons =
        output
            .read(REJECTS)
            .select(
                lit(REJECTS).as(TABLE),
                col(OutputSchema.STAGE).as(KEY),
                col(OutputSchema.REASON_CODE).as(SUBKEY));
    boolean hasFiltered = tables.contains(FILTERED);
    if (hasFiltered) {
      reasons =
          reasons.union(
              output
                  .read(FILTERED)
                  .select(
                      lit(FILTERED).as(TABLE),
                      col(OutputSchema.FILTER_REASON).as(KEY),
                      lit(null).cast(DataTypes.StringType).as(SUBKEY)));
    }
    Map<String, Map<String, Long>> rejects = new TreeMap<>();
    Map<String, Long> filtered = new TreeMap<>();
    for (Row r : reasons.groupBy(TABLE, KEY, SUBKEY).count().collectAsList()) {
      if (REJECTS.equals(r.getString(0))) {
        rejects
            .computeIfAbsent(r.getString(1), x -> new TreeMap<>())
            .put(r.getString(2), r.getLong(3));
      } else {
        filtered.put(r.getString(1), r.getLong(3));
      }
    }
    return new OutputCheck(accounting, candidates, tokens, mismatches, rejects, filtered);
  }
}
