package org.prefscore.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.job.config.ConfigException;
import org.prefscore.job.config.ConfigKeys;
import org.prefscore.job.config.RedactorTest;
import org.prefscore.job.io.RunOutput;

/**
 * Secrets configured under real Hadoop, S3A, Azure, GCS and Spark key names, and credentials in
 * URLs, appear nowhere the job prints or stores them: the dry-run plan, the driver's log, stdout
 * and stderr, and manifest.json of a real local run, nor a configuration error that echoes a value.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RedactionTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String URL_USER = "AKIAURLUSER7";
  private static final String URL_PASSWORD = "UrlPassw0rd-7f3a";

  @TempDir Path tmp;
  private SparkSession spark;

  /** Key (under spark.conf.) → a distinctive secret value. */
  private final Map<String, String> secrets = new LinkedHashMap<>();

  @BeforeAll
  void start() {
    spark = TestSupport.localSpark("redaction-test");
    int i = 0;
    for (String key : RedactorTest.SECRET_KEYS) {
      secrets.put(ConfigKeys.SPARK_CONF_PREFIX + key, "Sekr1t-" + (i++) + "-value");
    }
  }

  @AfterAll
  void stop() {
    spark.stop();
  }

  private List<String> args(String mode, Path input, String runId) {
    List<String> a = new ArrayList<>(List.of(mode));
    List<String> sets =
        new ArrayList<>(
            List.of(
                "input.path=" + input,
                "output.path=" + tmp.resolve("out"),
                "run.id=" + runId,
                "models.policy=" + TestSupport.model("tiny-llama"),
                "models.reward=" + TestSupport.model("tiny-reward"),
                "sampling.n=2",
                "sampling.max-new-tokens=2",
                "progress.interval-seconds=0",
                // Not secrets by the rule: shown as they are.
                "spark.conf.fs.azure.sas.token.provider.type=org.example.SasProvider",
                "spark.conf.hadoop.security.credential.provider.path=jceks://file/tmp/creds.jceks",
                "spark.conf.spark.hadoop.fs.defaultFS=hdfs://nn:8020/x",
                // A URL with credentials in an ordinary key.
                "spark.conf.spark.hadoop.fs.s3a.endpoint=https://"
                    + URL_USER
                    + ":"
                    + URL_PASSWORD
                    + "@s3.example.com/x"));
    secrets.forEach((k, v) -> sets.add(k + "=" + v));
    for (String s : sets) {
      a.add("--set");
      a.add(s);
    }
    return a;
  }

  private List<String> secretValues() {
    List<String> all = new ArrayList<>(secrets.values());
    all.add(URL_USER);
    all.add(URL_PASSWORD);
    return all;
  }

  @Test
  void theDryRunPlanShowsNoSecret() throws IOException {
    Path input = Files.writeString(tmp.resolve("in.jsonl"), "{\"prompt\": \"Hello there.\"}\n");
    List<String> a = args("west-of-n", input, "plan");
    a.add("--dry-run");
    a.add("--set");
    a.add("input.path=s3a://" + URL_USER + ":" + URL_PASSWORD + "@bucket/prompts.jsonl");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    String log;
    try (TestSupport.LogCapture capture = new TestSupport.LogCapture()) {
      PrefscoreJob.execute(
          a.toArray(String[]::new),
          new PrintStream(out, true, StandardCharsets.UTF_8),
          System.err,
          c -> {
            throw new AssertionError("a dry run must not start Spark");
          });
      log = capture.text();
    }
    String plan = out.toString(StandardCharsets.UTF_8);
    assertThat(plan)
        .contains(
            "input       s3a://****@bucket/prompts.jsonl",
            "org.example.SasProvider",
            "jceks://file/tmp/creds.jceks",
            "hdfs://nn:8020/x",
            "https://****@s3.example.com/x");
    assertThat(log).contains("spark.conf.spark.authenticate.secret = ****");
    for (String secret : secretValues()) {
      assertThat(plan).doesNotContain(secret);
      assertThat(log).doesNotContain(secret);
    }
  }

  @Test
  void aRealRunLogsAndStoresNoSecret() throws IOException {
    Path input =
        Files.writeString(
            tmp.resolve("run.jsonl"),
            "{\"prompt\": \"Explain why the sky is blue.\"}\n{\"prompt\": \"Name a colour.\"}\n");
    TestSupport.Run run;
    String log;
    try (TestSupport.LogCapture capture = new TestSupport.LogCapture()) {
      run = TestSupport.run(spark, args("west-of-n", input, "real").toArray(String[]::new));
      log = capture.text();
    }
    Path dir = Path.of(URI.create(run.result().outputPath()));
    String manifestText = Files.readString(dir.resolve(RunOutput.MANIFEST));
    JsonNode config = JSON.readTree(manifestText).path("config");
    for (String key : secrets.keySet()) {
      assertThat(config.path(key).asText()).as(key).isEqualTo("****");
    }
    assertThat(config.path("spark.conf.fs.azure.sas.token.provider.type").asText())
        .isEqualTo("org.example.SasProvider");
    assertThat(config.path("spark.conf.spark.hadoop.fs.s3a.endpoint").asText())
        .isEqualTo("https://****@s3.example.com/x");
    assertThat(log).contains("configuration (--set", "run real (west-of-n) writing to");
    for (String secret : secretValues()) {
      assertThat(manifestText).doesNotContain(secret);
      assertThat(log).doesNotContain(secret);
      assertThat(run.out()).doesNotContain(secret);
      assertThat(run.err()).doesNotContain(secret);
    }
  }

  @Test
  void aConfigurationErrorThatEchoesAValueShowsNoCredential() throws IOException {
    Path input = Files.writeString(tmp.resolve("err.jsonl"), "{\"prompt\": \"Hi.\"}\n");
    List<String> a = args("west-of-n", input, "err");
    a.add("--set");
    a.add("input.format=s3a://" + URL_USER + ":" + URL_PASSWORD + "@bucket/x");
    assertThatThrownBy(
            () -> PrefscoreJob.execute(a.toArray(String[]::new), System.out, System.err, c -> null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("input.format must be one of auto, jsonl, parquet, got 's3a://****@")
        .satisfies(
            e -> {
              for (String secret : secretValues()) {
                assertThat(e.getMessage()).doesNotContain(secret);
              }
            });
  }
}
