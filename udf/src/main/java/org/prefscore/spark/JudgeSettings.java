package org.prefscore.spark;

import java.io.Serializable;
import java.util.Objects;
import org.prefscore.judge.JudgePrompt;
import org.prefscore.runtime.ModelSpec;

/**
 * What {@link KnockoutFunction} needs on an executor: small and serializable.
 *
 * @param teacher the pairwise teacher's model: a decoder (generative judge) or a single-logit
 *     sequence classifier (pairwise classifier), by its {@link ModelSpec#kind()}
 * @param prompt the judge prompt and labels, or the classifier's pair text
 * @param runSeed the run seed every bracket seed derives from
 * @param tokenBudget the runtime's token budget per forward pass
 * @param counters accumulators
 * @param placement where executors load the model from and on which GPU
 */
public record JudgeSettings(
    ModelSpec teacher,
    JudgePrompt prompt,
    long runSeed,
    long tokenBudget,
    PipelineCounters counters,
    ModelPlacement placement)
    implements Serializable {

  public JudgeSettings {
    Objects.requireNonNull(teacher, "teacher");
    Objects.requireNonNull(prompt, "prompt");
    placement = placement == null ? ModelPlacement.defaults() : placement;
  }
}
