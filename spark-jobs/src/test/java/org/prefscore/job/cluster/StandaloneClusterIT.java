package org.prefscore.job.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.prefscore.job.PrefscoreJob;
import org.prefscore.job.TestSupport;
import org.prefscore.job.io.RunLease;
import org.prefscore.job.io.RunOutput;
import org.prefscore.job.io.RunRefusedException;

/**
 * The application jar on a real Spark standalone cluster: a master and two workers (1 core, 1 GiB
 * each) as separate JVMs on 127.0.0.1, the shaded jar submitted with Spark's own launcher in client
 * deploy mode, west-of-n on a small prompt set (plain and chat prompts, bad rows) with the fixture
 * models, configured by conf/cluster.properties plus --set overrides. Its output must equal a
 * local-mode run ({@code local[2]}, in this JVM, from the unshaded classes) of the same
 * configuration: texts, ids, seeds, counts and reasons exactly; doubles within {@link #TOLERANCE}.
 *
 * <p>Why equality is expected: every sample's seed derives from (run.seed, prompt_id, sample
 * index), both runs cut the prompts into the same partitions ({@code spark.partitions=8}, shuffle
 * partitions 2, Spark's sort before a round-robin repartition), so every executor call sees the
 * same batches, and ONNX Runtime runs one intra-op thread per model on the same machine: the
 * numbers come out bit-identical in practice. The tolerance (1e-4 absolute, on log-probs of about
 * -10 to -100 and rewards) only leaves room for float32 summation-order noise should a batch be
 * composed differently; a token sampled differently would change a text and fail the test.
 *
 * <p>That it ran on real processes is checked from three independent sides: the master's JSON (two
 * ALIVE workers, the application FINISHED), each worker's JSON (an executor of this application),
 * and the event log (tasks ended successfully on both executors, none on the driver) together with
 * each executor's own stderr (it loaded the models itself).
 *
 * <p>Then real faults on the same cluster ({@link #realFaults}): a rerun's driver killed midway
 * through generation (the published output stays complete; its lease refuses a second writer), and
 * its resume with an executor JVM killed midway (persisted partitions reused, fewer samples
 * generated, the lost executor and failed tasks in the manifest, tables and exact counts equal to
 * the local run's).
 */
class StandaloneClusterIT {

  /** Largest difference allowed between a double of the cluster run and of the local run. */
  static final double TOLERANCE = 1e-4;

  private static final String MAIN_CLASS = "org.prefscore.job.PrefscoreJob";

  /** Partitions of the model stages: several per executor, so a run can be killed midway. */
  private static final int PARTITIONS = 8;

  /** JVM flags of the test's own short-lived processes: faster start, same results. */
  private static final String FAST_START = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC";

