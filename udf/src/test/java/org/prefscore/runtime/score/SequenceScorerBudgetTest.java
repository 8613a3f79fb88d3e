package org.prefscore.runtime.score;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.testing.Fixtures;

/**
 * The logits bound cuts scoring into more, smaller forward passes without changing the scores
 * (tiny-llama: 961 logits per position).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SequenceScorerBudgetTest {

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
  void aSmallLogitsBoundMeansMorePassesAndTheSameScores() {
    List<SequenceScorer.Request> requests = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      requests.add(
          SequenceScorer.Request.of(
              "Question " + i + ": why is the sky blue?", " Because of scattering, " + i + "."));
    }
    // The separate path (one pass over prompt + response per request).
    SequenceScorer roomy = new SequenceScorer(model, 100_000, 256L << 20, false);
    // 961 logits × 4 bytes × 40 positions: about one sequence per pass.
    SequenceScorer tight = new SequenceScorer(model, 100_000, 961L * 4 * 40, false);
    List<SequenceScorer.Result> a = roomy.score(requests, false);
    List<SequenceScorer.Result> b = tight.score(requests, false);
    assertThat(roomy.forwardPasses()).isEqualTo(1);
    assertThat(tight.forwardPasses()).isGreaterThanOrEqualTo(6);
    // The shared path: one prefill pass and one continuation pass, or chunks of them.
    SequenceScorer sharedRoomy = new SequenceScorer(model, 100_000, 256L << 20);
    SequenceScorer sharedTight = new SequenceScorer(model, 100_000, 961L * 4 * 40);
    List<SequenceScorer.Result> c = sharedRoomy.score(requests, false);
    List<SequenceScorer.Result> d = sharedTight.score(requests, false);
    assertThat(sharedRoomy.forwardPasses()).isEqualTo(2);
    assertThat(sharedTight.forwardPasses()).isGreaterThan(2);
    for (int i = 0; i < requests.size(); i++) {
      double tolerance = SequenceScorerPrefillOnceTest.sumTolerance(a.get(i).logprob());
      assertThat(c.get(i).logprob()).isCloseTo(a.get(i).logprob(), within(tolerance));
      assertThat(d.get(i).logprob()).isCloseTo(a.get(i).logprob(), within(tolerance));
    }
    for (int i = 0; i < requests.size(); i++) {
      assertThat(b.get(i).scored()).isTrue();
      assertThat(b.get(i).logprob()).isCloseTo(a.get(i).logprob(), within(1e-4));
    }
  }

  @Test
  void aSequenceLongerThanTheBoundStillRunsAlone() {
    List<SequenceScorer.Request> one =
        List.of(SequenceScorer.Request.of("A longer prompt than two tokens", " and a reply."));
    SequenceScorer tiny = new SequenceScorer(model, 100_000, 961L * 4 * 2, false);
    List<SequenceScorer.Result> r = tiny.score(one, false);
    assertThat(r.get(0).scored()).isTrue();
    assertThat(tiny.forwardPasses()).isEqualTo(1);
    // The shared path cuts it into passes of two positions instead.
    SequenceScorer chunked = new SequenceScorer(model, 100_000, 961L * 4 * 2);
    List<SequenceScorer.Result> s = chunked.score(one, false);
    assertThat(s.get(0).logprob())
        .isCloseTo(
            r.get(0).logprob(),
            within(SequenceScorerPrefillOnceTest.sumTolerance(r.get(0).logprob())));
    int tokens = s.get(0).promptTokens() + s.get(0).responseTokens() - 1;
    assertThat(chunked.forwardPasses()).isEqualTo((tokens + 1) / 2);
  }

  @Test
  void boundsMustBePositive() {
    assertThatThrownBy(() -> new SequenceScorer(model, 100, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
