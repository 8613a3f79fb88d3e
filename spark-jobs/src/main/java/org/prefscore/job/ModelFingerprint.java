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

/**
 * Identifies a model directory by content: SHA-256 of {@code model.onnx} and of {@code
 * tokenizer.json}, read on the driver (a few seconds per GB).
 */
public record ModelFingerprint(String directory, String modelOnnxSha256, String tokenizerJsonSha256) {

  public static ModelFingerprint of(String directory) {
    Path dir = PipelineConfig.localPath(directory);
    return new ModelFingerprint(directory, sha256(dir.resolve("model.onnx")), sha256(dir.resolve("tokenizer.json")));
  }

  static String sha256(Path file) {
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
      byte[] buffer = new byte[1 << 16];
      while (in.read(buffer) >= 0) {
        // digesting
      }
      return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
