package org.prefscore.job.report.html;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.AxesChartStyler;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.prefscore.job.report.ProgressSamples;

/**
 * The report's charts, drawn with XChart to PNG images. Pure (no Spark): each method takes plain
 * values and returns a {@link Image}.
 */
public final class ReportCharts {

  /** Width and height of every chart, in pixels. */
  public static final int WIDTH = 880;

  public static final int HEIGHT = 420;

  static final Color CHOSEN = new Color(0x2e, 0x7d, 0x32);
  static final Color REJECTED = new Color(0xc6, 0x28, 0x28);
  static final Color NEUTRAL = new Color(0x15, 0x65, 0xc0);
  static final Color CUT = new Color(0x21, 0x21, 0x21);
  private static final Color[] PALETTE = {
    new Color(0x15, 0x65, 0xc0),
    new Color(0xef, 0x6c, 0x00),
    new Color(0x6a, 0x1b, 0x9a),
    new Color(0x00, 0x83, 0x8f),
    new Color(0xc6, 0x28, 0x28),
    new Color(0x55, 0x8b, 0x2f),
    new Color(0xad, 0x14, 0x57),
    new Color(0x4e, 0x34, 0x2e),
    new Color(0x45, 0x5a, 0x64),
    new Color(0xf9, 0xa8, 0x25),
  };

  private ReportCharts() {}

  /** A drawn chart: its PNG bytes and size. */
  public record Image(byte[] png, int width, int height) {}

  /** A vertical line drawn across a histogram (a cut, a threshold). */
  public record Marker(String label, double x) {}

  /** One histogram to draw, with its legend label and colour. */
  public record Layer(String label, Histogram histogram, Color color) {}

  /**
   * The funnel as stacked bars: at each step the rows left (blue) and, stacked on them, the rows
   * the step lost by reason; so each bar is as tall as the step before it.
   */
  public static Image funnel(Funnel funnel) {
    CategoryChart chart = categoryChart("Funnel: input rows to pairs, with every loss", "", "rows");
    chart.getStyler().setStacked(true);
    chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
    List<String> labels = new ArrayList<>();
    List<Long> left = new ArrayList<>();
    Map<String, List<Long>> lost = new LinkedHashMap<>();
    for (Funnel.Step s : funnel.steps()) {
      labels.add(s.left().label());
      left.add(s.left().value());
      for (Funnel.Count c : s.lost()) {
        lost.putIfAbsent(c.label(), new ArrayList<>());
      }
    }
    for (Funnel.Step s : funnel.steps()) {
      for (Map.Entry<String, List<Long>> e : lost.entrySet()) {
        e.getValue()
            .add(
                s.lost().stream()
                    .filter(c -> c.label().equals(e.getKey()))
                    .mapToLong(Funnel.Count::value)
                    .sum());
      }
    }
    CategorySeries kept = chart.addSeries("rows left", labels, left);
    kept.setFillColor(NEUTRAL);
    int i = 1;
    for (Map.Entry<String, List<Long>> e : lost.entrySet()) {
      chart.addSeries("lost: " + e.getKey(), labels, e.getValue()).setFillColor(color(i++));
    }
    return png(chart);
  }

  /** Counts per category as bars with their values. */
  public static Image bars(String title, String xTitle, Map<String, Long> counts) {
    CategoryChart chart = categoryChart(title, xTitle, "count");
    chart.getStyler().setLegendVisible(false);
    chart.getStyler().setLabelsVisible(true);
    chart
        .addSeries("count", new ArrayList<>(counts.keySet()), new ArrayList<>(counts.values()))
        .setFillColor(NEUTRAL);
    return png(chart);
  }

