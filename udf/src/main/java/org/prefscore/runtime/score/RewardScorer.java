package org.prefscore.runtime.score;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.prefscore.runtime.Refusal;
import org.prefscore.runtime.RewardModel;

/**
 * Batched reward scoring r_θ(x, y) with a single-logit sequence classifier. The scored text is
 * {@code prompt + response} tokenized with the tokenizer's special tokens, as {@code
 * tokenizer(text)} does in transformers. Batches are sorted by length to cut padding, right-padded
 * with the model's pad id and bounded by a token budget. Thread-safe.
 */
public final class RewardScorer {

  /**
   * The reward of one text.
   *
   * @param reward the logit; NaN when refused
   * @param tokens tokens scored
   * @param refusal why the text was not scored, or null
   */
  public record Result(double reward, int tokens, Refusal refusal) {
    /** Whether the text was scored. */
    public boolean scored() {
      return refusal == null;
    }
  }

  private final RewardModel model;
  private final long tokenBudget;
  private final AtomicLong modelNanos = new AtomicLong();

  public RewardScorer(RewardModel model, long tokenBudget) {
    this.model = model;
    this.tokenBudget = tokenBudget;
  }

  /** Nanoseconds spent inside the model's forward passes so far (all threads). */
  public long modelNanos() {
    return modelNanos.get();
  }

  /** Rewards of {@code prompt + response} for each pair; results in input order. */
  public List<Result> scorePairs(List<String> prompts, List<String> responses) {
    if (prompts.size() != responses.size()) {
      throw new IllegalArgumentException("prompts and responses differ in number");
    }
    List<String> texts = new ArrayList<>(prompts.size());
    for (int i = 0; i < prompts.size(); i++) {
      texts.add(prompts.get(i) + responses.get(i));
    }
    return score(texts);
  }

  /** Rewards of whole texts; results in input order. */
  public List<Result> score(List<String> texts) {
    int n = texts.size();
    long[][] ids = new long[n][];
    Result[] results = new Result[n];
    List<Integer> runnable = new ArrayList<>();
    int window = model.files().contextWindow();
    for (int i = 0; i < n; i++) {
      if (model.files().provablyMoreTokensThan(texts.get(i), window)) {
        ids[i] = new long[0];
        results[i] =
            new Result(
                Double.NaN,
                0,
                new Refusal(
                    Refusal.Reason.SEQUENCE_TOO_LONG,
                    model.files().tooManyTokens(texts.get(i), window)
                        + ", more than the reward model's context window of "
                        + window
                        + " (not tokenized)"));
        continue;
      }
      ids[i] = model.tokenizer().encode(texts.get(i), true);
      if (ids[i].length == 0) {
        results[i] =
            new Result(Double.NaN, 0, new Refusal(Refusal.Reason.EMPTY_PROMPT, "empty text"));
      } else if (ids[i].length > window) {
        results[i] =
            new Result(
                Double.NaN,
                ids[i].length,
                new Refusal(
                    Refusal.Reason.SEQUENCE_TOO_LONG,
                    ids[i].length
                        + " tokens exceed the reward model's context window of "
                        + window));
      } else {
        runnable.add(i);
      }
    }
    int[] lengths = runnable.stream().mapToInt(i -> ids[i].length).toArray();
    long pad =
        model.files().padTokenId() >= 0
            ? model.files().padTokenId()
            : model.files().eosTokenIds().get(0);
    for (int[] batch : LengthBatches.plan(lengths, tokenBudget, Integer.MAX_VALUE)) {
      int rows = batch.length;
      int seq = 0;
      for (int b : batch) {
        seq = Math.max(seq, ids[runnable.get(b)].length);
      }
      long[] flat = new long[rows * seq];
      long[] mask = new long[rows * seq];
      Arrays.fill(flat, pad);
      for (int r = 0; r < rows; r++) {
        long[] row = ids[runnable.get(batch[r])];
        System.arraycopy(row, 0, flat, r * seq, row.length);
        Arrays.fill(mask, r * seq, r * seq + row.length, 1L);
      }
      long start = System.nanoTime();
      float[] logits = model.graph().classify(rows, seq, flat, mask);
      modelNanos.addAndGet(System.nanoTime() - start);
      for (int r = 0; r < rows; r++) {
        int item = runnable.get(batch[r]);
        results[item] = new Result(logits[r], ids[item].length, null);
      }
    }
    return Arrays.asList(results);
  }
}
