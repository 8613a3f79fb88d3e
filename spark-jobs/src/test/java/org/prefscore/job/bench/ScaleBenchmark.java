package org.prefscore.job.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.management.GarbageCollectionNotificationInfo;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.NotificationEmitter;
import javax.management.openmbean.CompositeData;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerBlockUpdated;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.BlockUpdatedInfo;
import org.prefscore.job.PipelineRunner;
import org.prefscore.job.PrefscoreJob;

/**
 * How a west-of-n run's cost grows with the number of prompts, N and the prompt length, from
 * Spark's own metrics. Not a test; run it with
 *
 * <pre>
 * mvn -B -ntp -q -pl spark-jobs -am -Pbench -DskipTests -Dexec.skip=true -Dexec.executable=java \
 *   test-compile org.codehaus.mojo:exec-maven-plugin:exec \
 *   -Dbench.main=org.prefscore.job.bench.ScaleBenchmark -Dbench.args="1000:16 1000:64 10000:16"
 * </pre>
 *
 * <p>Each argument is PROMPTS:N. For each, two runs on synthetic prompts (seeded random English
 * words, as short and as long as the fixture's 256-token context allows with 2 new tokens): short
 * (10 words) and long (60 words); PROMPTS:N:WORDS runs only that one (so that one JVM holds one
 * configuration and its resident-size high-water mark is that run's). Reported per run: wall time,
 * time outside model calls (wall − model time / task slots), shuffle bytes written and read (task
 * metrics), peak bytes of persisted blocks (block updates), peak JVM heap used and peak resident
 * set size (both sampled every 50 ms; local mode, so the executors'), the peak heap left after a
 * garbage collection (the largest live heap any collection of the run found, from the collectors'
 * notifications: what the run needed, where the sampled peak also counts garbage not yet
 * collected), and the prompt text's bytes. Per pair of runs: the marginal shuffle bytes written per
 * added byte of prompt text (one copy of each prompt would be about 1), and the samples' own
 * payload (response text bytes) against the shuffle bytes.
 */
public final class ScaleBenchmark {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String[] WORDS = {
    "the",
    "model",
    "should",
    "explain",
    "why",
    "water",
    "boils",
    "at",
    "lower",
    "temperature",
    "on",
    "a",
    "mountain",
    "and",
    "what",
    "this",
    "means",
    "for",
    "cooking",
    "rice",
    "pasta",
    "with",
    "some",
    "examples",
    "from",
    "history",
    "science",
    "people",
    "write",
    "short",
    "story",
    "about",
    "city",
    "river",
    "under",
    "night",
    "sky",
    "list",
    "three",
    "reasons",
    "to",
    "learn",
    "music",
    "while",
    "young",
    "old",
    "compare",
    "two",
    "ideas",
    "give",
    "clear",
    "answer"
  };

  private ScaleBenchmark() {}

  /** What Spark reported for one run. */
  static final class Metrics extends SparkListener {
    final AtomicLong shuffleWritten = new AtomicLong();
    final AtomicLong shuffleRead = new AtomicLong();
    final Map<String, Long> blocks = new ConcurrentHashMap<>();
    final AtomicLong peakPersisted = new AtomicLong();

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
      TaskMetrics m = end.taskMetrics();
      if (m != null) {
        shuffleWritten.addAndGet(m.shuffleWriteMetrics().bytesWritten());
        shuffleRead.addAndGet(m.shuffleReadMetrics().totalBytesRead());
      }
    }

    @Override
    public void onBlockUpdated(SparkListenerBlockUpdated update) {
      BlockUpdatedInfo info = update.blockUpdatedInfo();
      if (!info.blockId().isRDD()) {
        return;
      }
      long size = info.memSize() + info.diskSize();
      String key = info.blockManagerId().executorId() + "/" + info.blockId().name();
      if (size == 0) {
        blocks.remove(key);
      } else {
        blocks.put(key, size);
      }
      long total = blocks.values().stream().mapToLong(Long::longValue).sum();
      peakPersisted.accumulateAndGet(total, Math::max);
    }

