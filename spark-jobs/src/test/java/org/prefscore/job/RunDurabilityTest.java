package org.prefscore.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.job.io.RunLease;
import org.prefscore.job.io.RunOutput;
import org.prefscore.job.io.RunRefusedException;

/**
 * Runs that survive crashes and reruns, in local mode with real faults: a driver JVM killed with
 * SIGKILL in the middle of generation (a child process), a second run on a run id whose lease is
 * held, a stale lease of a dead process, empty inputs. Outputs are compared with DuckDB, {@code
 * EXCEPT} both ways.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RunDurabilityTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> TABLES = List.of("candidates", "pairs", "filtered", "rejects");

  @TempDir static Path tmp;
  private SparkSession spark;
  private Path prompts;

  @BeforeAll
  void start() throws IOException {
    spark = TestSupport.localSpark("run-durability-test");
    // 48 plain prompts of the bundled set: enough generation to kill a run in the middle of it.
    List<String> lines =
        Files.readAllLines(TestSupport.repoRoot().resolve("data/prompts.jsonl")).stream()
            .filter(l -> l.startsWith("{\"prompt\": \"") && l.length() > 30)
            .limit(48)
            .collect(Collectors.toList());
    assertThat(lines).hasSize(48);
    prompts = Files.write(tmp.resolve("prompts.jsonl"), lines, StandardCharsets.UTF_8);
  }

  @AfterAll
  void stop() {
    // the shared local session is left to the JVM, as in the other test classes
  }

  private List<String> settings(Path out, String runId) {
    List<String> s = TestSupport.smallRunSettings(prompts, out, runId);
    s.addAll(
        List.of(
            "models.policy=" + TestSupport.model("tiny-llama"),
            "models.reward=" + TestSupport.model("tiny-reward"),
            "sampling.max-new-tokens=16",
            "spark.partitions=12"));
    return s;
  }

  @Test
  @Timeout(value = 8, unit = TimeUnit.MINUTES)
  void killedRerunKeepsThePreviousOutputAndResumeRedoesOnlyWhatIsMissing() throws Exception {
    Path out = tmp.resolve("killed");
    List<String> settings = settings(out, "r");

    // 1. An undisturbed run: the reference.
    long t0 = System.nanoTime();
    TestSupport.Run fresh = TestSupport.runWithSettings(spark, "west-of-n", settings);
    double freshSeconds = (System.nanoTime() - t0) / 1e9;
    Path runDir = out.resolve("r");
    Path reference = tmp.resolve("reference");
    copyTree(runDir, reference);
    JsonNode freshManifest = fresh.result().manifest();
    long samples = freshManifest.path("counts").path("samples").asLong();
    assertThat(freshManifest.path("resume").path("generate").path("samples_computed").asLong())
        .isEqualTo(samples);

    // 2. A rerun of the same run id in another JVM, killed (SIGKILL) in the middle of generation.
    Path area = out.resolve(RunOutput.STAGING_ROOT).resolve("r");
    Path generated = area.resolve("work").resolve("generate");
    Process child = launch("rerun", settings);
    int parts;
    try {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
      while (partFiles(generated) < 1) {
        assertThat(child.isAlive())
            .as("the rerun ended before any partition was done:\n%s", childLog("rerun"))
            .isTrue();
        assertThat(System.nanoTime()).as("no partition done in 4 min").isLessThan(deadline);
        Thread.sleep(20);
      }
      // While it runs, a second run on the same run id is refused, naming the holder.
      assertThatThrownBy(() -> TestSupport.runWithSettings(spark, "west-of-n", settings))
          .isInstanceOf(RunRefusedException.class)
          .hasMessageContaining("run.id r is being written by another run")
          .hasMessageContaining("pid " + child.pid())
          .hasMessageContaining("started 20");
    } finally {
      child.destroyForcibly(); // SIGKILL
      child.waitFor(30, TimeUnit.SECONDS);
    }
    parts = partFiles(generated);
    System.out.printf(
        "killed the rerun (pid %d) with %d of 12 generation partitions persisted%n",
        child.pid(), parts);
    assertThat(parts).as("partitions persisted when killed").isBetween(1, 11);

    // The previous output is complete and readable, unchanged.
    assertThat(runDir.resolve(RunOutput.SUCCESS)).exists();
    JsonNode kept = JSON.readTree(runDir.resolve(RunOutput.MANIFEST).toFile());
    assertThat(kept.path("started_at")).isEqualTo(freshManifest.path("started_at"));
    for (String table : TABLES) {
      assertSameRows(runDir, reference, table);
    }

    // A resume with a changed configuration is refused, naming what changed.
    List<String> changed = new ArrayList<>(settings);
    changed.add("sampling.temperature=0.7");
    changed.add("run.resume=true");
    assertThatThrownBy(() -> TestSupport.runWithSettings(spark, "west-of-n", changed))
        .isInstanceOf(RunRefusedException.class)
        .hasMessageContaining("cannot resume run.id r")
        .hasMessageContaining("config sampling.temperature ('1.0' -> '0.7')");

    // 3. Resume: the dead holder's lease is taken over, the persisted partitions are reused.
    List<String> resume = new ArrayList<>(settings);
    resume.add("run.resume=true");
    t0 = System.nanoTime();
    TestSupport.Run resumed = TestSupport.runWithSettings(spark, "west-of-n", resume);
    double resumedSeconds = (System.nanoTime() - t0) / 1e9;
    JsonNode m = resumed.result().manifest();
    JsonNode g = m.path("resume").path("generate");
    System.out.printf(
        "fresh run %.1f s (%d samples generated); resumed run %.1f s (%d reused, %d generated)%n",
        freshSeconds,
        samples,
        resumedSeconds,
        g.path("samples_reused").asLong(),
        g.path("samples_computed").asLong());
    assertThat(m.path("resume").path("resumed").asBoolean()).isTrue();
    assertThat(g.path("partitions_reused").asInt()).isEqualTo(parts);
    assertThat(g.path("samples_reused").asLong()).isPositive();
    assertThat(g.path("samples_computed").asLong()).isLessThan(samples);
    assertThat(g.path("samples_reused").asLong() + g.path("samples_computed").asLong())
        .isEqualTo(samples);
    assertThat(resumed.out()).contains("resumed", "generate " + parts + "/12 partitions reused");
    // Exact counts: the same as the undisturbed run's, from the tables as written.
    assertThat(m.path("counts")).isEqualTo(freshManifest.path("counts"));
    assertThat(m.path("accounting")).isEqualTo(freshManifest.path("accounting"));
    assertThat(m.path("throughput").path("generated_tokens"))
        .isEqualTo(freshManifest.path("throughput").path("generated_tokens"));
    assertThat(m.path("throughput").path("reward_texts"))
        .isEqualTo(freshManifest.path("throughput").path("reward_texts"));
    // Bit-identical output.
    for (String table : TABLES) {
      assertSameRows(runDir, reference, table);
    }
    assertThat(area.resolve("work")).as("work folder removed once published").doesNotExist();
    assertThat(area.resolve(RunLease.FILE)).doesNotExist();
  }

  @Test
  void aLiveLeaseRefusesTheRunWithExitStatus2AndADeadHoldersLeaseIsTakenOver() throws Exception {
    Path out = tmp.resolve("leased");
    List<String> settings = settings(out, "held");
    settings.add("input.limit=3");
    org.apache.hadoop.fs.Path leaseFile =
        new org.apache.hadoop.fs.Path(
            out.resolve(RunOutput.STAGING_ROOT).resolve("held").resolve(RunLease.FILE).toUri());
    FileSystem fs = leaseFile.getFileSystem(new Configuration());
    try (RunLease held = RunLease.acquire(fs, leaseFile, "held", 60, false)) {
      Process p = launch("refused", settings);
      assertThat(p.waitFor(3, TimeUnit.MINUTES)).isTrue();
      assertThat(p.exitValue()).as(childLog("refused")).isEqualTo(2);
      assertThat(childLog("refused"))
          .contains("prefscore: run refused: run.id held is being written by another run")
          .contains("pid " + ProcessHandle.current().pid())
          .contains("started " + held.startedAt());
      assertThat(out.resolve("held")).doesNotExist();
    }
    // A lease left by a process that is gone (same host): taken over at once.
    Files.writeString(
        Path.of(leaseFile.toUri()),
        "{\"run_id\":\"held\",\"token\":\"t\",\"host\":\""
            + java.net.InetAddress.getLocalHost().getHostName()
            + "\",\"pid\":"
            + deadPid()
            + ",\"started_at\":\"2026-01-01T00:00:00Z\"}");
    TestSupport.Run run = TestSupport.runWithSettings(spark, "west-of-n", settings);
    assertThat(run.result().manifest().path("status").asText()).isEqualTo("SUCCEEDED");
    assertThat(run.result().manifest().path("faults").path("failed_task_attempts").asLong())
        .isZero();
    assertThat(run.out()).containsPattern("faults\\s+none");
    assertThat(out.resolve("held").resolve(RunOutput.SUCCESS)).exists();
  }

  @Test
  void anEmptyInputIsRefusedUnlessAllowed() throws IOException {
    for (String content : List.of("", "\n\n  \n")) {
      Path empty = Files.writeString(tmp.resolve("empty.jsonl"), content);
      List<String> settings = settings(tmp.resolve("empty-out"), "empty");
      settings.set(0, "input.path=" + empty);
      assertThatThrownBy(() -> TestSupport.runWithSettings(spark, "west-of-n", settings))
          .isInstanceOf(RunRefusedException.class)
          .hasMessageContaining("holds no rows")
          .hasMessageContaining("input.allow-empty=true");
      assertThat(tmp.resolve("empty-out").resolve("empty")).doesNotExist();
    }
    List<String> allowed = settings(tmp.resolve("empty-out"), "empty");
    allowed.set(0, "input.path=" + tmp.resolve("empty.jsonl"));
    allowed.add("input.allow-empty=true");
    TestSupport.Run run = TestSupport.runWithSettings(spark, "west-of-n", allowed);
    assertThat(run.result().manifest().path("accounting").path("input_rows").asLong()).isZero();
    assertThat(run.result().manifest().path("accounting").path("holds").asBoolean()).isTrue();
    assertThat(tmp.resolve("empty-out").resolve("empty").resolve(RunOutput.SUCCESS)).exists();
  }

  /** A pid no process of this host has. */
  private static long deadPid() throws Exception {
    Process p = new ProcessBuilder("true").start();
    p.waitFor();
    return p.pid();
  }

  /** Rows of a table equal in both folders: DuckDB's EXCEPT ALL both ways is empty. */
  private static void assertSameRows(Path a, Path b, String table) {
    String ta = "read_parquet('" + a.resolve(table) + "/*.parquet')";
    String tb = "read_parquet('" + b.resolve(table) + "/*.parquet')";
    long na =
        TestSupport.asLong(TestSupport.duckdb("SELECT count(*) AS n FROM " + ta).get(0).get("n"));
    long nb =
        TestSupport.asLong(TestSupport.duckdb("SELECT count(*) AS n FROM " + tb).get(0).get("n"));
    assertThat(na).as("%s rows", table).isEqualTo(nb);
    for (String sql :
        List.of(
            "SELECT * FROM " + ta + " EXCEPT ALL SELECT * FROM " + tb,
            "SELECT * FROM " + tb + " EXCEPT ALL SELECT * FROM " + ta)) {
      assertThat(TestSupport.duckdb(sql)).as("%s: %s", table, sql).isEmpty();
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

  /**
   * The job as its own JVM (this test's classpath and JVM flags), local[2], stdout+stderr to a
   * file.
   */
  private Process launch(String name, List<String> settings) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (!a.startsWith("-javaagent") && !a.startsWith("-agentlib") && !a.startsWith("-Xmx")) {
        cmd.add(a);
      }
    }
    cmd.addAll(List.of("-Xmx1g", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path")));
    cmd.add(PrefscoreJob.class.getName());
    cmd.add("west-of-n");
    List<String> all = new ArrayList<>(settings);
    all.addAll(
        List.of(
            "spark.master=local[2]",
            "spark.conf.spark.ui.enabled=false",
            "spark.conf.spark.driver.host=127.0.0.1",
            "spark.conf.spark.driver.bindAddress=127.0.0.1",
            "spark.conf.spark.sql.shuffle.partitions=2"));
    for (String s : all) {
      cmd.add("--set");
      cmd.add(s);
    }
    return new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(tmp.resolve(name + ".log").toFile())
        .start();
  }

  private static String childLog(String name) {
    try {
      return Files.readString(tmp.resolve(name + ".log"));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : walk.sorted(Comparator.naturalOrder()).toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }
}