  @Test
  @Timeout(value = 12, unit = TimeUnit.MINUTES)
  void westOfNOnTwoWorkersEqualsLocalMode() throws Exception {
    Path dir = runDir(Path.of(required("prefscore.it.dir")).toAbsolutePath());
    Path sparkHome = Path.of(required("prefscore.it.spark-home")).toAbsolutePath();
    Path appJar = Path.of(required("prefscore.it.app-jar")).toAbsolutePath();
    assertThat(appJar).as("the application jar (mvn package)").isRegularFile();
    Path fixtures = Path.of(required("prefscore.fixtures")).toAbsolutePath();
    Path repo = fixtures.getParent();
    Path prompts = writePrompts(repo.resolve("data/prompts.jsonl"), dir.resolve("prompts.jsonl"));
    Path events = Files.createDirectories(dir.resolve("events"));
    String djlOptions = required("prefscore.it.djl-opts");
    // Short-lived JVMs on 2 cores: C1 only and one GC thread start faster (test speed only).
    String jvmOptions = djlOptions + " " + FAST_START;

    try (StandaloneCluster cluster =
        new StandaloneCluster(
            sparkHome, dir, required("prefscore.it.add-opens") + " " + FAST_START)) {
      cluster.start(2, 1, "1g");

      // The reference, while the daemons boot: local[2] in this JVM, same configuration.
      long t0 = System.nanoTime();
      String localSummary =
          runLocal(
              jobArgs(
                  repo,
                  fixtures,
                  prompts,
                  dir,
                  "local",
                  "--set",
                  "spark.master=local[2]",
                  "--set",
                  "spark.conf.spark.ui.enabled=false",
                  "--set",
                  "spark.conf.spark.driver.host=127.0.0.1",
                  "--set",
                  "spark.conf.spark.driver.bindAddress=127.0.0.1"));
      System.out.printf("local[2] run: %.1f s%n%s%n", (System.nanoTime() - t0) / 1e9, localSummary);

      JsonNode master = cluster.awaitWorkers(2, Duration.ofSeconds(60));
      assertThat(master.path("workers")).hasSize(2);
      assertThat(master.path("cores").asInt()).isEqualTo(2);

      List<String> submit =
          new ArrayList<>(
              List.of(
                  "--master",
                  cluster.masterUrl(),
                  "--deploy-mode",
                  "client",
                  "--class",
                  MAIN_CLASS,
                  "--name",
                  "prefscore-cluster-it",
                  "--driver-memory",
                  "1g",
                  "--executor-memory",
                  "1g",
                  "--executor-cores",
                  "1",
                  "--total-executor-cores",
                  "2",
                  // DJL offline and its native scratch space; the module flags Spark adds by
                  // itself.
                  "--driver-java-options",
                  jvmOptions,
                  "--conf",
                  "spark.executor.extraJavaOptions=" + jvmOptions,
                  "--conf",
                  "spark.executorEnv.DJL_OFFLINE=true",
                  "--conf",
                  "spark.executorEnv.OPT_OUT_TRACKING=true",
                  "--conf",
                  "spark.driver.host=127.0.0.1",
                  "--conf",
                  "spark.driver.bindAddress=127.0.0.1",
                  "--conf",
                  "spark.ui.enabled=false",
                  // Both executors registered before the first job: both get tasks.
                  "--conf",
                  "spark.scheduler.minRegisteredResourcesRatio=1.0",
                  "--conf",
                  "spark.scheduler.maxRegisteredResourcesWaitingTime=60s",
                  "--conf",
                  "spark.locality.wait=0s",
                  "--conf",
                  "spark.eventLog.enabled=true",
                  "--conf",
                  "spark.eventLog.dir=" + events.toUri(),
                  "--conf",
                  "spark.eventLog.compress=false",
                  appJar.toString()));
      List<String> sparkSubmit = List.copyOf(submit);
      submit.addAll(jobArgs(repo, fixtures, prompts, dir, "cluster"));
      t0 = System.nanoTime();
      StandaloneCluster.Submission run = cluster.submit("driver", submit, Duration.ofSeconds(180));
      double clusterSeconds = (System.nanoTime() - t0) / 1e9;
      System.out.printf(
          "cluster run (spark-submit, 2 workers): %.1f s%n%s%n", clusterSeconds, run.stdoutText());
      assertThat(run.exitCode())
          .as(
              "spark-submit's exit status; stdout:\n%s\n%s",
              run.stdoutText(), cluster.diagnostics())
          .isZero();

      // --- it ran on real processes ---
      String appId = applicationId(events);
      JsonNode finished =
          cluster.awaitMaster(
              s -> hasApp(s.path("completedapps"), appId, "FINISHED"), Duration.ofSeconds(30));
      assertThat(finished.path("aliveworkers").asInt()).isEqualTo(2);
      assertThat(hasApp(finished.path("completedapps"), appId, "FINISHED"))
          .as("master's completed applications: %s", finished.path("completedapps"))
          .isTrue();
      for (int w = 0; w < 2; w++) {
        JsonNode worker = cluster.workerState(w);
        assertThat(worker).as("worker %d's JSON", w + 1).isNotNull();
        List<String> apps = new ArrayList<>();
        worker.path("finishedexecutors").forEach(e -> apps.add(e.path("appid").asText()));
        worker.path("executors").forEach(e -> apps.add(e.path("appid").asText()));
        assertThat(apps).as("applications with an executor on worker %d", w + 1).contains(appId);
      }
      EventLog log = EventLog.read(events.resolve(appId));
      assertThat(log.executorsAdded()).as("executors in the event log").containsOnly("0", "1");
      assertThat(log.tasksByExecutor().keySet())
          .as("executors that ran tasks")
          .containsOnly("0", "1");
      assertThat(log.failedTasks()).as("failed tasks").isEmpty();
      for (int w = 0; w < 2; w++) {
        List<Path> stderrs = executorStderrs(cluster.workDir(w).resolve(appId));
        assertThat(stderrs).as("executor logs on worker %d", w + 1).hasSize(1);
        String stderr = Files.readString(stderrs.get(0));
        assertThat(stderr)
            .as("worker %d's executor log", w + 1)
            .contains("loaded decoder")
            .contains("loaded reward model")
            .contains("Finished task");
      }
      System.out.printf("application %s: tasks per executor %s%n", appId, log.tasksByExecutor());

      // --- same output as local mode ---
      Path out = dir.resolve("out");
      assertThat(out.resolve("cluster/_SUCCESS")).isRegularFile();
      double maxDiff = 0;
      maxDiff = Math.max(maxDiff, assertSameRows(out, "pairs", "prompt_id"));
      maxDiff =
          Math.max(
              maxDiff,
              assertSameRows(
                  out,
                  "pairs_conversational",
                  "prompt_id",
                  "* REPLACE (to_json(prompt)::VARCHAR AS prompt, to_json(chosen)::VARCHAR AS"
                      + " chosen, to_json(rejected)::VARCHAR AS rejected)"));
      maxDiff = Math.max(maxDiff, assertSameRows(out, "filtered", "prompt_id"));
      maxDiff = Math.max(maxDiff, assertSameRows(out, "candidates", "prompt_id, sample_index"));
      assertSameRows(out, "rejects", "input_row, stage, reason_code");
      System.out.printf("largest |cluster - local| over all doubles: %.3g%n", maxDiff);

      List<Map<String, Object>> pairs =
          TestSupport.duckdb(
              "SELECT prompt, chosen, rejected FROM " + parquet(out, "cluster", "pairs"));
      assertThat(pairs).as("pairs kept").hasSizeGreaterThanOrEqualTo(10);
      // Chat prompts: their pairs in pairs_conversational (px_prompt rendered), or filtered.
      List<Map<String, Object>> chat =
          TestSupport.duckdb(
              "SELECT px_prompt AS prompt FROM "
                  + parquet(out, "cluster", "pairs_conversational")
                  + " UNION ALL SELECT prompt FROM "
                  + parquet(out, "cluster", "filtered"));
      assertThat(chat)
          .as("chat prompts rendered with the policy's template on the executors")
          .anyMatch(r -> String.valueOf(r.get("prompt")).contains("<|im_start|>assistant"));
      List<Map<String, Object>> rejects =
          TestSupport.duckdb("SELECT reason_code FROM " + parquet(out, "cluster", "rejects"));
      assertThat(rejects)
          .extracting(r -> r.get("reason_code"))
          .contains("MALFORMED_RECORD", "DUPLICATE_PROMPT", "EMPTY_PROMPT");

      realFaults(cluster, sparkSubmit, repo, fixtures, prompts, dir, clusterSeconds);
    }
  }

