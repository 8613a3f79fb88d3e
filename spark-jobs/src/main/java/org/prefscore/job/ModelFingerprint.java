package org.prefscore.job;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.apache.hadoop.conf.Configuration;
import org.prefscore.spark.LocalModelCache;

/**
 * Identifies a model directory by content: SHA-256 of {@code model.onnx} and of {@code
 * tokenizer.json}, read on the driver (a few seconds per GB; a directory on a Hadoop FS such as
 * s3a:// is streamed through it).
 */
public record ModelFingerprint(String directory, String modelOnnxSha256, String tokenizerJsonSha256) {

  /** A local directory's fingerprint. */
  public static ModelFingerprint of(String directory) {
    return of(directory, null);
  }

  /** The fingerprint of a local or (with {@code hadoop}) Hadoop FS directory. */
  public static ModelFingerprint of(String directory, Configuration hadoop) {
    if (hadoop != null && LocalModelCache.isRemote(directory)) {
      org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(directory);
      return new ModelFingerprint(directory, sha256(new org.apache.hadoop.fs.Path(dir, "model.onnx"), hadoop),
          sha256(new org.apache.hadoop.fs.Path(dir, "tokenizer.json"), hadoop));
    }
    Path dir = PipelineConfig.localPath(directory);
    return new ModelFingerprint(directory, sha256(dir.resolve("model.onnx")), sha256(dir.resolve("tokenizer.json")));
  }

  static String sha256(org.apache.hadoop.fs.Path file, Configuration hadoop) {
    try (InputStream in = file.getFileSystem(hadoop).open(file)) {
      return sha256(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  static String sha256(Path file) {
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
