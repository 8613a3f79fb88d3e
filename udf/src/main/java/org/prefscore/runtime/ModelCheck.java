package org.prefscore.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Stream;
import org.prefscore.runtime.onnx.HfTokenizer;

/**
 * Opens a local model directory as an executor will and proves it usable, so that a broken or
 * mismatched directory fails on the driver, before Spark starts, with the file and the problem
 * named, instead of inside a model stage.
 *
 * <p>What is checked, in order (the first problem is thrown as a {@link ModelLoadException} whose
 * message starts with the file's path):
 *
 * <ol>
 *   <li>the files parse ({@link ModelFiles#read}): config.json, generation_config.json,
 *       tokenizer_config.json and tokenizer.json are JSON, a context window and EOS ids are set,
 *       and every EOS, BOS and pad id is an id of tokenizer.json;
 *   <li>the tokenizer loads, and the special tokens' texts are the special ids ({@link
 *       ModelLoader}): a tokenizer.json from another model fails here;
 *   <li>the graph loads ({@link ModelLoader}); for a decoder the layout is discovered and the
 *       tokenizer's vocabulary must fit the logits width;
 *   <li>one tiny pass runs through the model contracts and gives no NaN. A decoder: a prefill of
 *       two rows through {@link DecodeSession} (the probe text left-padded with the pad id, and the
 *       probe text followed by the tokenizer's highest id), then one decode step with an EOS id on
 *       the cache. A reward model: two right-padded rows (the probe text with and without the
 *       tokenizer's highest id) through {@link SequenceClassifier}. So the pad, EOS and highest ids
 *       all go through the embedding.
 * </ol>
 *
 * The check runs on CPU with one thread whatever the run's engine options (it proves the files, not
 * the device), holds one model at a time and closes it. The chat template is checked by {@code
 * org.prefscore.chat.PromptRenderer#probe}.
 */
public final class ModelCheck {

  /** The text every probe pass tokenizes. */
  public static final String PROBE_TEXT = "Hello! How are you today?";

  /**
   * The logits width from which a decoder without a sampling head is worth a hint: at 32k ids and
   * more, the JVM's whole-row sampler is a tenth or more of generation time on a CPU
   * (docs/benchmarks.md, "Realistic model").
   */
  public static final int SAMPLING_HEAD_HINT_WIDTH = 32_768;

  /**
   * What a passed check saw, for the dry-run plan and the log.
   *
   * @param files the parsed files
   * @param summary one line: kind, model type, sizes, what ran
   * @param logitsWidth a decoder's logits width, when its graph was loaded; 0 otherwise
   * @param samplingHead whether that graph has a sampling head (docs/deploy.md#a-sampling-head)
   */
  public record Result(ModelFiles files, String summary, int logitsWidth, boolean samplingHead) {
    /** A check that loaded no decoder graph. */
    public Result(ModelFiles files, String summary) {
      this(files, summary, 0, false);
    }
  }

  /**
   * For a decoder that will sample from its whole distribution (temperature above 0, no top-k or
   * top-p): a note that each sampled token will exponentiate its whole logits row in scalar code,
   * and the two ways out (the JVM's vector API, a graph head), when the vocabulary is large enough
   * for that to matter and neither applies; empty otherwise.
   *
   * @param vectorPass whether the sampler weighs rows of this width with the JVM's vector API
   *     (docs/deploy.md#the-jvms-vector-api), as it does in this JVM ({@code
   *     TokenSampler.weighsRowsInVectors(int)})
   */
  public static Optional<String> samplingHeadHint(Result result, boolean vectorPass) {
    if (result.logitsWidth() < SAMPLING_HEAD_HINT_WIDTH || result.samplingHead() || vectorPass) {
      return Optional.empty();
    }
    return Optional.of(
        "no sampling head and no vector API: each sampled token exponentiates its whole row of "
            + result.logitsWidth()
            + " logits twice in scalar code (on the 151,936-id benchmark model, 2 cores,"
            + " generation at 0.83x of the bare ONNX Runtime loop, 0.95-1.03x with either);"
            + " start the JVMs with --add-modules=jdk.incubator.vector"
            + " (docs/deploy.md#the-jvms-vector-api) or add a head with"
            + " `python -m prefscore_onnx.sampling_head` (docs/deploy.md#a-sampling-head)");
  }

  private ModelCheck() {}

