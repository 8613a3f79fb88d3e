package org.prefscore.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.prefscore.executor.ExecutorRegistry;
import org.prefscore.runtime.EngineOptions;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.ModelFiles;
import org.prefscore.runtime.ModelLoader;
import org.prefscore.runtime.ModelSpec;
import org.prefscore.runtime.decode.GenerationOptions;
import org.prefscore.runtime.decode.SampleGenerator;
import org.prefscore.runtime.decode.SamplingConfig;

/**
 * Generation throughput benchmark (a main class, not a test; run by {@code bench/generation.sh}).
 *
 * <p>For each model, in one JVM and interleaved round-robin over repeats: our {@link
 * SampleGenerator} (N samples per prompt, top-p 1.0 and top-p 0.9, and greedy as a diagnostic; the
 * rows of a step sampled on {@code --threads} threads, as the pipeline does with
 * runtime.intra-op-threads, and once more on one thread, samples asserted identical), a bare ONNX
 * Runtime decode loop on the same {@code model.onnx} through {@code ai.onnxruntime} directly
 * (prefill once per prompt, rows repeated N times, then token by token with present fed back as
 * past, argmax only), and shared vs unshared prefill at a larger N (samples asserted identical).
 * Every sample is forced to {@code --new-tokens} tokens: the model's EOS ids are replaced by -1 (an
 * id never drawn) for the benchmark, as min_new_tokens = max_new_tokens does in transformers.
 * Throughput = rows x new tokens / wall time of the whole call (tokenization, prefill, decode, text
 * decoding included for ours).
 *
 * <p>Prints a human table and one JSON line starting with {@code {"bench":"generation-java"}}.
 * Options: {@code --model NAME=DIR} (repeatable), {@code --prompts}, {@code --threads}, {@code
 * --n}, {@code --n-prefill}, {@code --new-tokens}, {@code --temperature}, {@code --top-p-extra},
 * {@code --warmup} (rounds), {@code --repeats} (minimum timed rounds), {@code --min-seconds} (more
 * rounds, up to 30, until the timed rounds add up to this long), {@code --only a,b} (diagnostic
 * subset, e.g. {@code ours_greedy_n16}; ratios of the variants run), {@code --seed}, {@code
 * --tokens-key NAME=KEY} (the prompts.json field holding model NAME's token counts), {@code --gpu
 * N} (ONNX Runtime's CUDA provider on GPU N, for ours and the bare loop: needs the -Pgpu
 * classpath), {@code --head-model NAME=DIR} (the same model with a sampling head, {@code
 * python/prefscore_onnx/sampling_head.py}: adds {@code ours_head*} variants, timed against the bare
 * loop on the plain graph), {@code --json-out FILE}.
 */
public final class GenerationBenchmark {

  private static final ObjectMapper JSON = new ObjectMapper();

  private record Prompt(String id, String text, int tokens) {}

  /** One timed configuration: a name and a run that returns how many new tokens it generated. */
  private record Variant(String name, int rows, Run run) {}

  @FunctionalInterface
  private interface Run {
    Stats.Sample once() throws Exception;
  }

  /** Timings of one variant over the repeats. */
  private static final class Stats {
    /**
     * One call: wall time, time in forward passes and in sampling; the process's CPU time over the
     * call (all its threads: engine, sampling, JIT, GC) and the sampling threads' CPU time, which
     * other processes on a shared machine do not inflate.
     */
    record Sample(
        long tokens,
        long nanos,
        long forwardNanos,
        long samplingNanos,
        long cpuNanos,
        long samplingCpuNanos) {
      Sample(long tokens, long nanos, long forwardNanos) {
        this(tokens, nanos, forwardNanos, 0, 0, 0);
      }

      Sample withCpu(long cpu) {
        return new Sample(tokens, nanos, forwardNanos, samplingNanos, cpu, samplingCpuNanos);
      }
    }

    /** Median process CPU milliseconds per generated token. */
    double cpuMillisPerToken() {
      double[] c =
          samples.stream().mapToDouble(s -> s.cpuNanos() / 1e6 / s.tokens()).sorted().toArray();
      int n = c.length;
      return n % 2 == 1 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    }

    /** The sampling threads' share of the process's CPU time. */
    double samplingCpuShare() {
      double f = 0;
      double w = 0;
      for (Sample s : samples) {
        f += s.samplingCpuNanos();
        w += s.cpuNanos();
      }
      return w == 0 ? 0 : f / w;
    }

    final List<Sample> samples = new ArrayList<>();

    double[] tokensPerSecond() {
      return samples.stream().mapToDouble(s -> s.tokens() * 1e9 / s.nanos()).sorted().toArray();
    }

    double median() {
      double[] t = tokensPerSecond();
      int n = t.length;
      return n % 2 == 1 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
    }

    double min() {
      return tokensPerSecond()[0];
    }

    double max() {
      double[] t = tokensPerSecond();
      return t[t.length - 1];
    }

    double samplingShare() {
      double f = 0;
      double w = 0;
      for (Sample s : samples) {
        f += s.samplingNanos();
        w += s.nanos();
      }
      return f / w;
    }

    /** Mean milliseconds per call in forward passes. */
    double forwardMillis() {
      return samples.stream().mapToLong(Sample::forwardNanos).average().orElse(0) / 1e6;
    }

    /** Mean milliseconds per call choosing tokens. */
    double samplingMillis() {
      return samples.stream().mapToLong(Sample::samplingNanos).average().orElse(0) / 1e6;
    }

    /** Mean milliseconds per call. */
    double meanMillis() {
      return samples.stream().mapToLong(Sample::nanos).average().orElse(0) / 1e6;
    }

    double forwardShare() {
      double f = 0;
      double w = 0;
      for (Sample s : samples) {
        f += s.forwardNanos();
        w += s.nanos();
      }
      return f / w;
    }

    long tokens() {
      return samples.get(0).tokens();
    }

