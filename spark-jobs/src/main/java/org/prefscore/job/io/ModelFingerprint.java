package org.prefscore.job.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.prefscore.executor.LocalModelCache;
import org.prefscore.job.config.PipelineConfig;

/**
 * Identifies a model directory by the content of every file that changes what the model does:
 * SHA-256 of {@code config.json} (architecture, context window, special token ids), {@code
 * generation_config.json} (EOS ids), {@code tokenizer_config.json} (the chat template, the special
 * token texts), {@code tokenizer.json}, {@code model.onnx} and its external-data files (the weights
 * of graphs over 2 GB, which exporters write beside the graph as {@code model.onnx_data} or {@code
 * model.onnx.data}: two checkpoints of one architecture have the same {@code model.onnx} and differ
 * only there). {@link #sha256()} combines them into one value. Read on the driver: a few seconds
 * per GB; a directory on a Hadoop FS such as s3a:// is streamed through it.
 *
 * @param directory the directory as configured
 * @param files file name → SHA-256 for every fingerprinted file present, sorted by name; the
 *     optional files ({@link #OPTIONAL}) are absent when the directory has none
 */
public record ModelFingerprint(String directory, SortedMap<String, String> files) {

  /** Files every model directory has. */
  public static final List<String> REQUIRED =
      List.of("config.json", "tokenizer.json", "model.onnx");

  /** Files a model directory may have; fingerprinted when present. */
  public static final List<String> OPTIONAL =
      List.of("generation_config.json", "tokenizer_config.json");

  public ModelFingerprint {
    files = Collections.unmodifiableSortedMap(new TreeMap<>(files));
  }

  /** Whether a file of a model directory holds external tensor data of its graph. */
  static boolean isExternalData(String fileName) {
    return fileName.endsWith(".onnx_data") || fileName.endsWith(".onnx.data");
  }

  /** Whether a file of a model directory is fingerprinted. */
  static boolean isFingerprinted(String fileName) {
    return REQUIRED.contains(fileName) || OPTIONAL.contains(fileName) || isExternalData(fileName);
  }

  /** A local directory's fingerprint. */
  public static ModelFingerprint of(String directory) {
    return of(directory, null);
  }

  /** The fingerprint of a local or (with {@code hadoop}) Hadoop FS directory. */
  public static ModelFingerprint of(String directory, Configuration hadoop) {
    SortedMap<String, String> files = new TreeMap<>();
    if (hadoop != null && LocalModelCache.isRemote(directory)) {
      org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(directory);
      try {
        for (org.apache.hadoop.fs.FileStatus f : dir.getFileSystem(hadoop).listStatus(dir)) {
          if (f.isFile() && isFingerprinted(f.getPath().getName())) {
            files.put(f.getPath().getName(), sha256(f.getPath(), hadoop));
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot list " + dir, e);
      }
    } else {
      Path dir = PipelineConfig.localPath(directory);
      try (Stream<Path> list = Files.list(dir)) {
        for (Path f : (Iterable<Path>) list::iterator) {
          if (Files.isRegularFile(f) && isFingerprinted(f.getFileName().toString())) {
            files.put(f.getFileName().toString(), sha256(f));
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot list " + dir, e);
      }
    }
    for (String required : REQUIRED) {
      if (!files.containsKey(required)) {
        throw new IllegalStateException(directory + " has no " + required + " to fingerprint");
      }
    }
    return new ModelFingerprint(directory, files);
  }

  /** SHA-256 of {@code model.onnx}. */
  public String modelOnnxSha256() {
    return files.get("model.onnx");
  }

  /** SHA-256 of {@code tokenizer.json}. */
  public String tokenizerJsonSha256() {
    return files.get("tokenizer.json");
  }

  /** External-data file name → SHA-256, sorted by name; empty when the weights are in the graph. */
  public SortedMap<String, String> externalDataSha256() {
    SortedMap<String, String> external = new TreeMap<>();
    files.forEach(
        (name, sha) -> {
          if (isExternalData(name)) {
            external.put(name, sha);
          }
        });
    return external;
  }

  /**
   * One value for the whole directory: SHA-256 over the lines {@code <file name> <sha256>\n} of
   * {@link #files()} in name order (so a file added, removed or changed changes it).
   */
  public String sha256() {
    StringBuilder lines = new StringBuilder();
    for (Map.Entry<String, String> f : files.entrySet()) {
      lines.append(f.getKey()).append(' ').append(f.getValue()).append('\n');
    }
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256")
                  .digest(lines.toString().getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
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
