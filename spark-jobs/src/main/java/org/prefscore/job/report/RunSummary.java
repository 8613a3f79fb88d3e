package org.prefscore.job.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The end-of-run summary printed to stdout, read off the manifest. */
public final class RunSummary {

  private RunSummary() {}

  public static String format(JsonNode m) {
    List<String> lines = new ArrayList<>();
    JsonNode counts = m.path("counts");
    JsonNode acc = m.path("accounting");
    lines.add(
        String.format(
            Locale.ROOT,
            "prefscore %s run %s finished in %.1f s",
            m.path("mode").asText(),
            m.path("run_id").asText(),
            m.path("timings_seconds").path("total").asDouble()));
    lines.add(row("input rows", acc.path("input_rows").asLong()));
    if (acc.has("pairs_conversational")) {
      long text = acc.path("pairs").asLong();
      long conversational = acc.path("pairs_conversational").asLong();
      lines.add(
          row("pairs kept", text + conversational)
              + String.format(Locale.ROOT, "  (text %d, conversational %d)", text, conversational));
    } else {
      lines.add(row("pairs kept", acc.path("pairs").asLong()));
    }
    if (acc.has("filtered")) {
      lines.add(
          row("filtered", acc.path("filtered").asLong())
              + breakdown(counts.path("filtered_by_reason")));
    }
    long rejects = acc.path("rejects").asLong();
    StringBuilder r = new StringBuilder(row("rejects", rejects));
    List<String> parts = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> s =
            counts.path("rejects_by_stage_and_reason").fields();
        s.hasNext(); ) {
      Map.Entry<String, JsonNode> stage = s.next();
      for (Iterator<Map.Entry<String, JsonNode>> c = stage.getValue().fields(); c.hasNext(); ) {
        Map.Entry<String, JsonNode> code = c.next();
        parts.add(stage.getKey() + "/" + code.getKey() + " " + code.getValue().asLong());
      }
    }
    if (!parts.isEmpty()) {
      r.append("  (").append(String.join(", ", parts)).append(")");
    }
    lines.add(r.toString());
    lines.add(
        String.format(
            Locale.ROOT,
            "  %-20s %s  %s",
            "accounting",
            acc.path("identity").asText(),
            acc.path("holds").asBoolean() ? "holds" : "VIOLATED"));
    JsonNode q = m.path("quantiles");
    if (q.has("confidence")) {
      lines.add(
          String.format(
              Locale.ROOT,
              "  %-20s q=%s cut=%.6f over %d pairs (GK, eps=%s)",
              "confidence cut",
              q.path("confidence").path("quantile").asText(),
              q.path("confidence").path("cut").asDouble(),
              q.path("confidence").path("population").asLong(),
              q.path("relative_error").asText()));
    }
    if (q.has("likelihood")) {
      lines.add(
          String.format(
              Locale.ROOT,
              "  %-20s %s tau=%.4f (%s)",
              "likelihood cut",
              q.path("likelihood").path("mode").asText(),
              q.path("likelihood").path("threshold").asDouble(),
              q.path("likelihood").path("normalization").asText()));
    }
    JsonNode t = m.path("throughput");
    if (t.path("generated_tokens").asLong() > 0) {
      lines.add(
          String.format(
              Locale.ROOT,
              "  %-20s %d prompts sampled, %d samples, %d tokens, %.0f tokens/s in generate",
              "generation",
              counts.path("prompts_sampled").asLong(),
              counts.path("samples").asLong(),
              t.path("generated_tokens").asLong(),
              t.path("generate_stage_tokens_per_second").asDouble()));
    }
    JsonNode k = m.path("knockout");
    if (!k.isMissingNode()) {
      lines.add(
          String.format(
              Locale.ROOT,
              "  %-20s %s: %d prompts, %d comparisons (%.1f per prompt, %d..%d), %d scored (%.1f per"
                  + " prompt, %d teacher calls), %.2f ms per scored comparison",
              "knockout",
              k.path("teacher").asText(),
              k.path("prompts").asLong(),
              k.path("comparisons").asLong(),
              k.path("comparisons_per_prompt_mean").asDouble(),
              k.path("comparisons_per_prompt_min").asLong(),
              k.path("comparisons_per_prompt_max").asLong(),
              k.path("comparisons_scored").asLong(),
              k.path("comparisons_scored_per_prompt_mean").asDouble(),
              k.path("teacher_calls").asLong(),
              k.path("teacher_ms_per_scored_comparison").asDouble()));
      JsonNode cq = k.path("confidence_quantiles");
      List<String> qs = new ArrayList<>();
      cq.fields()
          .forEachRemaining(
              e ->
                  qs.add(
                      String.format(Locale.ROOT, "q%s %.4f", e.getKey(), e.getValue().asDouble())));
      lines.add(String.format(Locale.ROOT, "  %-20s %s", "pair confidence", String.join(", ", qs)));
    }
    JsonNode mix = m.path("mix");
    if (!mix.isMissingNode()) {
      lines.add(
          String.format(
              Locale.ROOT,
              "  %-20s round %d: %d rows = %d base + %d West-of-N (1:1; base %d valid of %d rows,"
                  + " %d left out, %d base_rejects; West-of-N %d pairs, %d left out)%s",
              "mix",
              mix.path("round").asInt(),
              mix.path("rows").asLong(),
              mix.path("pairs_per_source").asLong(),
              mix.path("pairs_per_source").asLong(),
              mix.path("base_pairs").asLong(),
              mix.path("base_rows").asLong(),
              mix.path("base_left_out").asLong(),
              mix.path("base_rejects").asLong(),
              mix.path("west_of_n_pairs").asLong(),
              mix.path("west_of_n_left_out").asLong(),
              mix.path("rows").asLong() == 0 ? "  EMPTY: one source has no pairs" : ""));
    }
    if (counts.has("samples_by_finish_reason")) {
      JsonNode excluded = counts.path("samples_excluded_by_reason");
      lines.add(
          String.format(
              Locale.ROOT,
              "  %-20s %s%s",
              "finish reasons",
              joined(counts.path("samples_by_finish_reason")),
              excluded.size() > 0 ? "; not candidates: " + joined(excluded) : ""));
    }
    lines.add(
        String.format(
            Locale.ROOT,
            "  %-20s %.1f s summed over tasks (generation %.1f, reward %.1f, judge %.1f, scoring %.1f)",
            "model time",
            t.path("model_seconds_summed_over_tasks").path("total").asDouble(),
            t.path("model_seconds_summed_over_tasks").path("generation").asDouble(),
            t.path("model_seconds_summed_over_tasks").path("reward").asDouble(),
            t.path("model_seconds_summed_over_tasks").path("judge").asDouble(),
            t.path("model_seconds_summed_over_tasks").path("scoring").asDouble()));
    List<String> stages = new ArrayList<>();
    m.path("timings_seconds")
        .fields()
        .forEachRemaining(
            e -> {
              if (!e.getKey().equals("total")) {
                stages.add(
                    String.format(Locale.ROOT, "%s %.1f", e.getKey(), e.getValue().asDouble()));
              }
            });
    lines.add(String.format(Locale.ROOT, "  %-20s %s", "stage seconds", String.join(", ", stages)));
    lines.add(
        String.format(
            Locale.ROOT,
            "  %-20s %s",
            "policy terms",
            m.path("policy_terms").path("source").asText()
                + (m.path("policy_terms").path("source").asText().equals("reference")
                    ? " (no checkpoint: margins and Δ are 0)"
                    : "")));
    JsonNode e = m.path("evaluation");
    if (!e.isMissingNode()) {
      lines.add(
          String.format(
              Locale.ROOT,
              "  %-20s %d tuples: average marginal %.4f, accuracy %.4f, prompt-augmented accuracy %.4f",
              "evaluation",
              e.path("tuples").asLong(),
              e.path("average_marginal").asDouble(),
              e.path("accuracy").asDouble(),
              e.path("prompt_augmented_accuracy").asDouble()));
      lines.add(
          String.format(
              Locale.ROOT,
              "  %-20s pearson %s, spearman %s, kendall %s over %d tuples with a score gap",
              "correlations",
              e.path("pearson").asText(),
              e.path("spearman").asText(),
              e.path("kendall").asText(),
              e.path("scored_tuples").asLong()));
    }
    lines.addAll(durability(m));
    lines.add(String.format(Locale.ROOT, "  %-20s %s", "output", m.path("output").asText()));
    JsonNode report = m.path("report");
    if (report.isObject()) {
      lines.add(
          String.format(
              Locale.ROOT,
              "  %-20s %s",
              "report",
              report.has("error")
                  ? "not written (" + report.path("error").asText() + ")"
                  : m.path("output").asText() + "/" + report.path("file").asText()));
    }
    return String.join("\n", lines);
  }

  /** The faults line, and the resume line when the run reused persisted work. */
  static List<String> durability(JsonNode m) {
    List<String> lines = new ArrayList<>();
    JsonNode f = m.path("faults");
    if (!f.isMissingNode()) {
      long failed = f.path("failed_task_attempts").asLong();
      long lost = f.path("executors_lost").asLong();
      long speculative = f.path("speculative_task_attempts").asLong();
      long stages = f.path("resubmitted_stage_attempts").asLong();
      String text =
          failed + lost + speculative + stages == 0
              ? "none"
              : String.format(
                  Locale.ROOT,
                  "%d failed task attempts, %d executors lost, %d speculative attempts, %d stage"
                      + " attempts resubmitted (counts above are exact regardless)",
                  failed,
                  lost,
                  speculative,
                  stages);
      lines.add(String.format(Locale.ROOT, "  %-20s %s", "faults", text));
    }
    JsonNode r = m.path("resume");
    if (r.path("resumed").asBoolean()) {
      List<String> parts = new ArrayList<>();
      r.fields()
          .forEachRemaining(
              e -> {
                JsonNode s = e.getValue();
                if (s.isObject()) {
                  List<String> figures = new ArrayList<>();
                  s.fields()
                      .forEachRemaining(
                          x -> {
                            if (x.getKey().endsWith("_reused") && !x.getKey().startsWith("part")) {
                              figures.add(x.getValue().asLong() + " " + x.getKey());
                            } else if (x.getKey().endsWith("_computed")) {
                              figures.add(x.getValue().asLong() + " " + x.getKey());
                            }
                          });
                  parts.add(
                      String.format(
                          Locale.ROOT,
                          "%s %d/%d partitions reused (%s)",
                          e.getKey(),
                          s.path("partitions_reused").asLong(),
                          s.path("partitions").asLong(),
                          String.join(", ", figures)));
                }
              });
      lines.add(String.format(Locale.ROOT, "  %-20s %s", "resumed", String.join("; ", parts)));
    }
    return lines;
  }

  private static String row(String label, long value) {
    return String.format(Locale.ROOT, "  %-20s %d", label, value);
  }

  private static String joined(JsonNode counts) {
    List<String> parts = new ArrayList<>();
    counts.fields().forEachRemaining(e -> parts.add(e.getKey() + " " + e.getValue().asLong()));
    return String.join(", ", parts);
  }

  private static String breakdown(JsonNode reasons) {
    List<String> parts = new ArrayList<>();
    reasons.fields().forEachRemaining(e -> parts.add(e.getKey() + " " + e.getValue().asLong()));
    return parts.isEmpty() ? "" : "  (" + String.join(", ", parts) + ")";
  }
}
