package org.prefscore.executor;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.prefscore.chat.ChatTemplate;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.ModelFiles;
import org.prefscore.runtime.ModelLoader;
import org.prefscore.runtime.ModelSpec;
import org.prefscore.runtime.RewardModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything an executor JVM keeps from one task to the next, in one place: the only JVM-wide state
 * of the executor side. Spark runs every task of an executor in its JVM (in local mode, the
 * driver's), so what is cached here is shared by all task threads; only small serializable specs
 * travel in closures.
 *
 * <table>
 *   <caption>What is cached</caption>
 *   <tr><th>what</th><th>keyed by</th><th>created</th><th>released</th></tr>
 *   <tr><td>loaded models ({@link #decoder}, {@link #reward})</td><td>{@link ModelSpec} (local
 *       directory and engine options)</td><td>on first use, once: concurrent tasks wait for the
 *       first load</td><td>closed at JVM exit</td></tr>
 *   <tr><td>model files without the graph ({@link #modelFiles})</td><td>local directory</td>
 *       <td>on first use</td><td>with the JVM</td></tr>
 *   <tr><td>compiled chat templates ({@link #chatTemplate})</td><td>local directory</td><td>on
 *       first use</td><td>with the JVM</td></tr>
 *   <tr><td>local copies of remote model directories ({@link #localCopies})</td><td>cache root,
 *       remote path and content</td><td>on first use per content</td><td>the copies stay on disk
 *       for later JVMs; older ones are pruned by {@link LocalModelCache}</td></tr>
 *   <tr><td>live progress counters ({@link #progress})</td><td>-</td><td>with the registry</td>
 *       <td>with the JVM</td></tr>
 *   <tr><td>the sampling pool ({@link #samplingPool})</td><td>-</td><td>with the registry;
 *       threads on demand</td><td>idle threads exit after a minute; daemon threads, so never
 *       blocking JVM exit</td></tr>
 * </table>
 *
 * <p>Nothing is evicted while the JVM lives: an executor serves one job, whose models are fixed.
 * Thread-safe.
 */
public final class ExecutorRegistry {

  private static final Logger LOG = LoggerFactory.getLogger(ExecutorRegistry.class);
  private static final ExecutorRegistry INSTANCE = new ExecutorRegistry();

  private final Map<ModelSpec, AutoCloseable> models = new ConcurrentHashMap<>();
  private final Map<String, ModelFiles> files = new ConcurrentHashMap<>();
  private final Map<String, ChatTemplate> templates = new ConcurrentHashMap<>();
  private final LocalModelCache localCopies = new LocalModelCache();
  private final LiveProgress progress = new LiveProgress();
  private final ExecutorService samplingPool = newSamplingPool();

  private ExecutorRegistry() {
    Runtime.getRuntime().addShutdownHook(new Thread(this::closeModels, "prefscore-registry"));
  }

  /** This JVM's registry. */
  public static ExecutorRegistry instance() {
    return INSTANCE;
  }

  /** The decoder for {@code spec}, loading it on first use. */
  public LanguageModel decoder(ModelSpec spec) {
    if (spec.kind() != ModelSpec.Kind.DECODER) {
      throw new IllegalArgumentException("not a decoder spec: " + spec);
    }
    return (LanguageModel) models.computeIfAbsent(spec, ModelLoader::loadDecoder);
  }

  /** The reward model for {@code spec}, loading it on first use. */
  public RewardModel reward(ModelSpec spec) {
    if (spec.kind() != ModelSpec.Kind.REWARD) {
      throw new IllegalArgumentException("not a reward spec: " + spec);
    }
    return (RewardModel) models.computeIfAbsent(spec, ModelLoader::loadReward);
  }

  /**
   * The files of the model directory {@code localDirectory} with its graph {@code onnxFile} ({@link
   * org.prefscore.runtime.OnnxGraphs#choose}), read on first use (the graph is not opened).
   */
  public ModelFiles modelFiles(String localDirectory, String onnxFile) {
    return files.computeIfAbsent(
        localDirectory + "\n" + onnxFile, k -> ModelFiles.read(Path.of(localDirectory), onnxFile));
  }

  /**
   * The chat template of {@code model}, compiled on first use.
   *
   * @throws RuntimeException what {@link ChatTemplate#of} throws (nothing is cached then)
   */
  public ChatTemplate chatTemplate(ModelFiles model) {
    return templates.computeIfAbsent(
        model.directory().toAbsolutePath().toString(), d -> ChatTemplate.of(model));
  }

  /** The executor-local copies of model directories on Hadoop file systems. */
  public LocalModelCache localCopies() {
    return localCopies;
  }

  /** Counters the executor functions bump as they go. */
  public LiveProgress progress() {
    return progress;
  }

  /** Daemon threads for sampling the rows of a decoding step in parallel. */
  public ExecutorService samplingPool() {
    return samplingPool;
  }

  private void closeModels() {
    models
        .values()
        .forEach(
            m -> {
              try {
                m.close();
              } catch (Exception e) {
                LOG.debug("closing a model at JVM exit failed", e);
              }
            });
    models.clear();
  }

  private static ExecutorService newSamplingPool() {
    AtomicInteger id = new AtomicInteger();
    return new ThreadPoolExecutor(
        0,
        Integer.MAX_VALUE,
        60,
        TimeUnit.SECONDS,
        new SynchronousQueue<>(),
        task -> {
          Thread t = new Thread(task, "prefscore-sampler-" + id.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
  }
}
