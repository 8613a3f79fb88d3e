package org.prefscore.job;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.xxhash64;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.prefscore.job.config.PipelineConfig;
import org.prefscore.job.config.Redactor;
import org.prefscore.job.io.InputReader;
import org.prefscore.job.io.RunOutput;
import org.prefscore.job.io.RunRefusedException;
import org.prefscore.job.report.Accounting;
import org.prefscore.spark.OutputSchema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Iterative West-of-N's training data for the student reward model (method.md §1.6): a seeded 1:1
 * mix of base preference pairs ({@code mix.base-preferences}) and the run's West-of-N pairs,
 * written as {@code mix} (pairs whose prompt is plain text: TRL's standard preference format with
 * an explicit prompt, the strings {@code prompt}, {@code chosen}, {@code rejected}) and {@code
 * mix_conversational} (TRL's conversational format: message lists), which TRL's {@code
 * RewardTrainer} reads as they are; base rows that are not valid pairs go to {@code base_rejects}
 * with a reason code, nothing converted.
 *
 * <p>The mix: with B valid base pairs and W West-of-N pairs (the rows of {@code pairs} and {@code
 * pairs_conversational}, after the filters), each side contributes m = min(B, W) pairs, so the mix
 * has exactly 2m rows, half of each. The larger side is subsampled: its rows ordered by the key
 * xxhash64(run.seed, run.round, source, prompt_id, source_row) (Spark's xxhash64, seed 42; ties by
 * source_row) and the first m kept; the smaller side is kept whole. Both tables are written in key
 * order, so the two sources are interleaved. The key depends on nothing but the row and the
 * configuration, so reruns, other partitionings and thread counts give the same mix. What is left
 * out is counted in the manifest ({@code mix.base_left_out}, {@code mix.west_of_n_left_out}); an
 * empty side gives an empty mix (logged, and said in the summary).
 *
 * <p>Checked on the tables as written, like the main accounting: each source has m rows in the mix,
 * and every base row is in the mix, left out, or in base_rejects, exactly once.
 */
final class IterativeMix {

  private static final Logger LOG = LoggerFactory.getLogger(IterativeMix.class);

  static final String MIX = "mix";
  static final String MIX_CONVERSATIONAL = "mix_conversational";
  static final String BASE_REJECTS = "base_rejects";

  private static final String KEY = "_mix_key";
  private static final String CONVERSATIONAL = "_conversational";
  private static final String P_MSGS = "_prompt_messages";
  private static final String C_MSGS = "_chosen_messages";
  private static final String R_MSGS = "_rejected_messages";

  private final SparkSession spark;
  private final PipelineConfig config;
  private final String path;
  private final Dataset<Row> classified;
  private final long baseRows;

  private IterativeMix(
      SparkSession spark,
      PipelineConfig config,
      String path,
      Dataset<Row> classified,
      long baseRows) {
    this.spark = spark;
    this.config = config;
    this.path = path;
    this.classified = classified;
    this.baseRows = baseRows;
  }

  /**
   * Reads and classifies the base preferences (before any model work, so a missing file fails the
   * run at once).
   *
   * @param persist persists a dataset for the rest of the run (the runner's, which releases it)
   * @throws RunRefusedException when the path matches no file
   */
  static IterativeMix read(
      SparkSession spark,
      PipelineConfig config,
      String path,
      java.util.function.UnaryOperator<Dataset<Row>> persist) {
    Redactor redactor = config.source().redactor();
    try {
      Path p = new Path(path);
      FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
      FileStatus[] matched = fs.globStatus(p);
      if (matched == null || matched.length == 0) {
        throw new RunRefusedException(
            "mix.base-preferences " + redactor.redact(path) + " does not exist");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot look for " + redactor.redact(path), e);
    }
    Dataset<Row> read = new InputReader(spark, config).readBasePreferences(path);
    Dataset<Row> classified = persist.apply(PromptPreparation.basePreferences(read));
    long rows = classified.count();
    LOG.info("mix.base-preferences {}: {} rows", redactor.redact(path), rows);
    return new IterativeMix(spark, config, path, classified, rows);
  }

  /**
   * Builds the mix from the run's written pairs tables, writes {@code mix}, {@code
   * mix_conversational} and {@code base_rejects}, checks them as written and returns the manifest's
   * {@code mix} object.
   */
  ObjectNode write(RunOutput output) {
    Dataset<Row> base = classified.filter(col(OutputSchema.REJECT_REASON).isNull());
    Dataset<Row> baseSide =
        base.select(
            lit(OutputSchema.SOURCE_BASE).as(OutputSchema.SOURCE),
            col(OutputSchema.PROMPT_ID),
            col(OutputSchema.INPUT_ROW).as(OutputSchema.SOURCE_ROW),
            col(OutputSchema.MESSAGES).isNotNull().as(CONVERSATIONAL),
            col(OutputSchema.PROMPT),
            col(OutputSchema.CHOSEN),
            col(OutputSchema.REJECTED),
            col(OutputSchema.MESSAGES).as(P_MSGS),
            col(OutputSchema.CHOSEN_MESSAGES).as(C_MSGS),
            col(OutputSchema.REJECTED_MESSAGES).as(R_MSGS));
    Column noText = lit(null).cast(DataTypes.StringType);
    Column noMessages = lit(null).cast(OutputSchema.MESSAGES_TYPE);
    Dataset<Row> text =
        output
            .read("pairs")
            .select(
                lit(OutputSchema.SOURCE_WEST_OF_N).as(OutputSchema.SOURCE),
                col(OutputSchema.PROMPT_ID),
                col(OutputSchema.INPUT_ROW).as(OutputSchema.SOURCE_ROW),
                lit(false).as(CONVERSATIONAL),
                col(OutputSchema.PROMPT),
                col(OutputSchema.CHOSEN),
                col(OutputSchema.REJECTED),
                noMessages.as(P_MSGS),
                noMessages.as(C_MSGS),
                noMessages.as(R_MSGS));
    Dataset<Row> conversational =
        output
            .read("pairs_conversational")
            .select(
                lit(OutputSchema.SOURCE_WEST_OF_N).as(OutputSchema.SOURCE),
                col(OutputSchema.PROMPT_ID),
                col(OutputSchema.INPUT_ROW).as(OutputSchema.SOURCE_ROW),
                lit(true).as(CONVERSATIONAL),
                noText.as(OutputSchema.PROMPT),
                noText.as(OutputSchema.CHOSEN),
                noText.as(OutputSchema.REJECTED),
                col(OutputSchema.PROMPT).cast(OutputSchema.MESSAGES_TYPE).as(P_MSGS),
                col(OutputSchema.CHOSEN).cast(OutputSchema.MESSAGES_TYPE).as(C_MSGS),
                col(OutputSchema.REJECTED).cast(OutputSchema.MESSAGES_TYPE).as(R_MSGS));
    Dataset<Row> westOfN = text.unionByName(conversational);
    long basePairs = base.count();
    long westOfNPairs = westOfN.count();
    long perSide = Math.min(basePairs, westOfNPairs);
    Dataset<Row> mix =
        take(keyed(baseSide), basePairs, perSide)
            .unionByName(take(keyed(westOfN), westOfNPairs, perSide))
            .persist(StorageLevel.MEMORY_AND_DISK());
    try {
      output.write(
          MIX,
          mix.filter(col(CONVERSATIONAL).equalTo(false))
              .orderBy(KEY, OutputSchema.SOURCE_ROW)
              .select(mixColumns(false)));
      output.write(
          MIX_CONVERSATIONAL,
          mix.filter(col(CONVERSATIONAL).equalTo(true))
              .orderBy(KEY, OutputSchema.SOURCE_ROW)
              .select(mixColumns(true)));
    } finally {
      mix.unpersist();
    }
    output.write(
        BASE_REJECTS,
        classified
            .filter(col(OutputSchema.REJECT_REASON).isNotNull())
            .select(
                col(OutputSchema.INPUT_ROW),
                col(OutputSchema.PROMPT_ID),
                col(OutputSchema.REJECT_STAGE).as(OutputSchema.STAGE),
                col(OutputSchema.REJECT_REASON).as(OutputSchema.REASON_CODE),
                col(OutputSchema.REJECT_DETAIL).as(OutputSchema.DETAIL)));
    return check(output, basePairs, westOfNPairs, perSide);
  }

  /** The rows with their mix key. */
  private Dataset<Row> keyed(Dataset<Row> side) {
    return side.withColumn(
        KEY,
        xxhash64(
            lit(config.runSeed()),
            lit(config.iteration().round()),
            col(OutputSchema.SOURCE),
            col(OutputSchema.PROMPT_ID),
            col(OutputSchema.SOURCE_ROW)));
  }

  /**
   * The first {@code m} rows of a side in key order (all of them when it has no more): a global
   * sort and a distributed row index, so the side never has to fit one partition.
   */
  private Dataset<Row> take(Dataset<Row> side, long rows, long m) {
    if (rows <= m) {
      return side;
    }
    StructType schema = side.schema();
    Dataset<Row> sorted = side.orderBy(KEY, OutputSchema.SOURCE_ROW);
    return spark.createDataFrame(
        sorted.javaRDD().zipWithIndex().filter(t -> t._2() < m).map(t -> t._1()), schema);
  }

  private static Column[] mixColumns(boolean conversational) {
    List<Column> out = new ArrayList<>();
    StructType schema = conversational ? OutputSchema.MIX_CONVERSATIONAL : OutputSchema.MIX;
    for (String name : schema.fieldNames()) {
      switch (name) {
        case OutputSchema.PROMPT -> out.add(col(conversational ? P_MSGS : name).as(name));
        case OutputSchema.CHOSEN -> out.add(col(conversational ? C_MSGS : name).as(name));
        case OutputSchema.REJECTED -> out.add(col(conversational ? R_MSGS : name).as(name));
        case OutputSchema.ROUND -> {
          // RunOutput.write sets run.round.
        }
        default -> out.add(col(name));
      }
    }
    return out.toArray(Column[]::new);
  }

  /** Counts the written tables and checks the mix's two identities. */
  private ObjectNode check(RunOutput output, long basePairs, long westOfNPairs, long perSide) {
    Map<String, Map<String, Long>> bySource = new TreeMap<>();
    for (String table : List.of(MIX, MIX_CONVERSATIONAL)) {
      Map<String, Long> counts = new TreeMap<>();
      counts.put(OutputSchema.SOURCE_BASE, 0L);
      counts.put(OutputSchema.SOURCE_WEST_OF_N, 0L);
      for (Row r : output.read(table).groupBy(OutputSchema.SOURCE).count().collectAsList()) {
        counts.put(r.getString(0), r.getLong(1));
      }
      bySource.put(table, counts);
    }
    long rejects = output.read(BASE_REJECTS).count();
    long baseInMix =
        bySource.get(MIX).get(OutputSchema.SOURCE_BASE)
            + bySource.get(MIX_CONVERSATIONAL).get(OutputSchema.SOURCE_BASE);
    long westOfNInMix =
        bySource.get(MIX).get(OutputSchema.SOURCE_WEST_OF_N)
            + bySource.get(MIX_CONVERSATIONAL).get(OutputSchema.SOURCE_WEST_OF_N);
    List<String> problems = new ArrayList<>();
    if (baseInMix != perSide || westOfNInMix != perSide) {
      problems.add(
          "the mix holds "
              + baseInMix
              + " base and "
              + westOfNInMix
              + " West-of-N pairs, expected "
              + perSide
              + " of each");
    }
    if (basePairs + rejects != baseRows) {
      problems.add(
          "base rows " + baseRows + " != valid pairs " + basePairs + " + base_rejects " + rejects);
    }
    if (!problems.isEmpty()) {
      throw new Accounting.AccountingException("mix: " + String.join("; ", problems));
    }
    if (perSide == 0) {
      LOG.warn(
          "the mix is empty: {} valid base pairs, {} West-of-N pairs (a 1:1 mix takes min of the"
              + " two from each)",
          basePairs,
          westOfNPairs);
    }
    ObjectNode n = JsonNodeFactory.instance.objectNode();
    n.put("base_preferences", config.source().redactor().redact(path));
    n.put("round", config.iteration().round());
    n.put("base_rows", baseRows);
    n.put("base_rejects", rejects);
    n.put("base_pairs", basePairs);
    n.put("west_of_n_pairs", westOfNPairs);
    n.put("pairs_per_source", perSide);
    n.put("rows", 2 * perSide);
    n.put("base_left_out", basePairs - perSide);
    n.put("west_of_n_left_out", westOfNPairs - perSide);
    ObjectNode tables = n.putObject("tables");
    bySource.forEach(
        (table, counts) -> {
          ObjectNode t = tables.putObject(table);
          counts.forEach(t::put);
        });
    n.put(
        "selection",
        "1:1: min(base_pairs, west_of_n_pairs) from each source; the larger source's rows in"
            + " order of xxhash64(run.seed, run.round, source, prompt_id, source_row), first ones"
            + " kept");
    return n;
  }
}
