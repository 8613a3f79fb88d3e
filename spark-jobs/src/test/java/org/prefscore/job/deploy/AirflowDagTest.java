package org.prefscore.job.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.job.CommandLine;
import org.prefscore.job.Mode;
import org.prefscore.job.PrefscoreJob;
import org.prefscore.job.config.ConfigKey;
import org.prefscore.job.config.ConfigKeys;
import org.prefscore.job.config.PipelineConfig;
import org.prefscore.job.config.ResolvedConfig;
import org.prefscore.job.io.RunOutput;

/**
 * airflow/dags/prefscore_west_of_n.py, without Airflow: airflow/tests/parse_dag.py imports the DAG
 * with stub Airflow modules (only the documented APIs exist), renders its templates for a fixed
 * logical date and prints the tasks as JSON; this test then feeds each SparkSubmitOperator's
 * rendered application_args to the job's own command-line parser and validator (PrefscoreJob
 * --dry-run: everything is checked, Spark never starts) and checks what the DAG promises: two
 * rounds of iterative West-of-N with the external reward-model training between them (round 2's
 * base model is the folder round 1's training writes), run ids from the logical date, retries, the
 * manifest path RunOutput writes, DJL offline on executors, and paths that exist in the image
 * docker/Dockerfile builds.
 *
 * <p>The DAG's config file is an image path (/opt/prefscore/conf/X, which the Dockerfile copies
 * from conf/); here it is read from conf/X. Model directories are checked on the local disk by the
 * validator, so the ones the cluster config names (image or archive paths, absent here) are pointed
 * at the fixture models, after the DAG's own arguments; nothing else is changed. Needs python3 on
 * PATH (skipped otherwise); jinja2 is used when importable, and the minimal renderer must agree
 * with it.
 */
class AirflowDagTest {

  private static final Path ROOT = DeployFiles.repoRoot();
  private static final Path DAG = ROOT.resolve("airflow/dags/prefscore_west_of_n.py");
  private static final Path PARSER = ROOT.resolve("airflow/tests/parse_dag.py");
  private static final String LOGICAL_DATE = "2026-03-14";
  private static final String DS_NODASH = "20260314";
  private static final String IMAGE_CONF = "/opt/prefscore/conf/";
  private static final String APP_IN_IMAGE = "local:///opt/prefscore/prefscore-app.jar";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @BeforeAll
  static void needsPython() {
    boolean ok;
    try {
      Process p = new ProcessBuilder("python3", "--version").redirectErrorStream(true).start();
      ok = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      ok = false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      ok = false;
    }
    Assumptions.assumeTrue(
        ok,
        "python3 is not on PATH: AirflowDagTest imports the DAG with python3 "
            + "(airflow/tests/parse_dag.py, stub Airflow modules); install python3 to run it");
  }

