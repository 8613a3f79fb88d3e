package org.prefscore.executor;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.RemoteIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Executor-local copies of model directories that live on a Hadoop file system (s3a://, hdfs://,
 * ...): ONNX Runtime and the tokenizer read local files, so an executor JVM copies such a directory
 * to local disk once and every task loads from that copy.
 *
 * <p><b>Layout</b> under the cache root: {@code <name>-<key>/} is a complete copy, where {@code
 * name} is the last path segment and {@code key} the first 16 hex digits of SHA-256 over the
 * qualified remote path and, for every file under it, its relative path, length and modification
 * time. A remote model that changes gets a new key, hence a new copy; an unchanged one is reused,
 * also by a later executor JVM on the same host.
 *
 * <p><b>Atomicity</b>: files are downloaded into {@code .partial-<name>-<key>-<random>/}, each
 * checked against its remote length, and the folder is then renamed to {@code <name>-<key>/} with
 * an atomic move. A folder with the final name is therefore always complete; a failed copy deletes
 * its partial folder, and one killed mid-way leaves only a {@code .partial-*} folder that nothing
 * ever loads.
 *
 * <p><b>Once per JVM</b> (with the one instance of {@link ExecutorRegistry#localCopies()}): a lock
 * per key serialises the threads of one JVM (the first copies, the others wait and reuse it), and a
 * file lock ({@code <name>-<key>.lock}) serialises executor JVMs sharing the cache root on one
 * host. Each call lists the remote directory once (to compute the key); only the first call per key
 * and host copies bytes.
 *
 * <p><b>Clean-up</b>: each copy's remote path is recorded beside it ({@code <name>-<key>.source}).
 * After a new copy of a remote directory, its copies older than the previous one are deleted (the
 * previous one is kept: a task elsewhere on the host may have listed the remote just before it
 * changed). A copy is deleted only under its file lock, after being renamed away from its final
 * name, and a failed deletion is logged, never fatal. Copies of other remote directories are never
 * touched, whatever their name.
 */
public final class LocalModelCache {

  private static final Logger LOG = LoggerFactory.getLogger(LocalModelCache.class);
  private static final Pattern SCHEME = Pattern.compile("^([A-Za-z][A-Za-z0-9+.-]+):.*");
  private static final Pattern UNSAFE = Pattern.compile("[^A-Za-z0-9._-]");

  private final Map<String, Object> locks = new ConcurrentHashMap<>();
  private final Map<String, Path> copies = new ConcurrentHashMap<>();
  private final AtomicInteger downloads = new AtomicInteger();

  /**
   * A cache with no copies known yet (copies already on disk are found and reused). An executor
   * uses the one of {@link ExecutorRegistry#localCopies()}.
   */
  public LocalModelCache() {}

  /**
   * Whether {@code directory} names a non-local Hadoop FS path: it has a URI scheme (two or more
   * characters, so a Windows drive letter is not one) other than {@code file}.
   */
  public static boolean isRemote(String directory) {
    var m = SCHEME.matcher(directory);
    return m.matches() && !m.group(1).equalsIgnoreCase("file");
  }

  /** A URL's scheme (group 1) and user-info (group 2), up to the last {@code @} of the token. */
  public static final Pattern URL_USER_INFO =
      Pattern.compile("([A-Za-z][A-Za-z0-9+.\\-]*://)([^\\s\"'<>,]*)@");

  /**
   * {@code text} with the user-info of every URL in it ({@code s3a://KEY:SECRET@bucket/...})
   * replaced by {@code ****}: what lies between {@code scheme://} and the last {@code @} before the
   * next whitespace, quote, comma or angle bracket (a secret may hold {@code /}). The one
   * implementation of this rule: the job's redaction ({@code org.prefscore.job.config.Redactor})
   * uses it too. What this cache logs and records about a source goes through it.
   */
  public static String withoutUserInfo(String text) {
    if (text == null || text.indexOf('@') < 0) {
      return text;
    }
    return URL_USER_INFO
        .matcher(text)
        .replaceAll(m -> java.util.regex.Matcher.quoteReplacement(m.group(1) + "****@"));
  }

  /**
   * The local copy of {@code remoteDirectory} under {@code cacheRoot}, copying it first when this
   * host has no complete copy of its current content.
   *
   * @throws UncheckedIOException when the directory cannot be listed or copied
   */
  public Path localize(String remoteDirectory, Configuration conf, Path cacheRoot) {
    try {
      org.apache.hadoop.fs.Path remote = new org.apache.hadoop.fs.Path(remoteDirectory);
      FileSystem fs = remote.getFileSystem(conf);
      org.apache.hadoop.fs.Path root = fs.makeQualified(remote);
      FileStatus status = fs.getFileStatus(root);
      if (!status.isDirectory()) {
        throw new IOException("not a directory");
      }
      List<RemoteFile> files = list(fs, root);
      String name = name(root);
      String key = key(root, files);
      Path absoluteRoot = cacheRoot.toAbsolutePath().normalize();
      String lockKey = absoluteRoot + "/" + name + "-" + key;
      synchronized (locks.computeIfAbsent(lockKey, k -> new Object())) {
        Path known = copies.get(lockKey);
        if (known != null && Files.isDirectory(known)) {
          return known;
        }
        Files.createDirectories(absoluteRoot);
        Path target = absoluteRoot.resolve(name + "-" + key);
        try (FileChannel channel =
                FileChannel.open(
                    absoluteRoot.resolve(name + "-" + key + ".lock"),
                    StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
            FileLock ignored = channel.lock()) {
          String source = withoutUserInfo(root.toString());
          if (Files.isDirectory(target)) {
            LOG.info("model {}: reusing the local copy {}", source, target);
            recordSource(absoluteRoot, name, key, source);
          } else {
            copy(fs, root, files, absoluteRoot, name, key, target);
            recordSource(absoluteRoot, name, key, source);
            pruneOlderCopies(absoluteRoot, name, key, source);
          }
        }
        copies.put(lockKey, target);
        return target;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot copy the model directory "
              + withoutUserInfo(remoteDirectory)
              + " to the executor-local cache "
              + cacheRoot
              + ": "
              + e.getMessage(),
          e);
    }
  }

  /** Copies made by this cache so far (for tests and logs). */
  public int downloads() {
    return downloads.get();
  }

  private record RemoteFile(
      String relative, org.apache.hadoop.fs.Path path, long length, long modified) {}

  private static List<RemoteFile> list(FileSystem fs, org.apache.hadoop.fs.Path root)
      throws IOException {
    String prefix = root.toUri().getPath();
    prefix = prefix.endsWith("/") ? prefix : prefix + "/";
    List<RemoteFile> files = new ArrayList<>();
    RemoteIterator<LocatedFileStatus> it = fs.listFiles(root, true);
    while (it.hasNext()) {
      LocatedFileStatus f = it.next();
      String path = f.getPath().toUri().getPath();
      if (!path.startsWith(prefix)) {
        throw new IOException("listed file " + f.getPath() + " is not under " + root);
      }
      String relative = path.substring(prefix.length());
      if (relative.isEmpty() || relative.startsWith("/") || relative.contains("..")) {
        throw new IOException("unexpected file name " + relative + " under " + root);
      }
      files.add(new RemoteFile(relative, f.getPath(), f.getLen(), f.getModificationTime()));
    }
    if (files.isEmpty()) {
      throw new IOException("the directory is empty");
    }
    files.sort(Comparator.comparing(RemoteFile::relative));
    return files;
  }

  private static String name(org.apache.hadoop.fs.Path root) {
    String n = UNSAFE.matcher(root.getName()).replaceAll("_");
    if (n.isEmpty()) {
      n = "model";
    }
    return n.length() > 64 ? n.substring(0, 64) : n;
  }

  /** SHA-256 over the qualified path and every file's relative path, length and mtime. */
  static String key(org.apache.hadoop.fs.Path root, List<RemoteFile> files) {
    StringBuilder sb = new StringBuilder(root.toString()).append('\n');
    for (RemoteFile f : files) {
      sb.append(f.relative())
          .append('\t')
          .append(f.length())
          .append('\t')
          .append(f.modified())
          .append('\n');
    }
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256")
              .digest(sb.toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest).substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void copy(
      FileSystem fs,
      org.apache.hadoop.fs.Path root,
      List<RemoteFile> files,
      Path cacheRoot,
      String name,
      String key,
      Path target)
      throws IOException {
    long start = System.nanoTime();
    Path partial =
        cacheRoot.resolve(
            ".partial-" + name + "-" + key + "-" + UUID.randomUUID().toString().substring(0, 8));
    Files.createDirectory(partial);
    boolean moved = false;
    try {
      long bytes = 0;
      for (RemoteFile f : files) {
        Path local = partial.resolve(f.relative()).normalize();
        if (!local.startsWith(partial)) {
          throw new IOException("unexpected file name " + f.relative());
        }
        Files.createDirectories(local.getParent());
        try (InputStream in = fs.open(f.path())) {
          Files.copy(in, local);
        }
        long size = Files.size(local);
        if (size != f.length()) {
          throw new IOException(f.path() + ": copied " + size + " bytes, expected " + f.length());
        }
        bytes += size;
      }
      try {
        Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
        moved = true;
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException(
            "the model cache root " + cacheRoot + " does not support atomic renames", e);
      } catch (IOException e) {
        if (!Files.isDirectory(target)) {
          throw e;
        }
        // Another process on this host completed the same copy first (it did not take the lock).
        LOG.info(
            "model {}: another copy won the rename; using {}",
            withoutUserInfo(root.toString()),
            target);
        return;
      }
      downloads.incrementAndGet();
      LOG.info(
          "model {}: copied {} files ({} bytes) to {} in {} ms",
          withoutUserInfo(root.toString()),
          files.size(),
          bytes,
          target,
          (System.nanoTime() - start) / 1_000_000);
    } finally {
      if (!moved) {
        deleteQuietly(partial);
      }
    }
  }

  private static Path sourceFile(Path cacheRoot, String name, String key) {
    return cacheRoot.resolve(name + "-" + key + ".source");
  }

  private static void recordSource(Path cacheRoot, String name, String key, String source)
      throws IOException {
    Path file = sourceFile(cacheRoot, name, key);
    if (!Files.exists(file)) {
      Path partial =
          cacheRoot.resolve(
              ".partial-"
                  + file.getFileName()
                  + "-"
                  + UUID.randomUUID().toString().substring(0, 8));
      Files.writeString(partial, source, StandardCharsets.UTF_8);
      Files.move(
          partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** Deletes the copies of {@code source} older than the newest one before {@code currentKey}. */
  private static void pruneOlderCopies(
      Path cacheRoot, String name, String currentKey, String source) {
    List<Path> older = new ArrayList<>();
    try (Stream<Path> entries = Files.list(cacheRoot)) {
      for (Path f : entries.toList()) {
        String file = f.getFileName().toString();
        if (!file.startsWith(name + "-") || !file.endsWith(".source")) {
          continue;
        }
        String key = file.substring(name.length() + 1, file.length() - ".source".length());
        Path copy = cacheRoot.resolve(name + "-" + key);
        if (!key.equals(currentKey)
            && key.matches("[0-9a-f]{16}")
            && Files.isDirectory(copy)
            && source.equals(Files.readString(f, StandardCharsets.UTF_8))) {
          older.add(copy);
        }
      }
      older.sort(
          Comparator.comparing(
                  (Path p) -> {
                    try {
                      return Files.getLastModifiedTime(p);
                    } catch (IOException e) {
                      return java.nio.file.attribute.FileTime.fromMillis(Long.MIN_VALUE);
                    }
                  })
              .reversed()); // newest first (file times carry nanoseconds where the file system
      // keeps them)
    } catch (IOException e) {
      LOG.warn(
          "model {}: cannot list the cache {} to delete outdated copies: {}",
          source,
          cacheRoot,
          e.getMessage());
      return;
    }
    for (Path copy : older.subList(Math.min(1, older.size()), older.size())) {
      String copyName = copy.getFileName().toString();
      try (FileChannel channel =
              FileChannel.open(
                  cacheRoot.resolve(copyName + ".lock"),
                  StandardOpenOption.CREATE,
                  StandardOpenOption.WRITE);
          FileLock lock = channel.tryLock()) {
        if (lock == null) {
          continue; // another executor on this host holds it
        }
        Path doomed =
            cacheRoot.resolve(
                ".deleting-" + copyName + "-" + UUID.randomUUID().toString().substring(0, 8));
        Files.move(copy, doomed, StandardCopyOption.ATOMIC_MOVE);
        Files.deleteIfExists(cacheRoot.resolve(copyName + ".source"));
        deleteQuietly(doomed);
        LOG.info("model {}: deleted the outdated local copy {}", source, copy);
      } catch (IOException | java.nio.channels.OverlappingFileLockException e) {
        LOG.warn(
            "model {}: cannot delete the outdated local copy {}: {}", source, copy, e.getMessage());
      }
    }
  }

  private static void deleteQuietly(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException e) {
                  LOG.debug("cannot delete {}", p, e);
                }
              });
    } catch (IOException e) {
      LOG.warn("cannot delete the partial model copy {}: {}", dir, e.getMessage());
    }
  }
}
