package org.prefscore.job;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.prefscore.job.config.ConfigException;

/**
 * The parsed command line: {@code <mode> [--config FILE] [--set key=value]... [--resume]
 * [--dry-run]} ({@code --resume} is {@code --set run.resume=true} at its place), or {@code report
 * RUN_DIR [--config FILE] [--set key=value]...}.
 *
 * @param mode the mode (null with --help and for report)
 * @param configFile the properties file, or null
 * @param sets the --set arguments in order (a later one wins)
 * @param dryRun validate and print the plan only
 * @param help print usage only
 * @param reportRun report: the finished run's folder whose report.html is rebuilt (else null)
 */
public record CommandLine(
    Mode mode, Path configFile, List<String> sets, boolean dryRun, boolean help, String reportRun) {

  /** The subcommand that rebuilds a finished run's report. */
  public static final String REPORT = "report";

  public static final String USAGE =
      String.join(
          "\n",
          "usage: prefscore <mode> [--config FILE] [--set key=value]... [--resume] [--dry-run]",
          "       prefscore report RUN_DIR [--config FILE] [--set key=value]...",
          "  modes:",
          "    west-of-n    prompts -> N samples -> rewards -> West-of-N pairs (+filters) -> Sr-DPO terms",
          "    score-pairs  (prompt, chosen, rejected) -> reference/checkpoint log-probs and margins",
          "    evaluate     trained policy vs reference on held-out tuples -> accuracy, correlations",
          "  report RUN_DIR  rebuild RUN_DIR/report.html from a finished run's manifest and tables",
          "                  (only spark.master and spark.conf.* of the configuration are used)",
          "  --config FILE     Java properties file (see conf/local.properties)",
          "  --set key=value   overrides the file and the defaults; repeatable",
          "  --resume          = --set run.resume=true: reuse what a killed run of this run.id persisted",
          "  --dry-run         validate, print the plan, start nothing",
          "  precedence: --set > --config file > defaults; keys and defaults: docs/pipeline.md");

  /** Parses {@code args}; throws {@link ConfigException} listing every problem. */
  public static CommandLine parse(String[] args) {
    List<String> problems = new ArrayList<>();
    Mode mode = null;
    Path config = null;
    List<String> sets = new ArrayList<>();
    boolean dryRun = false;
    boolean help = false;
    boolean report = false;
    String reportRun = null;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--help") || a.equals("-h")) {
        help = true;
      } else if (a.equals("--dry-run")) {
        dryRun = true;
      } else if (a.equals("--resume")) {
        sets.add("run.resume=true");
      } else if (a.equals("--config") || a.equals("--set")) {
        if (i + 1 >= args.length) {
          problems.add(a + " needs a value");
          continue;
        }
        String v = args[++i];
        if (a.equals("--config")) {
          if (config != null) {
            problems.add("--config given twice");
          }
          config = Path.of(v);
        } else {
          sets.add(v);
        }
      } else if (a.startsWith("--config=")) {
        config = Path.of(a.substring("--config=".length()));
      } else if (a.startsWith("--set=")) {
        sets.add(a.substring("--set=".length()));
      } else if (a.startsWith("-")) {
        problems.add("unknown option " + a);
      } else if (mode == null && !report && a.equals(REPORT)) {
        report = true;
      } else if (report && reportRun == null) {
        reportRun = a;
      } else if (mode == null && !report) {
        mode = Mode.parse(a).orElse(null);
        if (mode == null) {
          problems.add("unknown mode '" + a + "' (west-of-n, score-pairs, evaluate or report)");
          mode = Mode.WEST_OF_N;
        }
      } else {
        problems.add("unexpected argument '" + a + "'");
      }
    }
    if (report) {
      if (reportRun == null && !help) {
        problems.add("report needs the run folder: prefscore report RUN_DIR");
      }
      if (dryRun) {
        problems.add("--dry-run does not apply to report");
      }
    } else if (mode == null && !help) {
      problems.add("a mode is required (west-of-n, score-pairs or evaluate)");
    }
    if (!problems.isEmpty()) {
      problems.add(USAGE);
      throw new ConfigException(problems);
    }
    return new CommandLine(mode, config, List.copyOf(sets), dryRun, help, reportRun);
  }
}