  /**
   * Checks the local model directory of {@code spec} as a decoder or a reward model.
   *
   * @throws ModelLoadException naming the file and the problem
   */
  public static Result check(ModelSpec spec) {
    ModelSpec cpu = spec.withEngine(EngineOptions.cpu(1));
    return spec.kind() == ModelSpec.Kind.DECODER ? decoder(cpu) : reward(cpu);
  }

  /**
   * The bytes of the graph {@code spec} names: its ONNX file and the external-data files beside it
   * whose names start with the ONNX file's name ({@code model.onnx_data}, {@code model.onnx.data},
   * ...), what building its session would read.
   *
   * @throws ModelLoadException as {@link ModelFiles#graphFile} does
   */
  public static long graphBytes(ModelSpec spec) {
    Path graph = ModelFiles.graphFile(Path.of(spec.directory()), spec.onnxFile());
    String name = graph.getFileName().toString();
    try (Stream<Path> siblings = Files.list(graph.getParent())) {
      return siblings
          .filter(p -> p.getFileName().toString().startsWith(name) && Files.isRegularFile(p))
          .mapToLong(
              p -> {
                try {
                  return Files.size(p);
                } catch (IOException e) {
                  throw new ModelLoadException(p, "cannot be read: " + e.getMessage());
                }
              })
          .sum();
    } catch (IOException e) {
      throw new ModelLoadException(graph.getParent(), "cannot be listed: " + e.getMessage());
    }
  }

  /**
   * The checks of {@link #check} that do not load the graph: the files parse and the tokenizer
   * loads and agrees with the special token ids. For a graph too large to load on the driver; each
   * executor applies the loader's checks (the graph loads, its layout, the vocabulary fits its
   * logits) as it loads the model, but not the probe pass.
   *
   * @throws ModelLoadException naming the file and the problem
   */
  public static Result checkWithoutGraph(ModelSpec spec, String why) {
    ModelFiles files = ModelFiles.read(Path.of(spec.directory()), spec.onnxFile());
    try (TextTokenizer tokenizer = HfTokenizer.load(files.tokenizerFile())) {
      ModelLoader.checkSpecialTokens(files, tokenizer);
    }
    return new Result(
        files,
        (spec.kind() == ModelSpec.Kind.DECODER ? "decoder" : "reward model")
            + " "
            + files.modelType()
            + ", files and tokenizer checked; graph not loaded on the driver: "
            + why
            + " (each executor checks it as it loads it)");
  }

  private static Result decoder(ModelSpec spec) {
    try (LanguageModel model = ModelLoader.loadDecoder(spec)) {
      ModelFiles files = model.files();
      DecoderSignature signature = model.graph().signature();
      boolean samplingHead = model.graph().hasSamplingHead();
      long[] probe = model.encode(PROBE_TEXT);
      if (probe.length == 0) {
        throw new ModelLoadException(
            files.tokenizerFile(), "gives no tokens for the probe text '" + PROBE_TEXT + "'");
      }
      int n = probe.length;
      if (n + 2 > files.contextWindow()) {
        throw new ModelLoadException(
            files.directory().resolve("config.json"),
            "the context window of " + files.contextWindow() + " positions holds no probe pass");
      }
      long highest = files.tokenizerVocabSize() - 1;
      long pad = files.padTokenId() >= 0 ? files.padTokenId() : files.eosTokenIds().get(0);
      long eos = files.eosTokenIds().get(0);
      int seq = n + 1;
      long[] ids = new long[2 * seq];
      long[] mask = new long[2 * seq];
      long[] positions = new long[2 * seq];
      // Row 0: pad, probe (left-padded, as SampleGenerator batches prompts). Row 1: probe, highest.
      ids[0] = pad;
      for (int i = 0; i < n; i++) {
        ids[1 + i] = probe[i];
        mask[1 + i] = 1;
        positions[1 + i] = i;
        ids[seq + i] = probe[i];
        mask[seq + i] = 1;
        positions[seq + i] = i;
      }
      ids[seq + n] = highest;
      mask[seq + n] = 1;
      positions[seq + n] = n;
      try (DecodeSession session = model.graph().openSession()) {
        KvCache empty = session.emptyCache(2);
        StepOutput prefill =
            session.forward(
                new StepInput(
                    2, seq, ids, mask, positions, empty, StepInput.LogitsWanted.LAST_POSITION));
        empty.close();
        requireLogits(files, "prefill", prefill, 2, signature.logitsWidth());
        long[] stepMask = new long[2 * (seq + 1)];
        Arrays.fill(stepMask, 1);
        stepMask[0] = 0;
        StepOutput step =
            session.forward(
                new StepInput(
                    2,
                    1,
                    new long[] {eos, eos},
                    stepMask,
                    new long[] {n, n + 1},
                    prefill.present(),
                    StepInput.LogitsWanted.LAST_POSITION));
        prefill.present().close();
        step.present().close();
        requireLogits(files, "decode step", step, 2, signature.logitsWidth());
      } catch (ModelLoadException e) {
        throw e;
      } catch (RuntimeException e) {
        throw new ModelLoadException(
            files.onnxFile(),
            "a probe pass failed (prefill of the probe text with pad id "
                + pad
                + " and the tokenizer's highest id "
                + highest
                + ", then a decode step with EOS id "
                + eos
                + "): "
                + e.getMessage(),
            e);
      }
      return new Result(
          files,
          "decoder "
              + files.modelType()
              + ": "
              + signature.numLayers()
              + " layers, "
              + signature.logitsWidth()
              + " logits, tokenizer "
              + files.tokenizerVocabSize()
              + " ids, EOS "
              + files.eosTokenIds()
              + ", context "
              + files.contextWindow()
              + ", graph "
              + graphName(files)
              + (samplingHead ? " with a sampling head" : "")
              + "; a prefill and a decode step ran",
          signature.logitsWidth(),
          samplingHead);
    }
  }

