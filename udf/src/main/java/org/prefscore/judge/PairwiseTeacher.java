package org.prefscore.judge;

import java.util.List;
import java.util.Objects;
import org.prefscore.runtime.Refusal;

/**
 * A pairwise preference model P(a ≻ b | x) backed by a real model, scored in batches: a {@link
 * GenerativeJudge} (a decoder answering a judge prompt with one of two label tokens) or a {@link
 * PairwiseClassifier} (a sequence classifier with one logit for "the first response is better",
 * PairRM style). Either may be position-biased; callers combine both orders into the symmetric
 * score ½[P(a≻b) + 1 − P(b≻a)] (method.md §1.4). Implementations are thread-safe.
 */
public interface PairwiseTeacher {

  /** One ordered comparison: is {@code first} a better response to {@code query} than second? */
  record Comparison(String query, String first, String second) {
    public Comparison {
      Objects.requireNonNull(query, "query");
      Objects.requireNonNull(first, "first");
      Objects.requireNonNull(second, "second");
    }
  }

  /**
   * The teacher's answer to one comparison.
   *
   * @param pFirst P(first ≻ second | query), in [0, 1]; NaN when refused
   * @param tokens tokens the model read
   * @param refusal why the comparison was not scored (e.g. too long for the teacher), or null
   */
  record Verdict(double pFirst, int tokens, Refusal refusal) {
    public boolean scored() {
      return refusal == null;
    }
  }

  /** Scores every comparison; results in input order. */
  List<Verdict> preferFirst(List<Comparison> comparisons);

  /** Nanoseconds spent inside the model's forward passes so far (all threads). */
  long modelNanos();

  /** What kind of teacher this is, for logs and the manifest: "judge" or "pairwise-classifier". */
  String kind();
}
