package org.prefscore.spark;

import java.io.Serializable;
import java.util.Map;
import org.prefscore.chat.PromptRenderer;
import org.prefscore.method.RefinementMargin;
import org.prefscore.method.RefinementPrompt;
import org.prefscore.runtime.ModelSpec;

/**
 * What {@link PairScoringFunction} needs on an executor: small and serializable.
 *
 * @param reference π_ref, always scored
 * @param checkpoint π_t, scored when not null; otherwise the policy terms are the reference terms
 * @param tokenBudget the runtime's token budget per forward pass
 * @param logitsBytes bound on one teacher-forced forward pass's logits (runtime.logits-budget-mb)
 * @param pairsPerCall pairs handed to one SequenceScorer call (4 sequences each)
 * @param margin β and λ
 * @param counters accumulators
 * @param placement where executors load the models from (local copies of remote directories) and on
 *     which GPU
 * @param refinement p and its separator: conversational pairs are re-rendered (x, p ⊕ x) with the
 *     reference's chat template when they are scored
 * @param templateKwargs chat template keyword arguments for those renderings
 */
public record ScoringSettings(
    ModelSpec reference,
    ModelSpec checkpoint,
    long tokenBudget,
    long logitsBytes,
    int pairsPerCall,
    RefinementMargin margin,
    PipelineCounters counters,
    ModelPlacement placement,
    RefinementPrompt refinement,
    Map<String, Object> templateKwargs)
    implements Serializable {

  public ScoringSettings {
    placement = placement == null ? ModelPlacement.defaults() : placement;
    refinement = refinement == null ? RefinementPrompt.paper() : refinement;
    templateKwargs = PromptRenderer.checked(templateKwargs);
  }
}