  /** Runs parse_dag.py; fails the test with its stderr when it exits non-zero. */
  private static JsonNode parseDag(String... options) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("python3", PARSER.toString(), DAG.toString()));
    cmd.addAll(List.of(options));
    Process p = new ProcessBuilder(cmd).directory(ROOT.toFile()).start();
    byte[] out = p.getInputStream().readAllBytes();
    byte[] err = p.getErrorStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail("parse_dag.py timed out");
    }
    if (p.exitValue() != 0) {
      fail(
          "parse_dag.py failed ("
              + p.exitValue()
              + "): "
              + new String(err, StandardCharsets.UTF_8));
    }
    return JSON.readTree(out);
  }

  private static JsonNode parseDag() throws IOException, InterruptedException {
    return parseDag("--logical-date", LOGICAL_DATE);
  }

  private static List<String> strings(JsonNode array) {
    List<String> l = new ArrayList<>();
    array.forEach(n -> l.add(n.asText()));
    return l;
  }

  private static List<String> sparkTaskIds(JsonNode parsed) {
    List<String> ids = new ArrayList<>();
    parsed
        .get("tasks")
        .fields()
        .forEachRemaining(
            e -> {
              if (e.getValue().get("operator").asText().equals("SparkSubmitOperator")) {
                ids.add(e.getKey());
              }
            });
    return ids;
  }

  /** The args as the job on the cluster sees them, with the image's config path mapped to conf/. */
  private static List<String> localArgs(List<String> args) {
    List<String> local = new ArrayList<>(args);
    int i = local.indexOf("--config");
    assertThat(i).as("the DAG passes --config: %s", args).isGreaterThanOrEqualTo(0);
    String config = local.get(i + 1);
    assertThat(config)
        .as("the config file is the image's copy of conf/ (docker/Dockerfile)")
        .startsWith(IMAGE_CONF);
    Path file = ROOT.resolve("conf").resolve(config.substring(IMAGE_CONF.length()));
    assertThat(file).as("the DAG's --config %s exists in conf/", config).isRegularFile();
    local.set(i + 1, file.toString());
    return local;
  }

  /**
   * --set overrides that point the model directories the validator would look for on this disk at
   * the fixtures: only keys whose configured directory does not exist here, or that the mode
   * requires and nothing set.
   */
  private static List<String> fixtureModels(List<String> args) {
    CommandLine cli = CommandLine.parse(args.toArray(String[]::new));
    ResolvedConfig r = ResolvedConfig.resolve(cli.configFile(), cli.sets());
    Path models = ROOT.resolve("fixtures/models");
    Map<ConfigKey, String> fixture = new LinkedHashMap<>();
    fixture.put(ConfigKeys.MODEL_POLICY, "tiny-llama");
    fixture.put(ConfigKeys.MODEL_REWARD, "tiny-reward");
    fixture.put(ConfigKeys.MODEL_REFERENCE, "tiny-llama");
    fixture.put(ConfigKeys.MODEL_CHECKPOINT, "tiny-llama");
    List<String> sets = new ArrayList<>();
    fixture.forEach(
        (key, name) -> {
          String v = r.get(key).trim();
          boolean required =
              switch (cli.mode()) {
                case WEST_OF_N -> key == ConfigKeys.MODEL_POLICY || key == ConfigKeys.MODEL_REWARD;
                case SCORE_PAIRS -> key == ConfigKeys.MODEL_REFERENCE;
                case EVALUATE ->
                    key == ConfigKeys.MODEL_REFERENCE || key == ConfigKeys.MODEL_CHECKPOINT;
              };
          boolean missingHere =
              !v.isEmpty()
                  && !v.contains("://")
                  && !Files.isDirectory(Path.of(v.replaceFirst("^file:", "")));
          if (missingHere || (v.isEmpty() && required)) {
            sets.add("--set");
            sets.add(key.name() + "=" + models.resolve(name));
          }
        });
    return sets;
  }

  /** The DAG's args (config mapped, fixture models added) validated as the job validates them. */
  private static PipelineConfig validate(List<String> dagArgs) {
    List<String> args = localArgs(dagArgs);
    args.addAll(fixtureModels(args));
    CommandLine cli = CommandLine.parse(args.toArray(String[]::new));
    assertThat(cli.dryRun()).as("the DAG must not pass --dry-run").isFalse();
    return PipelineConfig.from(cli.mode(), ResolvedConfig.resolve(cli.configFile(), cli.sets()));
  }

  @Test
  void dagImportsOnlyTheDocumentedAirflowApisAndRendersTheSameEverywhere() throws Exception {
    JsonNode a2 = parseDag("--logical-date", LOGICAL_DATE, "--airflow", "2");
    JsonNode a3 = parseDag("--logical-date", LOGICAL_DATE, "--airflow", "3");
    JsonNode minimal = parseDag("--logical-date", LOGICAL_DATE, "--renderer", "minimal");
    assertThat(a2.get("dag_id").asText()).isEqualTo("prefscore_west_of_n");
    assertThat(strings(a2.get("imports")))
        .contains(
            "airflow.decorators",
            "airflow.operators.bash",
            "airflow.providers.apache.spark.operators.spark_submit")
        .doesNotContain("airflow.sdk", "airflow.providers.standard.operators.bash");
    assertThat(strings(a3.get("imports")))
        .contains(
            "airflow.sdk",
            "airflow.providers.standard.operators.bash",
            "airflow.providers.apache.spark.operators.spark_submit")
        .doesNotContain("airflow.decorators", "airflow.operators.bash");
    assertThat(a3.get("tasks"))
        .as("Airflow 2 and 3 imports give the same DAG")
        .isEqualTo(a2.get("tasks"));
    assertThat(minimal.get("tasks"))
        .as("jinja2 (%s) and the minimal renderer agree", a2.get("renderer"))
        .isEqualTo(a2.get("tasks"));

    JsonNode tasks = a2.get("tasks");
    assertThat(sparkTaskIds(a2))
        .containsExactlyInAnyOrder("west_of_n_round_1", "west_of_n_round_2", "score_pairs");
    List<String> chain =
        List.of(
            "west_of_n_round_1",
            "west_of_n_round_1_manifest",
            "train_reward_model_round_1",
            "west_of_n_round_2",
            "west_of_n_round_2_manifest",
            "score_pairs");
    for (int i = 0; i + 1 < chain.size(); i++) {
      assertThat(strings(tasks.get(chain.get(i)).get("downstream")))
          .as("%s runs right before %s", chain.get(i), chain.get(i + 1))
          .containsExactly(chain.get(i + 1));
    }
    assertThat(tasks.get("train_reward_model_round_1").get("operator").asText())
        .isEqualTo("BashOperator");
    assertThat(strings(tasks.get("score_pairs").get("downstream")))
        .containsExactly("score_pairs_manifest");
    assertThat(a2.get("dag").get("catchup").asBoolean()).isFalse();
  }

  @Test
  void sparkTasksPassTheJobsOwnValidationWithoutStartingSpark() throws Exception {
    JsonNode parsed = parseDag();
    for (String id : sparkTaskIds(parsed)) {
      JsonNode t = parsed.get("tasks").get(id);
      List<String> dagArgs = strings(t.get("application_args"));
      List<String> args = localArgs(dagArgs);
      args.addAll(fixtureModels(args));
      args.add("--dry-run");
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      Object result =
          PrefscoreJob.execute(
              args.toArray(String[]::new),
              new PrintStream(out, true, StandardCharsets.UTF_8),
              new PrintStream(err, true, StandardCharsets.UTF_8),
              c -> {
                throw new AssertionError("validating the DAG's arguments must not start Spark");
              });
      assertThat(result).isNull();
      PipelineConfig c = validate(dagArgs);
      String plan = out.toString(StandardCharsets.UTF_8);
      assertThat(plan).as(id).contains("dry run: configuration valid", "run id      " + c.runId());

      assertThat(c.mode().cliName())
          .as(id + ": the mode is the first argument")
          .isEqualTo(dagArgs.get(0));
      assertThat(c.runId())
          .as(id + ": run id from the logical date (and the round)")
          .isEqualTo(
              c.mode() == Mode.WEST_OF_N
                  ? "west-of-n-r" + c.iteration().round() + "-" + DS_NODASH
                  : c.mode().cliName() + "-" + DS_NODASH);
      assertThat(c.sparkMaster())
          .as(id + ": the Airflow connection's master is not overridden by the config")
          .isEmpty();
      assertThat(c.outputPath())
          .as(id + ": output.path from the Variable's default")
          .isEqualTo("s3a://prefscore/runs");
      assertThat(t.get("java_class").asText()).isEqualTo(PrefscoreJob.class.getName());
      assertThat(t.get("name").asText())
          .as(id + ": Spark app name (a DNS label on Kubernetes)")
          .isEqualTo(c.runId())
          .matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
      if (c.mode() == Mode.WEST_OF_N) {
        assertThat(c.input().path()).isEqualTo("s3a://prefscore/prompts/dt=" + LOGICAL_DATE);
        assertThat(id).isEqualTo("west_of_n_round_" + c.iteration().round());
        assertThat(c.iteration().basePreferences())
            .as(id + ": mix.base-preferences from the Variable's default")
            .contains("s3a://prefscore/base-preferences/train.jsonl");
      }
    }
  }

  @Test
  void scorePairsReadsTheSameDaysWestOfNPairs() throws Exception {
    JsonNode tasks = parseDag().get("tasks");
    PipelineConfig won = validate(strings(tasks.get("west_of_n_round_2").get("application_args")));
    PipelineConfig sp = validate(strings(tasks.get("score_pairs").get("application_args")));
    assertThat(sp.mode()).isEqualTo(Mode.SCORE_PAIRS);
    assertThat(sp.input().path())
        .isEqualTo(
            new org.apache.hadoop.fs.Path(
                    new org.apache.hadoop.fs.Path(won.outputPath(), won.runId()), "pairs")
                .toString());
    assertThat(sp.input().format()).isEqualTo(PipelineConfig.Format.PARQUET);
    assertThat(sp.input().idColumn()).isEqualTo("prompt_id");
    assertThat(sp.runId()).isNotEqualTo(won.runId());
  }

  @Test
  void retriesAreSetAndRunIdsDependOnTheLogicalDateOnly() throws Exception {
    JsonNode a = parseDag();
    JsonNode again = parseDag();
    JsonNode other = parseDag("--logical-date", "2026-03-15");
    assertThat(again.get("tasks"))
        .as("rendering is deterministic (no wall clock, no try number)")
        .isEqualTo(a.get("tasks"));
    for (String id : sparkTaskIds(a)) {
      JsonNode t = a.get("tasks").get(id);
      assertThat(t.get("retries").asInt()).as(id + ": retries").isGreaterThan(0);
      List<String> args = strings(t.get("application_args"));
      assertThat(args).as(id + ": the run id is set on the command line").contains("--set");
      String runId = validate(args).runId();
      assertThat(runId).endsWith("-" + DS_NODASH);
      String otherRunId =
          validate(strings(other.get("tasks").get(id).get("application_args"))).runId();
      assertThat(otherRunId).isEqualTo(runId.replace(DS_NODASH, "20260315"));
    }
    // The key the DAG sets is the job's run-id key: reusing the id replaces that run's output.
    assertThat(ConfigKeys.RUN_ID.name()).isEqualTo("run.id");
    assertThat(strings(a.get("tasks").get("west_of_n_round_1").get("application_args")))
        .contains("run.id=west-of-n-r1-" + DS_NODASH);
    assertThat(a.get("tasks").get("train_reward_model_round_1").get("retries").asInt())
        .isGreaterThan(0);
    assertThat(other.get("tasks").get("train_reward_model_round_1").get("bash_command").asText())
        .isEqualTo(
            a.get("tasks")
                .get("train_reward_model_round_1")
                .get("bash_command")
                .asText()
                .replace(DS_NODASH, "20260315"));
    assertThat(ConfigKeys.RUN_ID.doc()).contains("Reusing an id replaces that run's output");
  }

  @Test
  void manifestTasksReportThePathRunOutputWrites() throws Exception {
    for (String output :
        List.of(
            "s3a://prefscore/runs",
            "s3a://bucket/prefscore//runs/",
            "s3a://bucket",
            "hdfs://nn:8020/data/runs",
            "hdfs:///data/runs")) {
      JsonNode tasks =
          parseDag("--logical-date", LOGICAL_DATE, "--var", "prefscore_output_path=" + output)
              .get("tasks");
      for (String[] pair :
          new String[][] {
            {"west_of_n_round_1", "west_of_n_round_1_manifest"},
            {"west_of_n_round_2", "west_of_n_round_2_manifest"},
            {"score_pairs", "score_pairs_manifest"}
          }) {
        PipelineConfig c = validate(strings(tasks.get(pair[0]).get("application_args")));
        JsonNode manifest = tasks.get(pair[1]);
        assertThat(strings(manifest.get("upstream"))).containsExactly(pair[0]);
        assertThat(manifest.has("error")).as(manifest.toString()).isFalse();
        assertThat(manifest.get("result").asText())
            .as("%s with output.path %s", pair[1], output)
            .isEqualTo(runOutputManifest(c.outputPath(), c.runId()));
      }
    }
  }

  @Test
  void manifestTaskChecksSuccessForLocalOutputs() throws Exception {
    Path runs = tmp.resolve("runs");
    JsonNode before =
        parseDag("--logical-date", LOGICAL_DATE, "--var", "prefscore_output_path=" + runs)
            .get("tasks");
    assertThat(before.get("west_of_n_round_1_manifest").get("error").asText()).contains("_SUCCESS");

    Files.createDirectories(runs.resolve("west-of-n-r1-" + DS_NODASH));
    Files.writeString(runs.resolve("west-of-n-r1-" + DS_NODASH).resolve(RunOutput.SUCCESS), "");
    for (String output : List.of(runs.toString(), "file://" + runs)) {
      JsonNode after =
          parseDag("--logical-date", LOGICAL_DATE, "--var", "prefscore_output_path=" + output)
              .get("tasks");
      PipelineConfig c = validate(strings(after.get("west_of_n_round_1").get("application_args")));
      assertThat(after.get("west_of_n_round_1_manifest").get("result").asText())
          .isEqualTo(runOutputManifest(c.outputPath(), c.runId()));
      assertThat(after.get("west_of_n_round_2_manifest").has("error"))
          .as("round 2 has not run: no _SUCCESS")
          .isTrue();
      assertThat(after.get("score_pairs_manifest").has("error"))
          .as("score-pairs has not run: no _SUCCESS")
          .isTrue();
    }
  }

  @Test
  void theRewardModelIsTrainedOnRoundOnesMixAndIsRoundTwosBaseModel() throws Exception {
    JsonNode tasks =
        parseDag(
                "--logical-date",
                LOGICAL_DATE,
                "--var",
                "prefscore_student_root=s3a://models/students",
                "--var",
                "prefscore_reward_training_command=/opt/train/run")
            .get("tasks");
    PipelineConfig round1 =
        validate(strings(tasks.get("west_of_n_round_1").get("application_args")));
    PipelineConfig round2 =
        validate(strings(tasks.get("west_of_n_round_2").get("application_args")));
    assertThat(round1.iteration().round()).isEqualTo(1);
    assertThat(round2.iteration().round()).isEqualTo(2);
    String student = "s3a://models/students/" + DS_NODASH + "/round-1";
    String runDir = new org.apache.hadoop.fs.Path(round1.outputPath(), round1.runId()).toString();
    assertThat(tasks.get("train_reward_model_round_1").get("bash_command").asText())
        .isEqualTo(
            "/opt/train/run --run "
                + runDir
                + " --base-model /opt/prefscore/models/reward-base --output "
                + student);
    // Round 2's only teacher is the student, a pointwise reward model.
    assertThat(round2.teacher().kind()).isEqualTo(PipelineConfig.Teacher.Kind.REWARD);
    assertThat(round2.teacher().directory()).isEqualTo(student);
    assertThat(round2.models().reward()).contains(student);
    assertThat(round2.iteration().basePreferences())
        .isEqualTo(round1.iteration().basePreferences());
    assertThat(round2.input().path()).isEqualTo(round1.input().path());
    // The default command is the module in python/; it must at least compile.
    Path module = ROOT.resolve("python/prefscore_trl/train_reward.py");
    assertThat(module).isRegularFile();
    assertThat(
            parseDag().get("tasks").get("train_reward_model_round_1").get("bash_command").asText())
        .startsWith("python3 -m prefscore_trl.train_reward --run ");
    Process p =
        new ProcessBuilder(
                "python3",
                "-c",
                "import ast,sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])",
                module.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0).as(out).isTrue();
  }

  /** Where RunOutput writes the manifest: new Path(new Path(output.path, run.id), MANIFEST). */
  private static String runOutputManifest(String outputPath, String runId) {
    return new org.apache.hadoop.fs.Path(
            new org.apache.hadoop.fs.Path(outputPath, runId), RunOutput.MANIFEST)
        .toString();
  }

  @Test
  void sparkConfRunsDjlOfflineInThePrefscoreImage() throws Exception {
    JsonNode parsed = parseDag();
    String dockerfile = DeployFiles.read(ROOT.resolve("docker/Dockerfile"));
    for (String id : sparkTaskIds(parsed)) {
      JsonNode t = parsed.get("tasks").get(id);
      assertThat(t.get("application").asText())
          .as(id + ": the jar docker/Dockerfile installs")
          .isEqualTo(APP_IN_IMAGE);
      assertThat(dockerfile).contains(" " + APP_IN_IMAGE.substring("local://".length()) + "\n");
      JsonNode conf = t.get("conf");
      assertThat(conf.get("spark.executor.memory").asText()).matches("\\d+[gGmM]");
      for (String side :
          List.of("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions")) {
        String opts = conf.get(side).asText();
        assertThat(opts)
            .as(id + " " + side)
            .contains("-Dai.djl.offline=true", "-DOPT_OUT_TRACKING=true");
        for (String dirFlag : List.of("-Djava.io.tmpdir=", "-DDJL_CACHE_DIR=")) {
          String dir = opts.replaceAll(".*" + dirFlag + "(\\S+).*", "$1");
          assertThat(dockerfile)
              .as("%s %s%s is created writable in docker/Dockerfile", side, dirFlag, dir)
              .contains(dir);
        }
        String log4j = opts.replaceAll(".*-Dlog4j2.configurationFile=(\\S+).*", "$1");
        assertThat(log4j).startsWith(IMAGE_CONF);
        assertThat(ROOT.resolve("conf").resolve(log4j.substring(IMAGE_CONF.length())))
            .isRegularFile();
      }
      assertThat(t.get("retries").asInt()).isGreaterThan(0);
    }
  }
}
