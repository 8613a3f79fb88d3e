package org.prefscore.runtime.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.prefscore.executor.ExecutorRegistry;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.Refusal;
import org.prefscore.runtime.score.SequenceScorer;
import org.prefscore.testing.Fixtures;

/** Sampling on a real fixture model (tiny-llama: GQA, BOS, two EOS ids). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SampleGeneratorTest {

  private static final SamplingConfig SAMPLING =
      new SamplingConfig(6, 0.9, 40, 0.95, 20, List.of());
  private static final List<SampleGenerator.Request> PROMPTS =
      List.of(
          new SampleGenerator.Request("a", "The quick brown fox"),
          new SampleGenerator.Request("b", "Explain why the sky is blue to a child, briefly and"),
          new SampleGenerator.Request("c", "Hi"),
          new SampleGenerator.Request("d", "List three prime numbers:"));

  private LanguageModel model;

  @BeforeAll
  void load() {
    model = Fixtures.decoder("tiny-llama");
  }

  @AfterAll
  void close() {
    model.close();
  }

  @Test
  void sameSeedsGiveSameSamplesHoweverPromptsAreBatched() {
    List<SampleGenerator.PromptResult> together =
        new SampleGenerator(model, SAMPLING, GenerationOptions.of(100_000)).generate(PROMPTS, 99L);
    List<SampleGenerator.PromptResult> alone = new ArrayList<>();
    for (SampleGenerator.Request r : PROMPTS) {
      alone.addAll(
          new SampleGenerator(model, SAMPLING, GenerationOptions.of(100_000))
              .generate(List.of(r), 99L));
    }
    // A budget this small splits each prompt's 6 samples over several batches.
    List<SampleGenerator.Request> reversed = new ArrayList<>(PROMPTS);
    java.util.Collections.reverse(reversed);
    List<SampleGenerator.PromptResult> split =
        new ArrayList<>(
            new SampleGenerator(model, SAMPLING, GenerationOptions.of(60)).generate(reversed, 99L));
    java.util.Collections.reverse(split);
    List<SampleGenerator.PromptResult> unshared =
        new SampleGenerator(model, SAMPLING, GenerationOptions.of(100_000).withSharePrefill(false))
            .generate(PROMPTS, 99L);
    // 4 prompts x 6 rows x 961 logits: the first steps are sampled on three threads.
    assertThat(PROMPTS.size() * SAMPLING.samplesPerPrompt() * 961)
        .isGreaterThanOrEqualTo(SampleGenerator.PARALLEL_MIN_LOGITS);
    List<SampleGenerator.PromptResult> threeThreads =
        new SampleGenerator(
                model,
                SAMPLING,
                GenerationOptions.of(100_000)
                    .withSamplingThreads(3, ExecutorRegistry.instance().samplingPool()))
            .generate(PROMPTS, 99L);
    // Lanes: each batch cut into pieces decoded at once on their own threads and sessions.
    List<SampleGenerator.PromptResult> twoLanes =
        new SampleGenerator(
                model,
                SAMPLING,
                GenerationOptions.of(100_000)
                    .withLanes(2, ExecutorRegistry.instance().samplingPool()))
            .generate(PROMPTS, 99L);
    List<SampleGenerator.PromptResult> threeLanesSplitThreads =
        new SampleGenerator(
                model,
                SAMPLING,
                GenerationOptions.of(60)
                    .withSamplingThreads(2, ExecutorRegistry.instance().samplingPool())
                    .withLanes(3, ExecutorRegistry.instance().samplingPool()))
            .generate(PROMPTS, 99L);
    for (List<SampleGenerator.PromptResult> other :
        List.of(alone, split, unshared, threeThreads, twoLanes, threeLanesSplitThreads)) {
      for (int p = 0; p < PROMPTS.size(); p++) {
        assertSameSamples(together.get(p), other.get(p));
      }
    }
  }

  @Test
  void lanePiecesCutEachBatchIntoEqualRunsOfRowsInOrder() {
    SampleGenerator.Unit a = new SampleGenerator.Unit(0, 0, 6);
    SampleGenerator.Unit b = new SampleGenerator.Unit(1, 0, 3);
    SampleGenerator.Unit c = new SampleGenerator.Unit(2, 4, 5);
    List<List<SampleGenerator.Unit>> batches = List.of(List.of(a, b), List.of(c));
    assertThat(SampleGenerator.lanePieces(batches, 1)).isSameAs(batches);
    // 9 rows in two lanes: rows [0, 4) and [4, 9); the one-row batch stays whole.
    assertThat(SampleGenerator.lanePieces(batches, 2))
        .containsExactly(
            List.of(new SampleGenerator.Unit(0, 0, 4)),
            List.of(new SampleGenerator.Unit(0, 4, 6), b),
            List.of(c));
    // More lanes than rows: one row per piece.
    assertThat(SampleGenerator.lanePieces(List.of(List.of(b)), 5))
        .containsExactly(
            List.of(new SampleGenerator.Unit(1, 0, 1)),
            List.of(new SampleGenerator.Unit(1, 1, 2)),
            List.of(new SampleGenerator.Unit(1, 2, 3)));
    // Three lanes over 9 rows: 3 + 3 + 3, cutting a.
    assertThat(SampleGenerator.lanePieces(List.of(List.of(a, b)), 3))
        .containsExactly(
            List.of(new SampleGenerator.Unit(0, 0, 3)),
            List.of(new SampleGenerator.Unit(0, 3, 6)),
            List.of(b));
  }

  @Test
  void aFailingLaneStopsTheOthersAndEverySessionIsClosed() {
    java.util.concurrent.atomic.AtomicInteger forwards =
        new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger open =
        new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger opened =
        new java.util.concurrent.atomic.AtomicInteger();
    org.prefscore.runtime.CausalLm real = model.graph();
    org.prefscore.runtime.CausalLm failing =
        new org.prefscore.runtime.CausalLm() {
          @Override
          public org.prefscore.runtime.DecoderSignature signature() {
            return real.signature();
          }

          @Override
          public boolean selectsLogitPositions() {
            return real.selectsLogitPositions();
          }

          @Override
          public long maxLogitsBytes() {
            return real.maxLogitsBytes();
          }

          @Override
          public org.prefscore.runtime.DecodeSession openSession() {
            org.prefscore.runtime.DecodeSession session = real.openSession();
            open.incrementAndGet();
            opened.incrementAndGet();
            return new org.prefscore.runtime.DecodeSession() {
              @Override
              public org.prefscore.runtime.KvCache emptyCache(int batch) {
                return session.emptyCache(batch);
              }

              @Override
              public org.prefscore.runtime.StepOutput forward(
                  org.prefscore.runtime.StepInput input) {
                if (forwards.incrementAndGet() == 7) {
                  throw new IllegalStateException("injected engine failure");
                }
                return session.forward(input);
              }

              @Override
              public org.prefscore.runtime.KvCache selectRows(
                  org.prefscore.runtime.KvCache cache, int[] rows) {
                return session.selectRows(cache, rows);
              }

              @Override
              public void close() {
                open.decrementAndGet();
                session.close();
              }
            };
          }

          @Override
          public void close() {}
        };
    LanguageModel wrapped = new LanguageModel(model.files(), model.tokenizer(), failing);
    // A budget this small makes many batches, each cut into three pieces.
    SampleGenerator generator =
        new SampleGenerator(
            wrapped,
            SAMPLING,
            GenerationOptions.of(60).withLanes(3, ExecutorRegistry.instance().samplingPool()));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> generator.generate(PROMPTS, 99L))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("injected engine failure");
    assertThat(opened.get()).isEqualTo(3);
    assertThat(open.get()).as("sessions left open").isZero();
    // The lanes stopped taking pieces: far fewer passes than the whole run needs.
    int failedAt = forwards.get();
    forwards.set(-1_000_000);
    new SampleGenerator(wrapped, SAMPLING, GenerationOptions.of(60)).generate(PROMPTS, 99L);
    assertThat(failedAt).isLessThan(forwards.get() + 1_000_000);
  }

  @Test
  void samplesCarrySeedsReasonsAndLogprobs() {
    List<SampleGenerator.PromptResult> results =
        new SampleGenerator(model, SAMPLING, GenerationOptions.of(100_000)).generate(PROMPTS, 7L);
    int distinct = 0;
    for (SampleGenerator.PromptResult result : results) {
      assertThat(result.sampled()).isTrue();
      assertThat(result.samples()).hasSize(6);
      for (int i = 0; i < 6; i++) {
        SampleGenerator.Sample s = result.samples().get(i);
        assertThat(s.sampleIndex()).isEqualTo(i);
        assertThat(s.seed()).isEqualTo(SampleSeeds.derive(7L, result.promptId(), i));
        assertThat(s.tokenIds().length).isBetween(1, 20);
        assertThat(s.logprob()).isNegative().isFinite();
        assertThat(s.samplingLogprob()).isLessThanOrEqualTo(0.0).isFinite();
        if (s.finishReason() == FinishReason.LENGTH) {
          assertThat(s.tokenIds()).hasSize(20);
        } else {
          assertThat(model.files().eosTokenIds()).contains(s.tokenIds()[s.tokenIds().length - 1]);
        }
      }
      distinct +=
          (int) result.samples().stream().map(SampleGenerator.Sample::text).distinct().count();
    }
    assertThat(distinct).as("temperature 0.9 should give varied samples").isGreaterThan(8);
  }

  @Test
  void sampleLogprobEqualsTeacherForcedScoreOfItsTokens() {
    List<SampleGenerator.PromptResult> results =
        new SampleGenerator(model, SAMPLING, GenerationOptions.of(100_000)).generate(PROMPTS, 11L);
    SequenceScorer scorer = new SequenceScorer(model, 4096);
    List<long[]> prompts = new ArrayList<>();
    List<long[]> responses = new ArrayList<>();
    List<Double> expected = new ArrayList<>();
    for (int p = 0; p < PROMPTS.size(); p++) {
      long[] promptIds = model.tokenizer().encode(PROMPTS.get(p).prompt(), true);
      for (SampleGenerator.Sample s : results.get(p).samples()) {
        prompts.add(promptIds);
        responses.add(s.tokenIds());
        expected.add(s.logprob());
      }
    }
    List<SequenceScorer.Result> scored = scorer.scoreTokens(prompts, responses, false);
    for (int i = 0; i < expected.size(); i++) {
      assertThat(scored.get(i).logprob()).isCloseTo(expected.get(i), within(1e-3));
    }
  }

  @Test
  void stopStringsEndSamples() {
    SamplingConfig withStop = new SamplingConfig(8, 1.0, 0, 1.0, 20, List.of("e"));
    List<SampleGenerator.PromptResult> results =
        new SampleGenerator(model, withStop, GenerationOptions.of(100_000)).generate(PROMPTS, 5L);
    // Stop strings are checked by the sampling threads too (concurrent tokenizer decodes).
    List<SampleGenerator.PromptResult> parallel =
        new SampleGenerator(
                model,
                withStop,
                GenerationOptions.of(100_000)
                    .withSamplingThreads(2, ExecutorRegistry.instance().samplingPool()))
            .generate(PROMPTS, 5L);
    for (int p = 0; p < PROMPTS.size(); p++) {
      assertSameSamples(results.get(p), parallel.get(p));
    }
    int stopped = 0;
    for (SampleGenerator.PromptResult r : results) {
      for (SampleGenerator.Sample s : r.samples()) {
        if (s.finishReason() == FinishReason.STOP) {
          stopped++;
          assertThat(s.text()).contains("e");
          String withoutLast =
              model
                  .tokenizer()
                  .decode(java.util.Arrays.copyOf(s.tokenIds(), s.tokenIds().length - 1));
          assertThat(withoutLast).doesNotContain("e");
        } else if (s.finishReason() == FinishReason.LENGTH) {
          assertThat(s.text()).doesNotContain("e");
        }
      }
    }
    assertThat(stopped).isPositive();
  }

  @Test
  void promptsThatCannotFitAreRefusedNotFailed() {
    String longPrompt = "word ".repeat(400);
    List<SampleGenerator.PromptResult> results =
        new SampleGenerator(model, SAMPLING, GenerationOptions.of(100_000))
            .generate(
                List.of(
                    new SampleGenerator.Request("long", longPrompt),
                    new SampleGenerator.Request("ok", "Hello there")),
                1L);
    assertThat(results.get(0).sampled()).isFalse();
    assertThat(results.get(0).refusal().reason()).isEqualTo(Refusal.Reason.PROMPT_TOO_LONG);
    assertThat(results.get(0).refusal().detail()).contains("context window of 256");
    assertThat(results.get(1).samples()).hasSize(6);
  }

  @Test
  void aBosTheTextAlreadyStartsWithIsNotDoubled() {
    long bos = model.files().bosTokenId();
    long[] plain = model.encode("Hello there");
    long[] rendered = model.encode(model.files().bosToken() + "Hello there");
    assertThat(plain[0]).isEqualTo(bos);
    assertThat(plain[1]).isNotEqualTo(bos);
    assertThat(rendered).containsExactly(plain);
  }

  private static void assertSameSamples(
      SampleGenerator.PromptResult expected, SampleGenerator.PromptResult actual) {
    assertThat(actual.promptId()).isEqualTo(expected.promptId());
    assertThat(actual.samples()).hasSameSizeAs(expected.samples());
    for (int i = 0; i < expected.samples().size(); i++) {
      SampleGenerator.Sample e = expected.samples().get(i);
      SampleGenerator.Sample a = actual.samples().get(i);
      assertThat(a.seed()).isEqualTo(e.seed());
      assertThat(a.tokenIds())
          .as("prompt %s sample %d", e.promptId(), i)
          .containsExactly(e.tokenIds());
      assertThat(a.text()).isEqualTo(e.text());
      assertThat(a.finishReason()).isEqualTo(e.finishReason());
      assertThat(a.logprob()).isCloseTo(e.logprob(), within(1e-4));
    }
  }
}
