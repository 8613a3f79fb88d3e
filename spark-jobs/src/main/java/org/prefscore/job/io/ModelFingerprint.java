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
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.prefscore.executor.LocalModelCache;
import org.prefscore.job.config.PipelineConfig;
import org.prefscore.runtime.OnnxGraphs;

/**
 * Identifies a model directory by the content of every file that changes what the model does:
 * SHA-256 of {@code config.json} (architecture, context window, special token ids), {@code
 * generation_config.json} (EOS ids), {@code tokenizer_config.json} (the chat template, the special
 * token texts), {@code tokenizer.json}, the ONNX graph that is loaded ({@code model.onnx}, or the
 * one {@code models.<model>.onnx-file} chooses, at the top or under {@code onnx/}: {@link
 * OnnxGraphs#choose}) and that graph's external-data files (the weights of graphs over 2 GB, which
 * exporters write beside the graph as {@code model.onnx_data} or {@code model.onnx.data}: two
 * checkpoints of one architecture have the same graph and differ only there; {@link
 * OnnxGraphs#isExternalDataOf}). The directory's other graphs are not fingerprinted: they are not
 * run. {@link #sha256()} combines them into one value. Read on the driver: a few seconds per GB; a
 * directory on a Hadoop FS such as s3a:// is streamed through it.
 *
 * @param directory the directory as configured
 * @param graph the loaded graph's path relative to the directory ({@code model.onnx}, {@code
 *     onnx/model_fp16.onnx})
 * @param files path relative to the directory → SHA-256 for every fingerprinted file present,
 *     sorted by name; the optional files ({@link #OPTIONAL}) are absent when the directory has none
 */
public record ModelFingerprint(String directory, String graph, SortedMap<String, String> files) {

  /** Files every model directory has besides its graph. */
  public static final List<String> REQUIRED = List.of("config.json", "tokenizer.json");

  /** Files a model directory may have; fingerprinted when present. */
  public static final List<String> OPTIONAL =
      List.of("generation_config.json", "tokenizer_config.json");

  public ModelFingerprint {
    files = Collections.unmodifiableSortedMap(new TreeMap<>(files));
  }

  /** Whether a file of a model directory is fingerprinted when {@code graph} is loaded. */
  static boolean isFingerprinted(String graph, String file) {
    return REQUIRED.contains(file)
        || OPTIONAL.contains(file)
        || file.equals(graph)
        || OnnxGraphs.isExternalDataOf(graph, file);
  }

  /** A local directory's fingerprint, with its only graph. */
  public static ModelFingerprint of(String directory) {
    return of(directory, "", null);
  }

  /**
   * The fingerprint of a local or (with {@code hadoop}) Hadoop FS directory, with its only graph.
   */
  public static ModelFingerprint of(String directory, Configuration hadoop) {
    return of(directory, "", hadoop);
  }

  /**
   * The fingerprint of a local or (with {@code hadoop}) Hadoop FS directory.
   *
   * @param onnxFile the configured graph ({@link OnnxGraphs#choose}); empty: the only one
   */
  public static ModelFingerprint of(String directory, String onnxFile, Configuration hadoop) {
    SortedMap<String, String> files = new TreeMap<>();
    String graph;
    if (hadoop != null && LocalModelCache.isRemote(directory)) {
      org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(directory);
      try {
        FileSystem fs = dir.getFileSystem(hadoop);
        List<String> listing = RemoteModels.list(fs, dir);
        graph = choose(directory, listing, onnxFile);
        for (String f : listing) {
          if (isFingerprinted(graph, f)) {
            files.put(f, sha256(new org.apache.hadoop.fs.Path(dir, f), hadoop));
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot list " + dir, e);
      }
    } else {
      Path dir = PipelineConfig.localPath(directory);
      List<String> listing = OnnxGraphs.list(dir);
      graph = choose(directory, listing, onnxFile);
      for (String f : listing) {
        if (isFingerprinted(graph, f)) {
          files.put(f, sha256(dir.resolve(f)));
        }
      }
    }
    for (String required : REQUIRED) {
      if (!files.containsKey(required)) {
        throw new IllegalStateException(directory + " has no " + required + " to fingerprint");
      }
    }
    return new ModelFingerprint(directory, graph, files);
  }

  private static String choose(String directory, List<String> listing, String onnxFile) {
    try {
      return OnnxGraphs.choose(listing, onnxFile);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(directory + " " + e.getMessage(), e);
    }
  }

  /** SHA-256 of the loaded graph ({@link #graph()}). */
  public String modelOnnxSha256() {
    return files.get(graph);
  }

  /** SHA-256 of {@code tokenizer.json}. */
  public String tokenizerJsonSha256() {
    return files.get("tokenizer.json");
  }

  /** External-data file → SHA-256, sorted by name; empty when the weights are in the graph. */
  public SortedMap<String, String> externalDataSha256() {
    SortedMap<String, String> external = new TreeMap<>();
    files.forEach(
        (name, sha) -> {
          if (OnnxGraphs.isExternalDataOf(graph, name)) {
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
