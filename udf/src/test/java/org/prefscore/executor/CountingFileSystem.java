package org.prefscore.executor;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.URI;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;

/**
 * A read-only view of the local file system under another scheme ({@code counting:///abs/path}), so
 * that {@link LocalModelCache} treats its paths as remote. Counts file opens, can fail the open of
 * one file name, and can slow opens down (to widen race windows). Registered with {@code
 * fs.counting.impl}.
 */
public final class CountingFileSystem extends FileSystem {

  static final String SCHEME = "counting";
  static final AtomicInteger OPENS = new AtomicInteger();

  /** A file name whose open throws, or null. */
  static volatile String failOn;

  static volatile long openDelayMillis;

  private FileSystem local;

  @Override
  public void initialize(URI name, Configuration conf) throws IOException {
    super.initialize(name, conf);
    local = FileSystem.getLocal(new Configuration(false)).getRaw();
  }

  @Override
  public URI getUri() {
    return URI.create(SCHEME + ":///");
  }

  @Override
  public String getScheme() {
    return SCHEME;
  }

  private static Path toLocal(Path p) {
    return new Path("file", null, p.toUri().getPath());
  }

  private static Path toCounting(Path p) {
    return new Path(SCHEME, null, p.toUri().getPath());
  }

  private static FileStatus view(FileStatus s) {
    return new FileStatus(
        s.getLen(),
        s.isDirectory(),
        1,
        s.getBlockSize(),
        s.getModificationTime(),
        toCounting(s.getPath()));
  }

  @Override
  public FSDataInputStream open(Path f, int bufferSize) throws IOException {
    OPENS.incrementAndGet();
    if (openDelayMillis > 0) {
      try {
        Thread.sleep(openDelayMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
    }
    if (f.getName().equals(failOn)) {
      throw new IOException("injected failure reading " + f);
    }
    return local.open(toLocal(f), bufferSize);
  }

  @Override
  public FileStatus getFileStatus(Path f) throws IOException {
    return view(local.getFileStatus(toLocal(f)));
  }

  @Override
  public FileStatus[] listStatus(Path f) throws FileNotFoundException, IOException {
    return Arrays.stream(local.listStatus(toLocal(f)))
        .map(CountingFileSystem::view)
        .toArray(FileStatus[]::new);
  }

  @Override
  public FSDataOutputStream create(
      Path f,
      FsPermission permission,
      boolean overwrite,
      int bufferSize,
      short replication,
      long blockSize,
      Progressable progress) {
    throw new UnsupportedOperationException("read-only");
  }

  @Override
  public FSDataOutputStream append(Path f, int bufferSize, Progressable progress) {
    throw new UnsupportedOperationException("read-only");
  }

  @Override
  public boolean rename(Path src, Path dst) {
    throw new UnsupportedOperationException("read-only");
  }

  @Override
  public boolean delete(Path f, boolean recursive) {
    throw new UnsupportedOperationException("read-only");
  }

  @Override
  public boolean mkdirs(Path f, FsPermission permission) {
    throw new UnsupportedOperationException("read-only");
  }

  @Override
  public void setWorkingDirectory(Path dir) {
    throw new UnsupportedOperationException("fixed working directory");
  }

  @Override
  public Path getWorkingDirectory() {
    return new Path(SCHEME, null, "/");
  }
}
