package org.prefscore.job.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One writer per run id: a lease file {@code lease.json} in the run's staging folder, created with
 * create-if-absent semantics ({@link FileSystem#create(Path, boolean) create(path, false)}: atomic
 * on local file systems and HDFS) and rewritten by a heartbeat thread every lease/4 seconds.
 *
 * <p>A lease is live while the file's modification time (the file system's clock, not the holder's)
 * is younger than {@code run.lease-seconds}; a lease whose holder ran on this host under a process
 * id that no longer runs is dead at once. A dead lease is taken over. On object stores, where
 * create-if-absent is a HEAD then a PUT, the taker waits a settle interval and reads the file back:
 * only the one whose token is there holds the lease (the PUT that landed last wins, so of two
 * racing takers exactly one reads its own token).
 *
 * <p>The holder checks the file still carries its token at every heartbeat and before it publishes
 * ({@link #verify}): a holder that stalled past the expiry and was taken over stops instead of
 * interleaving output.
 */
public final class RunLease implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(RunLease.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  public static final String FILE = "lease.json";

  private final FileSystem fs;
  private final Path file;
  private final String token = UUID.randomUUID().toString();
  private final ObjectNode content;
  private final long expiryMillis;
  private final boolean objectStore;
  private Thread heartbeat;
  private volatile String lost;

  private RunLease(
      FileSystem fs, Path file, String runId, long expiryMillis, boolean objectStore, Instant now) {
    this.fs = fs;
    this.file = file;
    this.expiryMillis = expiryMillis;
    this.objectStore = objectStore;
    content = JSON.createObjectNode();
    content.put("run_id", runId);
    content.put("token", token);
    content.put("host", host());
    content.put("pid", ProcessHandle.current().pid());
    content.put("started_at", now.toString());
  }

  /**
   * Takes the lease on {@code file} or throws {@link RunRefusedException} naming the live holder
   * (host, pid, run start time, last heartbeat).
   */
  public static RunLease acquire(
      FileSystem fs, Path file, String runId, int leaseSeconds, boolean objectStore) {
    // No .crc side files: the heartbeat rewrites the file, and a reader must never see a stale
    // checksum.
    FileSystem raw = fs instanceof LocalFileSystem local ? local.getRawFileSystem() : fs;
    RunLease lease =
        new RunLease(
            raw, file, runId, TimeUnit.SECONDS.toMillis(leaseSeconds), objectStore, Instant.now());
    lease.take();
    lease.startHeartbeat(Math.max(1000L, lease.expiryMillis / 4));
    return lease;
  }

  /** What a lease file says of its holder, and whether it is still live. */
  public record Holder(String host, long pid, String startedAt, Instant heartbeat, boolean live) {
    String describe() {
      return "host "
          + host
          + ", pid "
          + pid
          + ", started "
          + startedAt
          + ", last heartbeat "
          + heartbeat;
    }
  }

  /** The current holder of {@code file}, if there is a lease file. */
  public static Optional<Holder> holder(FileSystem fs, Path file, long expiryMillis) {
    try {
      FileStatus st = fs.getFileStatus(file);
      JsonNode n;
      try (InputStream in = fs.open(file)) {
        n = JSON.readTree(in.readAllBytes());
      } catch (IOException | RuntimeException unreadable) {
        // a half-written or foreign file: live until it expires by its age
        n = JSON.createObjectNode();
      }
      Instant beat = Instant.ofEpochMilli(st.getModificationTime());
      String host = n.path("host").asText("?");
      long pid = n.path("pid").asLong(-1);
      boolean live = System.currentTimeMillis() - st.getModificationTime() < expiryMillis;
      if (live && host.equals(host()) && pid > 0 && ProcessHandle.of(pid).isEmpty()) {
        live = false; // its process is gone
      }
      return Optional.of(new Holder(host, pid, n.path("started_at").asText("?"), beat, live));
    } catch (java.io.FileNotFoundException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the lease " + file, e);
    }
  }

  private void take() {
    try {
      for (int attempt = 0; attempt < 3; attempt++) {
        Optional<Holder> h = holder(fs, file, expiryMillis);
        if (h.isPresent()) {
          if (h.get().live()) {
            throw refused(h.get());
          }
          LOG.warn("taking over the expired lease of {} ({})", file, h.get().describe());
          fs.delete(file, false);
        }
        try (OutputStream out = createNew()) {
          out.write(JSON.writeValueAsBytes(content));
        } catch (FileAlreadyExistsException | java.nio.file.FileAlreadyExistsException raced) {
          continue;
        } catch (IOException e) {
          if (fs.exists(file)) {
            continue; // another run created it first
          }
          throw e;
        }
        if (objectStore) {
          Thread.sleep(1500);
        }
        if (ours()) {
          return;
        }
      }
      Optional<Holder> h = holder(fs, file, expiryMillis);
      throw h.isPresent()
          ? refused(h.get())
          : new RunRefusedException("could not take the lease " + file + " (contended)");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the lease " + file, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while taking the lease", e);
    }
  }

  /**
   * Create-if-absent: on the local file system through {@code O_CREAT|O_EXCL} (Hadoop's local
   * create checks, then opens), elsewhere through {@code create(path, false)}.
   */
  private OutputStream createNew() throws IOException {
    if (fs instanceof RawLocalFileSystem local) {
      java.nio.file.Path p = local.pathToFile(file).toPath();
      java.nio.file.Files.createDirectories(p.getParent());
      return java.nio.file.Files.newOutputStream(p, java.nio.file.StandardOpenOption.CREATE_NEW);
    }
    return fs.create(file, false);
  }

  private RunRefusedException refused(Holder h) {
    return new RunRefusedException(
        "run.id "
            + content.path("run_id").asText()
            + " is being written by another run ("
            + h.describe()
            + "); its lease "
            + file
            + " expires "
            + expiryMillis / 1000
            + " s after its last heartbeat. Use another run.id, or wait");
  }

  private boolean ours() throws IOException {
    try (InputStream in = fs.open(file)) {
      return token.equals(JSON.readTree(in.readAllBytes()).path("token").asText());
    } catch (java.io.FileNotFoundException | com.fasterxml.jackson.core.JacksonException e) {
      return false;
    }
  }

  private void startHeartbeat(long intervalMillis) {
    heartbeat =
        new Thread(
            () -> {
              try {
                while (!Thread.currentThread().isInterrupted()) {
                  Thread.sleep(intervalMillis);
                  beat();
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "prefscore-lease");
    heartbeat.setDaemon(true);
    heartbeat.start();
  }

  private void beat() {
    try {
      if (!ours()) {
        lost = "the lease " + file + " was taken over by another run";
        LOG.error(lost);
        Thread.currentThread().interrupt();
        return;
      }
      content.put("heartbeat_at", Instant.now().toString());
      try (OutputStream out = fs.create(file, true)) {
        out.write(JSON.writeValueAsBytes(content));
      }
    } catch (IOException e) {
      LOG.warn("lease heartbeat failed (retrying): {}", e.toString());
    }
  }

  /** Throws unless this run still holds the lease (checked before publishing). */
  public void verify() {
    if (lost != null) {
      throw new IllegalStateException(lost + "; not publishing");
    }
    try {
      if (!ours()) {
        throw new IllegalStateException(
            "the lease " + file + " was taken over by another run; not publishing");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the lease " + file, e);
    }
  }

  /** The run start time this lease records. */
  public String startedAt() {
    return content.path("started_at").asText();
  }

  /** Stops the heartbeat and deletes the lease file if it is still this run's. */
  @Override
  public void close() {
    if (heartbeat != null) {
      heartbeat.interrupt();
      try {
        heartbeat.join(2000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    try {
      if (ours()) {
        fs.delete(file, false);
      }
    } catch (IOException e) {
      LOG.warn("cannot release the lease {}: {}", file, e.toString());
    }
  }

  static String host() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "unknown-host";
    }
  }
}
