package org.prefscore.job.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.prefscore.executor.LocalModelCache;
import org.prefscore.job.config.PipelineConfig;

/**
 * Identifies a model directory by content: SHA-256 of {@code model.onnx}, of its external-data
 * files (the weights of graphs over 2 GB, which exporters write beside the graph as {@code
 * model.onnx_data} or {@code model.onnx.data}: two checkpoints of one architecture have the same
 * {@code model.onnx} and differ only there) and of {@code tokenizer.json}. Read on the driver: a
 * few seconds per GB; a directory on a Hadoop FS such as s3a:// is streamed through it.
 *
 * @param externalDataSha256 external-data file name → SHA-256, sorted by name; empty when the
 *     weights are inside model.onnx
 */
public record ModelFingerprint(
    String directory,
    String modelOnnxSha256,
    SortedMap<String, String> externalDataSha256,
    String tokenizerJsonSha256) {

  /** Whether a file of a model directory holds external tensor data of its graph. */
  static boolean isExternalData(String fileName) {
    return fileName.endsWith(".onnx_data") || fileName.endsWith(".onnx.data");
  }

  /** A local directory's fingerprint. */
  public static ModelFingerprint of(String directory) {
    return of(directory, null);
  }

  /** The fingerprint of a local or (with {@code hadoop}) Hadoop FS directory. */
  public static ModelFingerprint of(String directory, Configuration hadoop) {
    SortedMap<String, String> external = new TreeMap<>();
    if (hadoop != null && LocalModelCache.isRemote(directory)) {
      org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(directory);
      try {
        for (org.apache.hadoop.fs.FileStatus f : dir.getFileSystem(hadoop).listStatus(dir)) {
          if (f.isFile() && isExternalData(f.getPath().getName())) {
            external.put(f.getPath().getName(), sha256(f.getPath(), hadoop));
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot list " + dir, e);
      }
      return new ModelFingerprint(
          directory,
          sha256(new org.apache.hadoop.fs.Path(dir, "model.onnx"), hadoop),
          external,
          sha256(new org.apache.hadoop.fs.Path(dir, "tokenizer.json"), hadoop));
    }
    Path dir = PipelineConfig.localPath(directory);
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (Files.isRegularFile(f) && isExternalData(f.getFileName().toString())) {
          external.put(f.getFileName().toString(), sha256(f));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir, e);
    }
    return new ModelFingerprint(
        directory,
        sha256(dir.resolve("model.onnx")),
        external,
        sha256(dir.resolve("tokenizer.json")));
  }

  static String sha256(org.apache.hadoop.fs.Path file, Configuration hadoop) {
    try (InputStream in = file.getFileSystem(hadoop).open(file)) {
      return sha256(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  public static String sha256(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      return sha256(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  private static String sha256(InputStream raw) throws IOException {
    try (InputStream in = new DigestInputStream(raw, MessageDigest.getInstance("SHA-256"))) {
      byte[] buffer = new byte[1 << 16];
      while (in.read(buffer) >= 0) {
        // digesting
      }
      return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
