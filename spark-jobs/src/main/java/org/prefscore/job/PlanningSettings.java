package org.prefscore.job;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.RuntimeConfig;

/**
 * Spark SQL settings a run gives its session for the run's duration when the session does not set
 * them itself (through {@code spark.conf.<property>}, {@code spark-submit --conf} or
 * spark-defaults): they cut what every one of the run's Spark queries costs the driver, and none
 * changes an output.
 *
 * <ul>
 *   <li>{@code spark.sql.adaptive.enabled=false}: adaptive execution re-plans a query after each of
 *       its shuffles and runs each shuffle as a Spark job of its own (82 jobs for the Quick start
 *       instead of about half as many). The run has nothing for it to adapt: the model stages'
 *       partitions are fixed ({@code spark.partitions}, a repartition by number, which adaptive
 *       execution never coalesces), Spark 3.5 does not coalesce the last shuffle of a persisted
 *       plan, its one join (prepare's duplicate marks joined back by input_row) is broadcast or not
 *       from the marks' persisted size, which static planning sees as well, and the remaining
 *       shuffles are sized to the data ({@link ShufflePartitions}).
 *   <li>{@code spark.sql.ui.explainMode=simple}: the plan text Spark posts to its listeners (UI,
 *       event log) for every query and, with adaptive execution, every re-plan; the default
 *       ("formatted") prints each operator's details besides the tree, which for the run's nested
 *       persisted plans cost seconds per run. The SQL tab and event log still show the plan tree.
 * </ul>
 */
public final class PlanningSettings {

  /** Each property and the value a run gives it when unset. */
  public static final Map<String, String> DEFAULTS;

  static {
    Map<String, String> d = new LinkedHashMap<>();
    d.put("spark.sql.adaptive.enabled", "false");
    d.put("spark.sql.ui.explainMode", "simple");
    DEFAULTS = java.util.Collections.unmodifiableMap(d);
  }

  private PlanningSettings() {}

  /**
   * Sets every {@link #DEFAULTS} property that {@code conf} does not set.
   *
   * @return the properties it set, for {@link #restore}
   */
  public static List<String> apply(RuntimeConfig conf) {
    List<String> set = new ArrayList<>();
    DEFAULTS.forEach(
        (key, value) -> {
          if (!conf.contains(key)) {
            conf.set(key, value);
            set.add(key);
          }
        });
    return set;
  }

  /** Unsets the properties {@link #apply} set: the session gets its own settings back. */
  public static void restore(RuntimeConfig conf, List<String> set) {
    set.forEach(conf::unset);
  }
}
