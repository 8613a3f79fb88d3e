package org.prefscore.judge;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.prefscore.chat.ChatMessage;
import org.prefscore.chat.ChatTemplate;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.Refusal;
import org.prefscore.runtime.score.SequenceScorer;

/**
 * A decoder as a pairwise teacher: the judge prompt ({@link JudgePrompt}) is filled with (x, a, b)
 * and, when the judge model has a chat template, rendered as one user message with {@code
 * add_generation_prompt=true} (transformers' {@code apply_chat_template(..., tokenize=False)}),
 * then tokenized with the tokenizer's special tokens as {@code tokenizer(text)} does. P(a ≻ b | x)
 * is the softmax over the two label tokens' next-token log-probs at the end of that text: σ(log
 * p(label_A) − log p(label_B)), computed in batches by {@link SequenceScorer#nextTokenLogprobs}. A
 * comparison whose text does not fit the judge's context window is refused. Thread-safe.
 */
public final class GenerativeJudge implements PairwiseTeacher {

  private final LanguageModel model;
  private final JudgePrompt prompt;
  private final ChatTemplate chatTemplate;
  private final SequenceScorer scorer;
  private final long[] labelIds;

  /**
   * @param chatTemplate the judge's chat template, or null to use the filled prompt as it is
   * @param tokenBudget padded tokens per forward pass
   * @throws IllegalArgumentException if a label is not exactly one token of the judge's tokenizer
   */
  public GenerativeJudge(
      LanguageModel model, JudgePrompt prompt, ChatTemplate chatTemplate, long tokenBudget) {
    this.model = model;
    this.prompt = prompt;
    this.chatTemplate = chatTemplate;
    this.scorer = new SequenceScorer(model, tokenBudget);
    this.labelIds = labelIds(model, prompt);
  }

  /**
   * The token ids of the two labels.
   *
   * @throws IllegalArgumentException naming the label that is not exactly one token
   */
  public static long[] labelIds(LanguageModel model, JudgePrompt prompt) {
    long[] ids = new long[2];
    List<String> labels = List.of(prompt.firstLabel(), prompt.secondLabel());
    for (int i = 0; i < 2; i++) {
      long[] t = model.tokenizer().encode(labels.get(i), false);
      if (t.length != 1) {
        throw new IllegalArgumentException(
            "judge label '"
                + labels.get(i)
                + "' is "
                + t.length
                + " tokens of the judge's tokenizer, not one (judge.labels)");
      }
      ids[i] = t[0];
    }
    if (ids[0] == ids[1]) {
      throw new IllegalArgumentException("the two judge labels are the same token " + ids[0]);
    }
    return ids;
  }

  /** The text the judge reads for one comparison, the label token to follow. */
  public String text(Comparison c) {
    String filled = prompt.render(c.query(), c.first(), c.second());
    if (chatTemplate == null) {
      return filled;
    }
    return chatTemplate.render(List.of(ChatMessage.user(filled)), true, Map.of());
  }

  /** The label token ids (A, B). */
  public long[] labelIds() {
    return labelIds.clone();
  }

  @Override
  public List<Verdict> preferFirst(List<Comparison> comparisons) {
    int n = comparisons.size();
    List<long[]> prompts = new ArrayList<>(n);
    Verdict[] early = new Verdict[n];
    int window = model.files().contextWindow();
    for (int i = 0; i < n; i++) {
      String text;
      try {
        text = text(comparisons.get(i));
      } catch (ChatTemplate.ChatTemplateException e) {
        throw new IllegalStateException(
            "the judge's chat template failed on a judge prompt: " + e.getMessage(), e);
      }
      if (model.files().provablyMoreTokensThan(text, window)) {
        early[i] =
            new Verdict(
                Double.NaN,
                0,
                new Refusal(
                    Refusal.Reason.SEQUENCE_TOO_LONG,
                    model.files().tooManyTokens(text, window)
                        + ", more than the judge's context window of "
                        + window
                        + " (not tokenized)"));
        prompts.add(new long[0]);
      } else {
        prompts.add(model.encode(text));
      }
    }
    List<SequenceScorer.NextToken> scored = scorer.nextTokenLogprobs(prompts, labelIds);
    List<Verdict> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      if (early[i] != null) {
        out.add(early[i]);
        continue;
      }
      SequenceScorer.NextToken t = scored.get(i);
      if (!t.scored()) {
        Refusal r = t.refusal();
        out.add(
            new Verdict(
                Double.NaN,
                t.promptTokens(),
                new Refusal(r.reason(), "judge prompt: " + r.detail())));
        continue;
      }
      out.add(new Verdict(softmaxFirst(t.logprobs()[0], t.logprobs()[1]), t.promptTokens(), null));
    }
    return out;
  }

  /** exp(a) / (exp(a) + exp(b)), stable for any finite a, b. */
  static double softmaxFirst(double a, double b) {
    double d = b - a;
    return d > 0 ? Math.exp(-d) / (1.0 + Math.exp(-d)) : 1.0 / (1.0 + Math.exp(d));
  }

  @Override
  public long modelNanos() {
    return scorer.modelNanos();
  }

  @Override
  public String kind() {
    return "judge";
  }
}
