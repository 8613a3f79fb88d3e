package org.prefscore.runtime.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.prefscore.runtime.DecodeSession;
import org.prefscore.runtime.KvCache;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.ModelLoadException;
import org.prefscore.runtime.SamplingHead;
import org.prefscore.runtime.StepInput;
import org.prefscore.runtime.StepOutput;
import org.prefscore.testing.Fixtures;

/**
 * fixtures/models/tiny-llama-head (tiny-llama's graph with the sampling head of
 * python/prefscore_onnx/sampling_head.py): the loader finds the head, its outputs describe the
 * logits, and generation gives tiny-llama's samples.
 */
class SamplingHeadGenerationTest {

  private static final List<SampleGenerator.Request> PROMPTS =
      List.of(
          new SampleGenerator.Request("a", "The quick brown fox"),
          new SampleGenerator.Request("b", "Explain why the sky is blue to a child, briefly and"),
          new SampleGenerator.Request("c", "Hi"));

  private static List<SampleGenerator.PromptResult> run(
      LanguageModel model, SamplingConfig config, GenerationOptions options) {
    return new SampleGenerator(model, config, options).generate(PROMPTS, 7L);
  }

  private static void assertSame(
      List<SampleGenerator.PromptResult> a, List<SampleGenerator.PromptResult> b, double tol) {
    assertThat(b).hasSameSizeAs(a);
    for (int p = 0; p < a.size(); p++) {
      assertThat(b.get(p).samples()).hasSameSizeAs(a.get(p).samples());
      for (int s = 0; s < a.get(p).samples().size(); s++) {
        SampleGenerator.Sample x = a.get(p).samples().get(s);
        SampleGenerator.Sample y = b.get(p).samples().get(s);
        assertThat(y.tokenIds()).isEqualTo(x.tokenIds());
        assertThat(y.logprob()).isCloseTo(x.logprob(), within(tol));
        assertThat(y.samplingLogprob()).isCloseTo(x.samplingLogprob(), within(tol));
      }
    }
  }

  @Test
  void theLoaderFindsTheHeadAndItDescribesTheLogits() {
    try (LanguageModel plain = Fixtures.decoder("tiny-llama");
        LanguageModel headed = Fixtures.decoder("tiny-llama-head")) {
      assertThat(plain.graph().hasSamplingHead()).isFalse();
      assertThat(headed.graph().hasSamplingHead()).isTrue();
      assertThat(headed.graph().toString()).contains("sampling head of 31 blocks");
      try (DecodeSession session = headed.graph().openSession()) {
        KvCache empty = session.emptyCache(2);
        StepOutput out =
            session.forward(
                new StepInput(
                    2,
                    3,
                    new long[] {5, 6, 7, 8, 9, 10},
                    new long[] {1, 1, 1, 1, 1, 1},
                    new long[] {0, 1, 2, 0, 1, 2},
                    empty,
                    StepInput.LogitsWanted.LAST_POSITION,
                    0.7));
        out.present().close();
        SamplingHead head = out.head();
        assertThat(head).isNotNull();
        assertThat(head.blocks()).isEqualTo(31);
        assertThat(head.blockSize()).isEqualTo(31);
        SamplingHead expected = HeadSamplerTest.headOf(out.logits(), 2, 961, 31, 0.7);
        for (int i = 0; i < 2 * 31; i++) {
          assertThat(head.mass()[i]).isCloseTo(expected.mass()[i], within(1e-6f));
          assertThat(head.warpedMass()[i]).isCloseTo(expected.warpedMass()[i], within(1e-6f));
        }
      }
    }
  }

  @Test
  void aHeadThatDoesNotDescribeTheLogitsIsRefusedAtLoad() {
    // tiny-llama-head-broken: the T = 1 block masses doubled (they sum to 2).
    assertThatThrownBy(() -> Fixtures.decoder("tiny-llama-head-broken"))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("tiny-llama-head-broken")
        .hasMessageContaining("the sampling head")
        .hasMessageContaining("does not describe the logits")
        .hasMessageContaining("block masses sum to 2");
  }

  @Test
  void generatesTheSamplesOfThePlainGraph() {
    SamplingConfig sampled = new SamplingConfig(4, 0.7, 0, 1.0, 12, List.of());
    SamplingConfig atOne = new SamplingConfig(4, 1.0, 0, 1.0, 12, List.of());
    SamplingConfig greedy = SamplingConfig.greedy(12);
    GenerationOptions options = GenerationOptions.of(100_000);
    try (LanguageModel plain = Fixtures.decoder("tiny-llama");
        LanguageModel headed = Fixtures.decoder("tiny-llama-head")) {
      for (SamplingConfig config : List.of(sampled, atOne, greedy)) {
        SampleGenerator generator = new SampleGenerator(headed, config, options);
        List<SampleGenerator.PromptResult> withHead = generator.generate(PROMPTS, 7L);
        assertThat(generator.headRefusals()).isZero();
        assertSame(run(plain, config, options), withHead, 1e-5);
      }
      // Lent logits (the default) or copied to the heap: the same samples, bit for bit, with and
      // without the head, for the head's samplers and for top-k / top-p (the whole row).
      SamplingConfig nucleus = new SamplingConfig(4, 0.8, 40, 0.9, 12, List.of());
      for (LanguageModel model : List.of(plain, headed)) {
        for (SamplingConfig config : List.of(sampled, greedy, nucleus)) {
          assertSame(
              run(model, config, options.withLentLogits(false)), run(model, config, options), 0.0);
        }
      }
      // Without the head: the whole-row sampler, bit for bit.
      List<SampleGenerator.PromptResult> ignored =
          run(headed, sampled, options.withSamplingHead(false));
      List<SampleGenerator.PromptResult> reference = run(plain, sampled, options);
      assertSame(reference, ignored, 0.0);
    }
  }
}
