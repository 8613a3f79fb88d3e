package org.prefscore.spark;

import java.io.Serializable;
import java.net.URI;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.prefscore.executor.ExecutorRegistry;
import org.prefscore.executor.LocalModelCache;
import org.prefscore.runtime.ModelSpec;
import scala.Tuple2;

/**
 * Where an executor loads a model from and on which device: applied to a {@link ModelSpec} on the
 * executor, right before {@link org.prefscore.executor.ExecutorRegistry} loads it. Small and
 * serializable; travels in the Spark functions' settings.
 *
 * <ul>
 *   <li>A model directory on a Hadoop FS (s3a://, hdfs://, ...) becomes its executor-local copy
 *       ({@link LocalModelCache}, once per executor JVM) under {@code cacheDir}; a {@code file:}
 *       URI becomes a plain path; a local path stays.
 *   <li>A spec asking for CUDA gets the GPU Spark assigned to the running task ({@link TaskGpus}),
 *       so each GPU of an executor gets its own model instance.
 * </ul>
 *
 * @param cacheDir root of the executor-local model copies; blank: {@code
 *     <java.io.tmpdir>/prefscore-models}
 */
public record ModelPlacement(String cacheDir) implements Serializable {

  private static final long serialVersionUID = 1L;

  /** The default: copies under the executor's java.io.tmpdir. */
  public static ModelPlacement defaults() {
    return new ModelPlacement("");
  }

  public ModelPlacement {
    cacheDir = cacheDir == null ? "" : cacheDir.trim();
  }

  /** The cache root on this JVM. */
  public Path cacheRoot() {
    return cacheDir.isEmpty()
        ? Path.of(System.getProperty("java.io.tmpdir"), "prefscore-models")
        : Path.of(cacheDir);
  }

  /** Executor side: the spec to load (local directory, assigned GPU). */
  public ModelSpec resolve(ModelSpec spec) {
    ModelSpec local = spec.withDirectory(localDirectory(spec.directory()));
    if (local.engine().useCuda()) {
      local =
          local.withEngine(
              local.engine().withCudaDevice(TaskGpus.deviceForTask(local.engine().cudaDeviceId())));
    }
    return local;
  }

  /** Executor side: a local path holding the model directory {@code directory}. */
  public String localDirectory(String directory) {
    if (LocalModelCache.isRemote(directory)) {
      return ExecutorRegistry.instance()
          .localCopies()
          .localize(directory, executorHadoopConf(), cacheRoot())
          .toString();
    }
    if (directory.startsWith("file:")) {
      return Path.of(URI.create(directory)).toString();
    }
    return directory;
  }

  /**
   * The Hadoop configuration of this executor: Hadoop's defaults (core-site.xml on the classpath)
   * plus every {@code spark.hadoop.*} property of the Spark conf, as Spark builds it for its own
   * readers. Credentials set that way (or through S3A's default provider chain: environment,
   * instance profile) are never logged here.
   */
  static Configuration executorHadoopConf() {
    Configuration conf = new Configuration();
    SparkEnv env = SparkEnv.get();
    if (env != null) {
      SparkConf sparkConf = env.conf();
      for (Tuple2<String, String> kv : sparkConf.getAll()) {
        if (kv._1().startsWith("spark.hadoop.")) {
          conf.set(kv._1().substring("spark.hadoop.".length()), kv._2());
        }
      }
    }
    return conf;
  }
}
