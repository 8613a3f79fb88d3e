package org.prefscore.job.io;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.prefscore.job.config.Redactor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The run's output folder {@code <output.path>/<run.id>/}, on any Hadoop FS: the only class that
 * writes. Lifecycle: {@link #clear} deletes whatever a previous attempt of the same run id left (so
 * a retried Airflow task starts clean), {@link #write} writes each table, {@link #finish} writes
 * {@code manifest.json} and then the {@code _SUCCESS} marker, last. A run that fails before {@code
 * finish} leaves no manifest and no marker, so its output never looks complete.
 */
public final class RunOutput {

  private static final Logger LOG = LoggerFactory.getLogger(RunOutput.class);
  public static final String MANIFEST = "manifest.json";
  public static final String SUCCESS = "_SUCCESS";

  private final SparkSession spark;
  private final Path dir;
  private final FileSystem fs;

  public RunOutput(SparkSession spark, String outputPath, String runId) {
    this.spark = spark;
    this.dir = new Path(outputPath, runId);
    try {
      this.fs = dir.getFileSystem(spark.sparkContext().hadoopConfiguration());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the file system of " + dir, e);
    }
  }

  /** The run folder {@code runDir} (a finished run's output, to read it back). */
  public static RunOutput of(SparkSession spark, String runDir) {
    Path dir = new Path(runDir);
    if (dir.getParent() == null) {
      throw new IllegalArgumentException("not a run folder: " + Redactor.maskUserInfo(runDir));
    }
    return new RunOutput(spark, dir.getParent().toString(), dir.getName());
  }

  /** The qualified run folder. */
  public String path() {
    return fs.makeQualified(dir).toString();
  }

  public String path(String table) {
    return new Path(path(), table).toString();
  }

  /** Deletes a previous attempt's output of this run id. */
  public void clear() {
    try {
      if (fs.exists(dir)) {
        LOG.info(
            "replacing the previous output of this run id: deleting {}",
            Redactor.maskUserInfo(path()));
        if (!fs.delete(dir, true)) {
          throw new IOException("delete returned false");
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete the previous output " + dir, e);
    }
  }

  public void write(String table, Dataset<Row> rows) {
    long start = System.nanoTime();
    rows.write().mode(SaveMode.Overwrite).parquet(path(table));
    LOG.info("wrote {} in {} ms", table, (System.nanoTime() - start) / 1_000_000);
  }

  public Dataset<Row> read(String table) {
    return spark.read().parquet(path(table));
  }

  /** Whether the run folder holds {@code name} (a table folder or a file). */
  public boolean exists(String name) {
    try {
      return fs.exists(new Path(dir, name));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot look for " + name + " in " + dir, e);
    }
  }

  /** A small text file of the run folder, as UTF-8. */
  public String readText(String name) {
    try (java.io.InputStream in = fs.open(new Path(dir, name))) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot read " + name + " of " + Redactor.maskUserInfo(path()), e);
    }
  }

  /** Writes a small text file into the run folder (overwriting). */
  public void writeText(String name, String text) {
    try (OutputStream out = fs.create(new Path(dir, name), true)) {
      out.write(text.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + name + " to " + dir, e);
    }
  }

  /** Writes the manifest, then the success marker: the last two writes of a run. */
  public void finish(String manifestJson) {
    writeText(MANIFEST, manifestJson);
    writeText(SUCCESS, "");
  }
}
