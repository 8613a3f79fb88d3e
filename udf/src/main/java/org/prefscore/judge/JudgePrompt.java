package org.prefscore.judge;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * How a pairwise teacher is shown one comparison (x, a, b): a text template with the placeholders
 * {@code {query}}, {@code {response_a}} and {@code {response_b}}, filled in one pass (a response
 * that itself contains {@code {response_b}} stays literal), and, for a generative judge, the two
 * label texts that answer "a is better" and "b is better", each exactly one token of the judge's
 * tokenizer.
 *
 * @param template the judge prompt (generative judge) or the pair text (pairwise classifier)
 * @param firstLabel the answer meaning "the first response (A) is better"; unused by a classifier
 * @param secondLabel the answer meaning "the second response (B) is better"; unused by a classifier
 */
public record JudgePrompt(String template, String firstLabel, String secondLabel)
    implements Serializable {

  public static final String QUERY = "{query}";
  public static final String RESPONSE_A = "{response_a}";
  public static final String RESPONSE_B = "{response_b}";

  /**
   * The generative judge's default prompt; with a chat template it is the user message, and the
   * label token is the first token of the assistant's answer.
   */
  public static final String DEFAULT_TEMPLATE =
      "Which response to the query is better?\n\n"
          + "Query: {query}\n\n"
          + "Response A: {response_a}\n\n"
          + "Response B: {response_b}\n\n"
          + "Answer with A or B.";

  /** The default labels, "A" and "B". */
  public static final String DEFAULT_LABELS = "A,B";

  /** The pairwise classifier's default pair text: PairRM's layout. */
  public static final String DEFAULT_PAIR_TEMPLATE =
      "<|source|>{query}<|candidate1|>{response_a}<|candidate2|>{response_b}";

  public JudgePrompt {
    List<String> problems = problems(template);
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("; ", problems));
    }
    Objects.requireNonNull(firstLabel, "firstLabel");
    Objects.requireNonNull(secondLabel, "secondLabel");
    if (firstLabel.isEmpty() || secondLabel.isEmpty() || firstLabel.equals(secondLabel)) {
      throw new IllegalArgumentException(
          "the two labels must be non-empty and different, got '"
              + firstLabel
              + "' and '"
              + secondLabel
              + "'");
    }
  }

  /** The generative judge's defaults. */
  public static JudgePrompt judgeDefaults() {
    return new JudgePrompt(DEFAULT_TEMPLATE, "A", "B");
  }

  /** A pairwise classifier's pair text (labels unused). */
  public static JudgePrompt pairText(String template) {
    return new JudgePrompt(template, "A", "B");
  }

  /** What is wrong with a template: each placeholder must occur (at least once). */
  public static List<String> problems(String template) {
    List<String> problems = new ArrayList<>();
    if (template == null || template.isBlank()) {
      problems.add("the template is empty");
      return problems;
    }
    for (String p : List.of(QUERY, RESPONSE_A, RESPONSE_B)) {
      if (!template.contains(p)) {
        problems.add("the template has no " + p + " placeholder");
      }
    }
    return problems;
  }

  /** The template with x, a and b filled in, in one pass over the template. */
  public String render(String query, String first, String second) {
    StringBuilder out = new StringBuilder(template.length() + query.length() + 2 * first.length());
    int i = 0;
    while (i < template.length()) {
      if (template.startsWith(QUERY, i)) {
        out.append(query);
        i += QUERY.length();
      } else if (template.startsWith(RESPONSE_A, i)) {
        out.append(first);
        i += RESPONSE_A.length();
      } else if (template.startsWith(RESPONSE_B, i)) {
        out.append(second);
        i += RESPONSE_B.length();
      } else {
        out.append(template.charAt(i++));
      }
    }
    return out.toString();
  }
}
