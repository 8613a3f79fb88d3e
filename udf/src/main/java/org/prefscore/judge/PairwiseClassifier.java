package org.prefscore.judge;

import java.util.ArrayList;
import java.util.List;
import org.prefscore.runtime.RewardModel;
import org.prefscore.runtime.score.RewardScorer;

/**
 * A sequence classifier as a pairwise teacher, in the PairRM style: the pair text ({@link
 * JudgePrompt}, by default {@code <|source|>x<|candidate1|>a<|candidate2|>b}) is tokenized with the
 * tokenizer's special tokens and the model's single logit z means "the first response is better":
 * P(a ≻ b | x) = σ(z). Batched by {@link RewardScorer} (length-sorted, right-padded with the pad
 * id, token budget). A pair text too long for the classifier is refused. Thread-safe.
 */
public final class PairwiseClassifier implements PairwiseTeacher {

  private final JudgePrompt pairText;
  private final RewardScorer scorer;

  public PairwiseClassifier(RewardModel model, JudgePrompt pairText, long tokenBudget) {
    this.pairText = pairText;
    this.scorer = new RewardScorer(model, tokenBudget);
  }

  /** The text the classifier reads for one comparison. */
  public String text(Comparison c) {
    return pairText.render(c.query(), c.first(), c.second());
  }

  @Override
  public List<Verdict> preferFirst(List<Comparison> comparisons) {
    List<String> texts = new ArrayList<>(comparisons.size());
    for (Comparison c : comparisons) {
      texts.add(text(c));
    }
    List<Verdict> out = new ArrayList<>(texts.size());
    for (RewardScorer.Result r : scorer.score(texts)) {
      out.add(
          r.scored()
              ? new Verdict(1.0 / (1.0 + Math.exp(-r.reward())), r.tokens(), null)
              : new Verdict(Double.NaN, r.tokens(), r.refusal()));
    }
    return out;
  }

  @Override
  public long modelNanos() {
    return scorer.modelNanos();
  }

  @Override
  public String kind() {
    return "pairwise-classifier";
  }
}
