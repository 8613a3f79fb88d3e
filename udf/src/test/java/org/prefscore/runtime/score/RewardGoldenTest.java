package org.prefscore.runtime.score;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.prefscore.runtime.Refusal;
import org.prefscore.runtime.RewardModel;
import org.prefscore.testing.Fixtures;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RewardGoldenTest {

  private RewardModel model;

  @BeforeAll
  void load() {
    model = Fixtures.reward();
  }

  @AfterAll
  void close() {
    model.close();
  }

  @Test
  void rewardsMatchTransformersSinglyAndInBatches() {
    JsonNode cases = Fixtures.golden(Fixtures.REWARD).get("reward_cases");
    List<String> prompts = new ArrayList<>();
    List<String> responses = new ArrayList<>();
    for (JsonNode c : cases) {
      prompts.add(c.get("prompt").asText());
      responses.add(c.get("response").asText());
      assertThat(model.tokenizer().encode(c.get("text").asText(), true))
          .containsExactly(Fixtures.ids(c.get("input_ids")));
    }
    for (long budget : new long[] {1, 64, 100_000}) {
      List<RewardScorer.Result> results =
          new RewardScorer(model, budget).scorePairs(prompts, responses);
      for (int i = 0; i < cases.size(); i++) {
        assertThat(results.get(i).reward())
            .as("case %d, budget %d", i, budget)
            .isCloseTo(cases.get(i).get("logit").asDouble(), within(1e-4));
      }
    }
  }

  @Test
  void overlongTextsAreRefused() {
    List<RewardScorer.Result> results =
        new RewardScorer(model, 4096).score(List.of("word ".repeat(400), "fine"));
    assertThat(results.get(0).scored()).isFalse();
    assertThat(results.get(0).refusal().reason()).isEqualTo(Refusal.Reason.SEQUENCE_TOO_LONG);
    assertThat(results.get(1).scored()).isTrue();
  }
}
