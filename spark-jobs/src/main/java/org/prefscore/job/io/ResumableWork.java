package org.prefscore.job.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileChecksum;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.prefscore.job.config.ConfigKeys;
import org.prefscore.job.config.PipelineConfig;
import org.prefscore.spark.PartitionCheckpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model stages' work persisted in the run id's staging area, {@code
 * <output.path>/_prefscore-staging/<run.id>/work/}, so that {@code --resume} redoes only what a
 * killed or failed run did not finish: one folder per model stage holding a {@link
 * PartitionCheckpoint} file per finished partition, and {@code fingerprint.json}, what the work was
 * made from:
 *
 * <ul>
 *   <li>{@code config}: every key of the effective configuration except those that cannot change a
 *       row ({@link #NOT_FINGERPRINTED}: the run id's handling, progress lines, the Spark master
 *       and Spark properties, model paths: models count by content);
 *   <li>{@code models}: the {@link ModelFingerprint} of each model role;
 *   <li>{@code input}: each input file's name, size and content checksum (the file system's own
 *       checksum where it has one, as HDFS, else SHA-256 of the bytes; for inputs over 1 GiB
 *       without one, size and modification time);
 *   <li>{@code partitions}: the model stages' partition count, which fixes what rows a partition
 *       holds.
 * </ul>
 *
 * A fresh run (no resume) starts an empty work folder; a resume whose fingerprint differs is
 * refused, naming each difference; a resume with no work folder starts fresh. The folder is deleted
 * once the run is published.
 */
public final class ResumableWork {

  private static final Logger LOG = LoggerFactory.getLogger(ResumableWork.class);
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  static final String FINGERPRINT = "fingerprint.json";
  private static final long HASH_LIMIT_BYTES = 1L << 30;

  /**
   * Keys that never change the persisted work (run.round is stamped on the rows only when the
   * tables are written; the mix is built after the model stages, from nothing persisted).
   */
  public static final Set<String> NOT_FINGERPRINTED =
      Set.of(
          ConfigKeys.RUN_ID.name(),
          ConfigKeys.RUN_RESUME.name(),
          ConfigKeys.RUN_ROUND.name(),
          ConfigKeys.MIX_BASE_PREFERENCES.name(),
          ConfigKeys.RUN_LEASE_SECONDS.name(),
          ConfigKeys.OUTPUT_PATH.name(),
          ConfigKeys.OUTPUT_COMMIT.name(),
          ConfigKeys.PROGRESS_INTERVAL.name(),
          ConfigKeys.SPARK_MASTER.name(),
          ConfigKeys.INPUT_PATH.name(),
          ConfigKeys.MODEL_POLICY.name(),
          ConfigKeys.MODEL_REWARD.name(),
          ConfigKeys.MODEL_REFERENCE.name(),
          ConfigKeys.MODEL_CHECKPOINT.name(),
          ConfigKeys.MODEL_JUDGE.name(),
          ConfigKeys.MODEL_PAIRWISE_CLASSIFIER.name());

  private final FileSystem fs;
  private final Path dir;
  private final Configuration hadoop;
  private final ObjectNode fingerprint;
  private final boolean resumed;
  private final ObjectNode record = JSON.createObjectNode();

  private ResumableWork(
      FileSystem fs, Path dir, Configuration hadoop, ObjectNode fingerprint, boolean resumed) {
    this.fs = fs;
    this.dir = dir;
    this.hadoop = hadoop;
    this.fingerprint = fingerprint;
    this.resumed = resumed;
    record.put("resumed", resumed);
    record.put("fingerprint_sha256", sha256(fingerprint.toString()));
  }