  private static Result reward(ModelSpec spec) {
    try (RewardModel model = ModelLoader.loadReward(spec)) {
      ModelFiles files = model.files();
      long[] probe = model.tokenizer().encode(PROBE_TEXT, true);
      if (probe.length == 0) {
        throw new ModelLoadException(
            files.tokenizerFile(), "gives no tokens for the probe text '" + PROBE_TEXT + "'");
      }
      int seq = probe.length + 1;
      if (seq > files.contextWindow()) {
        throw new ModelLoadException(
            files.directory().resolve("config.json"),
            "the context window of " + files.contextWindow() + " positions holds no probe pass");
      }
      long highest = files.tokenizerVocabSize() - 1;
      long pad = files.padTokenId() >= 0 ? files.padTokenId() : files.eosTokenIds().get(0);
      long[] ids = new long[2 * seq];
      long[] mask = new long[2 * seq];
      // Row 0: probe, highest. Row 1: probe, pad (right-padded, as RewardScorer batches texts).
      for (int i = 0; i < probe.length; i++) {
        ids[i] = probe[i];
        ids[seq + i] = probe[i];
        mask[i] = 1;
        mask[seq + i] = 1;
      }
      ids[seq - 1] = highest;
      mask[seq - 1] = 1;
      ids[2 * seq - 1] = pad;
      float[] logits;
      try {
        logits = model.graph().classify(2, seq, ids, mask);
      } catch (RuntimeException e) {
        throw new ModelLoadException(
            files.onnxFile(),
            "a probe pass failed (the probe text with the tokenizer's highest id "
                + highest
                + ", and right-padded with pad id "
                + pad
                + "): "
                + e.getMessage(),
            e);
      }
      for (float v : logits) {
        if (Float.isNaN(v)) {
          throw new ModelLoadException(
              files.onnxFile(), "the probe pass gives a NaN reward " + Arrays.toString(logits));
        }
      }
      return new Result(
          files,
          "reward model "
              + files.modelType()
              + ": tokenizer "
              + files.tokenizerVocabSize()
              + " ids, context "
              + files.contextWindow()
              + ", graph "
              + graphName(files)
              + "; two texts scored");
    }
  }

  private static void requireLogits(
      ModelFiles files, String pass, StepOutput out, int rows, int width) {
    if (out.logitsWidth() != width || out.logits().length != rows * width) {
      throw new ModelLoadException(
          files.onnxFile(),
          "the "
              + pass
              + " gave "
              + out.logits().length
              + " logits of width "
              + out.logitsWidth()
              + ", expected "
              + rows
              + " rows of "
              + width);
    }
    for (int i = 0; i < out.logits().length; i++) {
      if (Float.isNaN(out.logits()[i])) {
        throw new ModelLoadException(
            files.onnxFile(),
            "the " + pass + " gives NaN logits (row " + (i / width) + ", id " + (i % width) + ")");
      }
    }
  }

  /**
   * The graph's path in its directory, with {@code /} ({@code model.onnx}, {@code
   * onnx/model_fp16.onnx}).
   */
  private static String graphName(ModelFiles files) {
    return files.directory().relativize(files.onnxFile()).toString().replace('\\', '/');
  }
}
