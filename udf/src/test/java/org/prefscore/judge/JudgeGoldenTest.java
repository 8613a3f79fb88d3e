package org.prefscore.judge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.prefscore.chat.ChatTemplate;
import org.prefscore.runtime.EngineOptions;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.ModelCheck;
import org.prefscore.runtime.ModelLoader;
import org.prefscore.runtime.ModelSpec;
import org.prefscore.runtime.Refusal;
import org.prefscore.runtime.RewardModel;
import org.prefscore.runtime.score.SequenceScorer;
import org.prefscore.testing.Fixtures;

/**
 * The pairwise teachers against transformers: tiny-judge's label-token log-probs and P(first) on
 * the golden judge prompts (fixtures/make_judge_fixture.py), tiny-reward read as a PairRM-style
 * classifier; the same values in every batch layout and thread count; swapping a and b gives the
 * complementary symmetric score; refusals and bad labels.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JudgeGoldenTest {

  static final String JUDGE = "tiny-judge";

  private LanguageModel judge;
  private ChatTemplate template;
  private JsonNode golden;

  @BeforeAll
  void load() {
    judge = Fixtures.decoder(JUDGE);
    template = ChatTemplate.of(judge.files());
    golden = Fixtures.golden(JUDGE);
  }

  @AfterAll
  void close() {
    judge.close();
  }

  private static List<PairwiseTeacher.Comparison> comparisons(JsonNode cases) {
    List<PairwiseTeacher.Comparison> out = new ArrayList<>();
    for (JsonNode c : cases) {
      out.add(
          new PairwiseTeacher.Comparison(
              c.get("query").asText(), c.get("response_a").asText(), c.get("response_b").asText()));
    }
    return out;
  }

  @Test
  void defaultsAreTheOnesTheFixtureWasTrainedWith() {
    assertThat(golden.get("template").asText()).isEqualTo(JudgePrompt.DEFAULT_TEMPLATE);
    assertThat(golden.get("labels").get(0).asText() + "," + golden.get("labels").get(1).asText())
        .isEqualTo(JudgePrompt.DEFAULT_LABELS);
    assertThat(Fixtures.golden("tiny-reward-pairwise").get("template").asText())
        .isEqualTo(JudgePrompt.DEFAULT_PAIR_TEMPLATE);
  }

  @Test
  void labelProbabilitiesMatchTransformersInEveryBatchLayout() {
    JsonNode cases = golden.get("cases");
    List<PairwiseTeacher.Comparison> comparisons = comparisons(cases);
    GenerativeJudge j = new GenerativeJudge(judge, JudgePrompt.judgeDefaults(), template, 4096);
    assertThat(j.labelIds()).containsExactly(Fixtures.ids(golden.get("label_token_ids")));
    List<long[]> prompts = new ArrayList<>();
    for (int i = 0; i < cases.size(); i++) {
      JsonNode c = cases.get(i);
      String text = j.text(comparisons.get(i));
      assertThat(text)
          .as("case %d rendered as transformers renders it", i)
          .isEqualTo(c.get("text").asText());
      assertThat(judge.encode(text)).containsExactly(Fixtures.ids(c.get("input_ids")));
      prompts.add(judge.encode(text));
    }
    double maxLogprob = 0;
    double maxP = 0;
    List<double[]> layouts = new ArrayList<>();
    for (long budget : new long[] {1, 200, 100_000}) {
      List<SequenceScorer.NextToken> lp =
          new SequenceScorer(judge, budget).nextTokenLogprobs(prompts, j.labelIds());
      List<PairwiseTeacher.Verdict> v =
          new GenerativeJudge(judge, JudgePrompt.judgeDefaults(), template, budget)
              .preferFirst(comparisons);
      double[] ps = new double[cases.size()];
      for (int i = 0; i < cases.size(); i++) {
        JsonNode g = cases.get(i);
        for (int t = 0; t < 2; t++) {
          double d = Math.abs(lp.get(i).logprobs()[t] - g.get("label_logprobs").get(t).asDouble());
          maxLogprob = Math.max(maxLogprob, d);
        }
        ps[i] = v.get(i).pFirst();
        maxP = Math.max(maxP, Math.abs(ps[i] - g.get("p_first").asDouble()));
      }
      layouts.add(ps);
    }
    System.out.printf(
        "tiny-judge vs transformers over %d judge prompts x 3 batch layouts: max |label log-prob"
            + " diff| %.2e, max |P(first) diff| %.2e%n",
        cases.size(), maxLogprob, maxP);
    assertThat(maxLogprob).isLessThan(1e-4);
    assertThat(maxP).isLessThan(1e-5);
    for (int i = 0; i < cases.size(); i++) {
      assertThat(layouts.get(0)[i]).isCloseTo(layouts.get(2)[i], within(1e-6));
      assertThat(layouts.get(1)[i]).isCloseTo(layouts.get(2)[i], within(1e-6));
    }
  }

  @Test
  void sameProbabilitiesWithMoreEngineThreads() {
    List<PairwiseTeacher.Comparison> comparisons = comparisons(golden.get("cases"));
    List<PairwiseTeacher.Verdict> one =
        new GenerativeJudge(judge, JudgePrompt.judgeDefaults(), template, 4096)
            .preferFirst(comparisons);
    try (LanguageModel two =
        ModelLoader.loadDecoder(
            ModelSpec.decoder(Fixtures.model(JUDGE).toString(), EngineOptions.cpu(2)))) {
      List<PairwiseTeacher.Verdict> other =
          new GenerativeJudge(two, JudgePrompt.judgeDefaults(), ChatTemplate.of(two.files()), 4096)
              .preferFirst(comparisons);
      for (int i = 0; i < comparisons.size(); i++) {
        assertThat(other.get(i).pFirst()).isCloseTo(one.get(i).pFirst(), within(1e-6));
      }
    }
  }

  @Test
  void swappingTheResponsesGivesTheComplementarySymmetricScore() {
    JsonNode cases = golden.get("cases");
    List<PairwiseTeacher.Verdict> v =
        new GenerativeJudge(judge, JudgePrompt.judgeDefaults(), template, 4096)
            .preferFirst(comparisons(cases));
    // The cases come in (a, b), (b, a) order pairs.
    int preferencesShown = 0;
    for (int i = 0; i < cases.size(); i += 2) {
      double ab = v.get(i).pFirst();
      double ba = v.get(i + 1).pFirst();
      double sab = 0.5 * (ab + 1 - ba);
      double sba = 0.5 * (ba + 1 - ab);
      assertThat(sab + sba).isCloseTo(1.0, within(1e-12));
      String a = cases.get(i).get("response_a").asText();
      String b = cases.get(i).get("response_b").asText();
      boolean digitA = a.chars().anyMatch(Character::isDigit);
      boolean digitB = b.chars().anyMatch(Character::isDigit);
      if (digitA != digitB) {
        // The preference the fixture was trained to have: the response with a digit wins.
        assertThat(sab > 0.5).as("'%s' vs '%s': %s", a, b, sab).isEqualTo(digitA);
        preferencesShown++;
      }
    }
    assertThat(preferencesShown).isGreaterThanOrEqualTo(2);
  }

  @Test
  void pairwiseClassifierMatchesTransformers() {
    JsonNode g = Fixtures.golden("tiny-reward-pairwise");
    JsonNode cases = g.get("cases");
    try (RewardModel model = Fixtures.reward()) {
      for (long budget : new long[] {1, 100_000}) {
        PairwiseClassifier c =
            new PairwiseClassifier(
                model, JudgePrompt.pairText(JudgePrompt.DEFAULT_PAIR_TEMPLATE), budget);
        List<PairwiseTeacher.Comparison> comparisons = comparisons(cases);
        List<PairwiseTeacher.Verdict> v = c.preferFirst(comparisons);
        for (int i = 0; i < cases.size(); i++) {
          assertThat(c.text(comparisons.get(i))).isEqualTo(cases.get(i).get("text").asText());
          assertThat(model.tokenizer().encode(c.text(comparisons.get(i)), true))
              .containsExactly(Fixtures.ids(cases.get(i).get("input_ids")));
          assertThat(v.get(i).pFirst())
              .as("case %d", i)
              .isCloseTo(cases.get(i).get("p_first").asDouble(), within(1e-5));
        }
      }
    }
  }

  @Test
  void tooLongJudgePromptsAreRefusedAndOthersScored() {
    GenerativeJudge j = new GenerativeJudge(judge, JudgePrompt.judgeDefaults(), template, 4096);
    List<PairwiseTeacher.Verdict> v =
        j.preferFirst(
            List.of(
                new PairwiseTeacher.Comparison("q", "word ".repeat(600), "short"),
                new PairwiseTeacher.Comparison("q", "a 1", "b")));
    assertThat(v.get(0).scored()).isFalse();
    assertThat(v.get(0).refusal().reason()).isEqualTo(Refusal.Reason.SEQUENCE_TOO_LONG);
    assertThat(v.get(0).refusal().detail()).contains("context window");
    assertThat(v.get(1).scored()).isTrue();
  }

  @Test
  void labelsThatAreNotOneTokenAreRefusedWithTheirName() {
    assertThatThrownBy(
            () ->
                new GenerativeJudge(
                    judge,
                    new JudgePrompt(JudgePrompt.DEFAULT_TEMPLATE, "Response A", "B"),
                    template,
                    4096))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'Response A'")
        .hasMessageContaining("judge.labels");
    assertThatThrownBy(() -> new JudgePrompt("no placeholders", "A", "B"))
        .hasMessageContaining("{query}");
  }

  @Test
  void theFixturePassesTheModelCheckAndTheTeacherCheck() {
    ModelSpec spec = ModelSpec.decoder(Fixtures.model(JUDGE).toString(), EngineOptions.cpu(1));
    assertThat(ModelCheck.check(spec).summary()).isNotBlank();
    assertThat(TeacherCheck.check(spec, JudgePrompt.judgeDefaults()))
        .contains("chat template applied")
        .contains("probe P(a≻b)=");
    ModelSpec classifier =
        ModelSpec.reward(Fixtures.model(Fixtures.REWARD).toString(), EngineOptions.cpu(1));
    assertThat(
            TeacherCheck.check(classifier, JudgePrompt.pairText(JudgePrompt.DEFAULT_PAIR_TEMPLATE)))
        .startsWith("pairwise classifier");
  }

  @Test
  void placeholdersAreFilledInOnePass() {
    JudgePrompt p = JudgePrompt.judgeDefaults();
    String out = p.render("{response_b}", "{query}", "b");
    assertThat(out).contains("Query: {response_b}").contains("Response A: {query}");
  }
}
