package org.prefscore.job.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.job.CommandLine;
import org.prefscore.job.Mode;
import org.prefscore.job.PipelineRunner;
import org.prefscore.job.PrefscoreJob;
import org.prefscore.job.TestSupport;

/** Configuration: precedence, validation in one message, unknown keys, redaction, CLI. No Spark. */
class ConfigTest {

  @TempDir Path tmp;

  private List<String> minimal() {
    return List.of(
        "input.path=in.jsonl",
        "output.path=" + tmp,
        "models.policy=" + TestSupport.model("tiny-llama"),
        "models.reward=" + TestSupport.model("tiny-reward"));
  }

  private static List<String> plus(List<String> a, String... b) {
    List<String> all = new java.util.ArrayList<>(a);
    all.addAll(List.of(b));
    return all;
  }

  @Test
  void pairFormatAndTruncatedSamplesAreTypedAndChecked() {
    PipelineConfig d = PipelineConfig.from(Mode.WEST_OF_N, ResolvedConfig.resolve(null, minimal()));
    assertThat(d.pairOptions().format()).isEqualTo(org.prefscore.spark.PairFormat.AUTO);
    assertThat(d.pairOptions().truncated()).isEqualTo(org.prefscore.spark.TruncatedSamples.EXCLUDE);
    PipelineConfig c =
        PipelineConfig.from(
            Mode.WEST_OF_N,
            ResolvedConfig.resolve(
                null,
                plus(minimal(), "output.pair-format=Conversational", "selection.truncated=keep")));
    assertThat(c.pairOptions().format()).isEqualTo(org.prefscore.spark.PairFormat.CONVERSATIONAL);
    assertThat(c.pairOptions().truncated()).isEqualTo(org.prefscore.spark.TruncatedSamples.KEEP);
    assertThatThrownBy(
            () ->
                PipelineConfig.from(
                    Mode.WEST_OF_N,
                    ResolvedConfig.resolve(
                        null,
                        plus(minimal(), "output.pair-format=chat", "selection.truncated=drop"))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("output.pair-format must be one of auto, text, conversational")
        .hasMessageContaining("selection.truncated must be one of exclude, keep");
  }

  @Test
  void decodeLanesAreBoundedAndReachTheRuntime() {
    PipelineConfig d = PipelineConfig.from(Mode.WEST_OF_N, ResolvedConfig.resolve(null, minimal()));
    assertThat(d.runtime().decodeLanes()).isEqualTo(1);
    PipelineConfig c =
        PipelineConfig.from(
            Mode.WEST_OF_N,
            ResolvedConfig.resolve(null, plus(minimal(), "runtime.decode-lanes=2")));
    assertThat(c.runtime().decodeLanes()).isEqualTo(2);
    for (String bad : List.of("0", "65", "two")) {
      assertThatThrownBy(
              () ->
                  PipelineConfig.from(
                      Mode.WEST_OF_N,
                      ResolvedConfig.resolve(null, plus(minimal(), "runtime.decode-lanes=" + bad))))
          .as(bad)
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining("runtime.decode-lanes must be");
    }
  }

  @Test
  void samplingHeadAndEngineSpinningAreBooleansThatReachTheRuntime() {
    PipelineConfig d = PipelineConfig.from(Mode.WEST_OF_N, ResolvedConfig.resolve(null, minimal()));
    assertThat(d.runtime().samplingHead()).isTrue();
    assertThat(d.runtime().engine().spinning()).isFalse();
    PipelineConfig c =
        PipelineConfig.from(
            Mode.WEST_OF_N,
            ResolvedConfig.resolve(
                null,
                plus(minimal(), "runtime.sampling-head=false", "runtime.engine-spinning=TRUE")));
    assertThat(c.runtime().samplingHead()).isFalse();
    assertThat(c.runtime().engine().spinning()).isTrue();
    assertThatThrownBy(
            () ->
                PipelineConfig.from(
                    Mode.WEST_OF_N,
                    ResolvedConfig.resolve(
                        null,
                        plus(minimal(), "runtime.sampling-head=yes", "runtime.engine-spinning=1"))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("runtime.sampling-head must be true or false, got 'yes'")
        .hasMessageContaining("runtime.engine-spinning must be true or false, got '1'");
  }

  @Test
  void setBeatsFileBeatsDefault() throws IOException {
    Path file = tmp.resolve("c.properties");
    Files.writeString(file, "sampling.n=8\nsampling.temperature=0.9\n");
    ResolvedConfig r = ResolvedConfig.resolve(file, plus(minimal(), "sampling.n=3"));
    PipelineConfig c = PipelineConfig.from(Mode.WEST_OF_N, r);
    assertThat(c.sampling().samplesPerPrompt()).isEqualTo(3);
    assertThat(r.origin(ConfigKeys.SAMPLING_N)).isEqualTo(ResolvedConfig.Origin.SET);
    assertThat(c.sampling().temperature()).isEqualTo(0.9);
    assertThat(r.origin(ConfigKeys.SAMPLING_TEMPERATURE)).isEqualTo(ResolvedConfig.Origin.FILE);
    assertThat(c.sampling().maxNewTokens()).isEqualTo(128);
    assertThat(r.origin(ConfigKeys.SAMPLING_MAX_NEW_TOKENS))
        .isEqualTo(ResolvedConfig.Origin.DEFAULT);
    assertThat(c.margin().beta()).isEqualTo(0.1);
    assertThat(c.margin().lambda()).isEqualTo(0.5);
    assertThat(c.refinement().text())
        .startsWith("Please generate a response with a usefulness rating of 100");
    assertThat(c.refinement().separator()).isEqualTo(" ");
    assertThat(c.models().reference()).isEqualTo(c.models().policy());
    assertThat(c.models().referenceIsPolicy()).isTrue();
  }

  @Test
  void everyViolationIsListedInOneMessage() {
    List<String> sets =
        List.of(
            "sampling.n=1",
            "sampling.temperature=-1",
            "srdpo.beta=0",
            "filter.confidence.quantile=1.5",
            "filter.likelihood.mode=quantile",
            "runtime.token-budget=abc",
            "models.reward=/no/such/model",
            "run.id=a/b",
            "samplng.n=4");
    assertThatThrownBy(
            () -> PipelineConfig.from(Mode.WEST_OF_N, ResolvedConfig.resolve(null, sets)))
        .isInstanceOf(ConfigException.class)
        .satisfies(
            e -> {
              ConfigException ce = (ConfigException) e;
              assertThat(ce.problems()).hasSizeGreaterThanOrEqualTo(11);
              assertThat(ce.getMessage())
                  .contains(
                      "unknown key 'samplng.n' in --set (did you mean 'sampling.n'?)",
                      "input.path is required",
                      "output.path is required",
                      "models.policy is required",
                      "sampling.n must be >= 2",
                      "temperature must be a finite number >= 0",
                      "beta must be finite and > 0",
                      "filter.confidence.quantile must be in [0.0, 1.0]",
                      "filter.likelihood.quantile must be set",
                      "runtime.token-budget must be an integer",
                      "models.reward: no such directory",
                      "run.id must be letters");
            });
  }

  @Test
  void anUnreadableConfigFileIsNamedWithTheReason() throws IOException {
    Path missing = tmp.resolve("missing.properties");
    assertThatThrownBy(
            () -> PipelineConfig.from(Mode.WEST_OF_N, ResolvedConfig.resolve(missing, minimal())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("cannot read config file " + missing + ": no such file");
    Path latin1 = tmp.resolve("latin1.properties");
    Files.write(latin1, new byte[] {'r', 'u', 'n', '.', 'i', 'd', '=', (byte) 0xE9, '\n'});
    assertThatThrownBy(
            () -> PipelineConfig.from(Mode.WEST_OF_N, ResolvedConfig.resolve(latin1, minimal())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("cannot read config file " + latin1 + ": not UTF-8 text");
    assertThatThrownBy(
            () -> PipelineConfig.from(Mode.WEST_OF_N, ResolvedConfig.resolve(tmp, minimal())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("cannot read config file " + tmp + ": a directory, not a file");
  }

  @Test
  void unknownKeysInTheFileAreErrors() throws IOException {
    Path file = tmp.resolve("typo.properties");
    Files.writeString(file, "input.pth=x\n");
    assertThatThrownBy(
            () -> PipelineConfig.from(Mode.WEST_OF_N, ResolvedConfig.resolve(file, minimal())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("unknown key 'input.pth' in " + file)
        .hasMessageContaining("did you mean 'input.path'");
  }

  @Test
  void modesRequireTheirModels() {
    List<String> base = List.of("input.path=x.parquet", "output.path=" + tmp);
    assertThatThrownBy(
            () -> PipelineConfig.from(Mode.SCORE_PAIRS, ResolvedConfig.resolve(null, base)))
        .hasMessageContaining("models.reference is required");
    PipelineConfig c =
        PipelineConfig.from(
            Mode.SCORE_PAIRS,
            ResolvedConfig.resolve(
                null, plus(base, "models.reference=" + TestSupport.model("tiny-gpt2"))));
    assertThat(c.input().format()).isEqualTo(PipelineConfig.Format.PARQUET);
    assertThat(c.templateModel()).isEqualTo(TestSupport.model("tiny-gpt2"));
    assertThatThrownBy(
            () ->
                PipelineConfig.from(
                    Mode.EVALUATE,
                    ResolvedConfig.resolve(
                        null, plus(base, "models.reference=" + TestSupport.model("tiny-gpt2")))))
        .hasMessageContaining("models.policy-checkpoint is required");
  }

  @Test
  void secretsAreRedactedAndOrdinaryKeysShown() {
    ResolvedConfig r =
        ResolvedConfig.resolve(
            null,
            plus(
                minimal(),
                "spark.conf.spark.hadoop.fs.s3a.secret.key=hunter2",
                "spark.conf.spark.hadoop.fs.s3a.access.key=AKIA123",
                "spark.conf.spark.some.token=t0k",
                "spark.conf.spark.db.password=pw",
                "spark.conf.spark.x.credentials=c",
                "runtime.token-budget=777"));
    assertThat(r.redacted())
        .containsEntry("spark.conf.spark.hadoop.fs.s3a.secret.key", "****")
        .containsEntry("spark.conf.spark.hadoop.fs.s3a.access.key", "****")
        .containsEntry("spark.conf.spark.some.token", "****")
        .containsEntry("spark.conf.spark.db.password", "****")
        .containsEntry("spark.conf.spark.x.credentials", "****")
        .containsEntry("runtime.token-budget", "777");
    assertThat(r.redacted().toString()).doesNotContain("hunter2", "AKIA123", "t0k");
    assertThat(r.sparkConf()).containsEntry("spark.hadoop.fs.s3a.secret.key", "hunter2");
  }

  @Test
  void commandLineProblemsAreListedWithUsage() {
    assertThatThrownBy(() -> CommandLine.parse(new String[] {"west-of-x", "--bogus", "--set"}))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("unknown mode 'west-of-x'")
        .hasMessageContaining("unknown option --bogus")
        .hasMessageContaining("--set needs a value")
        .hasMessageContaining("usage: prefscore");
    CommandLine cli =
        CommandLine.parse(
            new String[] {
              "score-pairs", "--config", "a.properties", "--set", "x=1", "--set=y=2", "--dry-run"
            });
    assertThat(cli.mode()).isEqualTo(Mode.SCORE_PAIRS);
    assertThat(cli.sets()).containsExactly("x=1", "y=2");
    assertThat(cli.dryRun()).isTrue();
  }

  @Test
  void dryRunValidatesAndPrintsThePlanWithoutStartingSpark() throws IOException {
    Path file = tmp.resolve("c.properties");
    Files.writeString(
        file,
        String.join("\n", minimal())
            + "\nfilter.confidence.quantile=0.3\nspark.conf.spark.a.secret=s3cr3t\n");
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    PipelineRunner.RunResult result =
        PrefscoreJob.execute(
            new String[] {
              "west-of-n", "--config", file.toString(), "--dry-run", "--set", "run.id=plan"
            },
            new java.io.PrintStream(out, true),
            System.err,
            c -> {
              throw new AssertionError("a dry run must not start Spark");
            });
    assertThat(result).isNull();
    String plan = out.toString();
    assertThat(plan)
        .contains(
            "dry run",
            "run id      plan",
            "confidence ≥ q0.3 quantile",
            "N=64",
            "checkpoint  none: policy terms = reference terms",
            "samples stopped at max-new-tokens: exclude; pair format auto",
            "input rows = pairs + pairs_conversational + filtered + rejects");
    assertThat(plan).doesNotContain("s3cr3t");
    assertThat(tmp.resolve("plan")).doesNotExist();
    assertThatThrownBy(
            () ->
                PrefscoreJob.execute(
                    new String[] {"west-of-n", "--dry-run", "--set", "sampling.n=0"},
                    System.out,
                    System.err,
                    c -> null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("input.path is required");
  }

  @Test
  void chatTemplateKwargsArePlainJsonValuesValidatedBeforeSpark() {
    PipelineConfig none =
        PipelineConfig.from(Mode.WEST_OF_N, ResolvedConfig.resolve(null, minimal()));
    assertThat(none.templateKwargs()).isEmpty();
    PipelineConfig c =
        PipelineConfig.from(
            Mode.WEST_OF_N,
            ResolvedConfig.resolve(
                null,
                plus(
                    minimal(),
                    "chat.template-kwargs={\"enable_thinking\": false, \"n\": 3, \"t\": 0.5,"
                        + " \"who\": \"bob\", \"none\": null, \"tags\": [\"a\", 1],"
                        + " \"meta\": {\"k\": true}}")));
    java.util.Map<String, Object> expected = new java.util.LinkedHashMap<>();
    expected.put("enable_thinking", false);
    expected.put("n", 3L);
    expected.put("t", 0.5);
    expected.put("who", "bob");
    expected.put("none", null);
    expected.put("tags", List.of("a", 1L));
    expected.put("meta", java.util.Map.of("k", true));
    assertThat(c.templateKwargs()).containsExactlyEntriesOf(expected);

    for (String[] bad :
        new String[][] {
          {"not json", "chat.template-kwargs must be a JSON object, got 'not json'"},
          {"[1, 2]", "must be a JSON object of keyword arguments, got array"},
          {"{\"a\": 1, \"a\": 2}", "Duplicate field 'a'"},
          {"{\"a\": 1} {}", "chat.template-kwargs must be a JSON object"},
          {"{\"big\": 123456789012345678901234567890}", "'big' holds an integer beyond 64 bits"},
          {"{\"messages\": []}", "'messages' is bound by apply_chat_template itself"},
          {"{\"add_generation_prompt\": true}", "'add_generation_prompt' is bound"},
          {"{\"tools\": []}", "'tools' is bound"},
          {"{\"documents\": []}", "'documents' is bound"}
        }) {
      assertThatThrownBy(
              () ->
                  PipelineConfig.from(
                      Mode.WEST_OF_N,
                      ResolvedConfig.resolve(
                          null, plus(minimal(), "chat.template-kwargs=" + bad[0]))))
          .as(bad[0])
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining(bad[1]);
    }
  }
}
