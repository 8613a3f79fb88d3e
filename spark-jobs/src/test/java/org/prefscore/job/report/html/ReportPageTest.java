package org.prefscore.job.report.html;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.prefscore.job.report.ProgressSamples;

/** The page without Spark: escaping, manifest values, optional sections, the charts it embeds. */
class ReportPageTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String HOSTILE =
      "</td><script>alert('x')</script><img src=x onerror=alert(1)>";

  private static ObjectNode quickStartManifest() throws Exception {
    ObjectNode m = (ObjectNode) JSON.readTree(FunnelTest.QUICK_START_COUNTS);
    m.put("run_id", "r1");
    m.put("status", "SUCCEEDED");
    ObjectNode cfg = m.putObject("config");
    cfg.put("srdpo.refinement-prompt", HOSTILE);
    cfg.put("spark.conf.spark.hadoop.fs.s3a.secret.key", "****");
    cfg.put("filter.likelihood.normalization", "sum");
    m.putObject("models").putObject("policy").put("path", "/models/" + HOSTILE);
    ObjectNode q = m.putObject("quantiles");
    q.putObject("confidence").put("quantile", 0.25).put("cut", 0.9862365107065935);
    q.putObject("likelihood").put("threshold", -96.81736006593037);
    m.putObject("timings_seconds").put("generate", 4.1).put("total", 23.2);
    m.putObject("progress_samples").put("sample_period_seconds", 0.5);
    return m;
  }

  private static ReportData data(boolean withScatter) {
    Histogram.Bins b = new Histogram.Bins(-2, 6, 8);
    Histogram h = Histogram.of(new double[] {-1, 0, 1, 1, 2, 3, 5}, b);
    Histogram conf = Histogram.of(new double[] {0.6, 0.9, 0.99}, new Histogram.Bins(0.5, 1, 10));
    List<ProgressSamples.Sample> progress = new ArrayList<>();
    progress.add(new ProgressSamples.Sample(0, "generate", "prompts", 0, 0, true));
    progress.add(new ProgressSamples.Sample(0.5, "generate", "prompts", 16, 3000, false));
    progress.add(new ProgressSamples.Sample(1.0, "generate", "prompts", 16, 3000, false));
    progress.add(new ProgressSamples.Sample(1.5, "generate", "prompts", 32, 7000, true));
    progress.add(new ProgressSamples.Sample(1.5, "score", "pairs", 0, 0, true));
    progress.add(new ProgressSamples.Sample(2.5, "score", "pairs", 20, 9000, true));
    return new ReportData(
        Map.of(
            ReportData.REWARD_CHOSEN, h,
            ReportData.REWARD_REJECTED, h,
            ReportData.REWARD_GAP, h,
            ReportData.CONFIDENCE, conf,
            ReportData.LIKELIHOOD_CHOSEN, h,
            ReportData.LIKELIHOOD_REJECTED, h,
            ReportData.DPO_MARGIN, h,
            ReportData.REFINEMENT, h,
            ReportData.RESPONSE_TOKENS,
                Histogram.of(new double[] {1, 24, 24}, Histogram.Bins.integers(1, 24, 80))),
        Map.of(ReportData.FINISH_REASON, Map.of("EOS", 1L, "LENGTH", 2L)),
        withScatter
            ? new ReportData.Scatter(new double[] {1, 2, 3}, new double[] {0.5, 1.5, 1}, 3)
            : null,
        progress);
  }

  @Test
  void everyStringFromTheManifestIsEscaped() throws Exception {
    String html = ReportPage.render(quickStartManifest(), data(false));
    assertThat(html).doesNotContainIgnoringCase("<script").doesNotContain("<img src=x");
    assertThat(html)
        .contains("&lt;/td&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x")
        .contains("****");
    assertThat(ReportPage.escape("a&b<c>\"d\"'e'\u0007"))
        .isEqualTo("a&amp;b&lt;c&gt;&quot;d&quot;&#39;e&#39;&#xFFFD;");
  }

  @Test
  void everyManifestValueOnThePageIsTheManifestsWithItsPointer() throws Exception {
    ObjectNode m = quickStartManifest();
    String html = ReportPage.render(m, data(false));
    Matcher v = Pattern.compile("data-manifest=\"([^\"]*)\">([^<]*)</span>").matcher(html);
    int n = 0;
    List<String> pointers = new ArrayList<>();
    while (v.find()) {
      String pointer = unescape(v.group(1));
      JsonNode expected = m.at(pointer);
      assertThat(expected.isMissingNode()).as(pointer).isFalse();
      assertThat(unescape(v.group(2))).as(pointer).isEqualTo(expected.asText());
      pointers.add(pointer);
      n++;
    }
    assertThat(n).isGreaterThan(20);
    assertThat(pointers)
        .contains(
            "/counts/input_rows",
            "/counts/rejects_by_stage_and_reason/prepare/EMPTY_PROMPT",
            "/counts/filtered_by_reason/LOW_LIKELIHOOD",
            "/quantiles/confidence/cut",
            "/quantiles/likelihood/threshold",
            "/config/srdpo.refinement-prompt",
            "/models/policy/path");
  }

  @Test
  void aWestOfNPageHasItsTenChartsAsPngDataUris() throws Exception {
    String html = ReportPage.render(quickStartManifest(), data(false));
    Matcher img =
        Pattern.compile("<img class=\"chart\" id=\"([^\"]+)\"[^>]* src=\"([^\"]+)\"").matcher(html);
    List<String> ids = new ArrayList<>();
    while (img.find()) {
      ids.add(img.group(1));
      assertThat(img.group(2)).startsWith("data:image/png;base64,iVBORw0KGgo");
    }
    assertThat(ids)
        .containsExactly(
            "chart-funnel",
            "chart-rewards",
            "chart-reward-gap",
            "chart-confidence",
            "chart-likelihood",
            "chart-margin",
            "chart-refinement",
            "chart-finish-reasons",
            "chart-response-lengths",
            "chart-throughput");
    assertThat(html)
        .contains("Content-Security-Policy")
        .contains("This manifest has no fault record.");
  }

  @Test
  void aFaultRecordAndUnknownFieldsAreShownAndAMinimalManifestStillRenders() throws Exception {
    ObjectNode m = quickStartManifest();
    m.putObject("faults").put("failed_tasks", 2).putArray("lost_executors").add("exec-1");
    m.putObject("resume").put("reused_samples", 17);
    String html = ReportPage.render(m, data(false));
    assertThat(html)
        .contains("data-manifest=\"/faults/failed_tasks\">2<")
        .contains("data-manifest=\"/faults/lost_executors/0\">exec-1<")
        .contains("Other manifest fields")
        .contains("data-manifest=\"/resume/reused_samples\">17<");

    String minimal =
        ReportPage.render(
            JSON.readTree("{\"run_id\":\"x\",\"mode\":\"score-pairs\"}"),
            new ReportData(Map.of(), Map.of(), null, List.of()));
    assertThat(minimal).contains("The manifest has no counts.").doesNotContain("<img");
  }

  @Test
  void aVeryLongValueIsShortenedAndNoLongerMarkedAsTheManifests() throws Exception {
    ObjectNode m = quickStartManifest();
    ((ObjectNode) m.get("config")).put("srdpo.refinement-prompt", "p".repeat(10_000));
    String html = ReportPage.render(m, data(false));
    assertThat(html)
        .doesNotContain("data-manifest=\"/config/srdpo.refinement-prompt\"")
        .contains("p".repeat(ReportPage.MAX_VALUE_CHARS) + "</span>")
        .doesNotContain("p".repeat(ReportPage.MAX_VALUE_CHARS + 1))
        .contains("10000 characters, see manifest.json");
  }

  @Test
  void anEvaluatePageShowsTheScatterWithTheManifestsCorrelations() throws Exception {
    ObjectNode m = (ObjectNode) JSON.readTree("{\"run_id\":\"e\",\"mode\":\"evaluate\"}");
    m.putObject("evaluation")
        .put("tuples", 3)
        .put("pearson", 0.5)
        .put("spearman", 0.5)
        .put("kendall", 0.3333333333333333);
    String html = ReportPage.render(m, data(true));
    assertThat(html)
        .contains("id=\"chart-scatter\"")
        .contains("All 3 pairs with a score gap.")
        .contains("data-manifest=\"/evaluation/kendall\">0.3333333333333333<");
  }

  private static String unescape(String s) {
    return s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
  }
}
