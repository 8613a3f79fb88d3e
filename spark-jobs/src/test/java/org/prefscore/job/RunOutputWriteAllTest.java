package org.prefscore.job;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.job.config.RunControl;
import org.prefscore.job.io.RunOutput;

/** {@link RunOutput#writeAll}: tables written together, each as a write of its own would. */
class RunOutputWriteAllTest {

  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = TestSupport.localSpark("run-output-write-all-test");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static Dataset<Row> numbers(long from, long to) {
    return spark.range(from, to).toDF("n").withColumn("half", col("n").divide(2));
  }

  @Test
  void everyTableIsWrittenWithItsRows(@TempDir Path out) {
    RunOutput output = new RunOutput(spark, out.toString(), "r1", RunControl.Commit.RENAME);
    output.begin();
    Map<String, Dataset<Row>> tables = new LinkedHashMap<>();
    tables.put("a", numbers(0, 10));
    tables.put("b", numbers(10, 15).repartition(3));
    tables.put("c", numbers(0, 0));
    output.writeAll(tables);

    assertThat(output.read("a").orderBy("n").collectAsList())
        .isEqualTo(numbers(0, 10).collectAsList());
    assertThat(output.read("b").orderBy("n").collectAsList())
        .isEqualTo(numbers(10, 15).collectAsList());
    assertThat(output.read("c").count()).isZero();
    // Read back with the schema each was written with (no footer job), the fields nullable.
    assertThat(output.read("b").schema().fieldNames()).containsExactly("n", "half");
  }

  @Test
  void aFailedWriteIsThrownAfterTheOthersFinished(@TempDir Path out) {
    RunOutput output = new RunOutput(spark, out.toString(), "r2", RunControl.Commit.RENAME);
    output.begin();
    UDF1<Long, Long> refuse =
        n -> {
          if (n == 3) {
            throw new IllegalStateException("row 3 refused");
          }
          return n;
        };
    Map<String, Dataset<Row>> tables = new LinkedHashMap<>();
    tables.put("good1", numbers(0, 20));
    tables.put("bad", numbers(0, 5).select(udf(refuse, DataTypes.LongType).apply(col("n"))));
    tables.put("good2", numbers(20, 30));

    assertThatThrownBy(() -> output.writeAll(tables)).hasStackTraceContaining("row 3 refused");
    // The tables that could be written were, completely.
    assertThat(output.exists("good1/_SUCCESS")).isTrue();
    assertThat(output.exists("good2/_SUCCESS")).isTrue();
    assertThat(output.exists("bad/_SUCCESS")).isFalse();
    assertThat(output.read("good1").count()).isEqualTo(20);
    assertThat(
            output
                .read("good2")
                .select("n")
                .as(org.apache.spark.sql.Encoders.LONG())
                .collectAsList())
        .containsExactlyInAnyOrderElementsOf(
            List.of(20L, 21L, 22L, 23L, 24L, 25L, 26L, 27L, 28L, 29L));
  }
}