  /**
   * Real faults on the cluster, after the undisturbed run published run id "cluster": a rerun of
   * that run id whose driver is killed (SIGKILL) midway through generation leaves the published
   * output complete and readable and its lease refuses a second writer while it lives; a resume of
   * it, during which an executor JVM is killed (SIGKILL) midway through generation, reuses the
   * persisted partitions, records the lost executor and the failed tasks, and writes the local
   * run's tables with the local run's exact counts.
   */
  private static void realFaults(
      StandaloneCluster cluster,
      List<String> sparkSubmit,
      Path repo,
      Path fixtures,
      Path prompts,
      Path dir,
      double clusterSeconds)
      throws Exception {
    Path out = dir.resolve("out");
    ObjectMapper json = new ObjectMapper();
    JsonNode published = json.readTree(out.resolve("cluster/manifest.json").toFile());
    JsonNode local = json.readTree(out.resolve("local/manifest.json").toFile());
    Path area = out.resolve(RunOutput.STAGING_ROOT).resolve("cluster");
    Path generated = area.resolve("work").resolve("generate");

    // --- a rerun over the good output; its driver killed in the middle of generation ---
    List<String> rerun = new ArrayList<>(sparkSubmit);
    rerun.addAll(jobArgs(repo, fixtures, prompts, dir, "cluster"));
    Process driver = cluster.launch("driver-rerun", rerun);
    int parts;
    try {
      awaitParts(generated, 1, driver, cluster, "driver-rerun");
      // A second writer of the run id is refused while the driver holds the lease.
      org.apache.hadoop.fs.Path leaseFile =
          new org.apache.hadoop.fs.Path(area.resolve(RunLease.FILE).toUri());
      assertThatThrownBy(
              () ->
                  RunLease.acquire(
                      leaseFile.getFileSystem(new org.apache.hadoop.conf.Configuration()),
                      leaseFile,
                      "cluster",
                      120,
                      false))
          .isInstanceOf(RunRefusedException.class)
          .hasMessageContaining("run.id cluster is being written by another run")
          .hasMessageContaining("pid " + driver.pid());
    } finally {
      driver.destroyForcibly();
      driver.waitFor(30, TimeUnit.SECONDS);
    }
    parts = partFiles(generated);
    System.out.printf(
        "killed the rerun's driver (pid %d) with %d of %d generation partitions persisted%n",
        driver.pid(), parts, PARTITIONS);
    assertThat(parts).isBetween(1, PARTITIONS - 1);
    assertThat(out.resolve("cluster/_SUCCESS"))
        .as("the previous output is still published")
        .exists();
    assertThat(json.readTree(out.resolve("cluster/manifest.json").toFile()).path("started_at"))
        .isEqualTo(published.path("started_at"));
    assertAllTablesEqualLocal(out);

    // --- resume; an executor JVM killed in the middle of the remaining generation ---
    List<String> resume = new ArrayList<>(sparkSubmit);
    resume.addAll(jobArgs(repo, fixtures, prompts, dir, "cluster", "--resume"));
    long t0 = System.nanoTime();
    Process resumed = cluster.launch("driver-resume", resume);
    awaitParts(generated, parts + 1, resumed, cluster, "driver-resume");
    List<ProcessHandle> executors = cluster.executors();
    assertThat(executors).as("executor JVMs of the resumed run").isNotEmpty();
    executors.get(0).destroyForcibly();
    System.out.printf(
        "killed executor JVM pid %d during the resumed generation%n", executors.get(0).pid());
    assertThat(resumed.waitFor(240, TimeUnit.SECONDS)).as("the resume finished").isTrue();
    double resumeSeconds = (System.nanoTime() - t0) / 1e9;
    String stdout = StandaloneCluster.read(cluster.log("driver-resume.out"));
    assertThat(resumed.exitValue())
        .as("resume exit status; stdout:\n%s\n%s", stdout, cluster.diagnostics())
        .isZero();
    JsonNode m = json.readTree(out.resolve("cluster/manifest.json").toFile());
    JsonNode g = m.path("resume").path("generate");
    long samples = m.path("counts").path("samples").asLong();
    System.out.printf(
        "undisturbed cluster run %.1f s, %d samples generated; resumed run %.1f s, %d samples"
            + " reused, %d generated; faults %s%n%s%n",
        clusterSeconds,
        samples,
        resumeSeconds,
        g.path("samples_reused").asLong(),
        g.path("samples_computed").asLong(),
        m.path("faults"),
        stdout);
    String err = StandaloneCluster.read(cluster.log("driver-resume.err"));
    err.lines().filter(l -> l.contains("exact work counts")).forEach(System.out::println);
    assertThat(m.path("resume").path("resumed").asBoolean()).isTrue();
    assertThat(g.path("partitions_reused").asInt()).isEqualTo(parts);
    assertThat(g.path("samples_computed").asLong()).isLessThan(samples);
    assertThat(g.path("samples_reused").asLong() + g.path("samples_computed").asLong())
        .isEqualTo(samples);
    assertThat(m.path("faults").path("executors_lost").asLong()).isPositive();
    assertThat(m.path("faults").path("failed_task_attempts").asLong()).isPositive();
    // Exact counts: the local run's, whatever was retried or recomputed.
    assertThat(m.path("counts")).isEqualTo(local.path("counts"));
    assertThat(m.path("accounting")).isEqualTo(local.path("accounting"));
    for (String figure : List.of("generated_tokens", "reward_texts", "sequences_scored")) {
      assertThat(m.path("throughput").path(figure))
          .as(figure)
          .isEqualTo(local.path("throughput").path(figure));
    }
    assertAllTablesEqualLocal(out);
    assertThat(area.resolve("work")).doesNotExist();
  }

