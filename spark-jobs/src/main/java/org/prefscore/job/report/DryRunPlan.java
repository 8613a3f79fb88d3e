package org.prefscore.job.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.prefscore.executor.LocalModelCache;
import org.prefscore.job.Mode;
import org.prefscore.job.config.ModelPreflight;
import org.prefscore.job.config.PipelineConfig;
import org.prefscore.job.config.ResolvedConfig;

/**
 * The plan {@code --dry-run} prints: what would run, on what, with which values. Starts nothing.
 */
public final class DryRunPlan {

  private DryRunPlan() {}

  /**
   * The plan of {@code c}.
   *
   * @param models what the driver's model check found ({@link ModelPreflight#check})
   */
  public static String describe(PipelineConfig c, ModelPreflight.Report models) {
    List<String> l = new ArrayList<>();
    l.add("prefscore " + c.mode() + " (dry run: configuration valid, nothing started)");
    l.add("  run id      " + c.runId() + "   seed " + c.runSeed());
    PipelineConfig.Input in = c.input();
    l.add(
        "  input       "
            + in.path()
            + " ("
            + in.format().name().toLowerCase(Locale.ROOT)
            + "; "
            + (in.promptColumn().isEmpty()
                ? "no prompt column"
                : "prompt column '" + in.promptColumn() + "'")
            + (in.messagesColumn().isEmpty()
                ? ""
                : ", messages column '" + in.messagesColumn() + "'")
            + (in.idColumn().isEmpty()
                ? ", prompt_id = hash"
                : ", id column '" + in.idColumn() + "'")
            + (c.mode() == Mode.WEST_OF_N
                ? ""
                : ", chosen '"
                    + in.chosenColumn()
                    + "' and rejected '"
                    + in.rejectedColumn()
                    + (in.responseFormat() == PipelineConfig.ResponseFormat.MESSAGES
                        ? "' as assistant turns"
                        : "' as text"))
            + (in.limit() > 0 ? ", first " + in.limit() + " rows" : "")
            + ")");
    l.add(
        "  output      "
            + c.outputPath()
            + "/"
            + c.runId()
            + "/ (replaced if it exists; manifest.json and _SUCCESS last)");
    PipelineConfig.Models m = c.models();
    m.policy().ifPresent(p -> l.add("  policy      " + p));
    m.reward().ifPresent(p -> l.add("  reward      " + p));
    if (c.teacher() != null && c.teacher().pairwise()) {
      l.add("  " + c.teacher().label() + "  " + c.teacher().directory());
    }
    m.reference()
        .ifPresent(
            p -> l.add("  reference   " + p + (m.referenceIsPolicy() ? " (= models.policy)" : "")));
    l.add("  checkpoint  " + m.checkpoint().orElse("none: policy terms = reference terms, Δ = 0"));
    l.add("  stages:");
    int i = 1;
    l.add(
        "   "
            + i++
            + ". read + prepare: input_row ids, MALFORMED_RECORD / INVALID_*_TYPE /"
            + " INVALID_MESSAGES / EMPTY_PROMPT"
            + (c.mode() == Mode.WEST_OF_N ? " / DUPLICATE_PROMPT" : " / EMPTY_RESPONSE")
            + " rejects");
    if (c.mode() == Mode.WEST_OF_N) {
      var s = c.sampling();
      l.add(
          String.format(
              Locale.ROOT,
              "   %d. generate: N=%d samples/prompt, temperature %s, top-k %d, top-p %s, max %d new tokens%s",
              i++,
              s.samplesPerPrompt(),
              s.temperature(),
              s.topK(),
              s.topP(),
              s.maxNewTokens(),
              c.teacher().pairwise() ? "" : "; reward each"));
      l.add(
          "   "
              + i++
              + ". select: West-of-N pair per prompt (in the generation tasks' partitions, no shuffle)"
              + (c.teacher().pairwise()
                  ? ": winner- and loser-advances knockouts judged by the "
                      + c.teacher().label()
                      + ", symmetric scores, one batch per round per partition"
                  : ": argmax/argmin reward")
              + "; samples stopped at max-new-tokens: "
              + c.pairOptions().truncated().name().toLowerCase(Locale.ROOT)
              + "; pair format "
              + c.pairOptions().format().name().toLowerCase(Locale.ROOT));
      var f = c.filters();
      l.add(
          "   "
              + i++
              + ". filter: confidence "
              + f.confidenceQuantile().map(q -> "≥ q" + q + " quantile").orElse("off")
              + ", likelihood "
              + switch (f.likelihoodMode()) {
                case OFF -> "off";
                case ABSOLUTE -> "τ = " + f.likelihoodThreshold();
                case QUANTILE -> "τ = q" + f.likelihoodQuantile() + " quantile";
              }
              + " (approxQuantile, ε = "
              + f.relativeError()
              + ")");
    } else {
      l.add("   " + i++ + ". render: chat prompts with the chat template of " + c.templateModel());
    }
    l.add(
        String.format(
            Locale.ROOT,
            "   %d. score: reference%s on x and p ⊕ x; β=%s λ=%s",
            i++,
            m.checkpoint().isPresent() ? " and checkpoint" : "",
            c.margin().beta(),
            c.margin().lambda()));
    if (c.mode() == Mode.EVALUATE) {
      l.add(
          "   "
              + i++
              + ". evaluate: average marginal, accuracy, prompt-augmented accuracy"
              + (c.input().scoreGapColumn().isEmpty()
                  ? ""
                  : ", correlations with '" + c.input().scoreGapColumn() + "'"));
    }
    l.add(
        "   "
            + i
            + ". write + verify: input rows = pairs"
            + (c.mode() == Mode.WEST_OF_N ? " + pairs_conversational + filtered" : "")
            + " + rejects");
    l.add(
        String.format(
            Locale.ROOT,
            "  runtime     token budget %d (scoring logits <= %d MB per pass), %d prompts per call, intra-op threads %d%s; spark master %s, partitions %s",
            c.runtime().tokenBudget(),
            c.runtime().logitsBudgetMb(),
            c.runtime().promptsPerCall(),
            c.runtime().engine().intraOpThreads(),
            c.runtime().engine().useCuda()
                ? ", device cuda (the task's GPU; CPU fallback)"
                : ", device cpu",
            c.sparkMaster().isEmpty() ? "(from spark-submit)" : c.sparkMaster(),
            c.partitions() == 0 ? "default" : Integer.toString(c.partitions())));
    if (c.runtime().engine().useCuda()) {
      l.add("  gpu stages  " + c.runtime().gpuStages().describe());
    }
    if (Stream.of(m.policy(), m.reward(), m.reference(), m.checkpoint())
        .flatMap(Optional::stream)
        .anyMatch(LocalModelCache::isRemote)) {
      l.add(
          "  models      on a Hadoop FS: their files are checked when the run starts; each executor copies them once to "
              + (c.runtime().modelCacheDir().isEmpty()
                  ? "<java.io.tmpdir>/prefscore-models"
                  : c.runtime().modelCacheDir())
              + " and opens them there");
    }
    l.add("  model check (on the driver, before Spark starts):");
    for (String line : models.lines()) {
      l.add("    " + line);
    }
    if (!c.templateKwargs().isEmpty()) {
      l.add("  chat template keyword arguments  " + c.templateKwargs());
    }
    l.add("  configuration (origin: default, file or set; secrets redacted):");
    for (Map.Entry<String, ResolvedConfig.Value> e : c.source().redactedWithOrigin().entrySet()) {
      String v = e.getValue().text();
      if (v.length() > 60) {
        v = v.substring(0, 57) + "...";
      }
      l.add(
          String.format(
              Locale.ROOT,
              "    %-40s %-8s %s",
              e.getKey(),
              e.getValue().origin().name().toLowerCase(Locale.ROOT),
              v.replace("\n", "\\n")));
    }
    // Paths may hold user-info (s3a://KEY:SECRET@bucket/...), free text may echo a secret value.
    return c.source().redactor().redact(String.join("\n", l));
  }
}
