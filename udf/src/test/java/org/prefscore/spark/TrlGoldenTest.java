package org.prefscore.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.prefscore.chat.ChatMessage;
import org.prefscore.chat.ChatTemplate;
import org.prefscore.chat.PromptRenderer;
import org.prefscore.method.RefinementPrompt;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.score.SequenceScorer;
import org.prefscore.testing.Fixtures;

/**
 * ref_chosen_logps / ref_rejected_logps as the pairs stage computes them ({@link
 * PairScoringFunction#terms}, {@link SequenceScorer}) against TRL 1.13's own DPOTrainer
 * (precompute_ref_log_probs=True) on the same rows: fixtures/golden/trl-dpo.json, made by
 * fixtures/make_trl_goldens.py. Plain-text rows (EOS rule, a response already ending with EOS, a
 * prompt whose tokens are not a prefix of prompt + response, a rendered chat template as text) and
 * conversational rows (TRL's chat-template path), on tiny-llama (its template writes BOS itself)
 * and tiny-gpt2 (no BOS).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TrlGoldenTest {

  private static final double TOLERANCE = 1e-4;
  private final Map<String, LanguageModel> models = new LinkedHashMap<>();

  @BeforeAll
  void load() {
    for (String name : List.of("tiny-llama", "tiny-gpt2")) {
      models.put(name, Fixtures.decoder(name));
    }
  }

  @AfterAll
  void close() {
    models.values().forEach(LanguageModel::close);
  }

  Stream<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    Fixtures.golden("trl-dpo")
        .get("models")
        .fields()
        .forEachRemaining(
            m ->
                m.getValue()
                    .get("cases")
                    .forEach(
                        c ->
                            out.add(
                                Arguments.of(
                                    m.getKey(),
                                    c.get("format").asText() + ": " + c.get("name").asText(),
                                    c))));
    return out.stream();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("cases")
  void matchesTrl(String model, String name, JsonNode c) {
    LanguageModel lm = models.get(model);
    boolean conversational = c.get("format").asText().equals("conversational");
    List<SequenceScorer.Request> terms;
    if (conversational) {
      PromptRenderer renderer =
          new PromptRenderer(() -> ChatTemplate.of(lm.files()), RefinementPrompt.paper());
      terms =
          PairScoringFunction.terms(
              OutputSchema.RESPONSE_FORMAT_CONVERSATIONAL,
              null,
              null,
              turn(c.get("chosen")),
              turn(c.get("rejected")),
              messages(c.get("prompt")),
              () -> renderer);
    } else {
      String prompt = c.get("prompt").asText();
      terms =
          PairScoringFunction.terms(
              OutputSchema.RESPONSE_FORMAT_TEXT,
              prompt,
              prompt,
              c.get("chosen").asText(),
              c.get("rejected").asText(),
              null,
              null);
    }
    List<SequenceScorer.Result> r = new SequenceScorer(lm, 4096).score(terms.subList(0, 2), false);
    assertThat(r.get(0).promptTokens()).isEqualTo(c.get("prompt_ids").size());
    assertThat(r.get(0).responseTokens()).isEqualTo(c.get("chosen_ids").size());
    assertThat(r.get(1).responseTokens()).isEqualTo(c.get("rejected_ids").size());
    assertThat(r.get(0).logprob())
        .isCloseTo(c.get("ref_chosen_logps").asDouble(), within(TOLERANCE));
    assertThat(r.get(1).logprob())
        .isCloseTo(c.get("ref_rejected_logps").asDouble(), within(TOLERANCE));
  }

  private static List<ChatMessage> messages(JsonNode array) {
    List<ChatMessage> out = new ArrayList<>();
    array.forEach(m -> out.add(new ChatMessage(m.get("role").asText(), m.get("content").asText())));
    return out;
  }

  /** The content of a one-message assistant turn. */
  private static String turn(JsonNode array) {
    assertThat(array.size()).isEqualTo(1);
    return array.get(0).get("content").asText();
  }
}
