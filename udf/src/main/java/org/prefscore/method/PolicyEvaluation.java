package org.prefscore.method;

import java.util.List;
import java.util.Objects;
import java.util.OptionalDouble;
import org.apache.commons.math3.stat.correlation.KendallsCorrelation;
import org.apache.commons.math3.stat.correlation.PearsonsCorrelation;
import org.apache.commons.math3.stat.correlation.SpearmansCorrelation;

/**
 * Evaluation of a trained policy against its reference on held-out tuples (method.md, "Evaluation
 * of a trained policy"; paper §4).
 *
 * <ul>
 *   <li>{@code averageMarginal}: mean of m(x);
 *   <li>{@code accuracy}: share of tuples with m(x) > 0 (a margin of exactly 0 counts as wrong);
 *   <li>{@code promptAugmentedAccuracy}: share with m_p(x) > 0;
 *   <li>{@code pearson}, {@code spearman}, {@code kendall}: correlation between m(x) and the
 *       external score gap s+ − s- over the {@code scoredTuples} tuples that carry a gap (Spearman
 *       with average ranks for ties, Kendall's τ-b; commons-math3). Empty when fewer than two
 *       tuples carry a gap or the correlation is undefined (either variable constant).
 * </ul>
 *
 * <p>With no tuples the mean and the shares are NaN.
 */
public record PolicyEvaluation(
    int tuples,
    double averageMarginal,
    double accuracy,
    double promptAugmentedAccuracy,
    int scoredTuples,
    OptionalDouble pearson,
    OptionalDouble spearman,
    OptionalDouble kendall) {

  /** One held-out tuple: m(x), m_p(x) and, if an external judge scored it, s+ − s-. All finite. */
  public record Observation(double margin, double promptAugmentedMargin, OptionalDouble scoreGap) {

    public Observation {
      Objects.requireNonNull(scoreGap, "scoreGap");
      if (!Double.isFinite(margin)
          || !Double.isFinite(promptAugmentedMargin)
          || (scoreGap.isPresent() && !Double.isFinite(scoreGap.getAsDouble()))) {
        throw new IllegalArgumentException(
            "observation values must be finite but were margin="
                + margin
                + ", promptAugmentedMargin="
                + promptAugmentedMargin
                + ", scoreGap="
                + scoreGap);
      }
    }

    public static Observation of(double margin, double promptAugmentedMargin) {
      return new Observation(margin, promptAugmentedMargin, OptionalDouble.empty());
    }

    public static Observation of(double margin, double promptAugmentedMargin, double scoreGap) {
      return new Observation(margin, promptAugmentedMargin, OptionalDouble.of(scoreGap));
    }

    /** The margins of a tuple whose policy terms come from the evaluated policy. */
    public static Observation from(PreferenceLogprobs logprobs, OptionalDouble scoreGap) {
      return new Observation(logprobs.margin(), logprobs.promptAugmentedMargin(), scoreGap);
    }
  }

  public static PolicyEvaluation evaluate(List<Observation> observations) {
    Objects.requireNonNull(observations, "observations");
    int n = observations.size();
    double sum = 0.0;
    int correct = 0;
    int correctWithPrompt = 0;
    int scored = 0;
    for (Observation o : observations) {
      sum += o.margin();
      if (o.margin() > 0) {
        correct++;
      }
      if (o.promptAugmentedMargin() > 0) {
        correctWithPrompt++;
      }
      if (o.scoreGap().isPresent()) {
        scored++;
      }
    }
    double[] margins = new double[scored];
    double[] gaps = new double[scored];
    int i = 0;
    for (Observation o : observations) {
      if (o.scoreGap().isPresent()) {
        margins[i] = o.margin();
        gaps[i] = o.scoreGap().getAsDouble();
        i++;
      }
    }
    OptionalDouble pearson = OptionalDouble.empty();
    OptionalDouble spearman = OptionalDouble.empty();
    OptionalDouble kendall = OptionalDouble.empty();
    if (scored >= 2) {
      pearson = defined(new PearsonsCorrelation().correlation(margins, gaps));
      spearman = defined(new SpearmansCorrelation().correlation(margins, gaps));
      kendall = defined(new KendallsCorrelation().correlation(margins, gaps));
    }
    return new PolicyEvaluation(
        n,
        n == 0 ? Double.NaN : sum / n,
        n == 0 ? Double.NaN : (double) correct / n,
        n == 0 ? Double.NaN : (double) correctWithPrompt / n,
        scored,
        pearson,
        spearman,
        kendall);
  }

  private static OptionalDouble defined(double value) {
    return Double.isNaN(value) ? OptionalDouble.empty() : OptionalDouble.of(value);
  }
}
