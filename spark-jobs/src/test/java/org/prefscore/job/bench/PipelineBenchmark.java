package org.prefscore.job.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.SparkSession;
import org.prefscore.job.PipelineRunner;
import org.prefscore.job.PrefscoreJob;

/**
 * End-to-end wall time of a local west-of-n run against the time spent inside model calls, at input
 * sizes a factor of 10 apart: the pipeline's overhead ratio. Not a test; run it with
 *
 * <pre>
 * mvn -B -ntp -q install -DskipTests &amp;&amp; mvn -B -ntp -q -pl spark-jobs -Pbench exec:exec
 * (sizes: -Dbench.args="20 200")
 * </pre>
 *
 * <p>Setup: one local[2] session, the bundled prompts (the first K plain-text ones of
 * data/prompts.jsonl), the fixture models and conf/local.properties' sampling and filters (N = 8,
 * 24 new tokens). A warm-up run of 8 prompts loads the models and warms the JIT first. Model time
 * is the sum, over tasks, of SampleGenerator.modelNanos (policy forward passes) and the wall time
 * of the reward and scoring calls, carried to the driver by accumulators. With 2 task slots, "model
 * wall" = model time / 2 is what the model calls would take if perfectly parallel, and the overhead
 * ratio is run wall time / model wall.
 */
public final class PipelineBenchmark {

  private PipelineBenchmark() {}

  public static void main(String[] args) throws IOException {
    List<Integer> sizes = new ArrayList<>();
    for (String a : args) {
      sizes.add(Integer.parseInt(a));
    }
    if (sizes.isEmpty()) {
      sizes = List.of(20, 200);
    }
    Path root = Path.of("").toAbsolutePath();
    Path work = Files.createTempDirectory("prefscore-bench");
    List<String> prompts = new ArrayList<>();
    for (String line :
        Files.readAllLines(root.resolve("data/prompts.jsonl"), StandardCharsets.UTF_8)) {
      if (line.startsWith("{\"prompt\": \"") && !line.contains("Repeat after me")) {
        prompts.add(line);
      }
    }
    int slots = 2;
    SparkSession spark =
        SparkSession.builder()
            .master("local[" + slots + "]")
            .appName("prefscore-bench")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .getOrCreate();
    spark.sparkContext().setLogLevel("WARN");
    try {
      run(spark, root, work, prompts, 8, "warmup");
      List<String> rows = new ArrayList<>();
      rows.add(
          String.format(
              Locale.ROOT,
              "| prompts | samples | wall s | model s (sum over tasks: gen + reward + score) | model wall s (/%d slots) | overhead ratio | tokens/s (run) | stage seconds |",
              slots));
      rows.add("| --- | --- | --- | --- | --- | --- | --- | --- |");
      for (int size : sizes) {
        long start = System.nanoTime();
        JsonNode m = run(spark, root, work, prompts, size, "n" + size);
        double wall = (System.nanoTime() - start) / 1e9;
        JsonNode model = m.path("throughput").path("model_seconds_summed_over_tasks");
        double modelSeconds = model.path("total").asDouble();
        double modelWall = modelSeconds / slots;
        StringBuilder stages = new StringBuilder();
        m.path("timings_seconds")
            .fields()
            .forEachRemaining(
                e -> {
                  if (!e.getKey().equals("total")) {
                    stages.append(
                        String.format(
                            Locale.ROOT, "%s %.1f, ", e.getKey(), e.getValue().asDouble()));
                  }
                });
        rows.add(
            String.format(
                Locale.ROOT,
                "| %d | %d | %.1f | %.1f (%.1f + %.1f + %.1f) | %.1f | %.1f | %.0f | %s |",
                size,
                m.path("counts").path("samples").asLong(),
                wall,
                modelSeconds,
                model.path("generation").asDouble(),
                model.path("reward").asDouble(),
                model.path("scoring").asDouble(),
                modelWall,
                wall / modelWall,
                m.path("throughput").path("generated_tokens").asLong() / wall,
                stages.substring(0, stages.length() - 2)));
      }
      System.out.println();
      System.out.println(String.join("\n", rows));
    } finally {
      spark.stop();
    }
  }

  private static JsonNode run(
      SparkSession spark, Path root, Path work, List<String> prompts, int size, String id)
      throws IOException {
    Path input = work.resolve(id + ".jsonl");
    Files.write(input, prompts.subList(0, Math.min(size, prompts.size())), StandardCharsets.UTF_8);
    String[] args = {
      "west-of-n",
      "--config",
      root.resolve("conf/local.properties").toString(),
      "--set",
      "input.path=" + input,
      "--set",
      "output.path=" + work.resolve("out"),
      "--set",
      "run.id=" + id,
      "--set",
      "models.policy=" + root.resolve("fixtures/models/tiny-llama"),
      "--set",
      "models.reference=" + root.resolve("fixtures/models/tiny-llama"),
      "--set",
      "models.reward=" + root.resolve("fixtures/models/tiny-reward"),
      "--set",
      "progress.interval-seconds=0"
    };
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    PipelineRunner.RunResult r = PrefscoreJob.execute(args, quiet, quiet, c -> spark);
    System.out.println(r.summary());
    return r.manifest();
  }
}
