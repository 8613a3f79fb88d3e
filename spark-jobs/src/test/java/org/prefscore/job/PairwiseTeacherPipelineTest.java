package org.prefscore.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.chat.ChatTemplate;
import org.prefscore.job.config.ConfigException;
import org.prefscore.job.config.PipelineConfig;
import org.prefscore.job.config.ResolvedConfig;
import org.prefscore.judge.GenerativeJudge;
import org.prefscore.judge.JudgePrompt;
import org.prefscore.judge.PairwiseTeacher;
import org.prefscore.method.Candidate;
import org.prefscore.method.KnockoutTournament;
import org.prefscore.method.PairwiseKnockoutSelector;
import org.prefscore.method.PreferencePair;
import org.prefscore.method.Selection;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.spark.KnockoutFunction;
import org.prefscore.testing.Fixtures;

/**
 * west-of-n with a pairwise teacher (method.md §1.4): the generative judge fixture (tiny-judge) and
 * tiny-reward read as a PairRM-style classifier. Every pair is what the knockouts give when
 * replayed one comparison at a time with the judge called directly; the bracket is the seeded
 * permutation; confidence is the symmetric P(y+ ≻ y-) and the confidence filter works on it; the
 * same pairs come out with other partitions, token budgets and thread counts.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PairwiseTeacherPipelineTest {

  @TempDir static Path tmp;
  private SparkSession spark;
  private Path input;
  private TestSupport.Run judged;

  @BeforeAll
  void start() throws IOException {
    spark = TestSupport.localSpark("pairwise-teacher-test");
    input = tmp.resolve("prompts.jsonl");
    List<String> lines = new ArrayList<>();
    String[] prompts = {
      "Count to three.", "What year is it?", "Name a number.", "Tell me about the sea.",
      "How many cats are there?", "Say hello.", "Describe the city at night.", "Pick a digit.",
      "What is 7 times 6?", "Write a short line."
    };
    for (String p : prompts) {
      lines.add("{\"prompt\": \"" + p + "\"}");
    }
    lines.add("{\"prompt\": \"Say hello.\"}"); // a duplicate: a prepare reject
    Files.write(input, lines);
    judged = run("judge-a", "models.judge=" + TestSupport.model("tiny-judge"));
  }

  @AfterAll
  void stop() {
    spark.stop();
  }

  private TestSupport.Run run(String runId, String... extra) {
    List<String> sets = TestSupport.smallRunSettings(input, tmp.resolve("out"), runId);
    sets.set(sets.indexOf("sampling.n=4"), "sampling.n=6");
    sets.set(sets.indexOf("sampling.max-new-tokens=4"), "sampling.max-new-tokens=8");
    sets.add("models.policy=" + TestSupport.model("tiny-gpt2"));
    sets.addAll(List.of(extra));
    return TestSupport.runWithSettings(spark, "west-of-n", sets);
  }

  private static List<Map<String, Object>> rows(TestSupport.Run run, String table, String sql) {
    return TestSupport.duckdb(
        sql.replace("{T}", TestSupport.parquet(run.result().outputPath(), table)));
  }

  @Test
  void pairsAreTheKnockoutsReplayedWithTheJudgeCalledDirectly() {
    List<Map<String, Object>> pairs = rows(judged, "pairs", "SELECT * FROM {T} ORDER BY prompt_id");
    assertThat(pairs).hasSizeGreaterThanOrEqualTo(5);
    Map<String, List<Candidate>> pools = new HashMap<>();
    for (Map<String, Object> c :
        rows(judged, "candidates", "SELECT * FROM {T} ORDER BY prompt_id, sample_index")) {
      assertThat(c.get("reward")).as("no pointwise reward with a pairwise teacher").isNull();
      pools
          .computeIfAbsent((String) c.get("prompt_id"), k -> new ArrayList<>())
          .add(
              new Candidate(
                  (String) c.get("prompt_id"),
                  ((Number) c.get("sample_index")).intValue(),
                  ((Number) c.get("seed")).longValue(),
                  (String) c.get("text"),
                  0.0,
                  TestSupport.asDouble(c.get("policy_logprob")),
                  ((Number) c.get("response_tokens")).intValue()));
    }
    try (LanguageModel model = Fixtures.decoder("tiny-judge")) {
      GenerativeJudge judge =
          new GenerativeJudge(
              model, JudgePrompt.judgeDefaults(), ChatTemplate.of(model.files()), 1 << 20);
      for (Map<String, Object> p : pairs) {
        String promptId = (String) p.get("prompt_id");
        String x = (String) p.get("prompt");
        // One comparison per call: a batch layout of its own.
        PairwiseKnockoutSelector sequential =
            new PairwiseKnockoutSelector(
                (a, b) ->
                    judge
                        .preferFirst(List.of(new PairwiseTeacher.Comparison(x, a.text(), b.text())))
                        .get(0)
                        .pFirst());
        long seed = KnockoutFunction.bracketSeed(1234L, promptId);
        KnockoutTournament t = KnockoutTournament.start(pools.get(promptId), seed);
        Selection s = sequential.play(t);
        PreferencePair expected = (PreferencePair) s;
        assertThat(p.get("chosen_sample_index")).isEqualTo(expected.chosen().sampleIndex());
        assertThat(p.get("rejected_sample_index")).isEqualTo(expected.rejected().sampleIndex());
        assertThat(TestSupport.asDouble(p.get("confidence")))
            .isCloseTo(expected.confidence(), within(1e-5));
        assertThat(p.get("reward_chosen")).isNull();
        int n = ((Number) p.get("distinct_candidates")).intValue();
        assertThat(p.get("knockout_comparisons")).isEqualTo(2 * (n - 1) + 1);
        assertThat(p.get("knockout_scored")).isEqualTo(t.distinctComparisons());
        assertThat(bracket(p)).containsExactly(t.bracketOrder());
      }
    }
  }

  @Test
  void manifestAndSummaryCountTheComparisons() {
    JsonNode k = judged.result().manifest().path("knockout");
    assertThat(k.path("teacher").asText()).isEqualTo("judge");
    long prompts = k.path("prompts").asLong();
    long pairsAndNoPairs =
        TestSupport.asLong(rows(judged, "pairs", "SELECT count(*) n FROM {T}").get(0).get("n"))
            + TestSupport.asLong(
                rows(judged, "rejects", "SELECT count(*) n FROM {T} WHERE stage = 'select'")
                    .get(0)
                    .get("n"));
    assertThat(prompts).isEqualTo(pairsAndNoPairs).isEqualTo(10);
    long comparisons =
        TestSupport.asLong(
            rows(judged, "pairs", "SELECT sum(knockout_comparisons) n FROM {T}").get(0).get("n"));
    assertThat(k.path("comparisons").asLong()).isGreaterThanOrEqualTo(comparisons);
    assertThat(k.path("teacher_calls").asLong())
        .isEqualTo(2 * k.path("comparisons_scored").asLong());
    assertThat(k.path("comparisons_scored").asLong()).isLessThan(k.path("comparisons").asLong());
    assertThat(k.path("teacher_seconds_summed_over_tasks").asDouble()).isPositive();
    assertThat(k.path("confidence_quantiles").path("0.5").asDouble()).isBetween(0.5, 1.0);
    assertThat(judged.result().manifest().path("models").has("judge")).isTrue();
    assertThat(judged.out()).contains("knockout", "pair confidence");
    // The run report's knockout section: comparisons per prompt, teacher time, confidence.
    String report = readReport(judged);
    assertThat(report)
        .contains(
            "<section id=\"knockout\">",
            "id=\"chart-knockout-comparisons\"",
            "data-manifest=\"/knockout/teacher_ms_per_scored_comparison\"",
            "data-manifest=\"/knockout/confidence_quantiles/0.5\"");
    assertThat(judged.result().manifest().path("accounting").path("holds").asBoolean()).isTrue();
  }

  @Test
  void samePairsWithOtherPartitionsBudgetsAndThreads() {
    TestSupport.Run other =
        run(
            "judge-b",
            "models.judge=" + TestSupport.model("tiny-judge"),
            "spark.partitions=3",
            "runtime.token-budget=300",
            "runtime.intra-op-threads=2");
    List<Map<String, Object>> a = rows(judged, "pairs", "SELECT * FROM {T} ORDER BY prompt_id");
    List<Map<String, Object>> b = rows(other, "pairs", "SELECT * FROM {T} ORDER BY prompt_id");
    assertThat(b).hasSameSizeAs(a);
    for (int i = 0; i < a.size(); i++) {
      assertThat(b.get(i).get("prompt_id")).isEqualTo(a.get(i).get("prompt_id"));
      assertThat(b.get(i).get("chosen")).isEqualTo(a.get(i).get("chosen"));
      assertThat(b.get(i).get("rejected")).isEqualTo(a.get(i).get("rejected"));
      assertThat(bracket(b.get(i))).containsExactly(bracket(a.get(i)));
      assertThat(TestSupport.asDouble(b.get(i).get("confidence")))
          .isCloseTo(TestSupport.asDouble(a.get(i).get("confidence")), within(1e-6));
    }
  }

  @Test
  void theConfidenceFilterWorksOnTheSymmetricScore() {
    TestSupport.Run r =
        run(
            "judge-filtered",
            "models.judge=" + TestSupport.model("tiny-judge"),
            "filter.confidence.quantile=0.5");
    double cut = r.result().manifest().path("quantiles").path("confidence").path("cut").asDouble();
    for (Map<String, Object> f : rows(r, "filtered", "SELECT * FROM {T}")) {
      assertThat(f.get("filter_reason")).isEqualTo("LOW_CONFIDENCE");
      assertThat(TestSupport.asDouble(f.get("confidence"))).isLessThan(cut);
    }
    for (Map<String, Object> p : rows(r, "pairs", "SELECT * FROM {T}")) {
      assertThat(TestSupport.asDouble(p.get("confidence"))).isGreaterThanOrEqualTo(cut);
    }
    assertThat(rows(r, "filtered", "SELECT * FROM {T}")).isNotEmpty();
  }

  @Test
  void truncatedSamplesNeverEnterTheBracketWithSelectionTruncatedExclude() {
    TestSupport.Run r =
        run(
            "judge-exclude",
            "models.judge=" + TestSupport.model("tiny-judge"),
            "selection.truncated=exclude");
    // The complete (not LENGTH) distinct samples of each prompt, lowest sample index kept.
    Map<String, List<Integer>> complete = new HashMap<>();
    Map<String, java.util.Set<String>> seen = new HashMap<>();
    long truncated = 0;
    for (Map<String, Object> c :
        rows(r, "candidates", "SELECT * FROM {T} ORDER BY prompt_id, sample_index")) {
      String id = (String) c.get("prompt_id");
      complete.computeIfAbsent(id, k -> new ArrayList<>());
      if ("LENGTH".equals(c.get("finish_reason"))) {
        truncated++;
        continue;
      }
      if (seen.computeIfAbsent(id, k -> new java.util.HashSet<>()).add((String) c.get("text"))) {
        complete.get(id).add(((Number) c.get("sample_index")).intValue());
      }
    }
    assertThat(truncated).as("samples stopped at max-new-tokens").isPositive();
    List<Map<String, Object>> pairs = rows(r, "pairs", "SELECT * FROM {T}");
    pairs.addAll(rows(r, "filtered", "SELECT * FROM {T}"));
    for (Map<String, Object> p : pairs) {
      assertThat(p.get("chosen_finish_reason")).isNotEqualTo("LENGTH");
      assertThat(p.get("rejected_finish_reason")).isNotEqualTo("LENGTH");
      assertThat(Arrays.stream(bracket(p)).sorted().boxed().toList())
          .as("bracket of %s: its complete distinct samples", p.get("prompt_id"))
          .isEqualTo(complete.get((String) p.get("prompt_id")));
    }
    List<Map<String, Object>> noPair =
        rows(
            r,
            "rejects",
            "SELECT * FROM {T} WHERE reason_code = 'FEWER_THAN_TWO_COMPLETE_SAMPLES'");
    long expected = complete.values().stream().filter(l -> l.size() < 2).count();
    assertThat(noPair).hasSize((int) expected);
    assertThat(pairs.size() + noPair.size())
        .as("every prompt: a pair, or no pair for want of complete samples")
        .isEqualTo(
            complete.size()
                - (int)
                    count(
                        r,
                        "rejects",
                        "WHERE stage = 'select' AND reason_code <> 'FEWER_THAN_TWO_COMPLETE_SAMPLES'"));
    assertThat(
            r.result()
                .manifest()
                .path("counts")
                .path("samples_excluded_by_reason")
                .path("LENGTH")
                .asLong())
        .isEqualTo(truncated);
    assertThat(r.result().manifest().path("accounting").path("holds").asBoolean()).isTrue();
  }

  static String readReport(TestSupport.Run run) {
    try {
      return Files.readString(
          Path.of(java.net.URI.create(run.result().outputPath())).resolve("report.html"));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static long count(TestSupport.Run run, String table, String where) {
    return TestSupport.asLong(
        rows(run, table, "SELECT count(*) n FROM {T} " + where).get(0).get("n"));
  }

  @Test
  void aResumeReusesThePersistedKnockoutsWithoutCallingTheJudge() {
    List<String> sets = new ArrayList<>();
    sets.add("models.judge=" + TestSupport.model("tiny-judge"));
    // 1. A run that fails once its knockouts are persisted: its scoring job is cancelled.
    Path scoreDir =
        tmp.resolve("out")
            .resolve(org.prefscore.job.io.RunOutput.STAGING_ROOT)
            .resolve("judge-resume")
            .resolve("work")
            .resolve("score");
    org.apache.spark.scheduler.SparkListener canceller =
        new org.apache.spark.scheduler.SparkListener() {
          @Override
          public void onJobStart(org.apache.spark.scheduler.SparkListenerJobStart job) {
            if (Files.isDirectory(scoreDir)) {
              spark.sparkContext().cancelJob(job.jobId());
            }
          }
        };
    spark.sparkContext().addSparkListener(canceller);
    try {
      assertThatThrownBy(() -> run("judge-resume", sets.toArray(String[]::new)))
          .hasStackTraceContaining("cancelled");
    } finally {
      spark.sparkContext().removeSparkListener(canceller);
    }
    Path knockouts = scoreDir.resolveSibling("knockout");
    assertThat(knockouts.toFile().list((d, n) -> n.endsWith(".rows")))
        .as("knockout partitions persisted by the failed run")
        .isNotEmpty();
    // 2. The resume: generation and knockouts reused, the judge never called.
    sets.add("run.resume=true");
    TestSupport.Run resumed = run("judge-resume", sets.toArray(String[]::new));
    JsonNode m = resumed.result().manifest();
    JsonNode k = m.path("resume").path("knockout");
    assertThat(m.path("resume").path("resumed").asBoolean()).isTrue();
    assertThat(k.path("prompts_computed").asLong()).isZero();
    assertThat(k.path("prompts_reused").asLong()).isEqualTo(10);
    assertThat(k.path("partitions_reused").asInt()).isEqualTo(k.path("partitions").asInt());
    assertThat(m.path("knockout").path("teacher_seconds_summed_over_tasks").asDouble()).isZero();
    String sql =
        "SELECT * EXCLUDE (round, knockout_bracket), to_json(knockout_bracket)::VARCHAR AS bracket"
            + " FROM {T} ORDER BY prompt_id";
    assertThat(rows(resumed, "pairs", sql)).isEqualTo(rows(judged, "pairs", sql));
    assertThat(m.path("knockout").path("comparisons"))
        .isEqualTo(judged.result().manifest().path("knockout").path("comparisons"));
  }

  @Test
  void aPairwiseClassifierTeacherRuns() {
    TestSupport.Run r =
        run("classifier", "models.pairwise-classifier=" + TestSupport.model("tiny-reward"));
    assertThat(r.result().manifest().path("knockout").path("teacher").asText())
        .isEqualTo("pairwise-classifier");
    assertThat(r.result().manifest().path("accounting").path("holds").asBoolean()).isTrue();
    List<Map<String, Object>> pairs = rows(r, "pairs", "SELECT * FROM {T}");
    assertThat(pairs).isNotEmpty();
    for (Map<String, Object> p : pairs) {
      assertThat(TestSupport.asDouble(p.get("confidence"))).isGreaterThan(0.5);
    }
  }

  @Test
  void exactlyOneBasePreferenceModelIsAccepted() {
    List<String> base =
        List.of(
            "input.path=" + input,
            "output.path=" + tmp,
            "models.policy=" + TestSupport.model("tiny-gpt2"));
    List<String> both = new ArrayList<>(base);
    both.add("models.reward=" + TestSupport.model("tiny-reward"));
    both.add("models.judge=" + TestSupport.model("tiny-judge"));
    assertThatThrownBy(
            () -> PipelineConfig.from(Mode.WEST_OF_N, ResolvedConfig.resolve(null, both)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("set only one of models.reward, models.judge");
    assertThatThrownBy(
            () -> PipelineConfig.from(Mode.WEST_OF_N, ResolvedConfig.resolve(null, base)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("needs a base preference model");
    List<String> badPrompt = new ArrayList<>(base);
    badPrompt.add("models.judge=" + TestSupport.model("tiny-judge"));
    badPrompt.add("judge.prompt=Which is better, {response_a} or {response_b}?");
    assertThatThrownBy(
            () -> PipelineConfig.from(Mode.WEST_OF_N, ResolvedConfig.resolve(null, badPrompt)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("judge.prompt: the template has no {query} placeholder");
  }

  @Test
  void aLabelThatIsNotOneTokenFailsBeforeSparkStarts() {
    List<String> sets = TestSupport.smallRunSettings(input, tmp.resolve("out"), "bad-labels");
    sets.add("models.policy=" + TestSupport.model("tiny-gpt2"));
    sets.add("models.judge=" + TestSupport.model("tiny-judge"));
    sets.add("judge.labels=First answer,B");
    List<String> args = new ArrayList<>(List.of("west-of-n", "--dry-run"));
    for (String s : sets) {
      args.add("--set");
      args.add(s);
    }
    assertThatThrownBy(() -> TestSupport.run(spark, args.toArray(String[]::new)))
        .hasMessageContaining("models.judge")
        .hasMessageContaining("'First answer'");
  }

  private static int[] bracket(Map<String, Object> row) {
    Object v = row.get("knockout_bracket");
    try {
      Object[] values = (Object[]) ((java.sql.Array) v).getArray();
      int[] out = new int[values.length];
      for (int i = 0; i < values.length; i++) {
        out[i] = ((Number) values[i]).intValue();
      }
      return out;
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