  /** Histograms drawn over each other (semi-transparent), with vertical markers. */
  public static Image histograms(
      String title, String xTitle, List<Layer> layers, List<Marker> markers) {
    XYChart chart = xyChart(title, xTitle, "count");
    long max = 1;
    for (Layer l : layers) {
      Histogram h = l.histogram();
      double[] e = h.edges();
      long[] c = h.counts();
      double[] x = new double[2 * c.length + 2];
      double[] y = new double[x.length];
      x[0] = e[0];
      y[0] = 0;
      for (int i = 0; i < c.length; i++) {
        x[2 * i + 1] = e[i];
        y[2 * i + 1] = c[i];
        x[2 * i + 2] = e[i + 1];
        y[2 * i + 2] = c[i];
      }
      x[x.length - 1] = e[e.length - 1];
      y[y.length - 1] = 0;
      XYSeries s = chart.addSeries(l.label(), x, y);
      s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Area);
      s.setMarker(SeriesMarkers.NONE);
      s.setLineColor(l.color());
      s.setFillColor(new Color(l.color().getRed(), l.color().getGreen(), l.color().getBlue(), 90));
      s.setLineWidth(1.5f);
      max = Math.max(max, h.maxCount());
    }
    for (Marker m : markers) {
      XYSeries s =
          chart.addSeries(m.label(), new double[] {m.x(), m.x()}, new double[] {0, max * 1.08});
      s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
      s.setMarker(SeriesMarkers.NONE);
      s.setLineColor(CUT);
      s.setLineStyle(
          new BasicStroke(
              2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
    }
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (Layer l : layers) {
      double[] e = l.histogram().edges();
      lo = Math.min(lo, e[0]);
      hi = Math.max(hi, e[e.length - 1]);
    }
    for (Marker m : markers) {
      lo = Math.min(lo, m.x());
      hi = Math.max(hi, m.x());
    }
    niceXAxis(chart, lo, hi);
    chart.getStyler().setYAxisMin(0.0);
    chart.getStyler().setYAxisDecimalPattern("#,##0");
    return png(chart);
  }

  /**
   * A step of 1, 2 or 5 times a power of ten that cuts [lo, hi] into about 8 parts (1 when the
   * range is empty or not finite).
   */
  static double niceStep(double lo, double hi) {
    double range = hi - lo;
    if (!(range > 0) || !Double.isFinite(range)) {
      return 1;
    }
    double raw = range / 8;
    double pow = Math.pow(10, Math.floor(Math.log10(raw)));
    double f = raw / pow;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * pow;
  }

  /** The x axis from lo to hi widened to whole steps, labelled with as many decimals as a step. */
  private static void niceXAxis(XYChart chart, double lo, double hi) {
    if (!Double.isFinite(lo) || !Double.isFinite(hi)) {
      return;
    }
    double step = niceStep(lo, hi);
    chart.getStyler().setXAxisMin(Math.floor(lo / step) * step);
    chart.getStyler().setXAxisMax(Math.ceil(hi / step) * step);
    int decimals = (int) Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
    chart
        .getStyler()
        .setXAxisDecimalPattern(decimals == 0 ? "#,##0" : "#,##0." + "0".repeat(decimals));
  }

  /** Points (x, y) as a scatter plot. */
  public static Image scatter(String title, String xTitle, String yTitle, double[] x, double[] y) {
    XYChart chart = xyChart(title, xTitle, yTitle);
    chart.getStyler().setLegendVisible(false);
    XYSeries s = chart.addSeries("pairs", x, y);
    s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
    s.setMarker(SeriesMarkers.CIRCLE);
    s.setMarkerColor(new Color(0x15, 0x65, 0xc0, 150));
    chart.getStyler().setMarkerSize(5);
    return png(chart);
  }

  /**
   * Tokens per second per stage over the run, from the progress samples: the rate between two
   * consecutive samples of a stage, drawn as a step from the first to the second. Null when no
   * stage counted tokens.
   */
  public static Image throughput(List<ProgressSamples.Sample> samples) {
    Map<String, List<double[]>> byStage = new LinkedHashMap<>();
    List<List<ProgressSamples.Sample>> runs = new ArrayList<>();
    for (ProgressSamples.Sample s : samples) {
      if (runs.isEmpty()
          || !runs.get(runs.size() - 1).get(0).stage().equals(s.stage())
          || (s.boundary()
              && s.tokens() == 0
              && s.done() == 0
              && runs.get(runs.size() - 1).size() > 1)) {
        runs.add(new ArrayList<>());
      }
      runs.get(runs.size() - 1).add(s);
    }
    for (List<ProgressSamples.Sample> run : runs) {
      // The counters move when a chunk of work ends: the rate of a segment is the tokens of the
      // chunks that ended in it over its length, from one move of the counter to the next.
      ProgressSamples.Sample from = run.get(0);
      ProgressSamples.Sample last = run.get(run.size() - 1);
      List<double[]> steps = byStage.computeIfAbsent(from.stage(), k -> new ArrayList<>());
      for (ProgressSamples.Sample s : run) {
        if (s.tokens() > from.tokens() && s.seconds() > from.seconds()) {
          steps.add(
              new double[] {
                from.seconds(),
                s.seconds(),
                (s.tokens() - from.tokens()) / (s.seconds() - from.seconds())
              });
          from = s;
        }
      }
      if (last.seconds() > from.seconds()) {
        steps.add(new double[] {from.seconds(), last.seconds(), 0});
      }
    }
    byStage.values().removeIf(l -> l.stream().allMatch(p -> p[2] == 0));
    if (byStage.isEmpty()) {
      return null;
    }
    XYChart chart =
        xyChart("Tokens per second per stage", "seconds since the run began", "tokens/s");
    int i = 0;
    for (Map.Entry<String, List<double[]>> e : byStage.entrySet()) {
      List<double[]> steps = e.getValue();
      double[] x = new double[steps.size() * 2 + 2];
      double[] y = new double[x.length];
      x[0] = steps.get(0)[0];
      for (int k = 0; k < steps.size(); k++) {
        x[2 * k + 1] = steps.get(k)[0];
        x[2 * k + 2] = steps.get(k)[1];
        y[2 * k + 1] = steps.get(k)[2];
        y[2 * k + 2] = steps.get(k)[2];
      }
      x[x.length - 1] = steps.get(steps.size() - 1)[1];
      String label =
          e.getKey()
              + (e.getKey().equals("generate")
                  ? " (tokens generated)"
                  : e.getKey().equals("score") ? " (tokens scored)" : "");
      XYSeries s = chart.addSeries(label, x, y);
      s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Area);
      s.setMarker(SeriesMarkers.NONE);
      Color c = color(i++);
      s.setLineColor(c);
      s.setFillColor(new Color(c.getRed(), c.getGreen(), c.getBlue(), 90));
    }
    double end = samples.get(samples.size() - 1).seconds();
    niceXAxis(chart, 0, Math.max(end, 1));
    chart.getStyler().setYAxisMin(0.0);
    chart.getStyler().setYAxisDecimalPattern("#,##0");
    return png(chart);
  }

