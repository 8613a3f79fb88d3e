package org.prefscore.runtime.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.prefscore.runtime.DecoderSignature;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.score.SequenceScorer;
import org.prefscore.testing.Fixtures;

/**
 * The runtime against golden values computed by transformers (fixtures/make_fixtures.py) on every
 * decoder family: teacher-forced log-probs, greedy generation, batching invariance.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DecoderGoldenTest {

  private static final double TOLERANCE = 1e-4;
  private final Map<String, LanguageModel> models = new HashMap<>();

  static List<String> decoders() {
    return Fixtures.DECODERS;
  }

  @BeforeAll
  void load() {
    for (String name : Fixtures.DECODERS) {
      models.put(name, Fixtures.decoder(name));
    }
  }

  @AfterAll
  void close() {
    models.values().forEach(LanguageModel::close);
  }

  @ParameterizedTest
  @MethodSource("decoders")
  void signatureIsDiscoveredFromTheGraph(String name) {
    JsonNode golden = Fixtures.golden(name);
    LanguageModel model = models.get(name);
    DecoderSignature s = model.graph().signature();
    assertThat(s.numLayers()).isEqualTo(2);
    assertThat(s.hasPositionIds()).isTrue();
    assertThat(s.logitsWidth()).isEqualTo(golden.get("logits_width").asInt());
    assertThat(model.files().tokenizerVocabSize())
        .isEqualTo(golden.get("vocab_size_tokenizer").asInt());
    List<Long> eos = new ArrayList<>();
    golden.get("eos_token_ids").forEach(n -> eos.add(n.asLong()));
    assertThat(model.files().eosTokenIds()).containsExactlyElementsOf(eos);
    if (name.equals("tiny-llama")) {
      assertThat(s.numKvHeads()).isEqualTo(2);
      assertThat(s.headDim()).isEqualTo(24);
    }
    if (name.equals("tiny-pythia")) {
      assertThat(s.logitsWidth()).isGreaterThan(model.files().tokenizerVocabSize());
    }
  }

  @ParameterizedTest
  @MethodSource("decoders")
  void logprobsMatchTransformersOneAtATime(String name) {
    LanguageModel model = models.get(name);
    SequenceScorer scorer = new SequenceScorer(model, 4096);
    for (JsonNode c : Fixtures.golden(name).get("logprob_cases")) {
      SequenceScorer.Result r = scorer.score(List.of(request(c)), true).get(0);
      assertCase(c, r);
    }
  }

  @ParameterizedTest
  @MethodSource("decoders")
  void logprobsMatchTransformersInMixedLengthBatches(String name) {
    LanguageModel model = models.get(name);
    List<JsonNode> cases = new ArrayList<>();
    Fixtures.golden(name).get("logprob_cases").forEach(cases::add);
    Collections.reverse(cases);
    List<SequenceScorer.Request> requests = cases.stream().map(DecoderGoldenTest::request).toList();
    for (long budget : new long[] {64, 100_000}) {
      List<SequenceScorer.Result> results = new SequenceScorer(model, budget).score(requests, true);
      for (int i = 0; i < cases.size(); i++) {
        assertCase(cases.get(i), results.get(i));
      }
    }
  }

  @ParameterizedTest
  @MethodSource("decoders")
  void greedyEqualsTransformersGenerateTokenForToken(String name) {
    LanguageModel model = models.get(name);
    JsonNode cases = Fixtures.golden(name).get("greedy_cases");
    List<SampleGenerator.Request> requests = new ArrayList<>();
    for (int i = 0; i < cases.size(); i++) {
      requests.add(new SampleGenerator.Request("p" + i, cases.get(i).get("prompt").asText()));
    }
    int maxNew = cases.get(0).get("max_new_tokens").asInt();
    // All prompts in one left-padded batch, and one prompt per batch.
    for (long budget : new long[] {100_000, 1}) {
      SampleGenerator generator =
          new SampleGenerator(model, SamplingConfig.greedy(maxNew), GenerationOptions.of(budget));
      List<SampleGenerator.PromptResult> results = generator.generate(requests, 1234L);
      for (int i = 0; i < cases.size(); i++) {
        JsonNode c = cases.get(i);
        SampleGenerator.Sample sample = results.get(i).samples().get(0);
        assertThat(results.get(i).promptTokens()).isEqualTo(c.get("prompt_ids").size());
        assertThat(sample.tokenIds())
            .as("%s greedy case %d (budget %d)", name, i, budget)
            .containsExactly(Fixtures.ids(c.get("output_ids")));
        assertThat(sample.finishReason().name().toLowerCase())
            .isEqualTo(c.get("finish_reason").asText());
        assertThat(sample.text()).isEqualTo(c.get("text").asText());
      }
    }
  }

  private static SequenceScorer.Request request(JsonNode c) {
    return new SequenceScorer.Request(
        c.get("prompt").asText(), c.get("response").asText(), c.get("append_eos").asBoolean());
  }

  private static void assertCase(JsonNode c, SequenceScorer.Result r) {
    String label = "prompt " + c.get("prompt").asText();
    assertThat(r.scored()).as(label).isTrue();
    assertThat(r.promptTokens()).as(label).isEqualTo(c.get("prompt_ids").size());
    assertThat(r.responseTokens()).as(label).isEqualTo(c.get("completion_ids").size());
    assertThat(r.prefixMismatch()).as(label).isEqualTo(c.get("prefix_mismatch").asBoolean());
    assertThat(r.logprob()).as(label).isCloseTo(c.get("sum_logprob").asDouble(), within(TOLERANCE));
    JsonNode perToken = c.get("token_logprobs");
    for (int j = 0; j < perToken.size(); j++) {
      assertThat((double) r.tokenLogprobs()[j])
          .as(label + " token " + j)
          .isCloseTo(perToken.get(j).asDouble(), within(TOLERANCE));
    }
  }
}
