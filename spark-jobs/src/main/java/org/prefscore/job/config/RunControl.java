package org.prefscore.job.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How a run treats its run id and its staging area (docs/outputs.md): whether it resumes persisted
 * work ({@code run.resume}), how long its lease lasts without a heartbeat ({@code
 * run.lease-seconds}), how it publishes ({@code output.commit}) and whether an empty input is a
 * result ({@code input.allow-empty}). Parsed from the resolved configuration; {@link
 * PipelineConfig#from} reports its problems with every other one.
 *
 * @param resume reuse the work a previous attempt of this run id persisted
 * @param leaseSeconds lease expiry after the last heartbeat
 * @param commit how the staged output is published
 * @param allowEmptyInput an input without rows is a (published, empty) result, not a failure
 */
public record RunControl(boolean resume, int leaseSeconds, Commit commit, boolean allowEmptyInput) {

  /** How a finished run's staged output becomes the run's output. */
  public enum Commit {
    /** Choose by the output path's scheme: MANIFEST on object stores, RENAME elsewhere. */
    AUTO,
    /** A directory rename swaps the staged folder in (local, HDFS: atomic). */
    RENAME,
    /** Files are copied in, then manifest.json (one atomic PUT) lists them (object stores). */
    MANIFEST
  }

  /** Schemes of object stores: no atomic directory rename. */
  static final List<String> OBJECT_STORES =
      List.of("s3a", "s3", "s3n", "gs", "abfs", "abfss", "wasb", "wasbs", "oss");

  /** The run control of {@code config}; throws when it is invalid. */
  public static RunControl of(ResolvedConfig config) {
    List<String> problems = new ArrayList<>();
    RunControl r = parse(config, problems);
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return r;
  }

  /** The problems of {@code config}'s run control keys (empty: valid). */
  static List<String> problems(ResolvedConfig config) {
    List<String> problems = new ArrayList<>();
    parse(config, problems);
    return problems;
  }

  /** The commit a run on {@code outputPath} uses: AUTO resolved by the path's scheme. */
  public Commit commitFor(String outputPath) {
    if (commit != Commit.AUTO) {
      return commit;
    }
    int colon = outputPath.indexOf(':');
    String scheme = colon > 0 ? outputPath.substring(0, colon).toLowerCase(Locale.ROOT) : "";
    return OBJECT_STORES.contains(scheme) ? Commit.MANIFEST : Commit.RENAME;
  }

  private static RunControl parse(ResolvedConfig config, List<String> problems) {
    boolean resume = bool(config, ConfigKeys.RUN_RESUME, problems);
    boolean allowEmpty = bool(config, ConfigKeys.INPUT_ALLOW_EMPTY, problems);
    int lease = 120;
    String l = config.get(ConfigKeys.RUN_LEASE_SECONDS).trim();
    try {
      lease = Integer.parseInt(l);
      if (lease < 4) {
        problems.add(ConfigKeys.RUN_LEASE_SECONDS.name() + " must be >= 4, got " + lease);
      }
    } catch (NumberFormatException e) {
      problems.add(ConfigKeys.RUN_LEASE_SECONDS.name() + " must be an integer, got '" + l + "'");
    }
    Commit commit = Commit.AUTO;
    String c = config.get(ConfigKeys.OUTPUT_COMMIT).trim().toUpperCase(Locale.ROOT);
    try {
      commit = Commit.valueOf(c);
    } catch (IllegalArgumentException e) {
      problems.add(
          ConfigKeys.OUTPUT_COMMIT.name()
              + " must be one of auto, rename, manifest, got '"
              + config.get(ConfigKeys.OUTPUT_COMMIT)
              + "'");
    }
    return new RunControl(resume, lease, commit, allowEmpty);
  }

  private static boolean bool(ResolvedConfig config, ConfigKey key, List<String> problems) {
    String v = config.get(key).trim().toLowerCase(Locale.ROOT);
    if (!v.equals("true") && !v.equals("false")) {
      problems.add(key.name() + " must be true or false, got '" + config.get(key) + "'");
    }
    return v.equals("true");
  }
}
