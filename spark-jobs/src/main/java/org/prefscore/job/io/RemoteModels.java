package org.prefscore.job.io;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.prefscore.executor.LocalModelCache;
import org.prefscore.job.config.ConfigException;
import org.prefscore.job.config.ConfigKey;
import org.prefscore.job.config.ConfigKeys;
import org.prefscore.job.config.PipelineConfig;
import org.prefscore.runtime.OnnxGraphs;

/**
 * The driver's check of model directories on a Hadoop FS (s3a://, hdfs://): when the run starts,
 * before any stage, each must hold config.json, tokenizer.json and the ONNX graph its {@code
 * models.<model>.onnx-file} chooses ({@link OnnxGraphs#choose}). (Local directories are checked
 * with the configuration, before Spark starts.) Executors copy such directories to local disk once
 * each ({@link org.prefscore.spark.ModelPlacement}).
 */
public final class RemoteModels {

  private RemoteModels() {}

  static final List<String> REQUIRED = List.of("config.json", "tokenizer.json");

  /** Throws a {@link ConfigException} listing every missing directory or file. */
  public static void check(PipelineConfig config, Configuration hadoop) {
    Map<ConfigKey, String> dirs = new LinkedHashMap<>();
    PipelineConfig.Models m = config.models();
    m.policy().ifPresent(d -> dirs.put(ConfigKeys.MODEL_POLICY, d));
    m.reward().ifPresent(d -> dirs.put(ConfigKeys.MODEL_REWARD, d));
    if (config.teacher() != null && config.teacher().pairwise()) {
      dirs.put(
          config.teacher().kind() == PipelineConfig.Teacher.Kind.JUDGE
              ? ConfigKeys.MODEL_JUDGE
              : ConfigKeys.MODEL_PAIRWISE_CLASSIFIER,
          config.teacher().directory());
    }
    if (!m.referenceIsPolicy()) {
      m.reference().ifPresent(d -> dirs.put(ConfigKeys.MODEL_REFERENCE, d));
    }
    m.checkpoint().ifPresent(d -> dirs.put(ConfigKeys.MODEL_CHECKPOINT, d));
    List<String> problems = new ArrayList<>();
    dirs.forEach(
        (modelKey, dir) -> {
          if (!LocalModelCache.isRemote(dir)) {
            return;
          }
          String key = modelKey.name();
          try {
            Path path = new Path(dir);
            FileSystem fs = path.getFileSystem(hadoop);
            if (!fs.exists(path) || !fs.getFileStatus(path).isDirectory()) {
              problems.add(key + ": no such directory: " + dir);
              return;
            }
            for (String f : REQUIRED) {
              if (!fs.isFile(new Path(path, f))) {
                problems.add(key + ": " + dir + " has no " + f);
              }
            }
            String onnxFile = m.onnxFile(modelKey);
            try {
              OnnxGraphs.choose(list(fs, path), onnxFile);
            } catch (IllegalArgumentException e) {
              String name = onnxFile.isEmpty() ? key : ConfigKeys.onnxFileKey(modelKey).name();
              problems.add(name + ": " + dir + " " + e.getMessage());
            }
          } catch (IOException | RuntimeException e) {
            problems.add(key + ": cannot read " + dir + ": " + e.getMessage());
          }
        });
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
  }

  /**
   * The files at the top of a Hadoop FS model directory and under its {@value
   * OnnxGraphs#SUBFOLDER}/, as paths relative to it ({@link OnnxGraphs#list} for a local one).
   */
  static List<String> list(FileSystem fs, Path dir) throws IOException {
    List<String> files = new ArrayList<>();
    for (FileStatus f : fs.listStatus(dir)) {
      if (f.isFile()) {
        files.add(f.getPath().getName());
      } else if (f.isDirectory() && f.getPath().getName().equals(OnnxGraphs.SUBFOLDER)) {
        for (FileStatus g : fs.listStatus(f.getPath())) {
          if (g.isFile()) {
            files.add(OnnxGraphs.SUBFOLDER + "/" + g.getPath().getName());
          }
        }
      }
    }
    return files;
  }
}