  /**
   * Opens the run's work folder: reuses it when {@code resume} and its fingerprint equals this
   * run's; throws {@link RunRefusedException} naming what differs when it does not; else starts it
   * empty.
   *
   * @param models the manifest's {@code models} object (role → fingerprint)
   */
  public static ResumableWork open(
      RunOutput output,
      PipelineConfig config,
      int partitions,
      JsonNode models,
      Configuration hadoop,
      boolean resume) {
    FileSystem fs = output.fileSystem();
    Path dir = new Path(output.area(), "work");
    ObjectNode fp = fingerprint(config, partitions, models, hadoop);
    try {
      Path file = new Path(dir, FINGERPRINT);
      if (resume && fs.exists(file)) {
        JsonNode previous;
        try (InputStream in = fs.open(file)) {
          previous = JSON.readTree(in);
        }
        List<String> diff = differences(previous, fp);
        if (!diff.isEmpty()) {
          throw new RunRefusedException(
              "cannot resume run.id "
                  + config.runId()
                  + ": its persisted work was made from a different "
                  + String.join("; ", diff)
                  + ". Rerun without --resume (run.resume=false) to start over");
        }
        LOG.info("resuming run {} from {}", config.runId(), dir);
        return new ResumableWork(fs, dir, hadoop, fp, true);
      }
      if (resume) {
        LOG.info("run.resume: run {} has no persisted work; starting fresh", config.runId());
      }
      fs.delete(dir, true);
      fs.mkdirs(dir);
      try (OutputStream out = fs.create(file, true)) {
        out.write(JSON.writeValueAsBytes(fp));
      }
      return new ResumableWork(fs, dir, hadoop, fp, false);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the run's work folder " + dir, e);
    }
  }

  /** What a model stage found persisted and where it persists. */
  public final class Stage {
    private final String name;
    private final Path stageDir;
    private final Set<Integer> reused;

    private Stage(String name) throws IOException {
      this.name = name;
      this.stageDir = new Path(dir, name);
      fs.mkdirs(stageDir);
      reused = new TreeSet<>();
      for (FileStatus st : fs.listStatus(stageDir)) {
        int p = PartitionCheckpoint.partitionOf(st.getPath().getName());
        if (p >= 0) {
          reused.add(p);
        }
      }
    }

    /** {@code function} persisting its partitions into this stage's folder. */
    public PartitionCheckpoint wrap(
        org.apache.spark.api.java.function.MapPartitionsFunction<
                org.apache.spark.sql.Row, org.apache.spark.sql.Row>
            function) {
      return new PartitionCheckpoint(function, stageDir.toString(), hadoop);
    }

    /** Partitions whose rows were persisted before this run started (reused, not recomputed). */
    public Set<Integer> reused() {
      return reused;
    }

    /**
     * Records the stage in the manifest's {@code resume} object: {@code rowsByPartition} (an action
     * result on the stage's output) split into the rows reused and the rows computed by this run.
     */
    public void record(String unit, Map<Integer, Long> rowsByPartition, int partitions) {
      long reusedRows = 0;
      long computed = 0;
      for (Map.Entry<Integer, Long> e : rowsByPartition.entrySet()) {
        if (reused.contains(e.getKey())) {
          reusedRows += e.getValue();
        } else {
          computed += e.getValue();
        }
      }
      ObjectNode n = record.putObject(name);
      n.put("partitions", partitions);
      n.put("partitions_reused", reused.size());
      n.put(unit + "_reused", reusedRows);
      n.put(unit + "_computed", computed);
    }
  }

  public Stage stage(String name) {
    try {
      return new Stage(name);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list the persisted work of " + name, e);
    }
  }

  public boolean resumed() {
    return resumed;
  }

  /** The manifest's {@code resume} object. */
  public ObjectNode manifestNode() {
    return record;
  }

  /** Deletes the work folder (the run is published). */
  public void delete() {
    try {
      fs.delete(dir, true);
    } catch (IOException e) {
      LOG.warn("cannot delete the run's work folder {}: {}", dir, e.toString());
    }
  }

  static ObjectNode fingerprint(
      PipelineConfig config, int partitions, JsonNode models, Configuration hadoop) {
    ObjectNode fp = JSON.createObjectNode();
    fp.put("mode", config.mode().cliName());
    ObjectNode cfg = fp.putObject("config");
    new TreeMap<>(config.redacted())
        .forEach(
            (k, v) -> {
              if (!NOT_FINGERPRINTED.contains(k) && !k.startsWith(ConfigKeys.SPARK_CONF_PREFIX)) {
                cfg.put(k, v);
              }
            });
    ObjectNode m = fp.putObject("models");
    models
        .fields()
        .forEachRemaining(e -> m.put(e.getKey(), e.getValue().path("fingerprint_sha256").asText()));
    fp.set("input", input(config.input().path(), hadoop));
    fp.put("partitions", partitions);
    return fp;
  }

