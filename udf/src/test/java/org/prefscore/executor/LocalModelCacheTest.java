package org.prefscore.executor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.runtime.EngineOptions;
import org.prefscore.runtime.ModelFiles;
import org.prefscore.runtime.ModelSpec;
import org.prefscore.spark.ModelPlacement;
import org.prefscore.testing.Fixtures;

/**
 * Executor-local copies of remote model directories: once per JVM under concurrency, never a half
 * copy under the final name, a new copy when the remote content changes. The "remote" file system
 * is the local one under another scheme ({@link CountingFileSystem}).
 */
class LocalModelCacheTest {

  @TempDir Path tmp;
  private Path remoteDir;
  private Path cacheRoot;
  private Configuration conf;

  @BeforeEach
  void setUp() throws IOException {
    remoteDir = tmp.resolve("bucket/models/tiny-gpt2");
    Files.createDirectories(remoteDir);
    try (Stream<Path> files = Files.list(Fixtures.model("tiny-gpt2"))) {
      for (Path f : files.toList()) {
        Files.copy(f, remoteDir.resolve(f.getFileName()));
      }
    }
    Files.createDirectories(remoteDir.resolve("extra"));
    Files.writeString(remoteDir.resolve("extra/notes.txt"), "a nested file is copied too\n");
    cacheRoot = tmp.resolve("cache");
    conf = new Configuration(false);
    conf.set("fs." + CountingFileSystem.SCHEME + ".impl", CountingFileSystem.class.getName());
    conf.setBoolean("fs." + CountingFileSystem.SCHEME + ".impl.disable.cache", true);
    CountingFileSystem.failOn = null;
    CountingFileSystem.openDelayMillis = 0;
  }

  @AfterEach
  void reset() {
    CountingFileSystem.failOn = null;
    CountingFileSystem.openDelayMillis = 0;
  }

  private String remote() {
    return CountingFileSystem.SCHEME + "://" + remoteDir.toAbsolutePath();
  }