    double medianMillis() {
      double[] ms = samples.stream().mapToDouble(s -> s.nanos() / 1e6).sorted().toArray();
      int n = ms.length;
      return n % 2 == 1 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
    }
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> models = new LinkedHashMap<>();
    Path promptsFile = Path.of("bench/prompts.json");
    int threads = 2;
    int n = 4;
    int nPrefill = 16;
    int newTokens = 64;
    double temperature = 0.7;
    double topPExtra = 0.9;
    int warmup = 2;
    int repeats = 5;
    long seed = 1234L;
    double minSeconds = 0;
    java.util.Set<String> only = null;
    Path jsonOut = null;
    Map<String, String> tokenKeys = new HashMap<>();
    Map<String, String> headModels = new HashMap<>();
    int gpu = -1;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String v = i + 1 < args.length ? args[i + 1] : null;
      switch (a) {
        case "--model" -> {
          String[] kv = v.split("=", 2);
          models.put(kv[0], kv[1]);
          i++;
        }
        case "--prompts" -> {
          promptsFile = Path.of(v);
          i++;
        }
        case "--threads" -> {
          threads = Integer.parseInt(v);
          i++;
        }
        case "--n" -> {
          n = Integer.parseInt(v);
          i++;
        }
        case "--n-prefill" -> {
          nPrefill = Integer.parseInt(v);
          i++;
        }
        case "--new-tokens" -> {
          newTokens = Integer.parseInt(v);
          i++;
        }
        case "--temperature" -> {
          temperature = Double.parseDouble(v);
          i++;
        }
        case "--top-p-extra" -> {
          topPExtra = Double.parseDouble(v);
          i++;
        }
        case "--warmup" -> {
          warmup = Integer.parseInt(v);
          i++;
        }
        case "--repeats" -> {
          repeats = Integer.parseInt(v);
          i++;
        }
        case "--seed" -> {
          seed = Long.parseLong(v);
          i++;
        }
        case "--json-out" -> {
          jsonOut = Path.of(v);
          i++;
        }
        case "--min-seconds" -> {
          minSeconds = Double.parseDouble(v);
          i++;
        }
        case "--gpu" -> {
          gpu = Integer.parseInt(v);
          i++;
        }
        case "--head-model" -> {
          String[] kv = v.split("=", 2);
          headModels.put(kv[0], kv[1]);
          i++;
        }
        case "--tokens-key" -> {
          String[] kv = v.split("=", 2);
          tokenKeys.put(kv[0], kv[1]);
          i++;
        }
        case "--only" -> {
          only = new java.util.HashSet<>(List.of(v.split(",")));
          i++;
        }
        default -> throw new IllegalArgumentException("unknown argument " + a);
      }
    }
    if (models.isEmpty()) {
      models.put("tiny-llama", "fixtures/models/tiny-llama");
    }
    List<Prompt> defaultPrompts = readPrompts(promptsFile, "tokens");

    ObjectNode root = JSON.createObjectNode();
    root.put("bench", "generation-java");
    root.put("threads", threads);
    root.put("n", n);
    root.put("n_prefill", nPrefill);
    root.put("new_tokens", newTokens);
    root.put("temperature", temperature);
    root.put("top_k", 0);
    root.put("warmup", warmup);
    root.put("repeats", repeats);
    root.put("min_seconds", minSeconds);
    root.put("prompts", defaultPrompts.size());
    root.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    root.put("cpus", Runtime.getRuntime().availableProcessors());
    ObjectNode results = root.putObject("models");

