package org.prefscore.job.report.html;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The run report as one self-contained HTML page: the charts as PNG data URIs, the tables, no
 * script, no external resource (a Content-Security-Policy forbids loading any). Pure (no Spark):
 * built from the manifest and the {@link ReportData} read from the run's tables.
 *
 * <p>Every string from the manifest or the data is HTML-escaped ({@link #escape}); the manifest is
 * already redacted. Every number or value taken from the manifest is printed as the manifest holds
 * it, in an element with a {@code data-manifest} attribute naming its JSON pointer, so a reader
 * (and the browser test) can check it against {@code manifest.json}.
 */
public final class ReportPage {

  /** The report's file name beside manifest.json. */
  public static final String FILE = "report.html";

  /**
   * What the page allows itself to load: images from data: URIs and its own style, nothing else.
   */
  public static final String CONTENT_SECURITY_POLICY =
      "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

  /** A longer manifest value is shown shortened. */
  static final int MAX_VALUE_CHARS = 4000;

  /**
   * Top-level manifest fields with a section of their own, and {@code files}: the published file
   * list (docs/outputs.md), written after the page it lists, so a page rebuilt from the manifest is
   * the page the run wrote.
   */
  private static final Set<String> KNOWN =
      Set.of(
          "files",
          "run_id",
          "mode",
          "status",
          "output",
          "started_at",
          "finished_at",
          "config",
          "models",
          "policy_terms",
          "reference_note",
          "srdpo",
          "counts",
          "quantiles",
          "accounting",
          "evaluation",
          "timings_seconds",
          "throughput",
          "progress_samples",
          "report",
          "faults",
          "fault_record",
          "round",
          "knockout",
          "mix");

  private final JsonNode manifest;
  private final ReportData data;
  private final StringBuilder html = new StringBuilder(1 << 16);
  private final List<String[]> toc = new ArrayList<>();
  private final StringBuilder body = new StringBuilder(1 << 16);
  private int charts;

  private ReportPage(JsonNode manifest, ReportData data) {
    this.manifest = manifest;
    this.data = data;
  }

  /** The page of a run. */
  public static String render(JsonNode manifest, ReportData data) {
    return new ReportPage(manifest, data).build();
  }

  /** {@code text} escaped for HTML text and attribute values (null: empty). */
  public static String escape(String text) {
    if (text == null) {
      return "";
    }
    StringBuilder sb = new StringBuilder(text.length() + 16);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '&' -> sb.append("&amp;");
        case '<' -> sb.append("&lt;");
        case '>' -> sb.append("&gt;");
        case '"' -> sb.append("&quot;");
        case '\'' -> sb.append("&#39;");
        default -> {
          if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') {
            sb.append("&#xFFFD;"); // a control character is not valid HTML text
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.toString();
  }

  private String build() {
    String mode = manifest.path("mode").asText();
    funnelSection();
    rewardSection(mode);
    confidenceSection(mode);
    knockoutSection();
    likelihoodSection(mode);
    marginSection();
    samplesSection(mode);
    mixSection();
    throughputSection();
    if ("evaluate".equals(mode) || data.scatter() != null || manifest.has("evaluation")) {
      evaluationSection();
    }
    modelsSection();
    timingsSection();
    faultSection();
    settingsSection();
    configSection();
    otherSection();

    html.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        .append("<meta http-equiv=\"Content-Security-Policy\" content=\"")
        .append(CONTENT_SECURITY_POLICY)
        .append("\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        .append("<title>prefscore ")
        .append(escape(mode))
        .append(" run ")
        .append(escape(manifest.path("run_id").asText()))
        .append("</title>\n<style>\n")
        .append(STYLE)
        .append("</style>\n</head>\n<body>\n<header>\n<h1>prefscore ")
        .append(escape(mode))
        .append(" run <span class=\"id\">")
        .append(value("/run_id"))
        .append("</span></h1>\n");
    html.append("<table class=\"kv\">\n");
    row("status", value("/status"));
    row("output", value("/output"));
    row("started", value("/started_at"));
    row("finished", value("/finished_at"));
    row("total seconds", value("/timings_seconds/total"));
    if (manifest.has("round")) {
      row("round", value("/round"));
    }
    JsonNode acc = manifest.path("accounting");
    if (acc.isObject()) {
      row(
          "accounting",
          value("/accounting/identity")
              + " &mdash; holds: "
              + value("/accounting/holds")
              + " (input rows "
              + value("/accounting/input_rows")
              + accountingTerms(acc)
              + ")");
    }
    html.append("</table>\n<nav><ul>\n");
    for (String[] t : toc) {
      html.append("<li><a href=\"#")
          .append(t[0])
          .append("\">")
          .append(escape(t[1]))
          .append("</a></li>\n");
    }
    html.append("</ul></nav>\n</header>\n<main>\n")
        .append(body)
        .append(
            "</main>\n<footer>Written by prefscore from <code>manifest.json</code> and the run's")
        .append(" tables; ")
        .append(charts)
        .append(" charts drawn with XChart. Secrets in the configuration are shown as ****.")
        .append("</footer>\n</body>\n</html>\n");
    return html.toString();
  }

  private String accountingTerms(JsonNode acc) {
    StringBuilder sb = new StringBuilder();
    for (Iterator<String> it = acc.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (List.of("input_rows", "identity", "holds", "problem").contains(k)) {
        continue;
      }
      sb.append(", ").append(escape(k)).append(' ').append(value("/accounting/" + token(k)));
    }
    return sb.toString();
  }

  // ---- sections ----

  private void funnelSection() {
    section("funnel", "Funnel and losses");
    Funnel funnel = Funnel.of(manifest);
    if (funnel.steps().isEmpty()) {
      note("The manifest has no counts.");
      end();
      return;
    }
    figure(
        "funnel",
        ReportCharts.funnel(funnel),
        "Rows left after each step (blue); stacked on them, the rows the step lost, by stage and"
            + " reason. Each bar is as tall as the step before it"
            + (funnel.consistent()
                ? "."
                : " &mdash; <strong>it is not: the counts disagree</strong>."));
    body.append("<div class=\"tables\">\n<table>\n<tr><th>step</th><th>rows</th></tr>\n");
    for (Funnel.Step s : funnel.steps()) {
      body.append("<tr><td>")
          .append(escape(s.left().label()))
          .append("</td><td class=\"n\">")
          .append(value(s.left().pointer()))
          .append("</td></tr>\n");
    }
    body.append(
        "</table>\n<table>\n<tr><th>lost at</th><th>stage / reason</th><th>rows</th></tr>\n");
    boolean any = false;
    for (Funnel.Step s : funnel.steps()) {
      for (Funnel.Count c : s.lost()) {
        any = true;
        body.append("<tr><td>")
            .append(escape(s.left().label()))
            .append("</td><td>")
            .append(escape(c.label()))
            .append("</td><td class=\"n\">")
            .append(value(c.pointer()))
            .append("</td></tr>\n");
      }
    }
    if (!any) {
      body.append("<tr><td colspan=\"3\">no row was lost</td></tr>\n");
    }
    body.append("</table>\n</div>\n");
    end();
  }

  private void rewardSection(String mode) {
    section("rewards", "Reward scores");
    Histogram chosen = data.histograms().get(ReportData.REWARD_CHOSEN);
    Histogram rejected = data.histograms().get(ReportData.REWARD_REJECTED);
    Histogram gap = data.histograms().get(ReportData.REWARD_GAP);
    if (chosen != null && rejected != null) {
      figure(
          "rewards",
          ReportCharts.histograms(
              "Reward of chosen (y+) and rejected (y-) responses",
              "r(x, y)",
              List.of(
                  new ReportCharts.Layer("chosen r(x, y+)", chosen, ReportCharts.CHOSEN),
                  new ReportCharts.Layer("rejected r(x, y-)", rejected, ReportCharts.REJECTED)),
              List.of()),
          "Every selected pair (pairs and filtered): n = " + chosen.total() + ".");
    }
    if (gap != null) {
      figure(
          "reward-gap",
          ReportCharts.histograms(
              "Reward gap r+ − r-",
              "r(x, y+) − r(x, y-)",
              List.of(new ReportCharts.Layer("gap", gap, ReportCharts.NEUTRAL)),
              List.of()),
          "Every selected pair: n = " + gap.total() + ".");
    }
    Histogram scoreGap = data.histograms().get(ReportData.SCORE_GAP);
    if (scoreGap != null) {
      figure(
          "score-gap",
          ReportCharts.histograms(
              "External score gap s+ − s-",
              "s+ − s- (input.score-gap-column)",
              List.of(new ReportCharts.Layer("score gap", scoreGap, ReportCharts.NEUTRAL)),
              List.of()),
          "Pairs with a score gap: n = " + scoreGap.total() + ".");
    }
    if (chosen == null && gap == null && scoreGap == null) {
      note(
          "west-of-n".equals(mode)
              ? "No selected pair has rewards."
              : "This "
                  + escape(mode)
                  + " run has no reward or judge scores (rewards come from west-of-n; a score gap"
                  + " from input.score-gap-column).");
    }
    end();
  }

  private void confidenceSection(String mode) {
    if (!"west-of-n".equals(mode)) {
      return;
    }
    section("confidence", "Confidence and its quantile cut");
    Histogram h = data.histograms().get(ReportData.CONFIDENCE);
    JsonNode cut = manifest.at("/quantiles/confidence");
    List<ReportCharts.Marker> markers = new ArrayList<>();
    if (cut.path("cut").isNumber()) {
      markers.add(
          new ReportCharts.Marker(
              "cut "
                  + fmt(cut.path("cut").asDouble())
                  + " (q = "
                  + cut.path("quantile").asText()
                  + ")",
              cut.path("cut").asDouble()));
    }
    if (h != null) {
      figure(
          "confidence",
          ReportCharts.histograms(
              manifest.has("knockout")
                  ? "Confidence ½[P(y+≻y-) + 1 − P(y-≻y+)] of the selected pairs"
                  : "Confidence σ(r+ − r-) of the selected pairs",
              "P(y+ ≻ y- | x)",
              List.of(new ReportCharts.Layer("confidence", h, ReportCharts.NEUTRAL)),
              markers),
          "n = " + h.total() + " selected pairs; pairs left of the dashed cut are filtered.");
    } else {
      note("No selected pair.");
    }
    if (cut.isObject()) {
      flatTable("/quantiles/confidence");
    } else {
      note("No confidence filter (filter.confidence.quantile is empty).");
    }
    end();
  }

  /**
   * West-of-N with a pairwise teacher: comparisons per prompt (the distribution over the selected
   * pairs, and the manifest's totals), the teacher's time, and the confidence quantiles.
   */
  private void knockoutSection() {
    JsonNode k = manifest.path("knockout");
    if (!k.isObject()) {
      return;
    }
    section("knockout", "Knockout tournaments (pairwise teacher)");
    note(
        "y+ by a winner-advances and y- by a loser-advances knockout over the distinct samples,"
            + " every comparison scored in both orders, ½[P(a≻b) + 1 − P(b≻a)]; "
            + value("/knockout/prompts")
            + " prompts, "
            + value("/knockout/comparisons")
            + " comparisons ("
            + value("/knockout/comparisons_per_prompt_mean")
            + " per prompt), "
            + value("/knockout/comparisons_scored")
            + " scored by the teacher ("
            + value("/knockout/teacher_calls")
            + " calls) in "
            + value("/knockout/teacher_seconds_summed_over_tasks")
            + " s summed over tasks, "
            + value("/knockout/teacher_ms_per_scored_comparison")
            + " ms per scored comparison.");
    Histogram h = data.histograms().get(ReportData.KNOCKOUT_COMPARISONS);
    if (h != null) {
      figure(
          "knockout-comparisons",
          ReportCharts.histograms(
              "Comparisons per prompt of the selected pairs",
              "comparisons (2(N − 1) + 1 for N distinct samples)",
              List.of(new ReportCharts.Layer("pairs", h, ReportCharts.NEUTRAL)),
              List.of()),
          "n = " + h.total() + " selected pairs (pairs and filtered).");
    } else {
      note("No selected pair.");
    }
    flatTable("/knockout");
    end();
  }

  /** The iterative West-of-N mix (mix.base-preferences): its sizes. */
  private void mixSection() {
    if (!manifest.path("mix").isObject()) {
      return;
    }
    section("mix", "Iterative West-of-N mix");
    note(
        "Round "
            + value("/mix/round")
            + ": "
            + value("/mix/rows")
            + " rows for the student reward model, "
            + value("/mix/pairs_per_source")
            + " base and as many West-of-N pairs (tables mix and mix_conversational).");
    flatTable("/mix");
    end();
  }

  private void likelihoodSection(String mode) {
    if (!"west-of-n".equals(mode)) {
      return;
    }
    section("likelihood", "Log-likelihoods and τ");
    Histogram c = data.histograms().get(ReportData.LIKELIHOOD_CHOSEN);
    Histogram r = data.histograms().get(ReportData.LIKELIHOOD_REJECTED);
    JsonNode l = manifest.at("/quantiles/likelihood");
    List<ReportCharts.Marker> markers = new ArrayList<>();
    if (l.path("threshold").isNumber()) {
      markers.add(
          new ReportCharts.Marker(
              "τ = " + fmt(l.path("threshold").asDouble()), l.path("threshold").asDouble()));
    }
    String norm = manifest.at("/config/filter.likelihood.normalization").asText("sum");
    if (c != null && r != null) {
      figure(
          "likelihood",
          ReportCharts.histograms(
              "Log-likelihood ℓ(y) under the policy (" + norm + ")",
              "ℓ(y) = log π(y|x)" + ("per-token".equals(norm) ? " / response tokens" : ""),
              List.of(
                  new ReportCharts.Layer("chosen ℓ(y+)", c, ReportCharts.CHOSEN),
                  new ReportCharts.Layer("rejected ℓ(y-)", r, ReportCharts.REJECTED)),
              markers),
          "n = "
              + c.total()
              + " selected pairs; a pair is kept when both ℓ(y+) and ℓ(y-) are at least τ.");
    } else {
      note("No selected pair.");
    }
    if (l.isObject()) {
      flatTable("/quantiles/likelihood");
    } else {
      note("No likelihood filter (filter.likelihood.mode is off).");
    }
    end();
  }

  private void marginSection() {
    section("srdpo", "Sr-DPO margin m(x) and refinement Δ");
    Histogram m = data.histograms().get(ReportData.DPO_MARGIN);
    Histogram d = data.histograms().get(ReportData.REFINEMENT);
    if (m != null) {
      figure(
          "margin",
          ReportCharts.histograms(
              "DPO margin m(x) of the written pairs",
              "m(x)",
              List.of(new ReportCharts.Layer("m(x)", m, ReportCharts.NEUTRAL)),
              List.of(new ReportCharts.Marker("0", 0.0))),
          "n = " + m.total() + " pairs. Policy terms: " + value("/policy_terms/source") + ".");
    }
    if (d != null) {
      figure(
          "refinement",
          ReportCharts.histograms(
              "Refinement Δ = β·m_p(x) of the written pairs",
              "Δ",
              List.of(new ReportCharts.Layer("Δ", d, ReportCharts.NEUTRAL)),
              List.of(new ReportCharts.Marker("0", 0.0))),
          "n = "
              + d.total()
              + " pairs; β = "
              + value("/srdpo/beta")
              + ", λ = "
              + value("/srdpo/lambda")
              + ".");
    }
    if (m == null && d == null) {
      note("No written pair.");
    }
    if (manifest.at("/policy_terms/note").isTextual()) {
      note(value("/policy_terms/note"));
    }
    end();
  }

  private void samplesSection(String mode) {
    Map<String, Long> reasons = data.categories().get(ReportData.FINISH_REASON);
    Histogram lengths = data.histograms().get(ReportData.RESPONSE_TOKENS);
    if (!"west-of-n".equals(mode) && reasons == null && lengths == null) {
      return;
    }
    section("samples", "Finish reasons and response lengths");
    if (reasons != null && !reasons.isEmpty()) {
      figure(
          "finish-reasons",
          ReportCharts.bars("Finish reason of every sample", "finish reason", reasons),
          "Samples of the candidates table: n = "
              + reasons.values().stream().mapToLong(Long::longValue).sum()
              + " (EOS: end of sequence, STOP: a stop string, LENGTH: sampling.max-new-tokens).");
    }
    if (lengths != null) {
      figure(
          "response-lengths",
          ReportCharts.histograms(
              "Response length of every sample",
              "generated tokens",
              List.of(new ReportCharts.Layer("samples", lengths, ReportCharts.NEUTRAL)),
              List.of()),
          "n = " + lengths.total() + " samples.");
    }
    if ((reasons == null || reasons.isEmpty()) && lengths == null) {
      note("No sample.");
    }
    end();
  }

  private void throughputSection() {
    section("throughput", "Tokens per second over time");
    ReportCharts.Image img = ReportCharts.throughput(data.progress());
    if (img != null) {
      figure(
          "throughput",
          img,
          "From "
              + data.progress().size()
              + " samples of the progress counters (every "
              + value("/progress_samples/sample_period_seconds")
              + " s at the end of the run, and at every stage boundary): generate counts the tokens"
              + " generated, score the prompt and response tokens scored; other stages count none."
              + " On a cluster the counters reach the driver when a task ends, so the rate moves in"
              + " steps.");
    } else {
      note("No progress samples with tokens were recorded for this run.");
    }
    flatTable("/throughput");
    end();
  }

  private void evaluationSection() {
    section("evaluation", "m(x) against the score gap");
    ReportData.Scatter s = data.scatter();
    if (s != null && s.margin().length > 0) {
      JsonNode e = manifest.path("evaluation");
      String title =
          e.isObject()
              ? String.format(
                  Locale.ROOT,
                  "m(x) vs score gap: Pearson %s, Spearman %s, Kendall τ-b %s",
                  fmtNode(e.path("pearson")),
                  fmtNode(e.path("spearman")),
                  fmtNode(e.path("kendall")))
              : "m(x) vs score gap";
      figure(
          "scatter",
          ReportCharts.scatter(title, "m(x)", "s+ − s-", s.margin(), s.scoreGap()),
          s.margin().length == s.total()
              ? "All " + s.total() + " pairs with a score gap."
              : s.margin().length + " of " + s.total() + " pairs with a score gap (a sample).");
    } else {
      note("No pair carries a score gap (input.score-gap-column), so there is nothing to plot.");
    }
    if (manifest.path("evaluation").isObject()) {
      flatTable("/evaluation");
    }
    end();
  }

  private void modelsSection() {
    section("models", "Models");
    JsonNode models = manifest.path("models");
    if (!models.isObject() || models.isEmpty()) {
      note("The manifest lists no model.");
    }
    for (Iterator<String> it = models.fieldNames(); it.hasNext(); ) {
      String role = it.next();
      body.append("<h3>").append(escape(role)).append("</h3>\n");
      flatTable("/models/" + token(role));
    }
    if (manifest.at("/reference_note").isTextual()) {
      note(value("/reference_note"));
    }
    end();
  }

  private void timingsSection() {
    section("timings", "Timings");
    flatTable("/timings_seconds");
    end();
  }

  private void faultSection() {
    section("faults", "Fault record");
    boolean any = false;
    for (String k : List.of("faults", "fault_record")) {
      if (manifest.has(k)) {
        any = true;
        flatTable("/" + k);
      }
    }
    if (!any) {
      note("This manifest has no fault record.");
    }
    end();
  }

  private void settingsSection() {
    section("counts", "Counts, Sr-DPO settings and policy terms");
    body.append("<h3>counts</h3>\n");
    flatTable("/counts");
    body.append("<h3>srdpo</h3>\n");
    flatTable("/srdpo");
    body.append("<h3>policy terms</h3>\n");
    flatTable("/policy_terms");
    if (manifest.path("quantiles").isObject()) {
      body.append("<h3>quantiles</h3>\n");
      flatTable("/quantiles");
    }
    end();
  }

  private void configSection() {
    section("config", "Configuration");
    note("As the run resolved it (--set &gt; file &gt; defaults), secrets shown as ****.");
    flatTable("/config");
    end();
  }

  private void otherSection() {
    List<String> other = new ArrayList<>();
    for (Iterator<String> it = manifest.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!KNOWN.contains(k)) {
        other.add(k);
      }
    }
    if (other.isEmpty()) {
      return;
    }
    section("other", "Other manifest fields");
    for (String k : other) {
      body.append("<h3>").append(escape(k)).append("</h3>\n");
      flatTable("/" + token(k));
    }
    end();
  }

  // ---- building blocks ----

  private void section(String id, String title) {
    toc.add(new String[] {id, title});
    body.append("<section id=\"").append(id).append("\">\n<h2>").append(escape(title));
    body.append("</h2>\n");
  }

  private void end() {
    body.append("</section>\n");
  }

  private void note(String safeHtml) {
    body.append("<p class=\"note\">").append(safeHtml).append("</p>\n");
  }

  private void row(String label, String safeHtml) {
    html.append("<tr><th>")
        .append(escape(label))
        .append("</th><td>")
        .append(safeHtml)
        .append("</td></tr>\n");
  }

  private void figure(String id, ReportCharts.Image img, String captionHtml) {
    charts++;
    body.append("<figure>\n<img class=\"chart\" id=\"chart-")
        .append(id)
        .append("\" width=\"")
        .append(img.width())
        .append("\" height=\"")
        .append(img.height())
        .append("\" alt=\"chart: ")
        .append(escape(id))
        .append("\" src=\"data:image/png;base64,")
        .append(Base64.getEncoder().encodeToString(img.png()))
        .append("\">\n<figcaption>")
        .append(captionHtml)
        .append("</figcaption>\n</figure>\n");
  }

  /** The manifest value at {@code pointer}, escaped, in an element naming the pointer. */
  private String value(String pointer) {
    JsonNode n = manifest.at(pointer);
    if (n.isMissingNode()) {
      return "<span class=\"missing\">&mdash;</span>";
    }
    String cls = n.isNumber() ? "n" : n.isBoolean() ? "b" : "s";
    String text = n.isNull() ? "null" : n.isValueNode() ? n.asText() : n.toString();
    if (text.length() > MAX_VALUE_CHARS) {
      // Shortened, so no longer the manifest's value: not marked as one.
      return "<span class=\""
          + cls
          + "\">"
          + escape(text.substring(0, MAX_VALUE_CHARS))
          + "</span> <span class=\"missing\">&hellip; ("
          + text.length()
          + " characters, see manifest.json)</span>";
    }
    return "<span class=\""
        + cls
        + "\" data-manifest=\""
        + escape(pointer)
        + "\">"
        + escape(text)
        + "</span>";
  }

  /** Every leaf under {@code pointer} as a row (key path, value). */
  private void flatTable(String pointer) {
    JsonNode root = manifest.at(pointer);
    if (root.isMissingNode()) {
      note("Not in the manifest.");
      return;
    }
    Map<String, String> rows = new LinkedHashMap<>();
    flatten(root, "", pointer, rows);
    body.append("<table class=\"kv\">\n");
    if (rows.isEmpty()) {
      body.append("<tr><td>(empty)</td></tr>\n");
    }
    rows.forEach(
        (k, p) ->
            body.append("<tr><th>")
                .append(escape(k.isEmpty() ? "value" : k))
                .append("</th><td>")
                .append(value(p))
                .append("</td></tr>\n"));
    body.append("</table>\n");
  }

  private static void flatten(JsonNode n, String key, String pointer, Map<String, String> out) {
    if (n.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        flatten(
            e.getValue(),
            key.isEmpty() ? e.getKey() : key + " / " + e.getKey(),
            pointer + "/" + token(e.getKey()),
            out);
      }
    } else if (n.isArray() && n.size() <= 200) {
      for (int i = 0; i < n.size(); i++) {
        flatten(n.get(i), key + " [" + i + "]", pointer + "/" + i, out);
      }
    } else {
      out.put(key, pointer);
    }
  }

  private static String token(String key) {
    return Funnel.pointerToken(key);
  }

  static String fmt(double v) {
    return String.format(Locale.ROOT, "%.6g", v);
  }

  private static String fmtNode(JsonNode n) {
    return n.isNumber() ? String.format(Locale.ROOT, "%.4f", n.asDouble()) : "undefined";
  }

  private static final String STYLE =
      String.join(
          "\n",
          "body{font-family:'DejaVu Sans','Liberation Sans',Arial,sans-serif;margin:0 auto;",
          "max-width:1200px;padding:0 24px 40px;color:#212121;background:#fafafa;font-size:14px}",
          "h1{font-size:22px;margin:20px 0 10px}h1 .id{font-family:monospace;font-weight:normal}",
          "h2{font-size:18px;border-bottom:2px solid #1565c0;padding-bottom:4px;margin-top:32px}",
          "h3{font-size:15px;margin:16px 0 6px}",
          "section{background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:4px 18px 14px;",
          "margin:18px 0}",
          "nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:6px 14px}",
          "nav a{color:#1565c0;text-decoration:none}",
          "figure{margin:12px 0}figure img{max-width:100%;height:auto;border:1px solid #eee}",
          "figcaption{color:#555;font-size:13px;margin-top:4px}",
          "table{border-collapse:collapse;margin:8px 0;font-size:13px}",
          "th,td{border:1px solid #e0e0e0;padding:3px 8px;text-align:left;vertical-align:top}",
          "th{background:#f5f5f5;font-weight:600}td{word-break:break-word;max-width:820px}",
          "td.n,span.n{font-variant-numeric:tabular-nums}td.n{text-align:right}",
          ".tables{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}",
          ".note{color:#555}.missing{color:#999}",
          "span.s{white-space:pre-wrap;background:#f6f6f6}",
          "footer{color:#777;font-size:12px;margin-top:24px}",
          "");
}
