package org.prefscore.spark;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * A model stage that persists its output per partition as each task finishes, so that a run killed
 * midway can be resumed without redoing the partitions already done.
 *
 * <p>Partition {@code p}'s rows go to {@code <dir>/part-<p>.rows} (Java serialization of each row's
 * values: doubles and strings round-trip exactly), written under a temporary name by the task
 * attempt and renamed into place once the partition's last row has been handed on; a file under the
 * final name is therefore complete. When it exists at the start of a task, the task returns its
 * rows and never calls the wrapped function, so no model is loaded. Which rows land in partition
 * {@code p} is fixed by the stage's input partitioning (a hash of prompt_id, the same partition
 * count: the driver checks that through the run's fingerprint), and the wrapped function is
 * deterministic per partition, so a reused partition holds what a fresh task would compute.
 */
public final class PartitionCheckpoint implements MapPartitionsFunction<Row, Row> {

  private static final long serialVersionUID = 1L;
  private static final int MAGIC = 0x50534350; // "PSCP"

  private final MapPartitionsFunction<Row, Row> inner;
  private final String dir;
  private final HadoopConf conf;

  /**
   * @param inner the stage's function
   * @param dir the stage's checkpoint folder (any Hadoop FS URI)
   * @param conf the Hadoop configuration to reach it with (shipped to the executors)
   */
  public PartitionCheckpoint(
      MapPartitionsFunction<Row, Row> inner, String dir, Configuration conf) {
    this.inner = inner;
    this.dir = dir;
    this.conf = new HadoopConf(conf);
  }

  /** The name of partition {@code p}'s file in a checkpoint folder. */
  public static String fileName(int partition) {
    return String.format(java.util.Locale.ROOT, "part-%05d.rows", partition);
  }

  /** The partition of a file named by {@link #fileName}, or -1. */
  public static int partitionOf(String name) {
    if (!name.matches("part-\\d{5,}\\.rows")) {
      return -1;
    }
    return Integer.parseInt(name.substring(5, name.length() - 5));
  }

  @Override
  public Iterator<Row> call(Iterator<Row> input) throws Exception {
    TaskContext task = TaskContext.get();
    int partition = task == null ? 0 : task.partitionId();
    Path file = new Path(dir, fileName(partition));
    FileSystem fs = file.getFileSystem(conf.get());
    if (fs.exists(file)) {
      return read(fs, file);
    }
    long attempt = task == null ? 0 : task.taskAttemptId();
    Path tmp = new Path(dir, "_tmp-" + partition + "-" + attempt);
    return new Writing(inner.call(input), fs, tmp, file);
  }

  /**
   * Reads every row of a checkpoint file (all at once: a partition's rows, as Spark holds them).
   */
  private static Iterator<Row> read(FileSystem fs, Path file) throws IOException {
    java.util.List<Row> rows = new java.util.ArrayList<>();
    try (ObjectInputStream in =
        new ObjectInputStream(new BufferedInputStream(fs.open(file), 1 << 16))) {
      if (in.readInt() != MAGIC) {
        throw new IOException(file + " is not a checkpoint file");
      }
      int n;
      while ((n = in.readInt()) >= 0) {
        Object[] values = new Object[n];
        for (int i = 0; i < n; i++) {
          values[i] = in.readObject();
        }
        rows.add(RowFactory.create(values));
      }
    } catch (ClassNotFoundException e) {
      throw new IOException("cannot read " + file, e);
    }
    return rows.iterator();
  }

  /** Hands on the wrapped rows and writes each; renames the file into place after the last. */
  private static final class Writing implements Iterator<Row> {
    private final Iterator<Row> rows;
    private final FileSystem fs;
    private final Path tmp;
    private final Path file;
    private ObjectOutputStream out;
    private long written;
    private boolean done;

    Writing(Iterator<Row> rows, FileSystem fs, Path tmp, Path file) throws IOException {
      this.rows = rows;
      this.fs = fs;
      this.tmp = tmp;
      this.file = file;
      this.out = new ObjectOutputStream(new BufferedOutputStream(fs.create(tmp, true), 1 << 16));
      out.writeInt(MAGIC);
    }

    @Override
    public boolean hasNext() {
      boolean more = rows.hasNext();
      if (!more && !done) {
        done = true;
        finish();
      }
      return more;
    }

    @Override
    public Row next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Row r = rows.next();
      try {
        out.writeInt(r.length());
        for (int i = 0; i < r.length(); i++) {
          out.writeObject(r.get(i));
        }
        if (++written % 512 == 0) {
          out.reset();
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write the checkpoint " + tmp, e);
      }
      return r;
    }

    private void finish() {
      try {
        out.writeInt(-1);
        out.close();
        out = null;
        if (!fs.rename(tmp, file) && !fs.exists(file)) {
          throw new IOException("rename to " + file + " returned false");
        }
        fs.delete(tmp, false);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot finish the checkpoint " + file, e);
      }
    }
  }

  /**
   * A Hadoop configuration that travels with a task (Configuration is a Writable, not
   * Serializable).
   */
  static final class HadoopConf implements Serializable {
    private static final long serialVersionUID = 1L;
    private transient Configuration conf;

    HadoopConf(Configuration conf) {
      this.conf = conf;
    }

    Configuration get() {
      return conf;
    }

    private void writeObject(java.io.ObjectOutputStream out) throws IOException {
      out.defaultWriteObject();
      conf.write(new DataOutputStream(out));
    }

    private void readObject(java.io.ObjectInputStream in)
        throws IOException, ClassNotFoundException {
      in.defaultReadObject();
      conf = new Configuration(false);
      conf.readFields(new DataInputStream(in));
    }
  }
}