    for (Map.Entry<String, String> m : models.entrySet()) {
      List<Prompt> prompts =
          tokenKeys.containsKey(m.getKey())
              ? readPrompts(promptsFile, tokenKeys.get(m.getKey()))
              : defaultPrompts;
      results.set(
          m.getKey(),
          benchModel(
              m.getKey(),
              Path.of(m.getValue()),
              prompts,
              threads,
              n,
              nPrefill,
              newTokens,
              temperature,
              topPExtra,
              warmup,
              repeats,
              minSeconds,
              only,
              seed,
              gpu,
              headModels.containsKey(m.getKey()) ? Path.of(headModels.get(m.getKey())) : null));
    }
    String line = JSON.writeValueAsString(root);
    System.out.println(line);
    if (jsonOut != null) {
      Files.writeString(jsonOut, line + "\n");
    }
  }

  private static ObjectNode benchModel(
      String name,
      Path dir,
      List<Prompt> prompts,
      int threads,
      int n,
      int nPrefill,
      int newTokens,
      double temperature,
      double topPExtra,
      int warmup,
      int repeats,
      double minSeconds,
      java.util.Set<String> only,
      long seed,
      int gpu,
      Path headDir)
      throws Exception {
    EngineOptions engine =
        gpu >= 0 ? new EngineOptions(true, gpu, threads, 1) : EngineOptions.cpu(threads);
    long loadStart = System.nanoTime();
    LanguageModel loaded = ModelLoader.loadDecoder(ModelSpec.decoder(dir.toString(), engine));
    long loadNanos = System.nanoTime() - loadStart;
    // EOS never ends a sample: every engine generates exactly newTokens per row.
    LanguageModel model =
        new LanguageModel(withoutEos(loaded.files()), loaded.tokenizer(), loaded.graph());
    List<SampleGenerator.Request> requests = new ArrayList<>();
    long[][] promptIds = new long[prompts.size()][];
    for (int i = 0; i < prompts.size(); i++) {
      Prompt p = prompts.get(i);
      requests.add(new SampleGenerator.Request(p.id(), p.text()));
      promptIds[i] = model.encode(p.text());
      if (promptIds[i].length != p.tokens()) {
        throw new IllegalStateException(
            "prompt "
                + p.id()
                + " has "
                + promptIds[i].length
                + " tokens, prompts.json says "
                + p.tokens());
      }
    }
    long budget = 1L << 22; // one batch: every prompt's N rows decode together
    SamplingConfig base = new SamplingConfig(n, temperature, 0, 1.0, newTokens, List.of());
    SamplingConfig topP = new SamplingConfig(n, temperature, 0, topPExtra, newTokens, List.of());
    SamplingConfig greedyN = new SamplingConfig(n, 0.0, 0, 1.0, newTokens, List.of());
    SamplingConfig unitT = new SamplingConfig(n, 1.0, 0, 1.0, newTokens, List.of());
    SamplingConfig big = base.withSamplesPerPrompt(nPrefill);
    SamplingConfig greedyBig = greedyN.withSamplesPerPrompt(nPrefill);
    long padId = model.files().padTokenId() >= 0 ? model.files().padTokenId() : 0;
    int rows = n * prompts.size();
    int bigRows = nPrefill * prompts.size();
    long runSeed = seed;

    long sessionStart = System.nanoTime();
    BareOrtLoop bare = new BareOrtLoop(model.files().onnxFile(), threads, gpu);
    long sessionNanos = System.nanoTime() - sessionStart;
    // Lanes: `threads` pieces of each batch decoded at once, each forward pass on one intra-op
    // thread (on a GPU the device's model as it is), so lanes x intra-op threads = the cores.
    LanguageModel laneLoaded =
        gpu >= 0
            ? null
            : ModelLoader.loadDecoder(ModelSpec.decoder(dir.toString(), EngineOptions.cpu(1)));
    LanguageModel laneModel =
        laneLoaded == null
            ? model
            : new LanguageModel(
                withoutEos(laneLoaded.files()), laneLoaded.tokenizer(), laneLoaded.graph());
    LanguageModel headLoaded =
        headDir == null
            ? null
            : ModelLoader.loadDecoder(ModelSpec.decoder(headDir.toString(), engine));
    if (headLoaded != null && !headLoaded.graph().hasSamplingHead()) {
      throw new IllegalArgumentException(headDir + " has no sampling head");
    }
    LanguageModel headModel =
        headLoaded == null
            ? null
            : new LanguageModel(
                withoutEos(headLoaded.files()), headLoaded.tokenizer(), headLoaded.graph());
    // The plain graph once more with ONNX Runtime's workers spinning (runtime.engine-spinning), as
    // the bare loop's session runs by default.
    LanguageModel plainSpinLoaded =
        ModelLoader.loadDecoder(ModelSpec.decoder(dir.toString(), engine.withSpinning(true)));
    LanguageModel plainSpinModel =
        new LanguageModel(
            withoutEos(plainSpinLoaded.files()),
            plainSpinLoaded.tokenizer(),
            plainSpinLoaded.graph());
    // The head graph once more with ONNX Runtime's workers spinning (runtime.engine-spinning).
    LanguageModel spinLoaded =
        headDir == null
            ? null
            : ModelLoader.loadDecoder(
                ModelSpec.decoder(headDir.toString(), engine.withSpinning(true)));
    LanguageModel spinModel =
        spinLoaded == null
            ? null
            : new LanguageModel(
                withoutEos(spinLoaded.files()), spinLoaded.tokenizer(), spinLoaded.graph());
    try (bare;
        AutoCloseable headClose = headLoaded == null ? () -> {} : headLoaded;
        AutoCloseable spinClose = spinLoaded == null ? () -> {} : spinLoaded;
        plainSpinLoaded;
        BareOrtLoop bareNoSpin = new BareOrtLoop(model.files().onnxFile(), threads, gpu, false);
        BareOrtLoop bareOne = new BareOrtLoop(model.files().onnxFile(), 1, gpu, false);
        AutoCloseable laneClose = laneLoaded == null ? () -> {} : laneLoaded) {
      // The first load above also pays this JVM's one-time engine and tokenizer library start-up;
      // per model, an executor pays what a later load costs: three more, each followed by one more
      // bare session (interleaved, medians).
      long[] warmLoads = new long[3];
      long[] sessions2 = new long[3];
      for (int r = 0; r < warmLoads.length; r++) {
        long warmStart = System.nanoTime();
        ModelLoader.loadDecoder(ModelSpec.decoder(dir.toString(), engine)).close();
        warmLoads[r] = System.nanoTime() - warmStart;
        long session2Start = System.nanoTime();
        new BareOrtLoop(model.files().onnxFile(), threads, gpu).close();
        sessions2[r] = System.nanoTime() - session2Start;
      }
      Arrays.sort(warmLoads);
      Arrays.sort(sessions2);
      long warmLoadNanos = warmLoads[1];
      long session2Nanos = sessions2[1];
      List<List<SampleGenerator.PromptResult>> lastShared = new ArrayList<>(List.of(List.of()));
      List<List<SampleGenerator.PromptResult>> lastBase = new ArrayList<>(List.of(List.of()));
      List<List<SampleGenerator.PromptResult>> lastHead = new ArrayList<>(List.of(List.of()));
      List<Variant> headVariants =
          headModel == null
              ? List.of()
              : List.of(
                  new Variant(
                      "ours_head",
                      rows,
                      () ->
                          ours(
                              headModel, base, budget, true, threads, requests, runSeed, lastHead)),
                  // The head with each step's logits copied to the heap (before lent logits).
                  new Variant(
                      "ours_head_copied",
                      rows,
                      () ->
                          ours(
                              headModel,
                              base,
                              benchmarkOptions(budget, true, threads).withLentLogits(false),
                              requests,
                              runSeed,
                              null)),
                  new Variant(
                      "ours_head_spin",
                      rows,
                      () -> ours(spinModel, base, budget, true, threads, requests, runSeed, null)),
                  new Variant(
                      "ours_head_t1",
                      rows,
                      () -> ours(headModel, unitT, budget, true, threads, requests, runSeed, null)),
                  new Variant(
                      "ours_head_greedy",
                      rows,
                      () ->
                          ours(headModel, greedyN, budget, true, threads, requests, runSeed, null)),
                  new Variant(
                      "ours_head_n" + nPrefill,
                      bigRows,
                      () -> ours(headModel, big, budget, true, threads, requests, runSeed, null)));
      List<Variant> listed =
          List.of(
              new Variant(
                  "ours",
                  rows,
                  () -> ours(model, base, budget, true, threads, requests, runSeed, lastBase)),
              // Each step's logits copied to the heap (before lent logits).
              new Variant(
                  "ours_copied",
                  rows,
                  () ->
                      ours(
                          model,
                          base,
                          benchmarkOptions(budget, true, threads).withLentLogits(false),
                          requests,
                          runSeed,
                          null)),
              // The whole-row scalar sampler (runtime.sampling-head=false: no head, not the JVM's).
              new Variant(
                  "ours_scalar",
                  rows,
                  () ->
                      ours(
                          model,
                          base,
                          benchmarkOptions(budget, true, threads).withSamplingHead(false),
                          requests,
                          runSeed,
                          null)),
              new Variant("bare_ort", rows, () -> bare.run(promptIds, n, newTokens, padId)),
              // The bare loop with ONNX Runtime's worker spinning off, as our sessions run.
              new Variant(
                  "bare_ort_nospin", rows, () -> bareNoSpin.run(promptIds, n, newTokens, padId)),
              new Variant(
                  "ours_1thread",
                  rows,
                  () -> {
                    List<List<SampleGenerator.PromptResult>> out =
                        new ArrayList<>(List.of(List.of()));
                    Stats.Sample s = ours(model, base, budget, true, 1, requests, runSeed, out);
                    if (!lastBase.get(0).isEmpty()) {
                      assertSameSamples(lastBase.get(0), out.get(0));
                    }
                    return s;
                  }),
              new Variant(
                  "ours_lanes",
                  rows,
                  () -> oursLanes(laneModel, base, budget, threads, requests, runSeed)),
              // The bare loop on one intra-op thread: one loop, and `threads` loops at once over
              // slices of the prompts (what lanes do, without sampling).
              new Variant(
                  "bare_ort_1thread", rows, () -> bareOne.run(promptIds, n, newTokens, padId)),
              new Variant(
                  "bare_ort_loops",
                  rows,
                  () -> concurrentLoops(bareOne, promptIds, threads, n, newTokens, padId)),
              new Variant(
                  "ours_top_p",
                  rows,
                  () -> ours(model, topP, budget, true, threads, requests, runSeed, null)),
              // Temperature 1 (the Quick start's): one exp pass over the row instead of two.
              new Variant(
                  "ours_t1",
                  rows,
                  () -> ours(model, unitT, budget, true, threads, requests, runSeed, null)),
              new Variant(
                  "ours_greedy",
                  rows,
                  () -> ours(model, greedyN, budget, true, threads, requests, runSeed, null)),
              new Variant(
                  "ours_spin",
                  rows,
                  () -> ours(plainSpinModel, base, budget, true, threads, requests, runSeed, null)),
              new Variant(
                  "bare_ort_n" + nPrefill,
                  bigRows,
                  () -> bare.run(promptIds, nPrefill, newTokens, padId)),
              new Variant(
                  "bare_ort_nospin_n" + nPrefill,
                  bigRows,
                  () -> bareNoSpin.run(promptIds, nPrefill, newTokens, padId)),
              new Variant(
                  "ours_scalar_n" + nPrefill,
                  bigRows,
                  () ->
                      ours(
                          model,
                          big,
                          benchmarkOptions(budget, true, threads).withSamplingHead(false),
                          requests,
                          runSeed,
                          null)),
              new Variant(
                  "ours_spin_n" + nPrefill,
                  bigRows,
                  () -> ours(plainSpinModel, big, budget, true, threads, requests, runSeed, null)),
              new Variant(
                  "ours_n" + nPrefill + "_shared",
                  bigRows,
                  () -> ours(model, big, budget, true, threads, requests, runSeed, lastShared)),
              new Variant(
                  "ours_n" + nPrefill + "_unshared",
                  bigRows,
                  () -> {
                    List<List<SampleGenerator.PromptResult>> out =
                        new ArrayList<>(List.of(List.of()));
                    Stats.Sample s =
                        ours(model, big, budget, false, threads, requests, runSeed, out);
                    if (!lastShared.get(0).isEmpty()) {
                      assertSameSamples(lastShared.get(0), out.get(0));
                    }
                    return s;
                  }),
              // Diagnostic only (--only): the engine path at N rows without sampling.
              new Variant(
                  "ours_greedy_n" + nPrefill,
                  bigRows,
                  () -> ours(model, greedyBig, budget, true, threads, requests, runSeed, null)));
      // The head's variants go before the last (diagnostic) one.
      List<Variant> all = new ArrayList<>(listed.subList(0, listed.size() - 1));
      all.addAll(headVariants);
      all.add(listed.get(listed.size() - 1));
      List<Variant> variants =
          only == null
              ? all.subList(0, all.size() - 1)
              : all.stream().filter(v -> only.contains(v.name())).toList();
      Map<String, Stats> stats = new LinkedHashMap<>();
      for (Variant v : variants) {
        stats.put(v.name(), new Stats());
      }
      System.err.printf(Locale.ROOT, "[%s] warm-up (%d round(s)) ...%n", name, warmup);
      long roundNanos = 0;
      for (int w = 0; w < warmup; w++) {
        long t = System.nanoTime();
        for (Variant v : variants) {
          v.run().once();
        }
        roundNanos = System.nanoTime() - t;
      }
      // Short rounds (small models) get more repeats: at least minSeconds of timed rounds, at most
      // 30.
      int rounds = repeats;
      if (roundNanos > 0 && minSeconds > 0) {
        rounds = (int) Math.min(30, Math.max(repeats, Math.ceil(minSeconds * 1e9 / roundNanos)));
      }
      for (int r = 0; r < rounds; r++) {
        for (Variant v : variants) {
          long cpu0 = processCpuNanos();
          Stats.Sample s = v.run().once();
          s = s.withCpu(processCpuNanos() - cpu0);
          if (s.tokens() != (long) v.rows() * newTokens) {
            throw new IllegalStateException(
                v.name()
                    + " generated "
                    + s.tokens()
                    + " tokens, expected "
                    + (long) v.rows() * newTokens);
          }
          stats.get(v.name()).samples.add(s);
        }
        System.err.printf(Locale.ROOT, "[%s] repeat %d/%d done%n", name, r + 1, rounds);
      }

      ObjectNode out = JSON.createObjectNode();
      out.put("dir", dir.toString());
      out.put("repeats", rounds);
      out.put("layers", model.graph().signature().numLayers());
      out.put("kv_heads", model.graph().signature().numKvHeads());
      out.put("head_dim", model.graph().signature().headDim());
      out.put("vocab", model.graph().signature().logitsWidth());
      out.put("selects_logit_positions", model.graph().selectsLogitPositions());
      out.put("load_ms", loadNanos / 1e6);
      out.put("bare_session_ms", sessionNanos / 1e6);
      out.put("load_warm_ms", warmLoadNanos / 1e6);
      out.put("bare_session2_ms", session2Nanos / 1e6);
      out.put("peak_rss_mb", peakRssMb());
      // What one decoding step moves between Java and the engine at N rows and the mean cache
      // length: the whole cache in (past) and out (present), one logits row per row.
      org.prefscore.runtime.DecoderSignature sig = model.graph().signature();
      double meanCache =
          Arrays.stream(promptIds).mapToInt(x -> x.length).max().orElse(0) + newTokens / 2.0;
      double kvPerRowPos = 2.0 * sig.numLayers() * sig.numKvHeads() * sig.headDim() * Float.BYTES;
      ObjectNode bytes = out.putObject("bytes_per_step_n" + n);
      bytes.put("kv_in", rows * meanCache * kvPerRowPos);
      bytes.put("kv_out", rows * (meanCache + 1) * kvPerRowPos);
      bytes.put("logits", (double) rows * sig.logitsWidth() * Float.BYTES);
      System.out.printf(
          Locale.ROOT,
          "load %.0f ms, bare ORT session %.0f ms, later loads %.0f ms, later bare sessions %.0f"
              + " ms (medians of 3); peak RSS %.0f MB; per decode step at %d rows:"
              + " KV in %.1f MB, out %.1f MB, logits %.1f MB%n",
          loadNanos / 1e6,
          sessionNanos / 1e6,
          warmLoadNanos / 1e6,
          session2Nanos / 1e6,
          peakRssMb(),
          rows,
          bytes.get("kv_in").asDouble() / 1e6,
          bytes.get("kv_out").asDouble() / 1e6,
          bytes.get("logits").asDouble() / 1e6);
      ArrayNode lengths = out.putArray("prompt_tokens");
      for (long[] p : promptIds) {
        lengths.add(p.length);
      }
      ObjectNode vs = out.putObject("variants");
      System.out.printf(
          Locale.ROOT,
          "%n== %s (%s): %d prompts, %d new tokens/row, %d intra-op threads%n",
          name,
          model.graph().signature(),
          prompts.size(),
          newTokens,
          threads);
      System.out.printf(
          Locale.ROOT,
          "%-22s %5s %9s %10s %10s %10s %7s %9s %9s %9s %9s%n",
          "variant",
          "rows",
          "ms(med)",
          "tok/s med",
          "tok/s min",
          "tok/s max",
          "spread",
          "fwd share",
          "smp share",
          "cpu ms/tk",
          "smp cpu");
      for (Variant v : variants) {
        Stats s = stats.get(v.name());
        ObjectNode o = vs.putObject(v.name());
        o.put("rows", v.rows());
        o.put("new_tokens", s.tokens());
        o.put("median_ms", s.medianMillis());
        o.put("tok_s_median", s.median());
        o.put("tok_s_min", s.min());
        o.put("tok_s_max", s.max());
        o.put("spread", (s.max() - s.min()) / s.median());
        o.put("forward_share", s.forwardShare());
        o.put("sampling_share", s.samplingShare());
        o.put("cpu_ms_per_token", s.cpuMillisPerToken());
        o.put("sampling_cpu_share", s.samplingCpuShare());
        o.put("forward_ms_mean", s.forwardMillis());
        o.put("sampling_ms_mean", s.samplingMillis());
        o.put("call_ms_mean", s.meanMillis());
        ArrayNode perRun = o.putArray("tok_s_all");
        for (Stats.Sample x : s.samples) {
          perRun.add(x.tokens() * 1e9 / x.nanos());
        }
        System.out.printf(
            Locale.ROOT,
            "%-22s %5d %9.1f %10.0f %10.0f %10.0f %6.1f%% %8.1f%% %8.1f%% %9.2f %8.1f%%%n",
            v.name(),
            v.rows(),
            s.medianMillis(),
            s.median(),
            s.min(),
            s.max(),
            100 * (s.max() - s.min()) / s.median(),
            100 * s.forwardShare(),
            100 * s.samplingShare(),
            s.cpuMillisPerToken(),
            100 * s.samplingCpuShare());
      }
      ObjectNode ratios = out.putObject("ratios");
      ratio(ratios, stats, "ours_over_bare", "ours", "bare_ort");
      cpuRatio(ratios, stats, "ours_over_bare_cpu", "ours", "bare_ort_nospin");
      cpuRatio(ratios, stats, "ours_greedy_over_bare_cpu", "ours_greedy", "bare_ort_nospin");
      ratio(ratios, stats, "ours_over_bare_nospin", "ours", "bare_ort_nospin");
      ratio(ratios, stats, "bare_nospin_over_bare", "bare_ort_nospin", "bare_ort");
      ratio(ratios, stats, "ours_1thread_over_bare", "ours_1thread", "bare_ort");
      ratio(ratios, stats, "ours_t1_over_bare_nospin", "ours_t1", "bare_ort_nospin");
      ratio(ratios, stats, "ours_lanes_over_bare", "ours_lanes", "bare_ort");
      ratio(ratios, stats, "ours_lanes_over_bare_nospin", "ours_lanes", "bare_ort_nospin");
      ratio(ratios, stats, "ours_lanes_over_bare_1thread", "ours_lanes", "bare_ort_1thread");
      ratio(ratios, stats, "ours_lanes_over_bare_loops", "ours_lanes", "bare_ort_loops");
      ratio(ratios, stats, "ours_lanes_over_ours", "ours_lanes", "ours");
      cpuRatio(ratios, stats, "ours_lanes_over_bare_loops_cpu", "ours_lanes", "bare_ort_loops");
      ratio(ratios, stats, "ours_greedy_over_bare", "ours_greedy", "bare_ort");
      ratio(ratios, stats, "ours_top_p_over_ours", "ours_top_p", "ours");
      ratio(
          ratios,
          stats,
          "shared_over_unshared_n" + nPrefill,
          "ours_n" + nPrefill + "_shared",
          "ours_n" + nPrefill + "_unshared");
      ratio(
          ratios,
          stats,
          "ours_over_bare_n" + nPrefill,
          "ours_n" + nPrefill + "_shared",
          "bare_ort_n" + nPrefill);
      ratio(
          ratios,
          stats,
          "ours_over_bare_nospin_n" + nPrefill,
          "ours_n" + nPrefill + "_shared",
          "bare_ort_nospin_n" + nPrefill);
      ratio(
          ratios,
          stats,
          "ours_spin_over_bare_n" + nPrefill,
          "ours_spin_n" + nPrefill,
          "bare_ort_n" + nPrefill);
      ratio(ratios, stats, "ours_spin_over_bare", "ours_spin", "bare_ort");
      ratio(ratios, stats, "ours_scalar_over_bare", "ours_scalar", "bare_ort");
      ratio(
          ratios,
          stats,
          "ours_scalar_over_bare_n" + nPrefill,
          "ours_scalar_n" + nPrefill,
          "bare_ort_n" + nPrefill);
      ratio(ratios, stats, "ours_over_ours_scalar", "ours", "ours_scalar");
      ratio(ratios, stats, "ours_head_over_bare", "ours_head", "bare_ort");
      ratio(ratios, stats, "ours_head_over_bare_nospin", "ours_head", "bare_ort_nospin");
      ratio(ratios, stats, "ours_head_over_ours", "ours_head", "ours");
      ratio(ratios, stats, "ours_head_spin_over_bare", "ours_head_spin", "bare_ort");
      ratio(ratios, stats, "ours_head_over_copied", "ours_head", "ours_head_copied");
      ratio(ratios, stats, "ours_over_copied", "ours", "ours_copied");
      ratio(ratios, stats, "ours_head_copied_over_bare", "ours_head_copied", "bare_ort");
      ratio(ratios, stats, "ours_head_t1_over_bare", "ours_head_t1", "bare_ort");
      ratio(ratios, stats, "ours_head_greedy_over_bare", "ours_head_greedy", "bare_ort");
      ratio(
          ratios,
          stats,
          "ours_head_over_bare_n" + nPrefill,
          "ours_head_n" + nPrefill,
          "bare_ort_n" + nPrefill);
      headShare(ratios, stats, "head_sampling_share", "ours_head", "ours");
      headShare(ratios, stats, "head_t1_sampling_share", "ours_head_t1", "ours_t1");
      if (!lastHead.get(0).isEmpty() && !lastBase.get(0).isEmpty()) {
        out.put("head_same_samples", sameSamples(lastBase.get(0), lastHead.get(0)));
      }
      if (headModel != null) {
        out.put("head_refusals", 0); // ours() throws when the head was refused for any row
      }
      if (stats.containsKey("ours_n" + nPrefill + "_unshared")) {
        out.put("samples_identical_shared_vs_unshared", true);
      }
      System.out.println("ratios " + ratios);
      return out;
    } finally {
      loaded.close();
    }
  }

  /** One call of our sampler; tokens counted from the samples, forward time from the generator. */
  private static Stats.Sample ours(
      LanguageModel model,
      SamplingConfig config,
      long budget,
      boolean share,
      int samplingThreads,
      List<SampleGenerator.Request> requests,
      long runSeed,
      List<List<SampleGenerator.PromptResult>> keep) {
    return ours(
        model, config, benchmarkOptions(budget, share, samplingThreads), requests, runSeed, keep);
  }

  /** One call of our sampler with {@code lanes} lanes (one sampling thread each). */
  private static Stats.Sample oursLanes(
      LanguageModel model,
      SamplingConfig config,
      long budget,
      int lanes,
      List<SampleGenerator.Request> requests,
      long runSeed) {
    GenerationOptions options =
        GenerationOptions.of(budget).withLanes(lanes, ExecutorRegistry.instance().samplingPool());
    return ours(model, config, options, requests, runSeed, null);
  }

  private static Stats.Sample ours(
      LanguageModel model,
      SamplingConfig config,
      GenerationOptions options,
      List<SampleGenerator.Request> requests,
      long runSeed,
      List<List<SampleGenerator.PromptResult>> keep) {
    SampleGenerator generator = new SampleGenerator(model, config, options);
    long start = System.nanoTime();
    List<SampleGenerator.PromptResult> results = generator.generate(requests, runSeed);
    long nanos = System.nanoTime() - start;
    if (generator.headRefusals() > 0) {
      throw new IllegalStateException(
          "the sampling head was refused for " + generator.headRefusals() + " token choices");
    }
    long tokens = 0;
    for (SampleGenerator.PromptResult r : results) {
      if (!r.sampled()) {
        throw new IllegalStateException("prompt " + r.promptId() + " refused: " + r.refusal());
      }
      for (SampleGenerator.Sample s : r.samples()) {
        tokens += s.tokenIds().length;
      }
    }
    if (keep != null) {
      keep.set(0, results);
    }
    return new Stats.Sample(
        tokens,
        nanos,
        generator.modelNanos(),
        generator.samplingNanos(),
        0,
        generator.samplingCpuNanos());
  }

  /**
   * {@code loops} bare loops at once on one session, over contiguous slices of the prompts (as
   * lanes cut a batch); wall time of the whole, forward time summed over the loops.
   */
  private static Stats.Sample concurrentLoops(
      BareOrtLoop bare, long[][] promptIds, int loops, int n, int newTokens, long padId)
      throws Exception {
    int count = Math.min(loops, promptIds.length);
    List<java.util.concurrent.Future<Stats.Sample>> parts = new ArrayList<>();
    long start = System.nanoTime();
    for (int l = 0; l < count; l++) {
      long[][] slice =
          Arrays.copyOfRange(
              promptIds, promptIds.length * l / count, promptIds.length * (l + 1) / count);
      parts.add(
          ExecutorRegistry.instance()
              .samplingPool()
              .submit(() -> bare.run(slice, n, newTokens, padId)));
    }
    long tokens = 0;
    long forward = 0;
    for (java.util.concurrent.Future<Stats.Sample> part : parts) {
      Stats.Sample s = part.get();
      tokens += s.tokens();
      forward += s.forwardNanos();
    }
    return new Stats.Sample(tokens, System.nanoTime() - start, forward, 0, 0, 0);
  }

  private static void assertSameSamples(
      List<SampleGenerator.PromptResult> shared, List<SampleGenerator.PromptResult> unshared) {
    if (shared.size() != unshared.size()) {
      throw new IllegalStateException("shared and unshared runs returned different prompt counts");
    }
    for (int p = 0; p < shared.size(); p++) {
      List<SampleGenerator.Sample> a = shared.get(p).samples();
      List<SampleGenerator.Sample> b = unshared.get(p).samples();
      if (a.size() != b.size()) {
        throw new IllegalStateException("prompt " + p + ": sample counts differ");
      }
      for (int s = 0; s < a.size(); s++) {
        if (!Arrays.equals(a.get(s).tokenIds(), b.get(s).tokenIds())) {
          throw new IllegalStateException(
              "shared vs unshared prefill gave different samples for prompt "
                  + a.get(s).promptId()
                  + " sample "
                  + s);
        }
        if (Math.abs(a.get(s).logprob() - b.get(s).logprob()) > 1e-3) {
          throw new IllegalStateException(
              "shared vs unshared prefill log-probs differ for prompt "
                  + a.get(s).promptId()
                  + " sample "
                  + s
                  + ": "
                  + a.get(s).logprob()
                  + " vs "
                  + b.get(s).logprob());
        }
      }
    }
  }

  private static ModelFiles withoutEos(ModelFiles f) {
    return new ModelFiles(
        f.directory(),
        f.onnxFile(),
        f.tokenizerFile(),
        f.modelType(),
        f.contextWindow(),
        f.tokenizerVocabSize(),
        List.of(-1L),
        f.bosTokenId(),
        f.padTokenId(),
        f.eosToken(),
        f.bosToken(),
        f.chatTemplate(),
        f.specialTokens(),
        f.charsPerToken());
  }

  private static List<Prompt> readPrompts(Path file, String tokensKey) throws IOException {
    JsonNode root = JSON.readTree(file.toFile());
    List<Prompt> prompts = new ArrayList<>();
    for (JsonNode p : root.path("prompts")) {
      prompts.add(
          new Prompt(p.path("id").asText(), p.path("text").asText(), p.path(tokensKey).asInt()));
    }
    if (prompts.isEmpty()) {
      throw new IllegalArgumentException("no prompts in " + file);
    }
    return prompts;
  }

  /**
   * The reference: the same graph through {@code ai.onnxruntime} directly, no sampling logic.
   * Prefill of the prompts (left-padded, one row each), each prompt's present rows repeated N
   * times, then one token per step with present fed back as past, argmax per row.
   */
  static final class BareOrtLoop implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final int layers;
    private final long kvHeads;
    private final long headDim;
    private final boolean hasPositions;

    BareOrtLoop(Path onnx, int threads, int gpu) throws OrtException {
      this(onnx, threads, gpu, true);
    }

    /** {@code spinning}: ONNX Runtime's default; false as OrtSessions opens our sessions. */
    BareOrtLoop(Path onnx, int threads, int gpu, boolean spinning) throws OrtException {
      OrtSession.SessionOptions options = new OrtSession.SessionOptions();
      if (!spinning) {
        options.addConfigEntry("session.intra_op.allow_spinning", "0");
      }
      if (gpu >= 0) {
        options.addCUDA(gpu);
      }
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      options.setIntraOpNumThreads(threads);
      options.setInterOpNumThreads(1);
      session = env.createSession(onnx.toString(), options);
      int l = 0;
      while (session.getInputInfo().containsKey("past_key_values." + l + ".key")) {
        l++;
      }
      layers = l;
      long[] shape =
          ((TensorInfo) session.getInputInfo().get("past_key_values.0.key").getInfo()).getShape();
      kvHeads = shape[1];
      headDim = shape[3];
      hasPositions = session.getInputInfo().containsKey("position_ids");
      keep = session.getInputInfo().containsKey("logits_to_keep");
    }

    private final boolean keep;

    /** logits_to_keep = 1 (an int64 scalar) where the graph takes it. */
    private void keepLast(Map<String, OnnxTensor> in, List<OnnxTensor> owned) throws OrtException {
      if (keep) {
        in.put("logits_to_keep", own(owned, OnnxTensor.createTensor(env, 1L)));
      }
    }

    Stats.Sample run(long[][] prompts, int n, int newTokens, long padId) throws OrtException {
      long start = System.nanoTime();
      long forward = 0;
      int p = prompts.length;
      int maxPrompt = 0;
      for (long[] ids : prompts) {
        maxPrompt = Math.max(maxPrompt, ids.length);
      }
      long[] ids = new long[p * maxPrompt];
      long[] mask = new long[p * maxPrompt];
      long[] pos = new long[p * maxPrompt];
      Arrays.fill(ids, padId);
      for (int r = 0; r < p; r++) {
        int pad = maxPrompt - prompts[r].length;
        System.arraycopy(prompts[r], 0, ids, r * maxPrompt + pad, prompts[r].length);
        for (int s = 0; s < prompts[r].length; s++) {
          mask[r * maxPrompt + pad + s] = 1;
          pos[r * maxPrompt + pad + s] = s;
        }
      }
      Map<String, OnnxTensor> in = new HashMap<>();
      List<OnnxTensor> owned = new ArrayList<>();
      in.put(
          "input_ids",
          own(
              owned,
              OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {p, maxPrompt})));
      in.put(
          "attention_mask",
          own(
              owned,
              OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {p, maxPrompt})));
      if (hasPositions) {
        in.put(
            "position_ids",
            own(
                owned,
                OnnxTensor.createTensor(env, LongBuffer.wrap(pos), new long[] {p, maxPrompt})));
      }
      for (int i = 0; i < layers; i++) {
        for (String kind : new String[] {"key", "value"}) {
          in.put(
              "past_key_values." + i + "." + kind,
              own(
                  owned,
                  OnnxTensor.createTensor(
                      env, FloatBuffer.allocate(0), new long[] {p, kvHeads, 0, headDim})));
        }
      }
      keepLast(in, owned);
      long t0 = System.nanoTime();
      OrtSession.Result result = session.run(in);
      forward += System.nanoTime() - t0;
      closeAll(owned);

      int rows = p * n;
      long[] next = new long[rows];
      int[] promptLength = new int[rows];
      FloatBuffer logits = logits(result);
      int positions = keep ? 1 : maxPrompt;
      int width = logits.capacity() / (p * positions);
      for (int r = 0; r < p; r++) {
        long best = argmax(logits, (r * positions + positions - 1) * width, width);
        for (int s = 0; s < n; s++) {
          next[r * n + s] = best;
          promptLength[r * n + s] = prompts[r].length;
        }
      }
      // Repeat each prompt's cache rows n times.
      Map<String, OnnxTensor> past = new HashMap<>();
      for (int i = 0; i < layers; i++) {
        for (String kind : new String[] {"key", "value"}) {
          FloatBuffer src =
              ((OnnxTensor) result.get("present." + i + "." + kind).get()).getFloatBuffer();
          int rowSize = src.capacity() / p;
          FloatBuffer dst = FloatBuffer.allocate(rowSize * rows);
          for (int r = 0; r < p; r++) {
            for (int s = 0; s < n; s++) {
              dst.put(src.slice(r * rowSize, rowSize));
            }
          }
          dst.flip();
          OnnxTensor t =
              OnnxTensor.createTensor(env, dst, new long[] {rows, kvHeads, maxPrompt, headDim});
          owned.add(t);
          past.put("past_key_values." + i + "." + kind, t);
        }
      }
      result.close();
      long generated = rows; // the first token comes from the prefill logits
      int cacheLength = maxPrompt;
      OrtSession.Result previous = null;
      for (int step = 1; step < newTokens; step++) {
        long[] stepMask = new long[rows * (cacheLength + 1)];
        long[] stepPos = new long[rows];
        for (int r = 0; r < rows; r++) {
          int base = r * (cacheLength + 1);
          Arrays.fill(stepMask, base + maxPrompt - promptLength[r], base + cacheLength + 1, 1L);
          stepPos[r] = promptLength[r] + step - 1;
        }
        Map<String, OnnxTensor> stepIn = new HashMap<>(past);
        List<OnnxTensor> small = new ArrayList<>();
        stepIn.put(
            "input_ids",
            own(small, OnnxTensor.createTensor(env, LongBuffer.wrap(next), new long[] {rows, 1})));
        stepIn.put(
            "attention_mask",
            own(
                small,
                OnnxTensor.createTensor(
                    env, LongBuffer.wrap(stepMask), new long[] {rows, cacheLength + 1})));
        if (hasPositions) {
          stepIn.put(
              "position_ids",
              own(
                  small,
                  OnnxTensor.createTensor(env, LongBuffer.wrap(stepPos), new long[] {rows, 1})));
        }
        keepLast(stepIn, small);
        t0 = System.nanoTime();
        OrtSession.Result out = session.run(stepIn);
        forward += System.nanoTime() - t0;
        closeAll(small);
        if (previous != null) {
          previous.close();
        } else {
          closeAll(owned);
        }
        previous = out;
        cacheLength++;
        FloatBuffer stepLogits = logits(out);
        for (int r = 0; r < rows; r++) {
          next[r] = argmax(stepLogits, r * width, width);
        }
        generated += rows;
        past = new HashMap<>();
        for (int i = 0; i < layers; i++) {
          for (String kind : new String[] {"key", "value"}) {
            past.put(
                "past_key_values." + i + "." + kind,
                (OnnxTensor) out.get("present." + i + "." + kind).get());
          }
        }
      }
      if (previous != null) {
        previous.close();
      } else {
        closeAll(owned);
      }
      return new Stats.Sample(generated, System.nanoTime() - start, forward);
    }

    private static FloatBuffer logits(OrtSession.Result result) {
      OnnxValue v = result.get("logits").orElseThrow();
      return ((OnnxTensor) v).getFloatBuffer();
    }

    private static long argmax(FloatBuffer logits, int offset, int width) {
      int best = 0;
      float value = Float.NEGATIVE_INFINITY;
      for (int i = 0; i < width; i++) {
        float x = logits.get(offset + i);
        if (x > value) {
          value = x;
          best = i;
        }
      }
      return best;
    }

    private static OnnxTensor own(List<OnnxTensor> owned, OnnxTensor t) {
      owned.add(t);
      return t;
    }

    private static void closeAll(List<OnnxTensor> tensors) {
      for (OnnxTensor t : tensors) {
        t.close();
      }
      tensors.clear();
    }

    @Override
    public void close() throws OrtException {
      session.close();
    }
  }

  private GenerationBenchmark() {}

  /** CPU per token of {@code den} over that of {@code num}: above 1 when num costs less CPU. */
  private static void cpuRatio(
      ObjectNode ratios, Map<String, Stats> stats, String key, String num, String den) {
    if (stats.containsKey(num) && stats.containsKey(den)) {
      ratios.put(key, stats.get(den).cpuMillisPerToken() / stats.get(num).cpuMillisPerToken());
    }
  }

  private static void ratio(
      ObjectNode ratios, Map<String, Stats> stats, String name, String a, String b) {
    if (stats.containsKey(a) && stats.containsKey(b)) {
      ratios.put(name, stats.get(a).median() / stats.get(b).median());
    }
  }

  /**
   * Sampling's share of a call with the head, the head's own cost included: the call's sampling
   * time plus what its forward passes took beyond those of the same config on the plain graph.
   */
  private static void headShare(
      ObjectNode ratios, Map<String, Stats> stats, String name, String head, String plain) {
    if (stats.containsKey(head) && stats.containsKey(plain)) {
      Stats h = stats.get(head);
      // Both lend their logits (ours_*_copied do not): the difference is the head's own work.
      double inGraph = Math.max(0, h.forwardMillis() - stats.get(plain).forwardMillis());
      ratios.put(name, (h.samplingMillis() + inGraph) / h.meanMillis());
      ratios.put(name + "_in_graph_ms", inGraph);
    }
  }

  /** The share of samples with the same tokens in two runs of the same requests. */
  private static double sameSamples(
      List<SampleGenerator.PromptResult> a, List<SampleGenerator.PromptResult> b) {
    int same = 0;
    int all = 0;
    for (int p = 0; p < a.size(); p++) {
      for (int s = 0; s < a.get(p).samples().size(); s++) {
        all++;
        same +=
            Arrays.equals(
                    a.get(p).samples().get(s).tokenIds(), b.get(p).samples().get(s).tokenIds())
                ? 1
                : 0;
      }
    }
    return all == 0 ? 0 : (double) same / all;
  }

  /** The JVM's peak resident set (VmHWM), in MB; -1 where /proc is missing. */
  /** The JVM's CPU time, all threads (0 where the platform does not report it). */
  static long processCpuNanos() {
    java.lang.management.OperatingSystemMXBean os =
        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    return os instanceof com.sun.management.OperatingSystemMXBean sun
        ? Math.max(0, sun.getProcessCpuTime())
        : 0;
  }

  static double peakRssMb() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  private static GenerationOptions benchmarkOptions(
      long budget, boolean share, int samplingThreads) {
    GenerationOptions options = GenerationOptions.of(budget).withSharePrefill(share);
    return samplingThreads > 1
        ? options.withSamplingThreads(samplingThreads, ExecutorRegistry.instance().samplingPool())
        : options;
  }
}
