package org.prefscore.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.prefscore.executor.ExecutorRegistry;
import org.prefscore.job.io.RunOutput;

/**
 * west-of-n with everything on S3: prompts, the model directories and the output are s3a:// paths
 * on a real S3 server (S3Proxy, a separate process on 127.0.0.1 with a filesystem backend), and the
 * s3a settings and credentials come from the job's own config ({@code
 * spark.conf.spark.hadoop.fs.s3a.*}). Checks: the output read back from S3 equals a
 * local-filesystem run with the same seed; manifest and _SUCCESS are there, published by the
 * manifest-last commit (the manifest lists every data file; a failed rerun leaves them as they were
 * and marks its own staging folder failed); the executor copied each remote model directory to its
 * local cache once; and the access and secret key values appear nowhere in the manifest, the
 * driver's log output, the job's stdout/stderr or the dry-run plan.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class S3PipelineIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final byte[] EXTERNAL_DATA =
      "stand-in tensor bytes".getBytes(StandardCharsets.UTF_8);
  private static final String BUCKET = "prefscore-it";
  // Distinctive values, so that any appearance of them is a leak and not a coincidence.
  private static final String ACCESS_KEY =
      "AKIAPREFSCORE"
          + UUID.randomUUID().toString().replace("-", "").substring(0, 12).toUpperCase();
  private static final String SECRET_KEY = "s3cr3t-" + UUID.randomUUID();

  private static final List<String> PROMPTS =
      List.of(
          "{\"prompt\": \"Explain why the sky is blue.\"}",
          "{\"prompt\": \"Write a haiku about rain.\"}",
          "{\"prompt\": \"Give three tips for studying.\"}",
          "{\"prompt\": \"Explain why the sky is blue.\"}",
          "not json at all",
          "{\"messages\": [{\"role\": \"user\", \"content\": \"Tell me a fact about octopuses.\"}]}",
          "{\"prompt\": \"What causes the seasons?\"}",
          "{\"prompt\": \"Suggest a name for a bakery.\"}",
          "{\"prompt\": \"How do bees make honey?\"}",
          "{\"prompt\": \"Why is the ocean salty?\"}");

  private Path dir;
  private S3ProxyProcess s3;
  private Configuration hadoop;
  private Path configFile;
  private TestSupport.Run s3Run;
  private TestSupport.Run localRun;
  private String capturedLog;
  private String dryRunPlan;
  private int downloadsInRun;

  @BeforeAll
  void runOnS3AndLocally() throws Exception {
    dir =
        Path.of(
            System.getProperty("basedir", "."),
            "target",
            "s3-it",
            Long.toString(System.currentTimeMillis()));
    Files.createDirectories(dir);
    s3 = S3ProxyProcess.start(dir, ACCESS_KEY, SECRET_KEY, List.of(BUCKET));

    hadoop = new Configuration();
    s3aSettings().forEach(hadoop::set);
    Path prompts = dir.resolve("prompts.jsonl");
    Files.write(prompts, PROMPTS, StandardCharsets.UTF_8);
    try (FileSystem fs = FileSystem.newInstance(URI.create("s3a://" + BUCKET + "/"), hadoop)) {
      // Through the S3 API (S3A PUTs), as a user would upload them.
      fs.copyFromLocalFile(
          new org.apache.hadoop.fs.Path(prompts.toUri()),
          new org.apache.hadoop.fs.Path(s3a("input/prompts.jsonl")));
      for (String m : List.of("tiny-llama", "tiny-reward")) {
        fs.copyFromLocalFile(
            new org.apache.hadoop.fs.Path(Path.of(TestSupport.model(m)).toUri()),
            new org.apache.hadoop.fs.Path(s3a("models/" + m)));
      }
      // An external-data file beside the reward graph (as exports of graphs over 2 GB have; this
      // graph does not reference it): copied with the directory, fingerprinted from S3.
      Path externalData = dir.resolve("model.onnx_data");
      Files.write(externalData, EXTERNAL_DATA);
      fs.copyFromLocalFile(
          new org.apache.hadoop.fs.Path(externalData.toUri()),
          new org.apache.hadoop.fs.Path(s3a("models/tiny-reward/model.onnx_data")));
    }

    List<String> lines =
        new ArrayList<>(
            List.of(
                "input.path=" + s3a("input/prompts.jsonl"),
                "output.path=" + s3a("runs"),
                "run.id=s3",
                "models.policy=" + s3a("models/tiny-llama"),
                "models.reward=" + s3a("models/tiny-reward"),
                "runtime.model-cache-dir=" + dir.resolve("model-cache")));
    lines.addAll(common());
    s3aSettings().forEach((k, v) -> lines.add("spark.conf.spark.hadoop." + k + "=" + v));
    configFile = dir.resolve("s3.properties");
    Files.write(configFile, lines, StandardCharsets.UTF_8);

    dryRunPlan =
        run(new String[] {"west-of-n", "--config", configFile.toString(), "--dry-run"}).out();
    int downloads = ExecutorRegistry.instance().localCopies().downloads();
    try (TestSupport.LogCapture log = new TestSupport.LogCapture()) {
      // The session comes from the config (spark.master, spark.conf.*), as with bin/prefscore.
      s3Run = run(new String[] {"west-of-n", "--config", configFile.toString()});
      capturedLog = log.text();
    }
    downloadsInRun = ExecutorRegistry.instance().localCopies().downloads() - downloads;

    List<String> local =
        new ArrayList<>(
            List.of(
                "--set",
                "input.path=" + prompts,
                "--set",
                "output.path=" + dir.resolve("local-runs"),
                "--set",
                "run.id=local",
                "--set",
                "models.policy=" + TestSupport.model("tiny-llama"),
                "--set",
                "models.reward=" + TestSupport.model("tiny-reward")));
    for (String c : common()) {
      local.add("--set");
      local.add(c);
    }
    local.add(0, "west-of-n");
    localRun = run(local.toArray(String[]::new));
  }

  @AfterAll
  void stop() {
    if (s3 != null) {
      s3.close();
    }
  }

  private static List<String> common() {
    return List.of(
        "run.seed=77",
        "sampling.n=4",
        "sampling.temperature=1.0",
        "sampling.max-new-tokens=8",
        "selection.truncated=keep",
        "filter.likelihood.mode=quantile",
        "filter.likelihood.quantile=0.1",
        "progress.interval-seconds=0",
        "spark.master=local[2]",
        "spark.conf.spark.ui.enabled=false",
        "spark.conf.spark.sql.shuffle.partitions=2",
        "spark.conf.spark.driver.host=127.0.0.1",
        "spark.conf.spark.driver.bindAddress=127.0.0.1");
  }

  /** The s3a settings a user puts in the job config (under spark.conf.spark.hadoop.). */
  private Map<String, String> s3aSettings() {
    return Map.of(
        "fs.s3a.endpoint", s3.endpoint(),
        "fs.s3a.path.style.access", "true",
        "fs.s3a.connection.ssl.enabled", "false",
        "fs.s3a.access.key", ACCESS_KEY,
        "fs.s3a.secret.key", SECRET_KEY,
        "fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "fs.s3a.buffer.dir", dir.resolve("s3a-buffer").toAbsolutePath().toString(),
        "fs.s3a.attempts.maximum", "3",
        "fs.s3a.retry.limit", "3");
  }

  private static String s3a(String key) {
    return "s3a://" + BUCKET + "/" + key;
  }

  private static TestSupport.Run run(String[] args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PipelineRunner.RunResult result;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      result = PrefscoreJob.execute(args, o, e, null);
    }
    return new TestSupport.Run(
        result, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private String readS3(String path) throws IOException {
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
    try (FileSystem fs = FileSystem.newInstance(p.toUri(), hadoop);
        InputStream in = fs.open(p)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private boolean existsOnS3(String path) throws IOException {
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
    try (FileSystem fs = FileSystem.newInstance(p.toUri(), hadoop)) {
      return fs.exists(p);
    }
  }

  /** Downloads a table folder from S3 and returns its local copy. */
  private Path downloadTable(String runDir, String table) throws IOException {
    Path local = dir.resolve("download").resolve(table);
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(runDir + "/" + table);
    try (FileSystem fs = FileSystem.newInstance(p.toUri(), hadoop)) {
      fs.copyToLocalFile(false, p, new org.apache.hadoop.fs.Path(local.toUri()), true);
    }
    return local;
  }

  @Test
  void outputIsOnS3AndEqualsALocalRunWithTheSameSeed() throws Exception {
    String runDir = s3Run.result().outputPath();
    assertThat(runDir).isEqualTo(s3a("runs/s3"));
    assertThat(existsOnS3(runDir + "/" + RunOutput.SUCCESS)).isTrue();
    // It really is in S3Proxy's store, not somewhere else.
    assertThat(s3.blobs().resolve(BUCKET).resolve("runs/s3/_SUCCESS")).exists();
    assertThat(s3.blobs().resolve(BUCKET).resolve("runs/s3/manifest.json")).exists();

    JsonNode manifest = JSON.readTree(readS3(runDir + "/" + RunOutput.MANIFEST));
    JsonNode localManifest =
        JSON.readTree(
            Files.readString(
                Path.of(URI.create(localRun.result().outputPath() + "/manifest.json"))));
    assertThat(manifest.path("status").asText()).isEqualTo("SUCCEEDED");
    assertThat(manifest.path("counts")).isEqualTo(localManifest.path("counts"));
    assertListedFilesExist(manifest);
    assertThat(localManifest.path("files").path("commit").asText()).isEqualTo("rename");
    assertThat(manifest.path("accounting").path("holds").asBoolean()).isTrue();
    assertThat(manifest.path("counts").path("pairs_after_filters").asLong()).isPositive();
    // Fingerprints streamed from S3 equal the local files'.
    assertThat(manifest.path("models").path("policy").path("path").asText())
        .isEqualTo(s3a("models/tiny-llama"));
    for (String role : List.of("policy", "reward")) {
      assertThat(manifest.path("models").path(role).path("model_onnx_sha256"))
          .isEqualTo(localManifest.path("models").path(role).path("model_onnx_sha256"));
    }
    assertThat(
            manifest
                .path("models")
                .path("reward")
                .path("external_data_sha256")
                .path("model.onnx_data")
                .asText())
        .isEqualTo(
            java.util.HexFormat.of()
                .formatHex(
                    java.security.MessageDigest.getInstance("SHA-256").digest(EXTERNAL_DATA)));
    assertThat(manifest.path("models").path("policy").has("external_data_sha256")).isFalse();

    for (String table : List.of("pairs", "filtered", "rejects")) {
      Path s3Table = downloadTable(runDir, table);
      String order = table.equals("rejects") ? "input_row" : "prompt_id";
      List<Map<String, Object>> fromS3 =
          TestSupport.duckdb(
              "SELECT * FROM read_parquet('" + s3Table + "/*.parquet') ORDER BY " + order);
      List<Map<String, Object>> fromLocal =
          TestSupport.duckdb(
              "SELECT * FROM "
                  + TestSupport.parquet(localRun.result().outputPath(), table)
                  + " ORDER BY "
                  + order);
      assertThat(fromS3).as(table).isNotEmpty().isEqualTo(fromLocal);
    }
  }

  @Test
  void eachRemoteModelWasCopiedToTheExecutorCacheOnce() throws IOException {
    // local[2]: the executor is this JVM. tiny-llama (policy = reference) and tiny-reward.
    assertThat(downloadsInRun).isEqualTo(2);
    try (Stream<Path> s = Files.list(dir.resolve("model-cache"))) {
      List<String> copies =
          s.map(p -> p.getFileName().toString())
              .filter(n -> !n.endsWith(".lock") && !n.endsWith(".source"))
              .sorted()
              .toList();
      assertThat(copies).hasSize(2);
      assertThat(copies.get(0)).matches("tiny-llama-[0-9a-f]{16}");
      assertThat(copies.get(1)).matches("tiny-reward-[0-9a-f]{16}");
      assertThat(dir.resolve("model-cache").resolve(copies.get(1)).resolve("model.onnx_data"))
          .hasBinaryContent(EXTERNAL_DATA);
    }
    assertThat(capturedLog).contains("model " + s3a("models/tiny-llama") + ": copied");
  }

  @Test
  void credentialsAppearNowhere() throws IOException {
    String manifest = readS3(s3Run.result().outputPath() + "/" + RunOutput.MANIFEST);
    // The capture worked: it holds the configuration the driver logged, redacted.
    assertThat(capturedLog)
        .contains(
            "configuration (--set",
            "spark.conf.spark.hadoop.fs.s3a.secret.key = ****",
            "spark.conf.spark.hadoop.fs.s3a.access.key = ****",
            s3.endpoint());
    assertThat(manifest)
        .contains("\"spark.conf.spark.hadoop.fs.s3a.secret.key\" : \"****\"", s3.endpoint());
    assertThat(dryRunPlan).contains("spark.conf.spark.hadoop.fs.s3a.access.key", "****");
    for (String secret : List.of(ACCESS_KEY, SECRET_KEY)) {
      assertThat(manifest).doesNotContain(secret);
      assertThat(capturedLog).doesNotContain(secret);
      assertThat(s3Run.out()).doesNotContain(secret);
      assertThat(s3Run.err()).doesNotContain(secret);
      assertThat(dryRunPlan).doesNotContain(secret);
    }
  }

  /** Last: it replaces the output the other tests read. */
  @Test
  @Order(Integer.MAX_VALUE)
  void aFailedRerunKeepsThePreviousOutputCompleteAndMarksItsStagingFailed() throws IOException {
    // A reward model directory that passes the driver's checks but cannot be loaded on the
    // executor.
    try (FileSystem fs = FileSystem.newInstance(URI.create("s3a://" + BUCKET + "/"), hadoop)) {
      fs.copyFromLocalFile(
          new org.apache.hadoop.fs.Path(Path.of(TestSupport.model("tiny-reward")).toUri()),
          new org.apache.hadoop.fs.Path(s3a("models/broken-reward")));
      try (var out =
          fs.create(new org.apache.hadoop.fs.Path(s3a("models/broken-reward/model.onnx")), true)) {
        out.write("not an onnx graph".getBytes(StandardCharsets.UTF_8));
      }
    }
    assertThat(existsOnS3(s3a("runs/s3/" + RunOutput.SUCCESS))).isTrue();
    String before = readS3(s3a("runs/s3/" + RunOutput.MANIFEST));
    // The same run id: the rerun works in its staging folder and fails in generation.
    String[] args = {
      "west-of-n",
      "--config",
      configFile.toString(),
      "--set",
      "models.reward=" + s3a("models/broken-reward"),
      "--set",
      "runtime.model-cache-dir=" + dir.resolve("model-cache-failed")
    };
    assertThatThrownBy(() -> run(args)).hasStackTraceContaining("model.onnx");
    assertThat(existsOnS3(s3a("runs/s3/" + RunOutput.SUCCESS))).isTrue();
    String after = readS3(s3a("runs/s3/" + RunOutput.MANIFEST));
    assertThat(after).isEqualTo(before);
    assertListedFilesExist(JSON.readTree(after));
    try (FileSystem fs = FileSystem.newInstance(URI.create("s3a://" + BUCKET + "/"), hadoop)) {
      org.apache.hadoop.fs.FileStatus[] failed =
          fs.globStatus(
              new org.apache.hadoop.fs.Path(
                  s3a("runs/" + RunOutput.STAGING_ROOT + "/s3/attempt-*/" + RunOutput.FAILED)));
      assertThat(failed).as("the failed attempt's marker").hasSize(1);
      assertThat(
              fs.exists(
                  new org.apache.hadoop.fs.Path(
                      s3a("runs/" + RunOutput.STAGING_ROOT + "/s3/lease.json"))))
          .as("the lease was released")
          .isFalse();
    }
  }

  /** Manifest-last commit: every data file the manifest lists is on S3 with its listed size. */
  private void assertListedFilesExist(JsonNode manifest) throws IOException {
    assertThat(manifest.path("files").path("commit").asText()).isEqualTo("manifest");
    int listed = 0;
    try (FileSystem fs = FileSystem.newInstance(URI.create("s3a://" + BUCKET + "/"), hadoop)) {
      for (String table : List.of("candidates", "pairs", "filtered", "rejects")) {
        for (JsonNode f : manifest.path("files").path(table)) {
          org.apache.hadoop.fs.Path p =
              new org.apache.hadoop.fs.Path(s3a("runs/s3/" + f.path("path").asText()));
          assertThat(fs.getFileStatus(p).getLen()).isEqualTo(f.path("bytes").asLong());
          listed++;
        }
      }
    }
    assertThat(listed).isGreaterThanOrEqualTo(4);
  }
}
