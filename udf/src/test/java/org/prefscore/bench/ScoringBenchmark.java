package org.prefscore.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.prefscore.runtime.EngineOptions;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.ModelLoader;
import org.prefscore.runtime.ModelSpec;
import org.prefscore.runtime.decode.GenerationOptions;
import org.prefscore.runtime.decode.SampleGenerator;
import org.prefscore.runtime.decode.SamplingConfig;
import org.prefscore.runtime.score.SequenceScorer;

/**
 * Teacher-forced scoring and prefill benchmark (a main class, not a test; run by {@code
 * bench/generation.sh}).
 *
 * <p>Scoring workload, TL;DR-shaped: {@code --tuples} synthetic posts of about {@code
 * --prompt-words} seeded random English words (about 400 tokens under the Qwen3 tokenizer) with two
 * responses of about {@code --response-words} words (about 50 tokens), each scored four times as
 * {@code PairScoringFunction} does (x and p ⊕ x, chosen and rejected; EOS appended). Variants,
 * interleaved round-robin in one JVM: {@code separate} (one pass over prompt + response per
 * request, the scorer before issue 12) and {@code shared} (each prompt prefilled once, responses
 * continued on its cache). Throughput = Σ (prompt + response tokens) / wall time, the same
 * numerator for both. The values of the two are compared in every round.
 *
 * <p>Prefill workload ({@code --prefill-model}, a graph without logits_to_keep of the same
 * weights): {@code --prefill-prompts} prompts of about {@code --prefill-words} words, one new token
 * each (greedy), on the model (logits_to_keep: last position only) and on the all-logits graph (the
 * prefill runs in chunks of positions within the 256 MB logits budget).
 *
 * <p>Options: {@code --model DIR}, {@code --prefill-model DIR}, {@code --threads}, {@code
 * --tuples}, {@code --prompt-words}, {@code --response-words}, {@code --prefill-prompts}, {@code
 * --prefill-words}, {@code --warmup}, {@code --repeats}, {@code --variants a,b} (subset: for peak
 * RSS, one variant per JVM), {@code --json-out FILE}, {@code --texts-out FILE} (the workload as
 * JSON, for bench/transformers_score.py).
 */
public final class ScoringBenchmark {

  private static final ObjectMapper JSON = new ObjectMapper();

  private static final String[] WORDS =
      ("the a to and of I my it was in that he she for with on me but so we they is this had"
              + " not be at her his as you just have all what about when out up one time would"
              + " like were there been because said get really know then even after now do back"
              + " friend work day home she'd thought never asked told going things week months"
              + " years boyfriend girlfriend relationship family mom dad sister brother job money"
              + " car house apartment school college party text phone call message weekend night"
              + " morning dinner talk talked told tried decided started stopped wanted happened"
              + " feel felt angry upset happy sad worried sure honest question advice help think")
          .split(" ");

  private ScoringBenchmark() {}