  private static ObjectNode input(String path, Configuration hadoop) {
    ObjectNode n = JSON.createObjectNode();
    try {
      Path p = new Path(path);
      FileSystem fs = p.getFileSystem(hadoop);
      List<FileStatus> files = new ArrayList<>();
      FileStatus[] matched = fs.globStatus(p);
      if (matched != null) {
        for (FileStatus st : matched) {
          if (st.isDirectory()) {
            RemoteIterator<LocatedFileStatus> it = fs.listFiles(st.getPath(), true);
            while (it.hasNext()) {
              LocatedFileStatus f = it.next();
              String name = f.getPath().getName();
              if (!name.startsWith("_") && !name.startsWith(".")) {
                files.add(f);
              }
            }
          } else {
            files.add(st);
          }
        }
      }
      files.sort(java.util.Comparator.comparing(f -> f.getPath().toString()));
      long total = files.stream().mapToLong(FileStatus::getLen).sum();
      for (FileStatus f : files) {
        String key = f.getPath().toUri().getPath();
        FileChecksum checksum = fs.getFileChecksum(f.getPath());
        String value;
        if (checksum != null) {
          value = f.getLen() + " bytes, " + checksum;
        } else if (total <= HASH_LIMIT_BYTES) {
          try (InputStream in = fs.open(f.getPath())) {
            value = f.getLen() + " bytes, sha256 " + sha256(in);
          }
        } else {
          value = f.getLen() + " bytes, modified " + f.getModificationTime();
        }
        n.put(key, value);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot fingerprint the input " + path, e);
    }
    return n;
  }

  /** Human-readable differences between two fingerprints (empty: equal). */
  static List<String> differences(JsonNode was, JsonNode now) {
    List<String> diff = new ArrayList<>();
    if (!was.path("mode").equals(now.path("mode"))) {
      diff.add("mode (" + was.path("mode").asText() + " -> " + now.path("mode").asText() + ")");
    }
    for (String k : keys(was.path("config"), now.path("config"))) {
      JsonNode a = was.path("config").path(k);
      JsonNode b = now.path("config").path(k);
      if (!a.equals(b)) {
        diff.add("config " + k + " (" + text(a) + " -> " + text(b) + ")");
      }
    }
    for (String k : keys(was.path("models"), now.path("models"))) {
      JsonNode a = was.path("models").path(k);
      JsonNode b = now.path("models").path(k);
      if (!a.equals(b)) {
        diff.add("model " + k + " (fingerprint " + text(a) + " -> " + text(b) + ")");
      }
    }
    List<String> inputs = new ArrayList<>();
    for (String k : keys(was.path("input"), now.path("input"))) {
      JsonNode a = was.path("input").path(k);
      JsonNode b = now.path("input").path(k);
      if (!a.equals(b)) {
        inputs.add(
            k + (a.isMissingNode() ? " (added)" : b.isMissingNode() ? " (removed)" : " (changed)"));
      }
    }
    if (!inputs.isEmpty()) {
      diff.add("input: " + String.join(", ", inputs));
    }
    if (!was.path("partitions").equals(now.path("partitions"))) {
      diff.add(
          "partition count of the model stages ("
              + was.path("partitions").asText()
              + " -> "
              + now.path("partitions").asText()
              + "; set spark.partitions to the first run's)");
    }
    return diff;
  }

  private static Set<String> keys(JsonNode a, JsonNode b) {
    Set<String> keys = new TreeSet<>();
    for (Iterator<String> it = a.fieldNames(); it.hasNext(); ) {
      keys.add(it.next());
    }
    for (Iterator<String> it = b.fieldNames(); it.hasNext(); ) {
      keys.add(it.next());
    }
    return keys;
  }

  private static String text(JsonNode n) {
    return n.isMissingNode() ? "unset" : "'" + n.asText() + "'";
  }

  private static String sha256(String s) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String sha256(InputStream in) throws IOException {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
