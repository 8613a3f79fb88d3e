package org.prefscore.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.job.config.ConfigException;
import org.prefscore.job.report.html.ReportPage;

/**
 * The Quick-start run's report.html in a real browser (headless Chromium): every chart is a
 * decoded, visible image of non-trivial size, every value the page shows from the manifest equals
 * manifest.json, and the page loads nothing from the network. Saves a screenshot of the whole page
 * to {@code spark-jobs/target/report-browser/report.png}. Skipped, with the reason, where no
 * Chromium binary is found ({@code .ci/run} installs Debian's {@code chromium}; {@code
 * PREFSCORE_CHROMIUM} names another binary).
 */
@Tag("browser")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class QuickStartReportBrowserTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** The charts of a west-of-n report, in page order. */
  private static final List<String> WEST_OF_N_CHARTS =
      List.of(
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

  /** Collects what the browser laid out; added to a copy of the page (the report has no script). */
  private static final String PROBE =
      "<script>addEventListener('load',function(){var r={images:[],values:[],captions:[]};"
          + "document.querySelectorAll('img').forEach(function(i){var b=i.getBoundingClientRect();"
          + "var s=getComputedStyle(i);r.images.push({id:i.id,complete:i.complete,"
          + "naturalWidth:i.naturalWidth,naturalHeight:i.naturalHeight,width:b.width,"
          + "height:b.height,top:b.top+scrollY,display:s.display,visibility:s.visibility,"
          + "opacity:s.opacity})});"
          + "document.querySelectorAll('[data-manifest]').forEach(function(e){"
          + "r.values.push({pointer:e.getAttribute('data-manifest'),text:e.textContent})});"
          + "document.querySelectorAll('figcaption').forEach(function(e){"
          + "r.captions.push(e.textContent)});"
          + "r.pageHeight=document.documentElement.scrollHeight;"
          + "var p=document.createElement('pre');p.id='probe';p.textContent=JSON.stringify(r);"
          + "document.body.appendChild(p)});</script>";

  private SparkSession spark;
  private String runDir;
  private JsonNode manifest;
  private String html;

  @TempDir Path tmp;

  @BeforeAll
  void quickStartRun(@TempDir Path out) throws IOException {
    spark = TestSupport.localSpark("QuickStartReportBrowserTest");
    Path root = TestSupport.repoRoot();
    TestSupport.Run run =
        TestSupport.run(
            spark,
            "west-of-n",
            "--config",
            root.resolve("conf/local.properties").toString(),
            "--set",
            "input.path=" + root.resolve("data/prompts.jsonl"),
            "--set",
            "output.path=" + out,
            "--set",
            "run.id=quickstart",
            "--set",
            "models.policy=" + root.resolve("fixtures/models/tiny-llama"),
            "--set",
            "models.reference=" + root.resolve("fixtures/models/tiny-llama"),
            "--set",
            "models.reward=" + root.resolve("fixtures/models/tiny-reward"),
            "--set",
            "models.policy-checkpoint=" + root.resolve("fixtures/models/tiny-llama-ckpt"));
    runDir = run.result().outputPath().replaceFirst("^file:", "");
    manifest = JSON.readTree(Path.of(runDir, "manifest.json").toFile());
    html = Files.readString(Path.of(runDir, ReportPage.FILE), StandardCharsets.UTF_8);
  }

  @AfterAll
  void stop() {
    if (spark != null) {
      spark.stop();
    }
  }

  @Test
  void theReportIsSelfContained() {
    assertThat(manifest.at("/report/file").asText()).isEqualTo(ReportPage.FILE);
    assertThat(manifest.at("/report/error").isMissingNode()).isTrue();
    assertThat(html).contains(ReportPage.CONTENT_SECURITY_POLICY);
    assertThat(html).doesNotContainPattern("(?i)(src|href)\\s*=\\s*\"?(https?:|//)");
    assertThat(html).doesNotContainPattern("(?i)url\\(");
    assertThat(html).doesNotContainPattern("(?i)<script|<link|<iframe|<object");
    List<String> srcs = attributes(html, "src");
    assertThat(srcs).hasSize(WEST_OF_N_CHARTS.size());
    assertThat(srcs).allMatch(s -> s.startsWith("data:image/png;base64,"));
    for (String src : srcs) {
      BufferedImage img = png(src);
      assertThat(img.getWidth()).isGreaterThanOrEqualTo(600);
      assertThat(img.getHeight()).isGreaterThanOrEqualTo(300);
      // A drawn chart, not a blank or one-colour image: many colours, a fair share not white.
      Set<Integer> colours = new HashSet<>();
      long ink = 0;
      for (int y = 0; y < img.getHeight(); y += 2) {
        for (int x = 0; x < img.getWidth(); x += 2) {
          int rgb = img.getRGB(x, y) & 0xffffff;
          colours.add(rgb);
          if (rgb != 0xffffff) {
            ink++;
          }
        }
      }
      assertThat(colours.size()).isGreaterThan(30);
      assertThat(ink / (img.getWidth() * img.getHeight() / 4.0)).isGreaterThan(0.03);
    }
  }

  @Test
  void theReportCommandRebuildsTheSamePageFromTheRunsOutputs() throws IOException {
    Path report = Path.of(runDir, ReportPage.FILE);
    Files.delete(report);
    TestSupport.Run run = TestSupport.run(spark, "report", runDir);
    assertThat(run.result()).isNull();
    assertThat(run.out()).contains("prefscore report: wrote ").contains(ReportPage.FILE);
    assertThat(Files.readString(report, StandardCharsets.UTF_8)).isEqualTo(html);
  }

  @Test
  void theReportCommandRefusesWhatIsNotAFinishedRun() throws IOException {
    Path empty = Files.createDirectories(tmp.resolve("not-a-run"));
    assertThatThrownBy(() -> TestSupport.run(spark, "report", empty.toString()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("has no manifest.json: not a finished prefscore run");
    assertThatThrownBy(() -> CommandLine.parse(new String[] {"report"}))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("report needs the run folder");
    assertThatThrownBy(() -> CommandLine.parse(new String[] {"report", "x", "--dry-run"}))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("--dry-run does not apply to report");
    assertThat(CommandLine.parse(new String[] {"report", "some/run"}).reportRun())
        .isEqualTo("some/run");
  }

  @Test
  void chromiumShowsEveryChartAndTheManifestsNumbers() throws Exception {
    Optional<String> chromium = chromium();
    Assumptions.assumeTrue(
        chromium.isPresent(),
        "no Chromium binary (chromium, chromium-browser, google-chrome or $PREFSCORE_CHROMIUM) on"
            + " this machine: the browser test is skipped (.ci/run installs Debian's chromium)");
    Path dir = Path.of("target", "report-browser").toAbsolutePath();
    Files.createDirectories(dir);
    Path page = dir.resolve("report.html");
    Files.writeString(page, html, StandardCharsets.UTF_8);
    // The probe copy: the report's policy forbids scripts, so the copy drops it and adds the probe.
    String probeHtml =
        html.replaceFirst("<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "")
            .replace("</body>", PROBE + "</body>");
    Path probePage = dir.resolve("report-probe.html");
    Files.writeString(probePage, probeHtml, StandardCharsets.UTF_8);

    String dom =
        runChromium(
            chromium.get(),
            dir,
            "--window-size=1280,1000",
            "--virtual-time-budget=5000",
            "--dump-dom",
            probePage.toUri().toString());
    Matcher m = Pattern.compile("<pre id=\"probe\">(.*?)</pre>", Pattern.DOTALL).matcher(dom);
    assertThat(m.find()).as("the probe ran in the browser").isTrue();
    JsonNode probe =
        JSON.readTree(m.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"));

    // Every chart: decoded, displayed, visible, at its natural size or scaled to the page.
    List<String> ids = new ArrayList<>();
    for (JsonNode img : probe.get("images")) {
      ids.add(img.get("id").asText());
      assertThat(img.get("complete").asBoolean()).as(img.toString()).isTrue();
      assertThat(img.get("naturalWidth").asInt()).as(img.toString()).isEqualTo(880);
      assertThat(img.get("naturalHeight").asInt()).as(img.toString()).isEqualTo(420);
      assertThat(img.get("width").asDouble()).as(img.toString()).isGreaterThanOrEqualTo(600);
      assertThat(img.get("height").asDouble()).as(img.toString()).isGreaterThanOrEqualTo(280);
      assertThat(img.get("display").asText()).isNotEqualTo("none");
      assertThat(img.get("visibility").asText()).isEqualTo("visible");
      assertThat(img.get("opacity").asDouble()).isEqualTo(1.0);
    }
    assertThat(ids).containsExactlyElementsOf(WEST_OF_N_CHARTS);

    // Every value shown from the manifest is the manifest's, as the browser renders it.
    Set<String> pointers = new HashSet<>();
    for (JsonNode v : probe.get("values")) {
      String pointer = v.get("pointer").asText();
      JsonNode expected = manifest.at(pointer);
      assertThat(expected.isMissingNode()).as(pointer).isFalse();
      String text =
          expected.isNull()
              ? "null"
              : expected.isValueNode() ? expected.asText() : expected.toString();
      assertThat(v.get("text").asText()).as(pointer).isEqualTo(text);
      pointers.add(pointer);
    }
    assertThat(pointers)
        .contains(
            "/counts/input_rows",
            "/counts/prompts_after_prepare",
            "/counts/prompts_sampled",
            "/counts/pairs_selected",
            "/counts/pairs_after_filters",
            "/accounting/pairs",
            "/accounting/filtered",
            "/accounting/rejects",
            "/accounting/holds",
            "/quantiles/confidence/cut",
            "/quantiles/likelihood/threshold",
            "/timings_seconds/generate",
            "/timings_seconds/total",
            "/throughput/generated_tokens",
            "/models/policy/fingerprint_sha256",
            "/models/reward/path",
            "/config/sampling.n");
    manifest
        .at("/counts/rejects_by_stage_and_reason")
        .fields()
        .forEachRemaining(
            s ->
                s.getValue()
                    .fieldNames()
                    .forEachRemaining(
                        r ->
                            assertThat(pointers)
                                .contains(
                                    "/counts/rejects_by_stage_and_reason/"
                                        + s.getKey()
                                        + "/"
                                        + r)));
    manifest
        .at("/counts/filtered_by_reason")
        .fieldNames()
        .forEachRemaining(r -> assertThat(pointers).contains("/counts/filtered_by_reason/" + r));

    // The histograms count what the manifest counts: every selected pair, every sample.
    List<String> captions = new ArrayList<>();
    probe.get("captions").forEach(c -> captions.add(c.asText()));
    long selected = manifest.at("/counts/pairs_selected").asLong();
    long pairs =
        manifest.at("/accounting/pairs").asLong()
            + manifest.at("/accounting/pairs_conversational").asLong();
    long samples = manifest.at("/counts/samples").asLong();
    assertThat(captions.get(WEST_OF_N_CHARTS.indexOf("chart-rewards")))
        .contains("n = " + selected + ".");
    assertThat(captions.get(WEST_OF_N_CHARTS.indexOf("chart-confidence")))
        .startsWith("n = " + selected + " selected pairs");
    assertThat(captions.get(WEST_OF_N_CHARTS.indexOf("chart-margin")))
        .startsWith("n = " + pairs + " pairs");
    assertThat(captions.get(WEST_OF_N_CHARTS.indexOf("chart-finish-reasons")))
        .contains("n = " + samples + " ");
    assertThat(captions.get(WEST_OF_N_CHARTS.indexOf("chart-response-lengths")))
        .startsWith("n = " + samples + " samples");

    // A screenshot of the whole page as it is (policy included), for people to look at.
    int height = Math.min(probe.get("pageHeight").asInt() + 20, 16000);
    Path shot = dir.resolve("report.png");
    Files.deleteIfExists(shot);
    runChromium(
        chromium.get(),
        dir,
        "--window-size=1280," + height,
        "--virtual-time-budget=3000",
        "--hide-scrollbars",
        "--screenshot=" + shot,
        page.toUri().toString());
    BufferedImage screenshot = ImageIO.read(shot.toFile());
    assertThat(screenshot).as("screenshot " + shot).isNotNull();
    assertThat(screenshot.getWidth()).isEqualTo(1280);
    assertThat(screenshot.getHeight()).isEqualTo(height);
  }

  private static List<String> attributes(String html, String name) {
    List<String> out = new ArrayList<>();
    Matcher m = Pattern.compile("\\s" + name + "=\"([^\"]*)\"").matcher(html);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  private static BufferedImage png(String dataUri) {
    try {
      return ImageIO.read(
          new ByteArrayInputStream(
              Base64.getDecoder().decode(dataUri.substring(dataUri.indexOf(',') + 1))));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Optional<String> chromium() {
    List<String> candidates = new ArrayList<>();
    String given = System.getenv("PREFSCORE_CHROMIUM");
    if (given != null && !given.isBlank()) {
      candidates.add(given);
    }
    candidates.addAll(
        List.of("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"));
    for (String c : candidates) {
      if (c.contains(File.separator)) {
        if (Files.isExecutable(Path.of(c))) {
          return Optional.of(c);
        }
        continue;
      }
      for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
        if (!d.isEmpty() && Files.isExecutable(Path.of(d, c))) {
          return Optional.of(Path.of(d, c).toString());
        }
      }
    }
    return Optional.empty();
  }

  /** Runs headless Chromium with a private profile under {@code dir}; returns its stdout. */
  private String runChromium(String binary, Path dir, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(binary);
    cmd.add("--headless");
    cmd.add("--no-sandbox"); // CI runs as root, where Chromium's sandbox refuses to start
    cmd.add("--disable-gpu");
    cmd.add("--no-first-run");
    cmd.add("--disable-extensions");
    cmd.add("--user-data-dir=" + tmp.resolve("chromium-profile"));
    cmd.addAll(List.of(args));
    Path stdout = Files.createTempFile(tmp, "chromium", ".out");
    Path stderr = Files.createTempFile(tmp, "chromium", ".err");
    Process p =
        new ProcessBuilder(cmd)
            .redirectOutput(stdout.toFile())
            .redirectError(stderr.toFile())
            .directory(dir.toFile())
            .start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("chromium did not finish in 60 s: " + cmd);
    }
    String out = Files.readString(stdout, StandardCharsets.UTF_8);
    assertThat(p.exitValue())
        .as("chromium " + cmd + "\n" + Files.readString(stderr, StandardCharsets.UTF_8))
        .isZero();
    return out;
  }
}