  private static String words(SplittableRandom random, int n) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < n; i++) {
      if (i > 0) {
        b.append(i % 17 == 0 ? ". " : " ");
      }
      b.append(WORDS[random.nextInt(WORDS.length)]);
    }
    return b.append('.').toString();
  }

  public static void main(String[] args) throws Exception {
    Path modelDir = null;
    Path prefillDir = null;
    int threads = 2;
    int tuples = 2;
    int promptWords = 300;
    int responseWords = 38;
    int prefillPrompts = 16;
    int prefillWords = 200;
    int warmup = 1;
    int repeats = 3;
    List<String> variants = List.of("separate", "shared");
    Path jsonOut = null;
    Path textsOut = null;
    for (int i = 0; i < args.length; i += 2) {
      String v = args[i + 1];
      switch (args[i]) {
        case "--model" -> modelDir = Path.of(v);
        case "--prefill-model" -> prefillDir = Path.of(v);
        case "--threads" -> threads = Integer.parseInt(v);
        case "--tuples" -> tuples = Integer.parseInt(v);
        case "--prompt-words" -> promptWords = Integer.parseInt(v);
        case "--response-words" -> responseWords = Integer.parseInt(v);
        case "--prefill-prompts" -> prefillPrompts = Integer.parseInt(v);
        case "--prefill-words" -> prefillWords = Integer.parseInt(v);
        case "--warmup" -> warmup = Integer.parseInt(v);
        case "--repeats" -> repeats = Integer.parseInt(v);
        case "--variants" -> variants = List.of(v.split(","));
        case "--json-out" -> jsonOut = Path.of(v);
        case "--texts-out" -> textsOut = Path.of(v);
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    SplittableRandom random = new SplittableRandom(20261201L);
    String refinement = "Below is a post and a summary. Write a better summary.\n\n";
    List<SequenceScorer.Request> requests = new ArrayList<>();
    ArrayNode texts = JSON.createArrayNode();
    for (int t = 0; t < tuples; t++) {
      String x = "SUBREDDIT: r/relationships\nPOST: " + words(random, promptWords) + "\nTL;DR:";
      String chosen = " " + words(random, responseWords);
      String rejected = " " + words(random, responseWords);
      for (String prompt : List.of(x, refinement + x)) {
        for (String response : List.of(chosen, rejected)) {
          requests.add(SequenceScorer.Request.of(prompt, response));
          texts.addObject().put("prompt", prompt).put("response", response);
        }
      }
    }
    if (textsOut != null) {
      Files.writeString(textsOut, JSON.writeValueAsString(texts) + "\n");
    }
    ObjectNode root = JSON.createObjectNode();
    root.put("bench", "scoring-java");
    root.put("threads", threads);
    root.put("requests", requests.size());
    long loadStart = System.nanoTime();
    try (LanguageModel model =
        ModelLoader.loadDecoder(
            ModelSpec.decoder(modelDir.toString(), EngineOptions.cpu(threads)))) {
      root.put("load_ms", (System.nanoTime() - loadStart) / 1e6);
      root.put("selects_logit_positions", model.graph().selectsLogitPositions());
      long budget = 16384;
      long logitsBytes = 256L << 20;
      Map<String, SequenceScorer> scorers = new LinkedHashMap<>();
      for (String v : variants) {
        scorers.put(v, new SequenceScorer(model, budget, logitsBytes, v.equals("shared")));
      }
      Map<String, List<Double>> tps = new LinkedHashMap<>();
      Map<String, List<SequenceScorer.Result>> last = new LinkedHashMap<>();
      long tokens = 0;
      for (int r = 0; r < warmup + repeats; r++) {
        for (Map.Entry<String, SequenceScorer> e : scorers.entrySet()) {
          long start = System.nanoTime();
          List<SequenceScorer.Result> results = e.getValue().score(requests, false);
          long nanos = System.nanoTime() - start;
          tokens = 0;
          for (SequenceScorer.Result res : results) {
            if (!res.scored()) {
              throw new IllegalStateException("refused: " + res.refusal());
            }
            tokens += res.promptTokens() + res.responseTokens();
          }
          last.put(e.getKey(), results);
          if (r >= warmup) {
            tps.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(tokens * 1e9 / nanos);
          }
        }
        if (last.size() == 2) {
          List<SequenceScorer.Result> a = last.get("separate");
          List<SequenceScorer.Result> b = last.get("shared");
          double maxDiff = 0;
          for (int i = 0; i < a.size(); i++) {
            maxDiff = Math.max(maxDiff, Math.abs(a.get(i).logprob() - b.get(i).logprob()));
          }
          root.put("max_abs_diff_separate_vs_shared", maxDiff);
        }
        System.err.printf(Locale.ROOT, "[scoring] round %d/%d%n", r + 1, warmup + repeats);
      }
      int[] promptTokens =
          last.values().iterator().next().stream()
              .mapToInt(SequenceScorer.Result::promptTokens)
              .toArray();
      int[] responseTokens =
          last.values().iterator().next().stream()
              .mapToInt(SequenceScorer.Result::responseTokens)
              .toArray();
      root.put("mean_prompt_tokens", Arrays.stream(promptTokens).average().orElse(0));
      root.put("mean_response_tokens", Arrays.stream(responseTokens).average().orElse(0));
      root.put("tokens_per_call", tokens);
      ObjectNode vs = root.putObject("variants");
      for (Map.Entry<String, List<Double>> e : tps.entrySet()) {
        ObjectNode o = vs.putObject(e.getKey());
        o.put("tok_s_median", median(e.getValue()));
        o.putPOJO("tok_s_all", e.getValue());
        o.put("forward_passes", scorers.get(e.getKey()).forwardPasses());
        System.out.printf(
            Locale.ROOT,
            "scoring %-9s %8.0f tokens/s (median of %d; %s)%n",
            e.getKey(),
            median(e.getValue()),
            e.getValue().size(),
            e.getValue());
      }
      root.put("prefix_mismatches", scorers.values().iterator().next().prefixMismatches());
      if (prefillDir != null) {
        root.set(
            "prefill", prefill(model, prefillDir, threads, prefillPrompts, prefillWords, repeats));
      }
    }
    root.put("peak_rss_mb", GenerationBenchmark.peakRssMb());
    String line = JSON.writeValueAsString(root);
    System.out.println(line);
    if (jsonOut != null) {
      Files.writeString(jsonOut, line + "\n");
    }
  }

  /** One greedy token after prefilling the prompts: the keep graph against the all-logits graph. */
  private static ObjectNode prefill(
      LanguageModel keep, Path allDir, int threads, int prompts, int words, int repeats) {
    SplittableRandom random = new SplittableRandom(7L);
    List<SampleGenerator.Request> requests = new ArrayList<>();
    for (int i = 0; i < prompts; i++) {
      requests.add(new SampleGenerator.Request("p" + i, words(random, words)));
    }
    ObjectNode out = JSON.createObjectNode();
    SamplingConfig config = new SamplingConfig(1, 0.0, 0, 1.0, 1, List.of());
    GenerationOptions options = GenerationOptions.of(1L << 22);
    try (LanguageModel all =
        ModelLoader.loadDecoder(ModelSpec.decoder(allDir.toString(), EngineOptions.cpu(threads)))) {
      Map<String, LanguageModel> models = new LinkedHashMap<>();
      models.put("keep_last_logits", keep);
      models.put("all_logits", all);
      Map<String, List<Double>> ms = new LinkedHashMap<>();
      int promptTokens = 0;
      for (int r = 0; r < repeats + 1; r++) {
        for (Map.Entry<String, LanguageModel> e : models.entrySet()) {
          SampleGenerator generator = new SampleGenerator(e.getValue(), config, options);
          long start = System.nanoTime();
          List<SampleGenerator.PromptResult> results = generator.generate(requests, 1L);
          double millis = (System.nanoTime() - start) / 1e6;
          promptTokens =
              results.stream().mapToInt(SampleGenerator.PromptResult::promptTokens).sum();
          if (r > 0) {
            ms.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(millis);
          }
        }
      }
      out.put("prompts", prompts);
      out.put("prompt_tokens", promptTokens);
      for (Map.Entry<String, List<Double>> e : ms.entrySet()) {
        out.put(e.getKey() + "_ms", median(e.getValue()));
        out.put(e.getKey() + "_prompt_tok_s", promptTokens * 1e3 / median(e.getValue()));
        System.out.printf(
            Locale.ROOT,
            "prefill %d prompts (%d tokens) + 1 token, %-16s %8.0f ms (median; %s)%n",
            prompts,
            promptTokens,
            e.getKey(),
            median(e.getValue()),
            e.getValue());
      }
    }
    return out;
  }

  private static double median(List<Double> values) {
    double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    int n = v.length;
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }
}