    void reset() {
      shuffleWritten.set(0);
      shuffleRead.set(0);
      blocks.clear();
      peakPersisted.set(0);
    }
  }

  public static void main(String[] args) throws Exception {
    List<int[]> sizes = new ArrayList<>();
    for (String a : args.length == 0 ? new String[] {"1000:16", "1000:64"} : args) {
      String[] p = a.split(":");
      sizes.add(
          new int[] {
            Integer.parseInt(p[0]),
            Integer.parseInt(p[1]),
            p.length > 2 ? Integer.parseInt(p[2]) : 0
          });
    }
    Path root = Path.of("").toAbsolutePath();
    Path work = Files.createTempDirectory("prefscore-scale");
    int slots = 2;
    SparkSession spark =
        SparkSession.builder()
            .master("local[" + slots + "]")
            .appName("prefscore-scale")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .getOrCreate();
    spark.sparkContext().setLogLevel("WARN");
    Metrics metrics = new Metrics();
    spark.sparkContext().addSparkListener(metrics);
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    AtomicLong peakHeap = new AtomicLong();
    AtomicLong peakRss = new AtomicLong();
    AtomicLong peakLive = new AtomicLong();
    listenAfterCollections(peakLive);
    Thread sampler =
        new Thread(
            () -> {
              while (!Thread.currentThread().isInterrupted()) {
                peakHeap.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
                peakRss.accumulateAndGet(residentBytes(), Math::max);
                try {
                  Thread.sleep(50);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "heap-sampler");
    sampler.setDaemon(true);
    sampler.start();
    List<String> rows = new ArrayList<>();
    rows.add(
        "| prompts | N | words | prompt MB | samples | wall s | outside model s | shuffle written MB"
            + " | shuffle read MB | peak persisted MB | peak heap MB | peak heap after GC MB"
            + " | peak RSS MB | response MB |");
    rows.add(
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    List<String> marginal = new ArrayList<>();
    try {
      run(spark, root, work, 16, 4, 10, "warmup", metrics);
      for (int[] size : sizes) {
        int[] words = size[2] > 0 ? new int[] {size[2]} : new int[] {10, 60};
        double[][] r = new double[words.length][];
        for (int w = 0; w < words.length; w++) {
          System.gc();
          peakHeap.set(0);
          peakRss.set(0);
          peakLive.set(0);
          long start = System.nanoTime();
          JsonNode m =
              run(
                  spark,
                  root,
                  work,
                  size[0],
                  size[1],
                  words[w],
                  "p" + size[0] + "n" + size[1] + "w" + words[w],
                  metrics);
          double wall = (System.nanoTime() - start) / 1e9;
          double model =
              m.path("throughput").path("model_seconds_summed_over_tasks").path("total").asDouble();
          double promptBytes = m.path("bench").path("prompt_bytes").asDouble();
          double responseBytes = m.path("bench").path("response_bytes").asDouble();
          r[w] = new double[] {promptBytes, metrics.shuffleWritten.get()};
          rows.add(
              String.format(
                  Locale.ROOT,
                  "| %d | %d | %d | %.2f | %d | %.1f | %.1f | %.2f | %.2f | %.1f | %.0f | %.0f | %.0f"
                      + " | %.2f |",
                  size[0],
                  size[1],
                  words[w],
                  promptBytes / 1e6,
                  m.path("counts").path("samples").asLong(),
                  wall,
                  wall - model / slots,
                  metrics.shuffleWritten.get() / 1e6,
                  metrics.shuffleRead.get() / 1e6,
                  metrics.peakPersisted.get() / 1e6,
                  peakHeap.get() / 1e6,
                  peakLive.get() / 1e6,
                  peakRss.get() / 1e6,
                  responseBytes / 1e6));
          System.out.println(rows.get(rows.size() - 1));
        }
        if (words.length < 2) {
          continue;
        }
        marginal.add(
            String.format(
                Locale.ROOT,
                "| %d | %d | %.2f |",
                size[0],
                size[1],
                (r[1][1] - r[0][1]) / (r[1][0] - r[0][0])));
      }
    } finally {
      sampler.interrupt();
      spark.stop();
    }
    System.out.println();
    System.out.println(String.join("\n", rows));
    System.out.println();
    System.out.println("| prompts | N | shuffle bytes written per added prompt byte |");
    System.out.println("| --- | --- | --- |");
    System.out.println(String.join("\n", marginal));
  }

  /**
   * Keeps in {@code peak} the largest heap any garbage collection left behind (the sum over the
   * heap's pools of their usage after the collection), from the collectors' notifications.
   */
  private static void listenAfterCollections(AtomicLong peak) {
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      if (gc instanceof NotificationEmitter emitter) {
        emitter.addNotificationListener(
            (notification, handback) -> {
              if (GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(
                  notification.getType())) {
                GarbageCollectionNotificationInfo info =
                    GarbageCollectionNotificationInfo.from(
                        (CompositeData) notification.getUserData());
                long after =
                    info.getGcInfo().getMemoryUsageAfterGc().entrySet().stream()
                        .filter(e -> isHeapPool(e.getKey()))
                        .mapToLong(e -> e.getValue().getUsed())
                        .sum();
                peak.accumulateAndGet(after, Math::max);
              }
            },
            null,
            null);
      }
    }
  }

  private static boolean isHeapPool(String name) {
    return ManagementFactory.getMemoryPoolMXBeans().stream()
        .anyMatch(p -> p.getName().equals(name) && p.getType() == MemoryType.HEAP);
  }

  /**
   * The JVM's resident set size (heap, native arenas of ONNX Runtime, Spark's off-heap buffers),
   * from {@code /proc/self/status}; 0 where that file does not exist.
   */
  static long residentBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      return 0;
    }
    return 0;
  }

  /** One west-of-n run over {@code count} synthetic prompts of {@code words} words. */
  private static JsonNode run(
      SparkSession spark,
      Path root,
      Path work,
      int count,
      int n,
      int words,
      String id,
      Metrics metrics)
      throws IOException {
    metrics.reset();
    Random random = new Random(count * 31L + words);
    List<String> lines = new ArrayList<>(count);
    long promptBytes = 0;
    for (int i = 0; i < count; i++) {
      StringBuilder text = new StringBuilder("Prompt " + i + ":");
      for (int w = 0; w < words; w++) {
        text.append(' ').append(WORDS[random.nextInt(WORDS.length)]);
      }
      promptBytes += text.toString().getBytes(StandardCharsets.UTF_8).length;
      lines.add(JSON.writeValueAsString(Map.of("prompt", text.toString())));
    }
    Path input = work.resolve(id + ".jsonl");
    Files.write(input, lines, StandardCharsets.UTF_8);
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
      "models.policy-checkpoint=" + root.resolve("fixtures/models/tiny-llama-ckpt"),
      "--set",
      "models.reward=" + root.resolve("fixtures/models/tiny-reward"),
      "--set",
      "sampling.n=" + n,
      "--set",
      "sampling.max-new-tokens=2",
      "--set",
      "selection.truncated=keep",
      "--set",
      "runtime.token-budget=65536",
      "--set",
      "runtime.prompts-per-call=64",
      "--set",
      "progress.interval-seconds=0"
    };
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    PipelineRunner.RunResult result = PrefscoreJob.execute(args, quiet, quiet, c -> spark);
    com.fasterxml.jackson.databind.node.ObjectNode manifest = result.manifest().deepCopy();
    long rejects = manifest.path("counts").path("rejects").asLong();
    if (rejects > 0) {
      System.out.println(
          "  note: " + rejects + " rejects in " + id + ": " + manifest.path("reasons"));
    }
    org.apache.spark.sql.Row sum =
        spark
            .read()
            .parquet(result.outputPath() + "/candidates")
            .selectExpr("sum(octet_length(text))")
            .first();
    long responseBytes = sum.isNullAt(0) ? 0 : sum.getLong(0);
    manifest
        .putObject("bench")
        .put("prompt_bytes", promptBytes)
        .put("response_bytes", responseBytes);
    return manifest;
  }
}
