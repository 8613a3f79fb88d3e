package org.prefscore.job.report.html;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.isnan;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.posexplode;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.when;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.types.DataTypes;
import org.prefscore.job.config.Redactor;
import org.prefscore.job.io.RunOutput;
import org.prefscore.job.report.ProgressSamples;
import org.prefscore.job.report.RunManifest;
import org.prefscore.method.LogprobNormalization;
import org.prefscore.spark.OutputSchema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a run's {@code report.html} ({@link ReportPage}): reads the run's Parquet tables through
 * Spark into {@link ReportData} (histograms counted in Spark with {@link Histogram.Bins#indexOf}, a
 * bounded sample of points for the scatter), and its manifest. The thin Spark side of the report;
 * the page and the charts are pure.
 */
public final class RunReport {

  private static final Logger LOG = LoggerFactory.getLogger(RunReport.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** At most this many points in the scatter (the first by input row). */
  public static final int MAX_SCATTER_POINTS = 5000;

  private RunReport() {}

  /**
   * Writes the report of a run that is finishing; a failure is logged and recorded in the manifest
   * ({@code report.error}) but does not fail the run ({@code bin/prefscore report} can rebuild it).
   */
  public static void writeQuietly(
      SparkSession spark, RunOutput output, ObjectNode manifest, Redactor redactor) {
    try {
      long start = System.nanoTime();
      output.writeText(ReportPage.FILE, ReportPage.render(manifest, read(spark, output, manifest)));
      RunManifest.report(manifest, ReportPage.FILE, null);
      LOG.info("wrote {} in {} ms", ReportPage.FILE, (System.nanoTime() - start) / 1_000_000);
    } catch (VirtualMachineError e) {
      throw e;
    } catch (RuntimeException | Error e) {
      // Also java.awt errors (a machine without fonts): the data is written, the report is not.
      String why = redactor.redact(e.toString());
      LOG.warn("could not write {}: {}", ReportPage.FILE, why);
      RunManifest.report(manifest, ReportPage.FILE, why);
    }
  }

  /**
   * Rebuilds {@code report.html} of the finished run in {@code runDir} from its manifest and
   * tables; returns the report's path.
   */
  public static String rebuild(SparkSession spark, String runDir) {
    RunOutput output = RunOutput.of(spark, runDir);
    if (!output.exists(RunOutput.MANIFEST)) {
      throw new IllegalArgumentException(
          Redactor.maskUserInfo(output.path())
              + " has no "
              + RunOutput.MANIFEST
              + ": not a finished prefscore run");
    }
    JsonNode manifest;
    try {
      manifest = JSON.readTree(output.readText(RunOutput.MANIFEST));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot parse " + RunOutput.MANIFEST, e);
    }
    long start = System.nanoTime();
    output.writeText(ReportPage.FILE, ReportPage.render(manifest, read(spark, output, manifest)));
    LOG.info("wrote {} in {} ms", ReportPage.FILE, (System.nanoTime() - start) / 1_000_000);
    return output.path(ReportPage.FILE);
  }

  /**
   * What the report draws from the run's tables and progress samples: four Spark jobs in west-of-n
   * (the range and the bin counts of every value of the pairs and filtered tables together, then of
   * the candidates), two more for the scatter in score-pairs and evaluate.
   */
  public static ReportData read(SparkSession spark, RunOutput output, JsonNode manifest) {
    Map<String, Histogram> histograms = new HashMap<>();
    Map<String, Map<String, Long>> categories = new HashMap<>();
    ReportData.Scatter scatter = null;
    boolean westOfN = "west-of-n".equals(manifest.path("mode").asText());
    Dataset<Row> pairs = output.exists("pairs") ? output.read("pairs") : null;
    Dataset<Row> filtered = output.exists("filtered") ? output.read("filtered") : null;

    if (pairs != null) {
      // pairs and filtered (west-of-n's selected pairs) in one pass; "written" marks the pairs.
      List<String> wanted =
          List.of(
              OutputSchema.REWARD_CHOSEN,
              OutputSchema.REWARD_REJECTED,
              OutputSchema.CONFIDENCE,
              "policy_chosen_logprob",
              "policy_rejected_logprob",
              "chosen_tokens",
              "rejected_tokens",
              OutputSchema.DPO_MARGIN,
              "refinement",
              OutputSchema.SCORE_GAP,
              OutputSchema.KNOCKOUT_COMPARISONS);
      List<String> present = new ArrayList<>();
      for (String c : wanted) {
        if (has(pairs, List.of(c)) && (filtered == null || has(filtered, List.of(c)))) {
          present.add(c);
        }
      }
      Dataset<Row> rows = pairs.select(withFlag(present, true));
      if (westOfN && output.exists("pairs_conversational")) {
        // the chat prompts' pairs (TRL's conversational format): the same numeric columns
        rows =
            rows.unionByName(output.read("pairs_conversational").select(withFlag(present, true)));
      }
      if (westOfN && filtered != null) {
        rows = rows.unionByName(filtered.select(withFlag(present, false)));
      }
      Column written = col("written");
      List<Spec> specs = new ArrayList<>();
      if (westOfN
          && present.containsAll(
              List.of(OutputSchema.REWARD_CHOSEN, OutputSchema.REWARD_REJECTED))) {
        specs.add(new Spec(ReportData.REWARD_CHOSEN, col(OutputSchema.REWARD_CHOSEN), "reward"));
        specs.add(
            new Spec(ReportData.REWARD_REJECTED, col(OutputSchema.REWARD_REJECTED), "reward"));
        specs.add(
            new Spec(
                ReportData.REWARD_GAP,
                col(OutputSchema.REWARD_CHOSEN).minus(col(OutputSchema.REWARD_REJECTED)),
                "gap"));
      }
      if (westOfN
          && manifest.has("knockout")
          && present.contains(OutputSchema.KNOCKOUT_COMPARISONS)) {
        specs.add(
            new Spec(
                ReportData.KNOCKOUT_COMPARISONS,
                col(OutputSchema.KNOCKOUT_COMPARISONS),
                "comparisons",
                true));
      }
      if (westOfN && present.contains(OutputSchema.CONFIDENCE)) {
        specs.add(new Spec(ReportData.CONFIDENCE, col(OutputSchema.CONFIDENCE), "confidence"));
      }
      if (westOfN
          && present.containsAll(
              List.of(
                  "policy_chosen_logprob",
                  "policy_rejected_logprob",
                  "chosen_tokens",
                  "rejected_tokens"))) {
        LogprobNormalization norm =
            "per-token".equals(manifest.at("/config/filter.likelihood.normalization").asText())
                ? LogprobNormalization.PER_TOKEN
                : LogprobNormalization.SUM;
        org.apache.spark.sql.expressions.UserDefinedFunction ell =
            udf(
                (UDF2<Double, Integer, Double>)
                    (lp, n) -> lp == null || n == null ? null : norm.of(lp, n),
                DataTypes.DoubleType);
        specs.add(
            new Spec(
                ReportData.LIKELIHOOD_CHOSEN,
                ell.apply(col("policy_chosen_logprob"), col("chosen_tokens")),
                "likelihood"));
        specs.add(
            new Spec(
                ReportData.LIKELIHOOD_REJECTED,
                ell.apply(col("policy_rejected_logprob"), col("rejected_tokens")),
                "likelihood"));
      }
      for (String[] c :
          new String[][] {
            {ReportData.DPO_MARGIN, OutputSchema.DPO_MARGIN},
            {ReportData.REFINEMENT, "refinement"},
            {ReportData.SCORE_GAP, OutputSchema.SCORE_GAP}
          }) {
        if (present.contains(c[1])) {
          specs.add(new Spec(c[0], when(written, col(c[1])), c[0]));
        }
      }
      histograms.putAll(histograms(rows, specs, null).histograms());
      if (!westOfN
          && has(pairs, List.of(OutputSchema.DPO_MARGIN, OutputSchema.SCORE_GAP, "input_row"))) {
        scatter = scatter(pairs);
      }
    }
    if (output.exists("candidates")) {
      Dataset<Row> candidates = output.read("candidates");
      if (has(candidates, List.of("response_tokens", "finish_reason"))) {
        Counted c =
            histograms(
                candidates,
                List.of(
                    new Spec(ReportData.RESPONSE_TOKENS, col("response_tokens"), "tokens", true)),
                col("finish_reason"));
        histograms.putAll(c.histograms());
        categories.put(ReportData.FINISH_REASON, c.rowsPerCategory());
      }
    }
    List<ProgressSamples.Sample> progress = List.of();
    if (output.exists(ProgressSamples.FILE)) {
      try {
        progress = ProgressSamples.fromJson(JSON.readTree(output.readText(ProgressSamples.FILE)));
      } catch (IOException e) {
        LOG.warn("cannot parse {}: {}", ProgressSamples.FILE, e.toString());
      }
    }
    return new ReportData(histograms, categories, scatter, progress);
  }

  private static Column[] withFlag(List<String> columns, boolean written) {
    List<Column> cols = new ArrayList<>();
    columns.forEach(c -> cols.add(col(c)));
    cols.add(lit(written).as("written"));
    return cols.toArray(Column[]::new);
  }

  /** A histogram to count: its name, the value, the group whose histograms share bins. */
  record Spec(String name, Column value, String group, boolean integer) {
    Spec(String name, Column value, String group) {
      this(name, value, group, false);
    }
  }

  /** Histograms by name, and rows per value of the category column (empty without one). */
  record Counted(Map<String, Histogram> histograms, Map<String, Long> rowsPerCategory) {}

  /**
   * Histograms of {@code specs} over {@code table} in two Spark jobs: the range of every value,
   * then the count per bin of every value (and the rows per value of {@code category}, when not
   * null, in the same pass). A value with no finite entry has no histogram.
   */
  static Counted histograms(Dataset<Row> table, List<Spec> specs, Column category) {
    Map<String, Histogram> out = new LinkedHashMap<>();
    Map<String, Long> perCategory = new TreeMap<>();
    if (specs.isEmpty()) {
      return new Counted(out, perCategory);
    }
    List<Column> values = new ArrayList<>();
    List<Column> ranges = new ArrayList<>();
    for (int i = 0; i < specs.size(); i++) {
      Column v = specs.get(i).value().cast(DataTypes.DoubleType);
      values.add(
          when(
                  v.isNull()
                      .or(isnan(v))
                      .or(v.equalTo(lit(Double.POSITIVE_INFINITY)))
                      .or(v.equalTo(lit(Double.NEGATIVE_INFINITY))),
                  lit(null).cast(DataTypes.DoubleType))
              .otherwise(v)
              .as("v" + i));
      ranges.add(min(col("v" + i)));
      ranges.add(max(col("v" + i)));
    }
    values.add((category == null ? lit(null).cast(DataTypes.StringType) : category).as("category"));
    Dataset<Row> finite = table.select(values.toArray(Column[]::new));
    Row range =
        finite.agg(ranges.get(0), ranges.subList(1, ranges.size()).toArray(Column[]::new)).first();
    Map<String, double[]> groupRange = new HashMap<>();
    for (int i = 0; i < specs.size(); i++) {
      if (range.isNullAt(2 * i)) {
        continue;
      }
      double lo = range.getDouble(2 * i);
      double hi = range.getDouble(2 * i + 1);
      groupRange.merge(
          specs.get(i).group(),
          new double[] {lo, hi},
          (a, b) -> new double[] {Math.min(a[0], b[0]), Math.max(a[1], b[1])});
    }
    Histogram.Bins[] bins = new Histogram.Bins[specs.size()];
    List<Column> binColumns = new ArrayList<>();
    for (int i = 0; i < specs.size(); i++) {
      double[] r = range.isNullAt(2 * i) ? null : groupRange.get(specs.get(i).group());
      if (r == null) {
        binColumns.add(lit(null).cast(DataTypes.IntegerType));
        continue;
      }
      Histogram.Bins b =
          specs.get(i).integer()
              ? Histogram.Bins.integers(
                  (long) Math.floor(r[0]), (long) Math.ceil(r[1]), Histogram.DEFAULT_BINS * 2)
              : Histogram.Bins.covering(r[0], r[1], Histogram.DEFAULT_BINS);
      bins[i] = b;
      UDF1<Double, Integer> index =
          v -> {
            if (v == null) {
              return null;
            }
            int k = b.indexOf(v);
            return k < 0 ? null : k;
          };
      binColumns.add(udf(index, DataTypes.IntegerType).apply(col("v" + i)));
    }
    // One more entry per row, always 0: counts the rows per category.
    binColumns.add(lit(0));
    long[][] counts = new long[specs.size()][];
    for (int i = 0; i < specs.size(); i++) {
      counts[i] = bins[i] == null ? null : new long[bins[i].count()];
    }
    for (Row r :
        finite
            .select(col("category"), posexplode(array(binColumns.toArray(Column[]::new))))
            .where(col("col").isNotNull())
            .groupBy("category", "pos", "col")
            .count()
            .collectAsList()) {
      int pos = r.getInt(1);
      if (pos == specs.size()) {
        if (category != null) {
          perCategory.merge(r.isNullAt(0) ? "(none)" : r.getString(0), r.getLong(3), Long::sum);
        }
      } else {
        counts[pos][r.getInt(2)] += r.getLong(3);
      }
    }
    for (int i = 0; i < specs.size(); i++) {
      if (bins[i] != null) {
        out.put(specs.get(i).name(), bins[i].histogram(counts[i]));
      }
    }
    return new Counted(out, perCategory);
  }

  private static ReportData.Scatter scatter(Dataset<Row> pairs) {
    Dataset<Row> both =
        pairs
            .select(col("input_row"), col(OutputSchema.DPO_MARGIN), col(OutputSchema.SCORE_GAP))
            .where(
                col(OutputSchema.DPO_MARGIN)
                    .isNotNull()
                    .and(col(OutputSchema.SCORE_GAP).isNotNull())
                    .and(not(isnan(col(OutputSchema.DPO_MARGIN))))
                    .and(not(isnan(col(OutputSchema.SCORE_GAP)))));
    long total = both.count();
    if (total == 0) {
      return null;
    }
    List<Row> rows = both.orderBy("input_row").limit(MAX_SCATTER_POINTS).collectAsList();
    double[] m = new double[rows.size()];
    double[] g = new double[rows.size()];
    for (int i = 0; i < rows.size(); i++) {
      m[i] = rows.get(i).getDouble(1);
      g[i] = rows.get(i).getDouble(2);
    }
    return new ReportData.Scatter(m, g, total);
  }

  private static Column not(Column c) {
    return org.apache.spark.sql.functions.not(c);
  }

  private static boolean has(Dataset<Row> table, List<String> columns) {
    return Set.of(table.columns()).containsAll(columns);
  }

  private static Column[] columns(List<String> names) {
    return names.stream().map(org.apache.spark.sql.functions::col).toArray(Column[]::new);
  }
}
