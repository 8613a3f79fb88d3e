package org.prefscore.runtime.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.testing.Fixtures;

/**
 * The logits budget cuts prefills into chunks of positions and steps into fewer rows without
 * changing the samples, and a graph with a logits_to_keep input samples as the plain export.
 */
class SampleGeneratorLogitsBudgetTest {

  private static final SamplingConfig SAMPLING = new SamplingConfig(4, 0.9, 0, 1.0, 12, List.of());
  private static final List<SampleGenerator.Request> PROMPTS =
      List.of(
          new SampleGenerator.Request("a", "The quick brown fox"),
          new SampleGenerator.Request("b", "Explain why the sky is blue to a child, briefly and"),
          new SampleGenerator.Request("c", "Hi"));

  private static List<SampleGenerator.PromptResult> run(LanguageModel model, long logitsBytes) {
    return new SampleGenerator(
            model, SAMPLING, GenerationOptions.of(100_000).withLogitsBytes(logitsBytes))
        .generate(PROMPTS, 7L);
  }

  private static void assertSame(
      List<SampleGenerator.PromptResult> a, List<SampleGenerator.PromptResult> b) {
    assertThat(b).hasSameSizeAs(a);
    for (int p = 0; p < a.size(); p++) {
      assertThat(b.get(p).samples()).hasSameSizeAs(a.get(p).samples());
      for (int s = 0; s < a.get(p).samples().size(); s++) {
        SampleGenerator.Sample x = a.get(p).samples().get(s);
        SampleGenerator.Sample y = b.get(p).samples().get(s);
        assertThat(y.tokenIds()).isEqualTo(x.tokenIds());
        assertThat(y.logprob()).isCloseTo(x.logprob(), within(1e-4));
      }
    }
  }

  @Test
  void aTightLogitsBudgetGivesTheSameSamples() {
    try (LanguageModel model = Fixtures.decoder("tiny-llama")) {
      int width = model.graph().signature().logitsWidth();
      List<SampleGenerator.PromptResult> roomy = run(model, 256L << 20);
      // 5 logits rows per pass: batches of at most 5 rows, prefills of 5 / rows positions a pass.
      List<SampleGenerator.PromptResult> tight = run(model, 5L * width * Float.BYTES);
      // 1 row: every prefill runs position by position.
      List<SampleGenerator.PromptResult> one = run(model, 1);
      assertSame(roomy, tight);
      assertSame(roomy, one);
    }
  }

  @Test
  void aGraphWithLogitsToKeepSamplesAsThePlainExport() {
    try (LanguageModel plain = Fixtures.decoder("tiny-llama");
        LanguageModel keep = Fixtures.decoder("tiny-llama-keep")) {
      assertThat(keep.graph().selectsLogitPositions()).isTrue();
      assertThat(
              keep.graph()
                  .outputPositions(40, org.prefscore.runtime.StepInput.LogitsWanted.LAST_POSITION))
          .isEqualTo(1);
      assertThat(
              plain
                  .graph()
                  .outputPositions(40, org.prefscore.runtime.StepInput.LogitsWanted.LAST_POSITION))
          .isEqualTo(40);
      assertSame(run(plain, 256L << 20), run(keep, 256L << 20));
    }
  }
}
