package org.prefscore.job.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.prefscore.job.config.Redactor;
import org.prefscore.job.config.RunControl;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The run's output on any Hadoop FS: the only class that writes it. A run never writes into its
 * published folder {@code <output.path>/<run.id>/} while it works: it writes into a staging folder
 * of its own, {@code <output.path>/_prefscore-staging/<run.id>/attempt-<time>-<id>/} (names
 * starting with {@code _} are hidden from Spark's and Hadoop's readers), and {@link #publish}es at
 * the end. docs/outputs.md describes the protocol and what a reader must check.
 *
 * <p>Lifecycle: {@link #begin} (under the run id's {@link RunLease}) makes the staging folder and
 * removes what dead attempts left there; {@link #write}, {@link #writeText} and {@link #read} work
 * on the staging folder; {@link #publish} makes it the run's output: by a directory rename with
 * {@link RunControl.Commit#RENAME} (the previous output is renamed aside, the staging folder
 * renamed in, the previous output deleted), or with {@link RunControl.Commit#MANIFEST} on object
 * stores by moving each data file in under its unique name, then writing {@code manifest.json},
 * which lists every data file, then {@code _SUCCESS}, then deleting the files the previous manifest
 * listed. Until then the previous complete output of the run id is untouched. A run that fails
 * calls {@link #markFailed}: its staging folder gets {@code _FAILED}.
 */
public final class RunOutput {

  private static final Logger LOG = LoggerFactory.getLogger(RunOutput.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  public static final String MANIFEST = "manifest.json";
  public static final String SUCCESS = "_SUCCESS";
  public static final String FAILED = "_FAILED";

  /** The folder under output.path that holds every run id's staging area. */
  public static final String STAGING_ROOT = "_prefscore-staging";

  private final SparkSession spark;
  private final String runId;
  private final Path published;
  private final Path area;
  private final Path attempt;
  private final FileSystem fs;
  private final RunControl.Commit commit;

  /**
   * The schema of each table {@link #write} wrote: {@link #read} passes it to the reader (which
   * makes every field nullable, as a read of the footers would), so a read runs no Spark job to
   * take the schema from a Parquet footer.
   */
  private final Map<String, StructType> written = new java.util.concurrent.ConcurrentHashMap<>();

  /** run.round, written into every row of every table; 0: the rows are written as given. */
  private final int round;

  /** A data file of the staged output: its path relative to the run folder, and its size. */
  public record DataFile(String path, long bytes) {}

  public RunOutput(SparkSession spark, String outputPath, String runId, RunControl.Commit commit) {
    this(spark, outputPath, runId, commit, false, 0);
  }

  /**
   * As above; {@link #write} sets the column {@code round} of every table it writes to {@code
   * round} (run.round), so every output row says which iterative West-of-N round wrote it.
   */
  public RunOutput(
      SparkSession spark, String outputPath, String runId, RunControl.Commit commit, int round) {
    this(spark, outputPath, runId, commit, false, round);
  }

  /** {@code finished}: work on the published folder itself (a finished run read back). */
  private RunOutput(
      SparkSession spark,
      String outputPath,
      String runId,
      RunControl.Commit commit,
      boolean finished,
      int round) {
    this.round = round;
    this.spark = spark;
    this.runId = runId;
    this.commit = commit;
    Path root = new Path(outputPath);
    try {
      this.fs = root.getFileSystem(spark.sparkContext().hadoopConfiguration());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the file system of " + root, e);
    }
    this.published = fs.makeQualified(new Path(root, runId));
    this.area = fs.makeQualified(new Path(new Path(root, STAGING_ROOT), runId));
    this.attempt =
        finished
            ? published
            : new Path(
                area,
                "attempt-"
                    + DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
                        .withZone(ZoneOffset.UTC)
                        .format(Instant.now())
                    + "-"
                    + UUID.randomUUID().toString().substring(0, 8));
  }

  /**
   * A finished run's folder {@code runDir}, to read it back (and write beside it, as the report
   * rebuild does): reads and writes go to the published folder itself, there is no staging.
   */
  public static RunOutput of(SparkSession spark, String runDir) {
    Path dir = new Path(runDir);
    if (dir.getParent() == null) {
      throw new IllegalArgumentException("not a run folder: " + Redactor.maskUserInfo(runDir));
    }
    return new RunOutput(
        spark, dir.getParent().toString(), dir.getName(), RunControl.Commit.RENAME, true, 0);
  }

  /** The qualified published run folder. */
  public String path() {
    return published.toString();
  }

  /** The staging folder of this attempt. */
  public String stagingPath() {
    return attempt.toString();
  }

  /** The run id's staging area (lease, attempts, resumable work). */
  public Path area() {
    return area;
  }

  public FileSystem fileSystem() {
    return fs;
  }

  public RunControl.Commit commit() {
    return commit;
  }

  /** A table of the staged output (read by the verify stage before publishing). */
  public String path(String table) {
    return new Path(attempt, table).toString();
  }

  /**
   * Makes this attempt's staging folder; removes the staging folders of earlier attempts (dead:
   * this run holds the lease) and anything a publish that died midway renamed aside.
   */
  public void begin() {
    try {
      fs.mkdirs(area);
      for (FileStatus st : fs.listStatus(area)) {
        String name = st.getPath().getName();
        if (name.startsWith("attempt-") || name.startsWith("replaced-")) {
          LOG.info("removing the staging folder of an earlier attempt: {}", redact(st.getPath()));
          fs.delete(st.getPath(), true);
        }
      }
      if (!fs.mkdirs(attempt)) {
        throw new IOException("mkdirs returned false");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot make the staging folder " + attempt, e);
    }
  }

  /**
   * Writes several tables at once, each {@link #write} on a thread of its own, and returns when all
   * have finished. Each table is its own Spark query over persisted stage outputs, so what each
   * file holds is what one write after another would give; run together, one query's planning, code
   * generation and commit on the driver overlap another's tasks, which is most of what a small
   * table's write costs. When a write fails, the others still finish (nothing is left half-written
   * behind the run's failure) and the first failure is thrown, the others suppressed in it.
   *
   * @param tables each table's name and rows, in the order the log lists them
   */
  public void writeAll(Map<String, Dataset<Row>> tables) {
    if (tables.size() <= 1) {
      tables.forEach(this::write);
      return;
    }
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(
            tables.size(),
            r -> {
              Thread t = new Thread(r, "prefscore-write");
              t.setDaemon(true);
              return t;
            });
    try {
      List<java.util.concurrent.Future<?>> writes = new ArrayList<>();
      tables.forEach((table, rows) -> writes.add(pool.submit(() -> write(table, rows))));
      RuntimeException failure = null;
      for (java.util.concurrent.Future<?> w : writes) {
        try {
          w.get();
        } catch (java.util.concurrent.ExecutionException e) {
          RuntimeException cause =
              e.getCause() instanceof RuntimeException re
                  ? re
                  : new IllegalStateException("a table write failed", e.getCause());
          if (failure == null) {
            failure = cause;
          } else {
            failure.addSuppressed(cause);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while writing the tables", e);
        }
      }
      if (failure != null) {
        throw failure;
      }
    } finally {
      pool.shutdown();
    }
  }

  public void write(String table, Dataset<Row> rows) {
    long start = System.nanoTime();
    if (round > 0) {
      // Replaces the (null) column where the rows have it, else appends it: the tables'
      // schemas (OutputSchema) end with it.
      rows =
          rows.withColumn(
              org.prefscore.spark.OutputSchema.ROUND,
              org.apache.spark.sql.functions.lit(round).cast("int"));
    }
    rows.write().mode(SaveMode.Overwrite).parquet(path(table));
    written.put(table, rows.schema());
    LOG.info("wrote {} in {} ms", table, (System.nanoTime() - start) / 1_000_000);
  }

  /**
   * A table of the output as written: with the schema it was written with when this instance wrote
   * it (no footer-reading job), else with the schema in its Parquet footers (a finished run read
   * back).
   */
  public Dataset<Row> read(String table) {
    StructType schema = written.get(table);
    return schema == null
        ? spark.read().parquet(path(table))
        : spark.read().schema(schema).parquet(path(table));
  }

  /** Whether the folder this output works on holds {@code name} (a table folder or a file). */
  public boolean exists(String name) {
    try {
      return fs.exists(new Path(attempt, name));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot look for " + name + " in " + attempt, e);
    }
  }

  /** A small text file of the folder this output works on, as UTF-8. */
  public String readText(String name) {
    try (java.io.InputStream in = fs.open(new Path(attempt, name))) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot read " + name + " of " + Redactor.maskUserInfo(attempt.toString()), e);
    }
  }

  /** Writes a small text file into the staging folder (overwriting). */
  public void writeText(String name, String text) {
    writeText(new Path(attempt, name), text);
  }

  private void writeText(Path file, String text) {
    try (OutputStream out = fs.create(file, true)) {
      out.write(text.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  /**
   * Every data file of the staged output, per table folder ({@code ""}: files at the top, such as
   * evaluation.json): Parquet files and JSON files, never markers or checksums.
   */
  public Map<String, List<DataFile>> dataFiles() {
    Map<String, List<DataFile>> files = new LinkedHashMap<>();
    try {
      RemoteIterator<LocatedFileStatus> it = fs.listFiles(attempt, true);
      String prefix = attempt.toUri().getPath() + "/";
      List<DataFile> all = new ArrayList<>();
      while (it.hasNext()) {
        LocatedFileStatus st = it.next();
        String rel = st.getPath().toUri().getPath().substring(prefix.length());
        if (isData(rel)) {
          all.add(new DataFile(rel, st.getLen()));
        }
      }
      all.sort(java.util.Comparator.comparing(DataFile::path));
      for (DataFile f : all) {
        int slash = f.path().indexOf('/');
        files
            .computeIfAbsent(slash < 0 ? "" : f.path().substring(0, slash), k -> new ArrayList<>())
            .add(f);
      }
      return files;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list the staged output " + attempt, e);
    }
  }

  private static boolean isData(String rel) {
    String name = rel.substring(rel.lastIndexOf('/') + 1);
    return !name.startsWith("_")
        && !name.startsWith(".")
        && !rel.equals(MANIFEST)
        && (name.endsWith(".parquet") || name.endsWith(".json") || name.endsWith(".html"));
  }

  /**
   * Publishes the staged output with {@code manifestJson} as its manifest (it must list {@link
   * #dataFiles}); {@code lease} is checked first: a run that lost its lease publishes nothing.
   */
  public void publish(String manifestJson, RunLease lease) {
    lease.verify();
    try {
      if (commit == RunControl.Commit.MANIFEST) {
        publishByManifest(manifestJson);
      } else {
        publishByRename(manifestJson);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot publish " + attempt + " as " + published, e);
    }
    LOG.info("published {} ({} commit)", redact(published), commit.name().toLowerCase());
  }

  private void publishByRename(String manifestJson) throws IOException {
    writeText(MANIFEST, manifestJson);
    writeText(SUCCESS, "");
    Path replaced = new Path(area, "replaced-" + attempt.getName());
    boolean hadPrevious = fs.exists(published);
    if (hadPrevious && !fs.rename(published, replaced)) {
      throw new IOException("rename of the previous output to " + replaced + " returned false");
    }
    if (!fs.rename(attempt, published)) {
      if (hadPrevious) {
        fs.rename(replaced, published);
      }
      throw new IOException("rename returned false");
    }
    if (hadPrevious) {
      fs.delete(replaced, true);
    }
  }

  private void publishByManifest(String manifestJson) throws IOException {
    Set<String> keep = new HashSet<>(List.of(MANIFEST, SUCCESS));
    fs.mkdirs(published);
    // The previous manifest stays in place (its files too) until the new one replaces it; only
    // the run-level marker goes first, so a reader who globs folders sees a run in flux.
    fs.delete(new Path(published, SUCCESS), false);
    for (List<DataFile> table : dataFiles().values()) {
      for (DataFile f : table) {
        keep.add(f.path());
        Path target = new Path(published, f.path());
        fs.mkdirs(target.getParent());
        if (fs.exists(target)) {
          fs.delete(target, false); // evaluation.json: same name every run
        }
        if (!fs.rename(new Path(attempt, f.path()), target)) {
          throw new IOException("moving " + f.path() + " into " + published + " returned false");
        }
      }
    }
    writeText(new Path(published, MANIFEST), manifestJson);
    writeText(new Path(published, SUCCESS), "");
    // Now that the new manifest is in place, the previous run's files go.
    RemoteIterator<LocatedFileStatus> it = fs.listFiles(published, true);
    String prefix = published.toUri().getPath() + "/";
    List<Path> stale = new ArrayList<>();
    while (it.hasNext()) {
      LocatedFileStatus st = it.next();
      String rel = st.getPath().toUri().getPath().substring(prefix.length());
      if (!keep.contains(rel)) {
        stale.add(st.getPath());
      }
    }
    for (Path p : stale) {
      fs.delete(p, false);
    }
    fs.delete(attempt, true);
  }

  /**
   * Marks this attempt's staging folder as failed ({@code _FAILED}: the run id, when, why); the
   * published output, if any, is untouched. Never throws.
   */
  public void markFailed(String reason) {
    try {
      if (!fs.exists(attempt)) {
        return;
      }
      ObjectNode n = JSON.createObjectNode();
      n.put("run_id", runId);
      n.put("status", "FAILED");
      n.put("failed_at", Instant.now().toString());
      n.put("error", reason);
      writeText(new Path(attempt, FAILED), JSON.writeValueAsString(n) + "\n");
    } catch (IOException | RuntimeException e) {
      LOG.warn("cannot mark {} as failed: {}", attempt, e.toString());
    }
  }

  private static String redact(Path p) {
    return Redactor.maskUserInfo(p.toString());
  }
}
