package org.prefscore.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.job.config.RunControl;
import org.prefscore.job.io.RunOutput;
import org.prefscore.job.report.OutputCheck;

/** {@link OutputCheck}: the verify stage's figures, from two queries over written tables. */
class OutputCheckTest {

  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = TestSupport.localSpark("output-check-test");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static Dataset<Row> rows(long from, long to, String... expressions) {
    return spark.range(from, to).toDF("input_row").selectExpr(expressions);
  }

  /** Writes pairs (ids 0-5, two with a prefix mismatch), filtered (6-8), rejects (9). */
  private static RunOutput output(Path out, long rejectsTo) {
    RunOutput output = new RunOutput(spark, out.toString(), "r", RunControl.Commit.RENAME);
    output.begin();
    output.write("pairs", rows(0, 6, "input_row", "input_row % 3 = 0 AS prefix_mismatch"));
    output.write(
        "filtered",
        rows(
            6,
            9,
            "input_row",
            "IF(input_row = 6, 'LOW_LIKELIHOOD', 'LOW_CONFIDENCE') AS filter_reason"));
    output.write(
        "rejects",
        rows(9, rejectsTo, "input_row", "'prepare' AS stage", "'EMPTY_PROMPT' AS reason_code"));
    output.write("candidates", rows(0, 4, "CAST(input_row + 10 AS INT) AS response_tokens"));
    return output;
  }

  @Test
  void countsEveryTableInTwoQueries(@TempDir Path out) {
    OutputCheck check =
        OutputCheck.of(spark, output(out, 10), 10, List.of("pairs", "filtered", "rejects"), true);

    assertThat(check.accounting().holds()).isTrue();
    assertThat(check.accounting().perTable())
        .containsExactly(
            Map.entry("pairs", 6L), Map.entry("filtered", 3L), Map.entry("rejects", 1L));
    assertThat(check.candidates()).isEqualTo(4);
    assertThat(check.generatedTokens()).isEqualTo(10 + 11 + 12 + 13);
    assertThat(check.prefixMismatchPairs()).isEqualTo(2);
    assertThat(check.rejectsByStageAndReason())
        .isEqualTo(Map.of("prepare", Map.of("EMPTY_PROMPT", 1L)));
    assertThat(check.filteredByReason())
        .containsExactly(Map.entry("LOW_CONFIDENCE", 2L), Map.entry("LOW_LIKELIHOOD", 1L));
  }

  @Test
  void aMissingIdFailsTheIdentityAndIsNamed(@TempDir Path out) {
    // 11 input rows, ids 0-9 written: id 10 is missing although the rows' ids are distinct.
    OutputCheck check =
        OutputCheck.of(spark, output(out, 10), 11, List.of("pairs", "filtered", "rejects"), false);

    assertThat(check.accounting().holds()).isFalse();
    assertThat(check.accounting().problem()).contains("missing input_row e.g. [10]");
    assertThat(check.candidates()).isZero();
    assertThat(check.generatedTokens()).isZero();
  }

  @Test
  void anIdInTwoTablesFailsTheIdentity(@TempDir Path out) {
    RunOutput output = output(out, 10);
    // Row 9 as a reject and again as a filtered pair; with 10 input rows, 11 rows are written.
    output.write("filtered", rows(6, 10, "input_row", "'LOW_CONFIDENCE' AS filter_reason"));

    OutputCheck check =
        OutputCheck.of(spark, output, 10, List.of("pairs", "filtered", "rejects"), false);

    assertThat(check.accounting().holds()).isFalse();
    assertThat(check.accounting().problem())
        .contains("10 distinct input_row ids")
        .contains("input_row in more than one place e.g. [[9,2]]");
  }
}
