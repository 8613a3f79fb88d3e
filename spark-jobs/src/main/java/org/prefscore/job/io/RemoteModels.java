package org.prefscore.job.io;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.prefscore.executor.LocalModelCache;
import org.prefscore.job.config.ConfigException;
import org.prefscore.job.config.ConfigKeys;
import org.prefscore.job.config.PipelineConfig;

/**
 * The driver's check of model directories on a Hadoop FS (s3a://, hdfs://): when the run starts,
 * before any stage, each must hold config.json, tokenizer.json and model.onnx. (Local directories
 * are checked with the configuration, before Spark starts.) Executors copy such directories to
 * local disk once each ({@link org.prefscore.spark.ModelPlacement}).
 */
public final class RemoteModels {

  private RemoteModels() {}

  static final List<String> REQUIRED = List.of("config.json", "tokenizer.json", "model.onnx");

  /** Throws a {@link ConfigException} listing every missing directory or file. */
  public static void check(PipelineConfig config, Configuration hadoop) {
    Map<String, String> dirs = new LinkedHashMap<>();
    PipelineConfig.Models m = config.models();
    m.policy().ifPresent(d -> dirs.put(ConfigKeys.MODEL_POLICY.name(), d));
    m.reward().ifPresent(d -> dirs.put(ConfigKeys.MODEL_REWARD.name(), d));
    if (config.teacher() != null && config.teacher().pairwise()) {
      dirs.put(config.teacher().key(), config.teacher().directory());
    }
    if (!m.referenceIsPolicy()) {
      m.reference().ifPresent(d -> dirs.put(ConfigKeys.MODEL_REFERENCE.name(), d));
    }
    m.checkpoint().ifPresent(d -> dirs.put(ConfigKeys.MODEL_CHECKPOINT.name(), d));
    List<String> problems = new ArrayList<>();
    dirs.forEach(
        (key, dir) -> {
          if (!LocalModelCache.isRemote(dir)) {
            return;
          }
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
          } catch (IOException | RuntimeException e) {
            problems.add(key + ": cannot read " + dir + ": " + e.getMessage());
          }
        });
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
  }
}
