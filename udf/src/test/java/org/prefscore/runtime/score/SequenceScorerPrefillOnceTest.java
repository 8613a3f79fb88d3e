package org.prefscore.runtime.score;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.testing.Fixtures;

/**
 * The shared path (each prompt prefilled once, its responses continued on its cache) gives the
 * separate path's values, per token, on every fixture decoder, under tight logits budgets (prefill
 * and continuation in chunks of positions) and on a graph with a logits_to_keep input.
 */
class SequenceScorerPrefillOnceTest {

  /** Per token: 1e-5. */
  private static final double TOLERANCE = 1e-5;

  /**
   * A sum of per-token values: 1e-5, or 2e-7 of its size when larger. The engine's logits are
   * float32; another batch layout (left padding, cached continuation, chunks of positions) changes
   * them in their last bits. Measured (2026-12-01): per token at most 5.2e-6 apart; sums of ~40
   * tokens (~200 nats) at most 1.1e-5 apart (one prefill pass) and 2.7e-5 (3 logits rows per pass),
   * 1.3e-7 of their size.
   */
  static double sumTolerance(double value) {
    return Fixtures.logprobTolerance(value);
  }

  /** Four requests per tuple as PairScoringFunction makes them, prompts of different lengths. */
  static List<SequenceScorer.Request> tuples() {
    List<SequenceScorer.Request> requests = new ArrayList<>();
    String[] prompts = {
      "Hi", "Explain why the sky is blue to a child, briefly and kindly", "List three primes:"
    };
    String refinement = "Improve the answer.\n\n";
    for (int i = 0; i < prompts.length; i++) {
      String chosen = " Because of Rayleigh scattering of sunlight, " + i + ".";
      String rejected = " no";
      for (String x : new String[] {prompts[i], refinement + prompts[i]}) {
        requests.add(SequenceScorer.Request.of(x, chosen));
        requests.add(SequenceScorer.Request.of(x, rejected));
      }
    }
    // A prompt ending in a space tokenizes differently inside prompt + response: separate path.
    requests.add(SequenceScorer.Request.of("Answer with one word: ", "yes"));
    requests.add(SequenceScorer.Request.of("Answer with one word: ", "no"));
    // No EOS appended and an empty response: nothing to score.
    requests.add(new SequenceScorer.Request("Hi", "", false));
    // One response token only: scored by the prefill's last logits alone.
    requests.add(new SequenceScorer.Request("Hi", " x", false));
    return requests;
  }

  @ParameterizedTest
  @ValueSource(strings = {"tiny-llama", "tiny-gpt2", "tiny-pythia", "tiny-llama-keep"})
  void sharedPrefillGivesTheSeparatePathsValues(String name) {
    try (LanguageModel model = Fixtures.decoder(name)) {
      List<SequenceScorer.Request> requests = tuples();
      SequenceScorer separate = new SequenceScorer(model, 100_000, 256L << 20, false);
      SequenceScorer shared = new SequenceScorer(model, 100_000, 256L << 20);
      int width = model.graph().signature().logitsWidth();
      // 3 logits rows per pass: prefills and continuations run in chunks of positions.
      SequenceScorer tight = new SequenceScorer(model, 100_000, 3L * width * Float.BYTES);
      List<SequenceScorer.Result> a = separate.score(requests, true);
      List<SequenceScorer.Result> b = shared.score(requests, true);
      List<SequenceScorer.Result> c = tight.score(requests, true);
      long mismatched = a.stream().filter(SequenceScorer.Result::prefixMismatch).count();
      assertThat(mismatched).as("the trailing-space prompt tokenizes differently").isPositive();
      assertThat(separate.separateRequests()).isEqualTo(requests.size());
      assertThat(shared.separateRequests()).isEqualTo(mismatched);
      // 3 prompts x 2 renderings + "Hi" (twice in the list, one prefill per batch it is in)
      assertThat(shared.promptPrefills()).isBetween(6L, 8L);
      assertThat(shared.forwardPasses()).isLessThan(separate.forwardPasses() + 3);
      assertThat(tight.forwardPasses()).isGreaterThan(shared.forwardPasses());
      for (int i = 0; i < requests.size(); i++) {
        SequenceScorer.Result x = a.get(i);
        for (SequenceScorer.Result y : List.of(b.get(i), c.get(i))) {
          assertThat(y.scored()).isTrue();
          assertThat(y.promptTokens()).isEqualTo(x.promptTokens());
          assertThat(y.responseTokens()).isEqualTo(x.responseTokens());
          assertThat(y.prefixMismatch()).isEqualTo(x.prefixMismatch());
          assertThat(y.logprob())
              .as("request %d", i)
              .isCloseTo(x.logprob(), within(sumTolerance(x.logprob())));
          for (int t = 0; t < x.tokenLogprobs().length; t++) {
            assertThat((double) y.tokenLogprobs()[t])
                .as("request %d token %d", i, t)
                .isCloseTo(x.tokenLogprobs()[t], within(TOLERANCE));
          }
        }
      }
      assertThat(a.get(requests.size() - 2).responseTokens()).isZero();
      assertThat(a.get(requests.size() - 2).logprob()).isZero();
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void aGraphWithLogitsToKeepScoresAsThePlainExport(boolean prefillOnce) {
    try (LanguageModel plain = Fixtures.decoder("tiny-llama");
        LanguageModel keep = Fixtures.decoder("tiny-llama-keep")) {
      assertThat(plain.graph().selectsLogitPositions()).isFalse();
      assertThat(keep.graph().selectsLogitPositions()).isTrue();
      List<SequenceScorer.Request> requests = tuples();
      List<SequenceScorer.Result> a =
          new SequenceScorer(plain, 100_000, 256L << 20, prefillOnce).score(requests, false);
      List<SequenceScorer.Result> b =
          new SequenceScorer(keep, 100_000, 256L << 20, prefillOnce).score(requests, false);
      for (int i = 0; i < requests.size(); i++) {
        assertThat(b.get(i).logprob())
            .isCloseTo(a.get(i).logprob(), within(sumTolerance(a.get(i).logprob())));
      }
    }
  }
}