  private static long fileCount(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).count();
    }
  }

  @Test
  void remoteIsAnySchemeButFile() {
    assertThat(LocalModelCache.isRemote("s3a://bucket/models/x")).isTrue();
    assertThat(LocalModelCache.isRemote("hdfs:///models/x")).isTrue();
    assertThat(LocalModelCache.isRemote("file:/models/x")).isFalse();
    assertThat(LocalModelCache.isRemote("file:///models/x")).isFalse();
    assertThat(LocalModelCache.isRemote("/models/x")).isFalse();
    assertThat(LocalModelCache.isRemote("fixtures/models/x")).isFalse();
    assertThat(LocalModelCache.isRemote("C:\\models\\x")).isFalse();
  }

  @Test
  void concurrentTasksOfOneJvmCopyOnceAndShareTheCopy() throws Exception {
    long files = fileCount(remoteDir);
    int downloadsBefore = ExecutorRegistry.instance().localCopies().downloads();
    int opensBefore = CountingFileSystem.OPENS.get();
    CountingFileSystem.openDelayMillis = 20; // widen the window in which a second copy could start
    int threads = 6;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Path>> results = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      results.add(
          pool.submit(
              () -> {
                start.await();
                return ExecutorRegistry.instance()
                    .localCopies()
                    .localize(remote(), conf, cacheRoot);
              }));
    }
    start.countDown();
    List<Path> copies = new ArrayList<>();
    for (Future<Path> f : results) {
      copies.add(f.get(60, TimeUnit.SECONDS));
    }
    pool.shutdown();

    assertThat(copies).allMatch(p -> p.equals(copies.get(0)));
    assertThat(ExecutorRegistry.instance().localCopies().downloads() - downloadsBefore)
        .isEqualTo(1);
    assertThat(CountingFileSystem.OPENS.get() - opensBefore).isEqualTo((int) files);
    Path copy = copies.get(0);
    assertThat(copy.getParent()).isEqualTo(cacheRoot.toAbsolutePath().normalize());
    assertThat(copy.getFileName().toString()).matches("tiny-gpt2-[0-9a-f]{16}");
    assertThat(fileCount(copy)).isEqualTo(files);
    assertThat(Files.readString(copy.resolve("extra/notes.txt")))
        .isEqualTo("a nested file is copied too\n");
    assertThat(Files.mismatch(copy.resolve("model.onnx"), remoteDir.resolve("model.onnx")))
        .isEqualTo(-1L);
    ModelFiles.read(copy); // a loadable model directory

    // Later calls (later tasks) reuse it without reading a byte.
    int opens = CountingFileSystem.OPENS.get();
    assertThat(ExecutorRegistry.instance().localCopies().localize(remote(), conf, cacheRoot))
        .isEqualTo(copy);
    assertThat(CountingFileSystem.OPENS.get()).isEqualTo(opens);
    assertThat(ExecutorRegistry.instance().localCopies().downloads() - downloadsBefore)
        .isEqualTo(1);
  }

  @Test
  void aFailedCopyLeavesNothingThatLooksComplete() throws Exception {
    CountingFileSystem.failOn = "tokenizer.json";
    assertThatThrownBy(
            () -> ExecutorRegistry.instance().localCopies().localize(remote(), conf, cacheRoot))
        .isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining("injected failure");
    try (Stream<Path> s = Files.list(cacheRoot)) {
      // only the lock file: no final directory, and the partial one was removed
      assertThat(s.map(p -> p.getFileName().toString()).toList())
          .allMatch(n -> n.endsWith(".lock"));
    }

    // A copy killed half-way (a stale .partial folder) is never taken for a model...
    Files.createDirectories(cacheRoot.resolve(".partial-tiny-gpt2-0000000000000000-deadbeef"));
    Files.writeString(
        cacheRoot.resolve(".partial-tiny-gpt2-0000000000000000-deadbeef/config.json"), "{");
    // ...and the next attempt copies everything.
    CountingFileSystem.failOn = null;
    int downloadsBefore = ExecutorRegistry.instance().localCopies().downloads();
    Path copy = ExecutorRegistry.instance().localCopies().localize(remote(), conf, cacheRoot);
    assertThat(ExecutorRegistry.instance().localCopies().downloads() - downloadsBefore)
        .isEqualTo(1);
    assertThat(fileCount(copy)).isEqualTo(fileCount(remoteDir));
    ModelFiles.read(copy);
  }

  @Test
  void aChangedRemoteModelGetsANewCopy() throws Exception {
    Path first = ExecutorRegistry.instance().localCopies().localize(remote(), conf, cacheRoot);
    Files.writeString(
        remoteDir.resolve("generation_config.json"),
        Files.readString(remoteDir.resolve("generation_config.json")) + "\n");
    Files.setLastModifiedTime(
        remoteDir.resolve("generation_config.json"),
        FileTime.fromMillis(System.currentTimeMillis() + 5000));
    Path second = ExecutorRegistry.instance().localCopies().localize(remote(), conf, cacheRoot);
    assertThat(second).isNotEqualTo(first);
    assertThat(Files.readString(second.resolve("generation_config.json")))
        .isEqualTo(Files.readString(remoteDir.resolve("generation_config.json")));
    assertThat(first).isDirectory(); // the older copy is left alone (a running task may use it)
  }

  @Test
  void copiesOlderThanThePreviousOneAreDeletedButOtherModelsNever() throws Exception {
    // Another remote directory with the same last path segment: never touched.
    Path otherDir = tmp.resolve("other-bucket/tiny-gpt2");
    Files.createDirectories(otherDir);
    Files.writeString(otherDir.resolve("config.json"), "{}");
    Path other =
        ExecutorRegistry.instance()
            .localCopies()
            .localize(
                CountingFileSystem.SCHEME + "://" + otherDir.toAbsolutePath(), conf, cacheRoot);

    Path v1 = ExecutorRegistry.instance().localCopies().localize(remote(), conf, cacheRoot);
    changeRemote(1);
    Path v2 = ExecutorRegistry.instance().localCopies().localize(remote(), conf, cacheRoot);
    assertThat(v1).isDirectory(); // the previous copy is kept
    changeRemote(2);
    Path v3 = ExecutorRegistry.instance().localCopies().localize(remote(), conf, cacheRoot);

    assertThat(List.of(v1, v2, v3)).doesNotHaveDuplicates();
    assertThat(v1).doesNotExist();
    assertThat(cacheRoot.resolve(v1.getFileName() + ".source")).doesNotExist();
    assertThat(v2).isDirectory();
    assertThat(v3).isDirectory();
    assertThat(other).isDirectory();
    assertThat(Files.readString(cacheRoot.resolve(v3.getFileName() + ".source")))
        .isEqualTo(remote().replace("://", ":"));
    try (Stream<Path> s = Files.list(cacheRoot)) {
      assertThat(s.map(p -> p.getFileName().toString()))
          .noneMatch(n -> n.startsWith(".deleting-") || n.startsWith(".partial-"));
    }
  }

  private void changeRemote(int version) throws IOException {
    Path f = remoteDir.resolve("generation_config.json");
    Files.writeString(f, Files.readString(f) + "\n");
    Files.setLastModifiedTime(f, FileTime.fromMillis(System.currentTimeMillis() + 5000L * version));
  }

  @Test
  void aCopyMadeByAnEarlierJvmIsReused() throws Exception {
    Path copy = ExecutorRegistry.instance().localCopies().localize(remote(), conf, cacheRoot);
    // Another cache root is a fresh start for this JVM's memo; copy the finished directory there,
    // as an earlier executor on this host would have left it.
    Path otherRoot = tmp.resolve("cache2");
    Files.createDirectories(otherRoot.resolve(copy.getFileName()));
    try (Stream<Path> s = Files.walk(copy)) {
      for (Path p : s.toList()) {
        Path target = otherRoot.resolve(copy.getFileName()).resolve(copy.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
    int downloads = ExecutorRegistry.instance().localCopies().downloads();
    int opens = CountingFileSystem.OPENS.get();
    assertThat(ExecutorRegistry.instance().localCopies().localize(remote(), conf, otherRoot))
        .isEqualTo(otherRoot.resolve(copy.getFileName()).toAbsolutePath());
    assertThat(ExecutorRegistry.instance().localCopies().downloads()).isEqualTo(downloads);
    assertThat(CountingFileSystem.OPENS.get()).isEqualTo(opens);
  }

  @Test
  void missingRemoteDirectoryIsNamed() {
    assertThatThrownBy(
            () ->
                ExecutorRegistry.instance()
                    .localCopies()
                    .localize(remote() + "-nope", conf, cacheRoot))
        .isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining("tiny-gpt2-nope");
  }

  @Test
  void placementLeavesLocalPathsAndTurnsFileUrisIntoPaths() {
    ModelPlacement placement = new ModelPlacement(cacheRoot.toString());
    String local = Fixtures.model("tiny-gpt2").toString();
    assertThat(placement.localDirectory(local)).isEqualTo(local);
    assertThat(placement.localDirectory(Fixtures.model("tiny-gpt2").toUri().toString()))
        .isEqualTo(local);
    assertThat(ModelPlacement.defaults().cacheRoot())
        .isEqualTo(Path.of(System.getProperty("java.io.tmpdir"), "prefscore-models"));
    // Outside a Spark task no GPU is assigned: the spec keeps its CUDA device.
    ModelSpec cuda = ModelSpec.decoder(local, new EngineOptions(true, 3, 1, 1));
    assertThat(placement.resolve(cuda)).isEqualTo(cuda);
    ModelSpec cpu = ModelSpec.decoder(local, EngineOptions.cpu(1));
    assertThat(placement.resolve(cpu)).isEqualTo(cpu);
  }
}
