package org.prefscore.spark;

import java.io.Serializable;
import java.util.Map;
import org.prefscore.chat.PromptRenderer;
import org.prefscore.method.RefinementPrompt;
import org.prefscore.runtime.ModelSpec;

/**
 * What {@link GenerationFunction} needs on an executor: small and serializable.
 *
 * @param policy the sampling policy (also gives the chat template)
 * @param reward the reward model; null with a pairwise teacher, which judges the samples after the
 *     shuffle ({@link KnockoutFunction}) instead
 * @param sampling N, temperature, ...
 * @param runSeed the run seed every sample seed derives from
 * @param tokenBudget the runtime's token budget per forward pass
 * @param logitsBytes the runtime's bound on one forward pass's logits (runtime.logits-budget-mb)
 * @param promptsPerCall prompts handed to one SampleGenerator call
 * @param refinement p and its separator, to render p ⊕ x next to x
 * @param templateKwargs chat template keyword arguments for every rendering (chat.template-kwargs):
 *     plain serializable values (String, Boolean, Long, Double, null, Lists and Maps of them)
 * @param counters accumulators
 * @param placement where executors load the models from (local copies of remote directories) and on
 *     which GPU
 * @param pairFormat output.pair-format: which prompts are sampled and carried as conversations
 * @param decodeLanes pieces of each batch decoded at once (runtime.decode-lanes, at least 1)
 * @param samplingHead use the policy graph's sampling head where it has one (runtime.sampling-head)
 */
public record GenerationSettings(
    ModelSpec policy,
    ModelSpec reward,
    SamplingSettings sampling,
    long runSeed,
    long tokenBudget,
    long logitsBytes,
    int promptsPerCall,
    RefinementPrompt refinement,
    Map<String, Object> templateKwargs,
    PipelineCounters counters,
    ModelPlacement placement,
    PairFormat pairFormat,
    int decodeLanes,
    boolean samplingHead)
    implements Serializable {

  public GenerationSettings {
    if (decodeLanes < 1) {
      throw new IllegalArgumentException("decode lanes must be >= 1, got " + decodeLanes);
    }
    placement = placement == null ? ModelPlacement.defaults() : placement;
    templateKwargs = PromptRenderer.checked(templateKwargs);
    pairFormat = pairFormat == null ? PairFormat.AUTO : pairFormat;
  }

  /** With {@link PairFormat#AUTO}, one decode lane and the sampling head used. */
  public GenerationSettings(
      ModelSpec policy,
      ModelSpec reward,
      SamplingSettings sampling,
      long runSeed,
      long tokenBudget,
      long logitsBytes,
      int promptsPerCall,
      RefinementPrompt refinement,
      Map<String, Object> templateKwargs,
      PipelineCounters counters,
      ModelPlacement placement) {
    this(
        policy,
        reward,
        sampling,
        runSeed,
        tokenBudget,
        logitsBytes,
        promptsPerCall,
        refinement,
        templateKwargs,
        counters,
        placement,
        PairFormat.AUTO,
        1,
        true);
  }
}
