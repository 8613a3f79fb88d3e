package org.prefscore.job;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.apache.spark.sql.SparkSession;
import org.prefscore.job.config.ConfigException;
import org.prefscore.job.config.ConfigKeys;
import org.prefscore.job.config.ModelPreflight;
import org.prefscore.job.config.PipelineConfig;
import org.prefscore.job.config.Redactor;
import org.prefscore.job.config.ResolvedConfig;
import org.prefscore.job.io.RunRefusedException;
import org.prefscore.job.report.DryRunPlan;
import org.prefscore.job.report.html.RunReport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Entry point: {@code prefscore <mode> [--config FILE] [--set key=value]... [--resume]
 * [--dry-run]}, or {@code prefscore report RUN_DIR} (rebuilds a finished run's report.html).
 *
 * <p>Parses the command line, resolves and validates the configuration and opens every local model
 * directory ({@link ModelPreflight}) before Spark starts (every problem in one message), logs it
 * once with secrets redacted ({@link Redactor}: also every configuration error and failure
 * message), then runs {@link PipelineRunner} on a SparkSession. Only {@link #main} calls {@code
 * System.exit}: 0 on success, 2 for an invalid command line or configuration or a refused run
 * ({@link RunRefusedException}: the run id is being written by another run, the input is empty, a
 * resume's persisted work does not match), 1 for any other failure; {@link #execute} throws
 * instead, for tests and embedding.
 */
public final class PrefscoreJob {

  private static final Logger LOG = LoggerFactory.getLogger(PrefscoreJob.class);

  private PrefscoreJob() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs the command line and returns the exit status {@link #main} exits with. */
  static int run(String[] args, PrintStream out, PrintStream err) {
    int code;
    try {
      execute(args, out, err, null);
      code = 0;
    } catch (ConfigException e) {
      err.println(e.getMessage());
      code = 2;
    } catch (RunRefusedException e) {
      err.println("prefscore: run refused: " + redactorFor(args).redact(e.getMessage()));
      code = 2;
    } catch (Throwable e) {
      // A failure's message may echo a path with user-info or a secret value.
      Redactor redactor = redactorFor(args);
      StringWriter trace = new StringWriter();
      e.printStackTrace(new PrintWriter(trace));
      LOG.error("run failed: {}", redactor.redact(trace.toString()));
      err.println("prefscore: run failed: " + redactor.redact(e.toString()));
      code = 1;
    }
    return code;
  }

  /**
   * The redactor of the configuration {@code args} name; keys and URLs only if they do not parse.
   */
  static Redactor redactorFor(String[] args) {
    try {
      CommandLine cli = CommandLine.parse(args);
      return ResolvedConfig.resolve(cli.configFile(), cli.sets()).redactor();
    } catch (RuntimeException e) {
      return Redactor.none();
    }
  }

  /**
   * Runs the command line; returns the run's result (null for --help and --dry-run). Throws {@link
   * ConfigException} for an invalid command line or configuration, anything else for a failed run.
   * {@code sessions} gives the SparkSession for the validated config (a test's shared session,
   * say), which is left running; null: {@link #createSession}, stopped at the end.
   */
  public static PipelineRunner.RunResult execute(
      String[] args,
      PrintStream out,
      PrintStream err,
      Function<PipelineConfig, SparkSession> sessions) {
    CommandLine cli = CommandLine.parse(args);
    if (cli.help()) {
      out.println(CommandLine.USAGE);
      return null;
    }
    ResolvedConfig resolved = ResolvedConfig.resolve(cli.configFile(), cli.sets());
    Redactor redactor = resolved.redactor();
    if (cli.reportRun() != null) {
      report(cli.reportRun(), resolved, out, sessions);
      return null;
    }
    try {
      PipelineConfig config = PipelineConfig.from(cli.mode(), resolved);
      LOG.info(
          "configuration (--set > {} > defaults; secrets redacted):{}",
          cli.configFile() == null ? "no file" : cli.configFile(),
          describe(config.redacted()));
      // Every model directory is opened before Spark starts, in a dry run too.
      ModelPreflight.Report models = ModelPreflight.check(config);
      if (cli.dryRun()) {
        out.println(DryRunPlan.describe(config, models));
        return null;
      }
      SparkSession spark = sessions == null ? createSession(config) : sessions.apply(config);
      try {
        PipelineRunner.RunResult result = new PipelineRunner(spark, config, err).run();
        out.println(result.summary());
        return result;
      } finally {
        if (sessions == null) {
          spark.stop();
        }
      }
    } catch (ConfigException e) {
      throw e.redacted(redactor);
    }
  }

  /**
   * {@code report RUN_DIR}: rebuilds the run's report.html on a session with the configuration's
   * spark.master and spark.conf.* ({@code sessions}, when given, is called with null).
   */
  private static void report(
      String runDir,
      ResolvedConfig resolved,
      PrintStream out,
      Function<PipelineConfig, SparkSession> sessions) {
    Redactor redactor = resolved.redactor();
    SparkSession spark;
    if (sessions != null) {
      spark = sessions.apply(null);
    } else {
      SparkSession.Builder builder = SparkSession.builder().appName("prefscore report");
      String master = resolved.get(ConfigKeys.SPARK_MASTER).trim();
      if (!master.isEmpty()) {
        builder.master(master);
      }
      Map<String, String> conf = new java.util.TreeMap<>(resolved.sparkConf());
      conf.putIfAbsent("spark.redaction.regex", SPARK_REDACTION_REGEX);
      conf.putIfAbsent("spark.ui.enabled", "false");
      conf.forEach(builder::config);
      spark = builder.getOrCreate();
      spark.sparkContext().setLogLevel("WARN");
    }
    try {
      String path = RunReport.rebuild(spark, runDir);
      out.println("prefscore report: wrote " + redactor.redact(path));
    } catch (IllegalArgumentException e) {
      throw new ConfigException(redactor.redact(e.getMessage()));
    } finally {
      if (sessions == null) {
        spark.stop();
      }
    }
  }

  /**
   * What Spark's own redaction (its UI's environment page, event logs) masks unless the config sets
   * {@code spark.redaction.regex}: Spark's default ({@code secret|password|token|access[.]key})
   * plus the key names {@link Redactor} masks that it misses ({@code fs.s3a.encryption.key}, {@code
   * fs.azure.account.key.*}, private keys, pass phrases). Spark applies it to keys and values.
   */
  public static final String SPARK_REDACTION_REGEX =
      "(?i)secret|password|passwd|passphrase|token|access[._]key|[.]key$|[.]key[.]|private[._]key"
          + "|fs[.]azure[.]sas[.]|credentials?$";

  /** A session from the config: spark.master when set, plus every spark.conf.* property. */
  public static SparkSession createSession(PipelineConfig config) {
    SparkSession.Builder builder =
        SparkSession.builder().appName("prefscore " + config.mode() + " " + config.runId());
    if (!config.sparkMaster().isEmpty()) {
      builder.master(config.sparkMaster());
    }
    sessionConf(config).forEach(builder::config);
    SparkSession spark = builder.getOrCreate();
    spark.sparkContext().setLogLevel("WARN");
    return spark;
  }

  /**
   * The Spark properties a session from {@code config} gets: every {@code spark.conf.*} property,
   * and {@link #SPARK_REDACTION_REGEX} as {@code spark.redaction.regex} unless it is set.
   */
  public static Map<String, String> sessionConf(PipelineConfig config) {
    Map<String, String> conf = new java.util.TreeMap<>(config.source().sparkConf());
    conf.putIfAbsent("spark.redaction.regex", SPARK_REDACTION_REGEX);
    return conf;
  }

  private static String describe(Map<String, String> values) {
    StringBuilder sb = new StringBuilder();
    values.forEach((k, v) -> sb.append(String.format(Locale.ROOT, "%n  %s = %s", k, v)));
    return sb.toString();
  }
}
