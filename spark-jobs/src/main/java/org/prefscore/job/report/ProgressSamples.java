package org.prefscore.job.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Samples of the progress counters taken during a run (the stage, units and tokens done in it, at a
 * time since the run began), for the report's throughput chart. Bounded: when {@code capacity}
 * samples are held, every other one is dropped and the sampling period doubles, so a run of any
 * length keeps at most {@code capacity} samples spread over its whole duration. The first and last
 * sample of each stage are always kept (they are taken at the stage boundaries). Thread-safe.
 */
public final class ProgressSamples {

  /**
   * One sample.
   *
   * @param seconds since the run began
   * @param stage the stage running
   * @param unit what {@code done} counts (prompts, pairs), or null
   * @param done units done since the stage began
   * @param tokens tokens since the stage began (generated while generating, prompt + response
   *     tokens scored while scoring); 0 where the stage counts none
   * @param boundary taken at the start or the end of the stage
   */
  public record Sample(
      double seconds, String stage, String unit, long done, long tokens, boolean boundary) {}

  /** The file beside manifest.json that holds the samples. */
  public static final String FILE = "progress.json";

  /** The sampling period never grows beyond an hour. */
  static final long MAX_PERIOD_MILLIS = 3_600_000;

  private final int capacity;
  private final List<Sample> samples = new ArrayList<>();
  private long periodMillis;

  public ProgressSamples(long periodMillis, int capacity) {
    if (periodMillis <= 0 || capacity < 4) {
      throw new IllegalArgumentException("period must be > 0 and capacity >= 4");
    }
    this.periodMillis = periodMillis;
    this.capacity = capacity;
  }

  /** The current sampling period (doubles each time the samples are thinned). */
  public synchronized long periodMillis() {
    return periodMillis;
  }

  public synchronized void add(Sample s) {
    samples.add(s);
    if (samples.size() >= capacity) {
      List<Sample> kept = new ArrayList<>(capacity / 2 + 16);
      for (int i = 0; i < samples.size(); i++) {
        Sample x = samples.get(i);
        if (x.boundary() || i % 2 == 0 || i == samples.size() - 1) {
          kept.add(x);
        }
      }
      samples.clear();
      samples.addAll(kept);
      periodMillis = Math.min(periodMillis * 2, MAX_PERIOD_MILLIS);
    }
  }

  public synchronized List<Sample> samples() {
    return List.copyOf(samples);
  }

  /** The samples as {@code progress.json}: columns and one row per sample. */
  public synchronized ObjectNode toJson() {
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    root.put("sample_period_seconds", periodMillis / 1000.0);
    ArrayNode cols = root.putArray("columns");
    for (String c : List.of("seconds", "stage", "unit", "done", "tokens", "boundary")) {
      cols.add(c);
    }
    ArrayNode rows = root.putArray("rows");
    for (Sample s : samples) {
      ArrayNode r = rows.addArray();
      r.add(Math.round(s.seconds() * 1000.0) / 1000.0);
      r.add(s.stage());
      r.add(s.unit());
      r.add(s.done());
      r.add(s.tokens());
      r.add(s.boundary());
    }
    return root;
  }

  /** Reads what {@link #toJson} wrote; rows it cannot read are skipped. */
  public static List<Sample> fromJson(JsonNode root) {
    List<Sample> out = new ArrayList<>();
    JsonNode rows = root == null ? null : root.get("rows");
    if (rows == null || !rows.isArray()) {
      return out;
    }
    for (JsonNode r : rows) {
      if (!r.isArray() || r.size() < 6 || !r.get(0).isNumber() || !r.get(1).isTextual()) {
        continue;
      }
      out.add(
          new Sample(
              r.get(0).asDouble(),
              r.get(1).asText(),
              r.get(2).isNull() ? null : r.get(2).asText(),
              r.get(3).asLong(),
              r.get(4).asLong(),
              r.get(5).asBoolean()));
    }
    return out;
  }
}
