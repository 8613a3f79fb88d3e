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
    lines.add(row("pairs kept", acc.path("pairs").asLong()));
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
    lines.add(
        String.format(
            Locale.ROOT,
            "  %-20s %.1f s summed over tasks (generation %.1f, reward %.1f, scoring %.1f)",
            "model time",
            t.path("model_seconds_summed_over_tasks").path("total").asDouble(),
            t.path("model_seconds_summed_over_tasks").path("generation").asDouble(),
            t.path("model_seconds_summed_over_tasks").path("reward").asDouble(),
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

  private static String row(String label, long value) {
    return String.format(Locale.ROOT, "  %-20s %d", label, value);
  }

  private static String breakdown(JsonNode reasons) {
    List<String> parts = new ArrayList<>();
    reasons.fields().forEachRemaining(e -> parts.add(e.getKey() + " " + e.getValue().asLong()));
    return parts.isEmpty() ? "" : "  (" + String.join(", ", parts) + ")";
  }
}
