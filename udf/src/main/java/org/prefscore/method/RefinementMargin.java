package org.prefscore.method;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Self-refined DPO/IPO arithmetic (method.md §2) for a fixed β and λ.
 *
 * <ul>
 *   <li>refinement Δ_π(y-, y+; x) = β·m_p(x) (no gradient: a plain number here);
 *   <li>Sr-DPO loss −log σ(β·m(x) − λ·Δ), evaluated as a softplus so it is finite and accurate for
 *       any finite argument (≈ e^−z for large z, ≈ −z for very negative z);
 *   <li>Sr-IPO loss (m(x) − λ·Δ − 1/(2β))².
 * </ul>
 *
 * <p>Defaults are the paper's β = 0.1 and λ = 0.5 (the paper picks λ from {0.1, 0.3, 0.5, 1}). λ =
 * 0 reduces Sr-DPO to DPO and Sr-IPO to IPO. Immutable; validated on construction.
 *
 * @param beta β, finite and > 0
 * @param lambda λ, finite and ≥ 0
 */
public record RefinementMargin(double beta, double lambda) implements Serializable {

  public static final double DEFAULT_BETA = 0.1;
  public static final double DEFAULT_LAMBDA = 0.5;

  public RefinementMargin {
    List<String> violations = new ArrayList<>();
    if (!(Double.isFinite(beta) && beta > 0.0)) {
      violations.add("beta must be finite and > 0 but was " + beta);
    }
    if (!(Double.isFinite(lambda) && lambda >= 0.0)) {
      violations.add("lambda must be finite and >= 0 but was " + lambda);
    }
    if (!violations.isEmpty()) {
      throw new IllegalArgumentException(
          "Invalid Sr-DPO settings: " + String.join("; ", violations));
    }
  }

  /** β = 0.1, λ = 0.5. */
  public static RefinementMargin defaults() {
    return new RefinementMargin(DEFAULT_BETA, DEFAULT_LAMBDA);
  }

  public RefinementMargin withLambda(double newLambda) {
    return new RefinementMargin(beta, newLambda);
  }

  /** Δ_π(y-, y+; x) = β·m_p(x). */
  public double refinement(PreferenceLogprobs logprobs) {
    return beta * logprobs.promptAugmentedMargin();
  }

  /** −log σ(β·m(x)). */
  public double dpoLoss(PreferenceLogprobs logprobs) {
    return Logistic.negativeLogSigmoid(beta * logprobs.margin());
  }

  public double srDpoLoss(PreferenceLogprobs logprobs) {
    return srDpoLoss(logprobs.margin(), refinement(logprobs));
  }

  /** −log σ(β·margin − λ·refinement), for a margin m(x) and a refinement Δ already computed. */
  public double srDpoLoss(double margin, double refinement) {
    return Logistic.negativeLogSigmoid(beta * margin - lambda * refinement);
  }

  public double srIpoLoss(PreferenceLogprobs logprobs) {
    return srIpoLoss(logprobs.margin(), refinement(logprobs));
  }

  /** (margin − λ·refinement − 1/(2β))². */
  public double srIpoLoss(double margin, double refinement) {
    double residual = margin - lambda * refinement - 1.0 / (2.0 * beta);
    return residual * residual;
  }

  public SrDpoTerms terms(PreferenceLogprobs logprobs) {
    double m = logprobs.margin();
    double delta = refinement(logprobs);
    return new SrDpoTerms(
        beta,
        lambda,
        m,
        logprobs.promptAugmentedMargin(),
        delta,
        Logistic.negativeLogSigmoid(beta * m),
        srDpoLoss(m, delta),
        srIpoLoss(m, delta));
  }
}
