package org.prefscore.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.job.config.ConfigException;

/**
 * Every configured model directory is opened on the driver before Spark starts, in a dry run and in
 * a normal run: a broken or mismatched directory (built from a fixture in a temporary folder) fails
 * with the key, the file and the problem, as a configuration error (exit status 2), quickly,
 * without a SparkSession and without output.
 */
class ModelPreflightTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  private Path copyOf(String fixture) throws IOException {
    Path target = tmp.resolve(fixture);
    Files.createDirectories(target);
    try (Stream<Path> files = Files.list(Path.of(TestSupport.model(fixture)))) {
      for (Path f : files.toList()) {
        Files.copy(f, target.resolve(f.getFileName()));
      }
    }
    return target;
  }

  private String[] args(Path policy, Path reward, boolean dryRun, String... settings)
      throws IOException {
    Path input = tmp.resolve("in.jsonl");
    Files.writeString(input, "{\"prompt\": \"Hello.\"}\n");
    List<String> a =
        new ArrayList<>(
            List.of(
                "west-of-n",
                "--set",
                "input.path=" + input,
                "--set",
                "output.path=" + tmp.resolve("out"),
                "--set",
                "run.id=preflight",
                "--set",
                "models.policy=" + policy,
                "--set",
                "models.reward=" + reward,
                "--set",
                "progress.interval-seconds=0"));
    for (String setting : settings) {
      a.add("--set");
      a.add(setting);
    }
    if (dryRun) {
      a.add("--dry-run");
    }
    return a.toArray(String[]::new);
  }

  /** Runs the CLI in a dry run and a normal run; both must fail before Spark with the message. */
  private void failsBeforeSpark(
      Path policy, Path reward, String key, Path file, String problem, String... settings)
      throws IOException {
    for (boolean dryRun : new boolean[] {true, false}) {
      String[] a = args(policy, reward, dryRun, settings);
      long start = System.nanoTime();
      assertThatThrownBy(
              () ->
                  PrefscoreJob.execute(
                      a,
                      new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                      System.err,
                      c -> {
                        throw new AssertionError("the model check must fail before Spark starts");
                      }))
          .as(dryRun ? "dry run" : "run")
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining(key + ": " + file)
          .hasMessageContaining(problem);
      assertThat((System.nanoTime() - start) / 1e9).as("seconds").isLessThan(10);
      assertThat(tmp.resolve("out")).doesNotExist();
    }
  }

  private static String reward() {
    return TestSupport.model("tiny-reward");
  }

  @Test
  void aTruncatedGraphFailsBeforeSpark() throws IOException {
    Path policy = copyOf("tiny-llama");
    byte[] graph = Files.readAllBytes(policy.resolve("model.onnx"));
    Files.write(policy.resolve("model.onnx"), Arrays.copyOf(graph, graph.length / 3));
    failsBeforeSpark(
        policy,
        Path.of(reward()),
        "models.policy",
        policy.resolve("model.onnx"),
        "ONNX Runtime cannot load the graph");
  }

  @Test
  void anEmptyGraphFailsBeforeSpark() throws IOException {
    Path reward = copyOf("tiny-reward");
    Files.write(reward.resolve("model.onnx"), new byte[0]);
    failsBeforeSpark(
        Path.of(TestSupport.model("tiny-llama")),
        reward,
        "models.reward",
        reward.resolve("model.onnx"),
        "ONNX Runtime cannot load the graph");
  }

  @Test
  void garbageConfigFailsBeforeSpark() throws IOException {
    Path policy = copyOf("tiny-llama");
    Files.writeString(policy.resolve("config.json"), "model_type: llama\n");
    failsBeforeSpark(
        policy,
        Path.of(reward()),
        "models.policy",
        policy.resolve("config.json"),
        "not valid JSON");
  }

  @Test
  void garbageTokenizerFailsBeforeSpark() throws IOException {
    Path reward = copyOf("tiny-reward");
    Files.writeString(reward.resolve("tokenizer.json"), "{\"version\": \"1.0\", \"model\": ");
    failsBeforeSpark(
        Path.of(TestSupport.model("tiny-llama")),
        reward,
        "models.reward",
        reward.resolve("tokenizer.json"),
        "not valid JSON");
  }

  @Test
  void aTokenizerOfAnotherModelFailsBeforeSpark() throws IOException {
    // 957 ids fit tiny-llama's 961 logits; its EOS id 960 is no id of them.
    Path policy = copyOf("tiny-llama");
    Files.copy(
        Path.of(TestSupport.model("tiny-gpt2"), "tokenizer.json"),
        policy.resolve("tokenizer.json"),
        StandardCopyOption.REPLACE_EXISTING);
    failsBeforeSpark(
        policy,
        Path.of(reward()),
        "models.policy",
        policy.resolve("generation_config.json"),
        "eos_token_id 960 is not an id of tokenizer.json, which has 957 ids");
  }

  @Test
  void aChatTemplateThatDoesNotCompileFailsBeforeSpark() throws IOException {
    Path policy = copyOf("tiny-llama");
    ObjectNode config =
        (ObjectNode) JSON.readTree(policy.resolve("tokenizer_config.json").toFile());
    config.put("chat_template", "{% for m in messages %}{{ m['content'] }}");
    JSON.writeValue(policy.resolve("tokenizer_config.json").toFile(), config);
    failsBeforeSpark(
        policy,
        Path.of(reward()),
        "models.policy",
        policy.resolve("tokenizer_config.json"),
        "chat template does not parse");
  }

  @Test
  void aChatTemplateThatCannotRenderOneMessageFailsBeforeSpark() throws IOException {
    Path policy = copyOf("tiny-llama");
    ObjectNode config =
        (ObjectNode) JSON.readTree(policy.resolve("tokenizer_config.json").toFile());
    config.put(
        "chat_template",
        "{% if messages[0]['role'] == 'user' %}{{ raise_exception('Conversations must start"
            + " with a system message') }}{% endif %}");
    JSON.writeValue(policy.resolve("tokenizer_config.json").toFile(), config);
    failsBeforeSpark(
        policy,
        Path.of(reward()),
        "models.policy",
        policy.resolve("tokenizer_config.json"),
        "the chat template cannot render a one-message conversation");
  }

  @Test
  void everyProblemIsListedInOneMessage() throws IOException {
    Path policy = copyOf("tiny-llama");
    Files.write(policy.resolve("model.onnx"), new byte[0]);
    Path reward = copyOf("tiny-reward");
    Files.writeString(reward.resolve("config.json"), "[");
    assertThatThrownBy(
            () ->
                PrefscoreJob.execute(
                    args(policy, reward, true),
                    System.out,
                    System.err,
                    c -> {
                      throw new AssertionError("no Spark");
                    }))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("(2 problems)")
        .hasMessageContaining("models.policy: " + policy.resolve("model.onnx"))
        .hasMessageContaining("models.reward: " + reward.resolve("config.json"));
  }

  @Test
  void theDryRunPlanSaysWhatWasChecked() throws IOException {
    String plan =
        TestSupport.dryRun(args(Path.of(TestSupport.model("tiny-llama")), Path.of(reward()), true));
    assertThat(plan)
        .contains(
            "model check (on the driver, before Spark starts):",
            "models.policy  "
                + TestSupport.model("tiny-llama")
                + ": decoder llama: 2 layers, 961 logits, tokenizer 961 ids",
            "chat template compiles and renders a probe conversation (chat prompts)",
            "models.reward  " + reward() + ": reward model gpt2");
  }

  @Test
  void theDryRunPlanSaysWhichPolicyGraphHasASamplingHead() throws IOException {
    String plan =
        TestSupport.dryRun(
            args(Path.of(TestSupport.model("tiny-llama-head")), Path.of(reward()), true));
    assertThat(plan)
        .contains(
            "models.policy  "
                + TestSupport.model("tiny-llama-head")
                + ": decoder llama: 2 layers, 961 logits",
            "graph model.onnx with a sampling head; a prefill and a decode step ran")
        // 961 ids: no hint to add a head either way (ModelCheckTest covers the hint).
        .doesNotContain("no sampling head");
  }

  /** tiny-llama's JSON files with its graph under onnx/ beside the float16 export (Hub layout). */
  private Path hubLayout() throws IOException {
    Path dir = tmp.resolve("hub");
    Files.createDirectories(dir.resolve("onnx"));
    Path llama = Path.of(TestSupport.model("tiny-llama"));
    for (String f :
        List.of(
            "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json")) {
      Files.copy(llama.resolve(f), dir.resolve(f));
    }
    Files.copy(llama.resolve("model.onnx"), dir.resolve("onnx/model.onnx"));
    Path dtypes = Path.of(TestSupport.model("tiny-llama-dtypes"), "onnx");
    for (String f : List.of("model_fp16.onnx", "model_fp16.onnx_data")) {
      Files.copy(dtypes.resolve(f), dir.resolve("onnx").resolve(f));
    }
    return dir;
  }

  @Test
  void aGraphOverTheDriversBoundGetsOnlyTheFileAndTokenizerChecks() throws IOException {
    // A truncated graph would fail the full check; with no graph loaded on the driver it passes
    // there (the executors check it as they load it), while the files are still checked.
    Path policy = copyOf("tiny-llama");
    byte[] graph = Files.readAllBytes(policy.resolve("model.onnx"));
    Files.write(policy.resolve("model.onnx"), Arrays.copyOf(graph, graph.length / 3));
    String plan =
        TestSupport.dryRun(
            args(policy, Path.of(reward()), true, "runtime.driver-check-max-graph-mb=0"));
    assertThat(plan)
        .contains(
            "models.policy  "
                + policy
                + ": decoder llama, files and tokenizer checked; graph not"
                + " loaded on the driver: 1 MB > runtime.driver-check-max-graph-mb=0",
            "models.reward  " + reward() + ": reward model gpt2, files and tokenizer checked");
    // The files are still checked.
    Files.writeString(policy.resolve("tokenizer.json"), "{\"version\": \"1.0\", \"model\": ");
    failsBeforeSpark(
        policy,
        Path.of(reward()),
        "models.policy",
        policy.resolve("tokenizer.json"),
        "not valid JSON",
        "runtime.driver-check-max-graph-mb=0");
    // Within the bound (the default) the truncated graph fails as before.
    Files.copy(
        Path.of(TestSupport.model("tiny-llama"), "tokenizer.json"),
        policy.resolve("tokenizer.json"),
        StandardCopyOption.REPLACE_EXISTING);
    failsBeforeSpark(
        policy,
        Path.of(reward()),
        "models.policy",
        policy.resolve("model.onnx"),
        "ONNX Runtime cannot load the graph");
  }

  @Test
  void severalGraphsAndNoneChosenFailBeforeSparkListingThem() throws IOException {
    Path hub = hubLayout();
    failsBeforeSpark(
        hub,
        Path.of(reward()),
        "models.policy",
        hub,
        "has 2 ONNX graphs [onnx/model.onnx, onnx/model_fp16.onnx]: choose one");
    failsBeforeSpark(
        hub,
        Path.of(reward()),
        "models.policy.onnx-file",
        hub,
        "has no ONNX graph 'model_q4.onnx' (at the top or under onnx/); its graphs are"
            + " [onnx/model.onnx, onnx/model_fp16.onnx]",
        "models.policy.onnx-file=model_q4.onnx");
  }

  @Test
  void aChosenGraphOfAHubLayoutIsCheckedAndNamedInTheDryRunPlan() throws IOException {
    Path hub = hubLayout();
    for (String choice : List.of("model_fp16.onnx", "onnx/model.onnx")) {
      String plan =
          TestSupport.dryRun(
              args(hub, Path.of(reward()), true, "models.policy.onnx-file=" + choice));
      String graph = choice.startsWith("onnx/") ? choice : "onnx/" + choice;
      assertThat(plan)
          .contains(
              "models.policy  " + hub + ": decoder llama: 2 layers, 961 logits",
              "graph " + graph + "; a prefill and a decode step ran",
              "chat template compiles and renders a probe conversation (chat prompts)",
              "models.reward  " + reward() + ": reward model gpt2");
    }
  }

  @Test
  void theCommandLineExitsWithStatusTwoNamingTheFile() throws Exception {
    Path policy = copyOf("tiny-llama");
    byte[] graph = Files.readAllBytes(policy.resolve("model.onnx"));
    Files.write(policy.resolve("model.onnx"), Arrays.copyOf(graph, 1000));
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                "-Dai.djl.offline=true",
                "-Djava.io.tmpdir=" + tmp,
                "-Dlog4j2.configurationFile=log4j2-test.properties",
                PrefscoreJob.class.getName()));
    command.addAll(List.of(args(policy, Path.of(reward()), false)));
    Process p =
        new ProcessBuilder(command)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(tmp.resolve("stderr.txt").toFile())
            .start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    String stderr = Files.readString(tmp.resolve("stderr.txt"));
    assertThat(p.exitValue()).as(stderr).isEqualTo(2);
    assertThat(stderr)
        .contains("invalid configuration (1 problem)")
        .contains("models.policy: " + policy.resolve("model.onnx"));
    assertThat(tmp.resolve("out")).doesNotExist();
  }
}