  private static void assertAllTablesEqualLocal(Path out) {
    assertSameRows(out, "pairs", "prompt_id");
    assertSameRows(out, "filtered", "prompt_id");
    assertSameRows(out, "candidates", "prompt_id, sample_index");
    assertSameRows(out, "rejects", "input_row, stage, reason_code");
  }

  /** Waits until {@code dir} holds at least {@code n} persisted partitions. */
  private static void awaitParts(
      Path dir, int n, Process driver, StandaloneCluster cluster, String name)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
    while (partFiles(dir) < n) {
      if (!driver.isAlive() || System.nanoTime() > deadline) {
        throw new AssertionError(
            name
                + (driver.isAlive() ? " persisted no partition in 180 s" : " exited early")
                + "\n"
                + StandaloneCluster.read(cluster.log(name + ".out"))
                + "\n"
                + cluster.diagnostics());
      }
      Thread.sleep(20);
    }
  }

  private static int partFiles(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> s = Files.list(dir)) {
      return (int) s.filter(p -> p.getFileName().toString().endsWith(".rows")).count();
    }
  }

  /** The job's command line for one run; both runs share everything but the run id and master. */
  private static List<String> jobArgs(
      Path repo, Path fixtures, Path prompts, Path dir, String runId, String... extra) {
    String policy = fixtures.resolve("models/tiny-llama").toString();
    List<String> args =
        new ArrayList<>(
            List.of(
                "west-of-n",
                "--config",
                repo.resolve("conf/cluster.properties").toString(),
                "--set",
                "input.path=" + prompts.toUri(),
                "--set",
                "output.path=" + dir.resolve("out").toUri(),
                "--set",
                "run.id=" + runId,
                "--set",
                "models.policy=" + policy,
                "--set",
                "models.reference=" + policy,
                "--set",
                "models.reward=" + fixtures.resolve("models/tiny-reward"),
                "--set",
                "sampling.n=6",
                "--set",
                "sampling.temperature=1.0",
                "--set",
                "sampling.top-k=50",
                "--set",
                "sampling.max-new-tokens=16",
                "--set",
                "selection.truncated=keep",
                "--set",
                "runtime.token-budget=8192",
                "--set",
                "spark.partitions=" + PARTITIONS,
                "--set",
                "spark.conf.spark.sql.shuffle.partitions=2",
                "--set",
                "progress.interval-seconds=10"));
    args.addAll(List.of(extra));
    return args;
  }

  private static String runLocal(List<String> args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      PrefscoreJob.execute(args.toArray(String[]::new), o, e, null);
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  /**
   * A small prompt set: 24 plain prompts and 6 chat conversations of data/prompts.jsonl, then a
   * duplicate, a blank prompt and a line that is not JSON (three rejects).
   */
  private static Path writePrompts(Path source, Path target) throws IOException {
    List<String> lines = Files.readAllLines(source, StandardCharsets.UTF_8);
    List<String> plain =
        lines.stream()
            .filter(l -> l.startsWith("{\"prompt\": \"") && l.length() > 20)
            .limit(24)
            .collect(Collectors.toList());
    List<String> chat =
        lines.stream()
            .filter(l -> l.startsWith("{\"messages\": "))
            .limit(6)
            .collect(Collectors.toList());
    assertThat(plain).hasSize(24);
    assertThat(chat).hasSize(6);
    List<String> rows = new ArrayList<>(plain);
    rows.addAll(chat);
    rows.add(plain.get(1));
    rows.add("{\"prompt\": \"   \"}");
    rows.add("{\"prompt\": \"not closed");
    return Files.write(target, rows, StandardCharsets.UTF_8);
  }

  /**
   * Compares table {@code table} of run "cluster" with run "local", row by row in {@code order}:
   * equal column names, equal row counts, non-doubles equal, doubles within {@link #TOLERANCE}.
   * Returns the largest difference seen between doubles.
   */
  private static double assertSameRows(Path out, String table, String order) {
    return assertSameRows(out, table, order, "*");
  }

  /** As above, selecting {@code select} (e.g. list columns as JSON text, comparable values). */
  private static double assertSameRows(Path out, String table, String order, String select) {
    List<Map<String, Object>> cluster =
        TestSupport.duckdb(
            "SELECT " + select + " FROM " + parquet(out, "cluster", table) + " ORDER BY " + order);
    List<Map<String, Object>> local =
        TestSupport.duckdb(
            "SELECT " + select + " FROM " + parquet(out, "local", table) + " ORDER BY " + order);
    assertThat(cluster).as("%s rows (cluster vs local)", table).hasSameSizeAs(local);
    double maxDiff = 0;
    for (int i = 0; i < cluster.size(); i++) {
      Map<String, Object> c = cluster.get(i);
      Map<String, Object> l = local.get(i);
      assertThat(c.keySet()).as("%s columns", table).containsExactlyElementsOf(l.keySet());
      for (String column : c.keySet()) {
        Object a = c.get(column);
        Object b = l.get(column);
        if (a instanceof Double || a instanceof Float) {
          assertThat(b).as("%s row %d %s", table, i, column).isInstanceOf(Number.class);
          double da = ((Number) a).doubleValue();
          double db = ((Number) b).doubleValue();
          if (!(Double.isNaN(da) && Double.isNaN(db)) && da != db) {
            double diff = Math.abs(da - db);
            maxDiff = Math.max(maxDiff, diff);
            assertThat(diff)
                .as(
                    "%s row %d (%s) %s: cluster %s, local %s",
                    table, i, c.get("prompt_id"), column, da, db)
                .isLessThanOrEqualTo(TOLERANCE);
          }
        } else {
          assertThat(a).as("%s row %d (%s) %s", table, i, c.get("prompt_id"), column).isEqualTo(b);
        }
      }
    }
    return maxDiff;
  }

  private static String parquet(Path out, String runId, String table) {
    return "read_parquet('" + out.resolve(runId).resolve(table) + "/*.parquet')";
  }

  private static boolean hasApp(JsonNode apps, String appId, String state) {
    for (JsonNode app : apps) {
      if (appId.equals(app.path("id").asText()) && state.equals(app.path("state").asText())) {
        return true;
      }
    }
    return false;
  }

  /** The id of the one application that wrote an event log. */
  private static String applicationId(Path events) throws IOException {
    try (Stream<Path> files = Files.list(events)) {
      List<String> names = files.map(p -> p.getFileName().toString()).collect(Collectors.toList());
      assertThat(names).as("event logs").hasSize(1);
      assertThat(names.get(0))
          .as("a finished event log")
          .startsWith("app-")
          .doesNotEndWith(".inprogress");
      return names.get(0);
    }
  }

  private static List<Path> executorStderrs(Path appWorkDir) throws IOException {
    if (!Files.isDirectory(appWorkDir)) {
      return List.of();
    }
    try (Stream<Path> walk = Files.walk(appWorkDir, 2)) {
      return walk.filter(p -> p.getFileName().toString().equals("stderr"))
          .sorted()
          .collect(Collectors.toList());
    }
  }

  /**
   * A fresh folder of this run under {@code base}: builds that run concurrently in one working tree
   * must not share logs, work dirs or event logs. Folders of runs older than an hour are removed.
   */
  private static Path runDir(Path base) throws IOException {
    Files.createDirectories(base);
    long hourAgo = System.currentTimeMillis() - TimeUnit.HOURS.toMillis(1);
    try (Stream<Path> old = Files.list(base)) {
      for (Path p : old.collect(Collectors.toList())) {
        if (p.getFileName().toString().startsWith("run-")
            && Files.getLastModifiedTime(p).toMillis() < hourAgo) {
          deleteRecursively(p);
        }
      }
    }
    return Files.createDirectories(
        base.resolve("run-" + System.currentTimeMillis() + "-" + ProcessHandle.current().pid()));
  }

  private static String required(String property) {
    String v = System.getProperty(property);
    assertThat(v)
        .as("system property %s (set by failsafe in spark-jobs/pom.xml)", property)
        .isNotBlank();
    return v;
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** The parts of a Spark event log (JSON lines) this test reads. */
  record EventLog(
      Set<String> executorsAdded, Map<String, Integer> tasksByExecutor, List<String> failedTasks) {

    static EventLog read(Path file) throws IOException {
      ObjectMapper json = new ObjectMapper();
      Set<String> added = new TreeSet<>();
      Map<String, Integer> tasks = new TreeMap<>();
      List<String> failed = new ArrayList<>();
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        JsonNode event = json.readTree(line);
        switch (event.path("Event").asText()) {
          case "SparkListenerExecutorAdded" -> added.add(event.path("Executor ID").asText());
          case "SparkListenerTaskEnd" -> {
            String executor = event.path("Task Info").path("Executor ID").asText();
            tasks.merge(executor, 1, Integer::sum);
            String reason = event.path("Task End Reason").path("Reason").asText();
            if (!"Success".equals(reason)) {
              failed.add("executor " + executor + ": " + event.path("Task End Reason"));
            }
          }
          default -> {}
        }
      }
      return new EventLog(added, tasks, failed);
    }
  }
}