  static Color color(int i) {
    return PALETTE[Math.floorMod(i, PALETTE.length)];
  }

  private static CategoryChart categoryChart(String title, String xTitle, String yTitle) {
    CategoryChart chart =
        new CategoryChartBuilder()
            .width(WIDTH)
            .height(HEIGHT)
            .title(title)
            .xAxisTitle(xTitle)
            .yAxisTitle(yTitle)
            .build();
    style(chart.getStyler());
    chart.getStyler().setXAxisLabelRotation(20);
    chart.getStyler().setAvailableSpaceFill(0.7);
    chart.getStyler().setOverlapped(false);
    return chart;
  }

  private static XYChart xyChart(String title, String xTitle, String yTitle) {
    XYChart chart =
        new XYChartBuilder()
            .width(WIDTH)
            .height(HEIGHT)
            .title(title)
            .xAxisTitle(xTitle)
            .yAxisTitle(yTitle)
            .build();
    style(chart.getStyler());
    return chart;
  }

  private static void style(AxesChartStyler s) {
    s.setLocale(Locale.ROOT);
    s.setChartBackgroundColor(Color.WHITE);
    s.setPlotBackgroundColor(Color.WHITE);
    s.setPlotBorderVisible(false);
    s.setPlotGridLinesColor(new Color(0xe0, 0xe0, 0xe0));
    s.setLegendPosition(Styler.LegendPosition.InsideNE);
    s.setLegendBorderColor(new Color(0xbd, 0xbd, 0xbd));
    s.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
    s.setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    s.setAxisTickLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
    s.setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
    s.setChartTitleBoxVisible(false);
    s.setAntiAlias(true);
  }

  private static Image png(Chart<?, ?> chart) {
    try {
      return new Image(
          BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG),
          chart.getWidth(),
          chart.getHeight());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot encode the chart '" + chart.getTitle() + "'", e);
    }
  }
}
