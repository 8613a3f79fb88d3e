package org.prefscore.method;

import java.io.Serializable;

/**
 * Every Sr-DPO/IPO quantity of one preference tuple, as {@link RefinementMargin#terms} computes
 * them with the recorded β and λ: margin m(x), prompt-augmented margin m_p(x), refinement Δ =
 * β·m_p(x), the DPO loss −log σ(β·m), the Sr-DPO loss −log σ(β·m − λ·Δ) and the Sr-IPO loss (m −
 * λ·Δ − 1/(2β))².
 */
public record SrDpoTerms(
    double beta,
    double lambda,
    double margin,
    double promptAugmentedMargin,
    double refinement,
    double dpoLoss,
    double srDpoLoss,
    double srIpoLoss)
    implements Serializable {}
