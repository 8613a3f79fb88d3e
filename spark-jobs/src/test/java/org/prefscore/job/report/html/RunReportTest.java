package org.prefscore.job.report.html;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The Spark side of the report counts what the pure histogram counts. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RunReportTest {

  private SparkSession spark;

  @BeforeAll
  void start() {
    spark =
        SparkSession.builder()
            .master("local[2]")
            .appName("RunReportTest")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .getOrCreate();
  }

  @AfterAll
  void stop() {
    spark.stop();
  }

  @Test
  void histogramsCountedInSparkEqualThePureOnesWithSharedBinsAndCategories() {
    Random rnd = new Random(7);
    List<Row> rows = new ArrayList<>();
    List<Double> a = new ArrayList<>();
    List<Double> b = new ArrayList<>();
    List<Double> t = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      double x = rnd.nextGaussian() * 3;
      double y = rnd.nextGaussian() + 4;
      Double tokens = (double) rnd.nextInt(24) + 1;
      if (i % 97 == 0) {
        y = Double.NaN; // left out, as a null or an infinity is
      }
      Double yy = i % 101 == 0 ? null : i % 103 == 0 ? Double.POSITIVE_INFINITY : y;
      rows.add(RowFactory.create(x, yy, tokens.intValue(), i % 3 == 0 ? "EOS" : "LENGTH"));
      a.add(x);
      if (yy != null) {
        b.add(yy);
      }
      t.add(tokens);
    }
    StructType schema =
        new StructType()
            .add("a", DataTypes.DoubleType)
            .add("b", DataTypes.DoubleType)
            .add("tokens", DataTypes.IntegerType)
            .add("reason", DataTypes.StringType);
    Dataset<Row> df = spark.createDataFrame(rows, schema);
    RunReport.Counted c =
        RunReport.histograms(
            df,
            List.of(
                new RunReport.Spec("a", col("a"), "shared"),
                new RunReport.Spec("b", col("b"), "shared"),
                new RunReport.Spec("gap", col("a").minus(col("b")), "gap"),
                new RunReport.Spec("tokens", col("tokens"), "tokens", true)),
            col("reason"));

    double lo = Math.min(min(a), min(b));
    double hi = Math.max(max(a), max(b));
    Histogram.Bins shared = Histogram.Bins.covering(lo, hi, Histogram.DEFAULT_BINS);
    assertThat(c.histograms().get("a").counts())
        .containsExactly(Histogram.of(arr(a), shared).counts());
    assertThat(c.histograms().get("b").counts())
        .containsExactly(Histogram.of(arr(b), shared).counts());
    assertThat(c.histograms().get("a").edges()).containsExactly(c.histograms().get("b").edges());
    assertThat(c.histograms().get("a").total()).isEqualTo(1000);
    assertThat(c.histograms().get("b").total())
        .isEqualTo(b.stream().filter(Double::isFinite).count());
    assertThat(c.histograms().get("tokens").counts())
        .containsExactly(Histogram.of(arr(t), Histogram.Bins.integers(1, 24, 80)).counts());
    assertThat(c.histograms().get("gap").total())
        .isEqualTo(b.stream().filter(Double::isFinite).count());
    assertThat(c.rowsPerCategory()).isEqualTo(Map.of("EOS", 334L, "LENGTH", 666L));
  }

  @Test
  void aValueWithNoFiniteEntryHasNoHistogram() {
    Dataset<Row> df =
        spark.createDataFrame(
            List.of(RowFactory.create((Double) null), RowFactory.create(Double.NaN)),
            new StructType().add("a", DataTypes.DoubleType));
    assertThat(
            RunReport.histograms(df, List.of(new RunReport.Spec("a", col("a"), "a")), null)
                .histograms())
        .isEmpty();
  }

  private static double min(List<Double> v) {
    return v.stream().filter(Double::isFinite).mapToDouble(Double::doubleValue).min().orElseThrow();
  }

  private static double max(List<Double> v) {
    return v.stream().filter(Double::isFinite).mapToDouble(Double::doubleValue).max().orElseThrow();
  }

  private static double[] arr(List<Double> v) {
    return v.stream().mapToDouble(Double::doubleValue).toArray();
  }
}
