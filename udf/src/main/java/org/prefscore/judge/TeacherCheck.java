package org.prefscore.judge;

import java.util.List;
import java.util.Locale;
import org.prefscore.chat.ChatTemplate;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.ModelLoader;
import org.prefscore.runtime.ModelSpec;
import org.prefscore.runtime.RewardModel;

/**
 * The driver's check of a pairwise teacher before Spark starts, after {@link
 * org.prefscore.runtime.ModelCheck} opened its directory: the judge's labels are one token each,
 * its chat template (when it has one) renders the judge prompt, and a probe comparison in both
 * orders gives two probabilities. The model is loaded once more for this, on the driver.
 */
public final class TeacherCheck {

  private TeacherCheck() {}

  private static final List<PairwiseTeacher.Comparison> PROBE =
      List.of(
          new PairwiseTeacher.Comparison("What is 2+2?", "4", "5"),
          new PairwiseTeacher.Comparison("What is 2+2?", "5", "4"));

  /**
   * Checks the teacher a local spec names.
   *
   * @return one line for the plan and the log
   * @throws IllegalArgumentException naming what is wrong (a label, the template, the probe)
   */
  public static String check(ModelSpec spec, JudgePrompt prompt) {
    if (spec.kind() == ModelSpec.Kind.REWARD) {
      try (RewardModel model = ModelLoader.loadReward(spec)) {
        PairwiseClassifier c = new PairwiseClassifier(model, prompt, 1 << 14);
        return probe(c, "pairwise classifier");
      }
    }
    try (LanguageModel model = ModelLoader.loadDecoder(spec)) {
      ChatTemplate template =
          model.files().chatTemplate().filter(t -> !t.isBlank()).isPresent()
              ? ChatTemplate.of(model.files())
              : null;
      GenerativeJudge judge = new GenerativeJudge(model, prompt, template, 1 << 14);
      long[] ids = judge.labelIds();
      String what =
          String.format(
              Locale.ROOT,
              "judge: labels '%s'=%d, '%s'=%d, %s",
              prompt.firstLabel(),
              ids[0],
              prompt.secondLabel(),
              ids[1],
              template == null ? "no chat template (prompt as is)" : "chat template applied");
      try {
        return probe(judge, what);
      } catch (ChatTemplate.ChatTemplateException e) {
        throw new IllegalArgumentException(
            "the chat template does not render the judge prompt: " + e.getMessage(), e);
      }
    }
  }

  private static String probe(PairwiseTeacher teacher, String what) {
    List<PairwiseTeacher.Verdict> v = teacher.preferFirst(PROBE);
    for (PairwiseTeacher.Verdict x : v) {
      if (!x.scored()) {
        throw new IllegalArgumentException(
            "the probe comparison was refused: " + x.refusal().detail());
      }
      if (!(x.pFirst() >= 0 && x.pFirst() <= 1)) {
        throw new IllegalArgumentException(
            "the probe comparison gave " + x.pFirst() + ", not a probability");
      }
    }
    return String.format(
        Locale.ROOT,
        "%s; probe P(a≻b)=%.4f, P(b≻a)=%.4f",
        what,
        v.get(0).pFirst(),
        v.get(1).pFirst());
  }
}
