package org.prefscore.job;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.apache.spark.sql.SparkSession;
import org.prefscore.testing.Fixtures;

/**
 * Shared helpers: fixture models, a local[2] session, running the CLI, capturing the log, DuckDB
 * queries.
 */
public final class TestSupport {

  private TestSupport() {}

  /** A fixture model's directory, as a config value. */
  public static String model(String name) {
    return Fixtures.model(name).toString();
  }

  /** The repository root (where README.md lives). */
  static Path repoRoot() {
    return Fixtures.repoRoot();
  }

  static SparkSession localSpark(String name) {
    return SparkSession.builder()
        .master("local[2]")
        .appName(name)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate();
  }

  /** What a CLI run printed and returned. */
  record Run(PipelineRunner.RunResult result, String out, String err) {}

  /** The settings of a small test run (N = 4, 4 new tokens, no progress lines) on {@code input}. */
  static List<String> smallRunSettings(Path input, Path out, String runId) {
    return new ArrayList<>(
        List.of(
            "input.path=" + input,
            "output.path=" + out,
            "run.id=" + runId,
            "sampling.n=4",
            "sampling.temperature=1.0",
            "sampling.max-new-tokens=4",
            // 4 tokens: nearly every sample stops at max-new-tokens; keep them as candidates.
            "selection.truncated=keep",
            "progress.interval-seconds=0"));
  }

  /** Runs {@code mode} with each of {@code settings} given as {@code --set}. */
  static Run runWithSettings(SparkSession spark, String mode, List<String> settings) {
    List<String> args = new ArrayList<>(List.of(mode));
    for (String s : settings) {
      args.add("--set");
      args.add(s);
    }
    return run(spark, args.toArray(String[]::new));
  }

  /** What a dry run of the CLI with {@code args} prints on stdout; it must not start Spark. */
  static String dryRun(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrefscoreJob.execute(
        args,
        new PrintStream(out, true, StandardCharsets.UTF_8),
        System.err,
        c -> {
          throw new AssertionError("a dry run must not start Spark");
        });
    return out.toString(StandardCharsets.UTF_8);
  }

  static Run run(SparkSession spark, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PipelineRunner.RunResult result;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      result = PrefscoreJob.execute(args, o, e, c -> spark);
    }
    return new Run(
        result, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /** Rows of a DuckDB query, as column → value maps. */
  public static List<Map<String, Object>> duckdb(String sql) {
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      ResultSetMetaData md = rs.getMetaData();
      List<Map<String, Object>> rows = new ArrayList<>();
      while (rs.next()) {
        Map<String, Object> row = new LinkedHashMap<>();
        for (int i = 1; i <= md.getColumnCount(); i++) {
          row.put(md.getColumnLabel(i), rs.getObject(i));
        }
        rows.add(row);
      }
      return rows;
    } catch (SQLException e) {
      throw new IllegalStateException(sql, e);
    }
  }

  /** DuckDB's read_parquet over a table folder Spark wrote. */
  static String parquet(String runDir, String table) {
    return "read_parquet('" + runDir.replaceFirst("^file:", "") + "/" + table + "/*.parquet')";
  }

  static long asLong(Object o) {
    return ((Number) o).longValue();
  }

  static double asDouble(Object o) {
    return ((Number) o).doubleValue();
  }

  /**
   * Everything the driver logs through log4j while open (the root logger's appenders get it all).
   */
  public static final class LogCapture implements AutoCloseable {
    private final StringWriter buffer = new StringWriter();
    private final WriterAppender appender;
    private final LoggerContext context = (LoggerContext) LogManager.getContext(false);

    public LogCapture() {
      appender =
          WriterAppender.newBuilder()
              .setName("test-log-capture")
              .setTarget(buffer)
              .setLayout(PatternLayout.newBuilder().withPattern("%d %p %c: %m%n%ex").build())
              .build();
      appender.start();
      context.getConfiguration().addAppender(appender);
      context.getConfiguration().getRootLogger().addAppender(appender, null, null);
      context.updateLoggers();
    }

    public String text() {
      synchronized (buffer) {
        return buffer.toString();
      }
    }

    @Override
    public void close() {
      context.getConfiguration().getRootLogger().removeAppender(appender.getName());
      context.updateLoggers();
      appender.stop();
    }
  }
}
