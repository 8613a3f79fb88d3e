package org.prefscore.job.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.prefscore.judge.JudgePrompt;
import org.prefscore.method.RefinementMargin;
import org.prefscore.method.RefinementPrompt;

/**
 * Every configuration key, with its default and description: the one place they are declared.
 *
 * <p>Precedence, highest first: {@code --set key=value} on the command line, then the properties
 * file given with {@code --config}, then the defaults here. A key not listed here is an error,
 * except under the pass-through prefix {@link #SPARK_CONF_PREFIX}. docs/pipeline.md's configuration
 * table is {@link #markdownTable()} (a test keeps the two equal).
 */
public final class ConfigKeys {

  private ConfigKeys() {}

  private static final Map<String, ConfigKey> KEYS = new LinkedHashMap<>();

  /** {@code spark.conf.X=V} sets Spark property X to V (e.g. spark.conf.spark.executor.memory). */
  public static final String SPARK_CONF_PREFIX = "spark.conf.";

  // --- run
  public static final ConfigKey RUN_ID =
      key(
          "run.id",
          "",
          "output folder name under output.path; empty: a new id (UTC time + random suffix). Reusing an id replaces that run's output when the new run is published (docs/outputs.md); one run at a time per id");
  public static final ConfigKey RUN_SEED =
      key(
          "run.seed",
          "1234",
          "run seed; every sample's seed derives from (run.seed, prompt_id, sample_index)");
  public static final ConfigKey RUN_ROUND =
      key(
          "run.round",
          "1",
          "the iterative West-of-N round this run belongs to, an integer >= 1 (round r + 1 takes the reward model trained on round r's mix as models.reward); written in every output row (column round) and in the manifest; it changes no sample or score");

  // --- input
  public static final ConfigKey INPUT_PATH =
      key(
          "input.path",
          "",
          "input file or folder, any Hadoop FS path (local, hdfs://, s3a://); required");
  public static final ConfigKey INPUT_FORMAT =
      key(
          "input.format",
          "auto",
          "auto, jsonl or parquet; auto: jsonl when the path ends in .jsonl/.json (optionally .gz/.bz2), else parquet");
  public static final ConfigKey INPUT_ID_COLUMN =
      key(
          "input.id-column",
          "",
          "column holding a given prompt_id; empty: prompt_id = SHA-256 of the normalised prompt, 16 hex chars");
  public static final ConfigKey INPUT_PROMPT_COLUMN =
      key(
          "input.prompt-column",
          "prompt",
          "column holding the plain-text prompt; empty: prompts are only conversations (input.messages-column)");
  public static final ConfigKey INPUT_MESSAGES_COLUMN =
      key(
          "input.messages-column",
          "messages",
          "column holding a prompt as chat messages (array of {role, content}); used when non-empty; empty key: never");
  public static final ConfigKey INPUT_CHOSEN_COLUMN =
      key(
          "input.chosen-column",
          "chosen",
          "score-pairs/evaluate: column holding the chosen response (text)");
  public static final ConfigKey INPUT_REJECTED_COLUMN =
      key(
          "input.rejected-column",
          "rejected",
          "score-pairs/evaluate: column holding the rejected response (text)");
  public static final ConfigKey INPUT_RESPONSE_FORMAT =
      key(
          "input.response-format",
          "text",
          "score-pairs/evaluate: text (chosen/rejected are strings; EOS appended when scoring, TRL's plain-text convention) or messages (chosen/rejected are assistant turns, arrays of {role, content}, after a chat prompt in the messages column; rendered with the chat template, no EOS appended)");
  public static final ConfigKey INPUT_SCORE_GAP_COLUMN =
      key(
          "input.score-gap-column",
          "",
          "evaluate/score-pairs: column holding an external score gap s+ − s- to correlate with m(x); empty: none");
  public static final ConfigKey INPUT_LIMIT =
      key("input.limit", "0", "read at most this many input rows (the first ones); 0: all");
  public static final ConfigKey INPUT_ALLOW_EMPTY =
      key(
          "input.allow-empty",
          "false",
          "true: an input with no rows gives a published run with empty tables; false: it fails with exit status 2");

  // --- output
  public static final ConfigKey OUTPUT_PATH =
      key(
          "output.path",
          "",
          "output root, any Hadoop FS path; the run writes <output.path>/<run.id>/; required");
  public static final ConfigKey OUTPUT_COMMIT =
      key(
          "output.commit",
          "auto",
          "how a finished run is published (docs/outputs.md): rename (swap the staged folder in by a directory rename), manifest (copy the files, then manifest.json lists them: object stores), auto: manifest on s3a/s3/s3n/gs/abfs/abfss/wasb/wasbs/oss paths, else rename");

  // --- run durability (docs/outputs.md)
  public static final ConfigKey RUN_RESUME =
      key(
          "run.resume",
          "false",
          "true (or --resume): reuse the samples and scores a killed or failed run of the same run.id persisted, redo only the partitions missing; refused, naming what differs, when config, models or input changed");
  public static final ConfigKey RUN_LEASE_SECONDS =
      key(
          "run.lease-seconds",
          "120",
          "the run id's lease expires this many seconds after its holder's last heartbeat (heartbeat every lease/4 s); a holder on this host whose process is gone has no lease");
  public static final ConfigKey OUTPUT_PAIR_FORMAT =
      key(
          "output.pair-format",
          "auto",
          "west-of-n: auto (a chat prompt's pair goes to pairs_conversational in TRL's conversational format, prompt = the messages, chosen/rejected = one assistant turn; a plain prompt's to pairs as text), text (every pair to pairs as text, a chat prompt as its rendered template, scored as TRL scores that string) or conversational (every pair to pairs_conversational; a plain prompt is sampled and written as one user message)");

  // --- models
  public static final ConfigKey MODEL_POLICY =
      key(
          "models.policy",
          "",
          "west-of-n: model directory of the sampling policy (its chat template renders chat prompts)");
  public static final ConfigKey MODEL_REWARD =
      key(
          "models.reward",
          "",
          "west-of-n: model directory of the reward model r(x, y); or set models.judge or models.pairwise-classifier instead (exactly one of the three)");
  public static final ConfigKey MODEL_JUDGE =
      key(
          "models.judge",
          "",
          "west-of-n: model directory of a generative judge (a decoder), the pairwise teacher instead of models.reward: P(a ≻ b | x) = softmax over the two judge.labels tokens after judge.prompt; y+ and y- by knockout");
  public static final ConfigKey MODEL_PAIRWISE_CLASSIFIER =
      key(
          "models.pairwise-classifier",
          "",
          "west-of-n: model directory of a pairwise sequence classifier (PairRM style: one logit for 'the first response is better' on judge.pair-template), the pairwise teacher instead of models.reward");
  public static final ConfigKey MODEL_REFERENCE =
      key(
          "models.reference",
          "",
          "model directory of π_ref for the Sr-DPO terms; west-of-n: empty means models.policy");
  public static final ConfigKey MODEL_CHECKPOINT =
      key(
          "models.policy-checkpoint",
          "",
          "model directory of a policy checkpoint π_t scored next to π_ref; empty: policy terms = reference terms (Δ = 0); required by evaluate");

  public static final ConfigKey MODEL_POLICY_ONNX_FILE =
      key(
          "models.policy.onnx-file",
          "",
          "which ONNX graph of models.policy to load: a path in the directory (onnx/model_fp16.onnx) or a file name (model_fp16.onnx, found at the top or under onnx/); empty: the directory's only *.onnx at the top or under onnx/ (with several, the error lists them)");
  public static final ConfigKey MODEL_REWARD_ONNX_FILE =
      key(
          "models.reward.onnx-file",
          "",
          "which ONNX graph of models.reward to load (as models.policy.onnx-file)");
  public static final ConfigKey MODEL_REFERENCE_ONNX_FILE =
      key(
          "models.reference.onnx-file",
          "",
          "which ONNX graph of models.reference to load (as models.policy.onnx-file); west-of-n with models.reference empty: models.policy.onnx-file");
  public static final ConfigKey MODEL_CHECKPOINT_ONNX_FILE =
      key(
          "models.policy-checkpoint.onnx-file",
          "",
          "which ONNX graph of models.policy-checkpoint to load (as models.policy.onnx-file)");

  /** The onnx-file key of a model directory key ({@link #MODEL_POLICY} and the like). */
  public static ConfigKey onnxFileKey(ConfigKey modelKey) {
    return KEYS.get(modelKey.name() + ".onnx-file");
  }

  // --- judge (pairwise teacher)
  public static final ConfigKey JUDGE_PROMPT =
      key(
          "judge.prompt",
          "",
          "models.judge: the judge prompt with {query}, {response_a} and {response_b} (\\n in a properties file is a newline), filled in one pass and, when the judge has a chat template, rendered as the user message; empty: the built-in prompt (docs/pipeline.md)");
  public static final ConfigKey JUDGE_LABELS =
      key(
          "judge.labels",
          JudgePrompt.DEFAULT_LABELS,
          "models.judge: the two answers meaning 'A is better' and 'B is better', comma-separated, each exactly one token of the judge's tokenizer");
  public static final ConfigKey JUDGE_PAIR_TEMPLATE =
      key(
          "judge.pair-template",
          "",
          "models.pairwise-classifier: the text the classifier reads, with {query}, {response_a} and {response_b}; empty: PairRM's <|source|>{query}<|candidate1|>{response_a}<|candidate2|>{response_b}");

  // --- chat
  public static final ConfigKey CHAT_TEMPLATE_KWARGS =
      key(
          "chat.template-kwargs",
          "{}",
          "JSON object of extra variables for every chat-template rendering, as transformers' apply_chat_template(messages, **kwargs) passes them, e.g. {\"enable_thinking\": false}; values are plain JSON (strings, numbers, booleans, null, arrays and objects of them); messages, add_generation_prompt, tools and documents are refused (apply_chat_template binds them)");

  // --- runtime
  public static final ConfigKey TOKEN_BUDGET =
      key(
          "runtime.token-budget",
          "16384",
          "upper bound on padded tokens (rows × length) per forward pass: bounds batch memory");
  public static final ConfigKey LOGITS_BUDGET_MB =
      key(
          "runtime.logits-budget-mb",
          "256",
          "upper bound on the logits one forward pass outputs, in MB, for scoring and generation alike (rows × positions × vocabulary × 4 bytes; the engine's output and its copy each take this much): with a 150k-id vocabulary 256 MB is ~440 positions per pass; longer passes run in chunks of positions (a graph with a logits_to_keep input outputs only the positions read); ONNX Runtime's Java API caps one output at 2 GiB whatever this says");
  public static final ConfigKey PROMPTS_PER_CALL =
      key(
          "runtime.prompts-per-call",
          "16",
          "prompts (or pairs) an executor hands to one runtime call; the runtime batches them within the token budget");
  public static final ConfigKey INTRA_OP_THREADS =
      key(
          "runtime.intra-op-threads",
          "1",
          "ONNX Runtime threads inside one operator per model (1 suits one task per core), also the threads that sample the rows of a generation step (samples do not depend on it); 0: ONNX Runtime decides, one sampling thread");
  public static final ConfigKey DRIVER_CHECK_MAX_GRAPH_MB =
      key(
          "runtime.driver-check-max-graph-mb",
          "4096",
          "largest graph, in MB (the ONNX file with its external data), that the driver loads and runs in its model check before Spark starts; a larger graph on a path the driver reads gets the file and tokenizer checks there, and each executor checks the graph as it loads it (the loader's checks: layout, vocabulary fit; not the probe pass), since a driver with less memory than the model would fail otherwise; 0: no graph is loaded on the driver");
  public static final ConfigKey DECODE_LANES =
      key(
          "runtime.decode-lanes",
          "1",
          "pieces of each generation batch decoded at once, each on its own thread and session (1-64): with runtime.device=cuda, 2 lets the GPU run one piece's forward pass while the host samples another's rows; samples depend on it only as on any other batching (the same value gives the same samples); on CPU executors give the cores to tasks (spark.task.cpus) and runtime.intra-op-threads instead (docs/benchmarks.md)");
  public static final ConfigKey ENGINE_SPINNING =
      key(
          "runtime.engine-spinning",
          "false",
          "let ONNX Runtime's intra-op workers spin-wait after each operator (ONNX Runtime's own default) instead of sleeping: 3-10% faster generation where an executor's cores are the model's alone and the decoder has a sampling head (docs/deploy.md#a-sampling-head), slower where sampling threads or other tasks need the cores right after a pass (docs/benchmarks.md)");
  public static final ConfigKey SAMPLING_HEAD =
      key(
          "runtime.sampling-head",
          "true",
          "use a decoder's sampling head where its graph has one (docs/deploy.md#a-sampling-head), and where it has none the JVM's own, computed with the JDK's vector API (docs/deploy.md#the-jvms-vector-api): each sampled token then reads one or two blocks of the logits row instead of exponentiating all of it twice; false samples from the whole row in scalar code (the same distribution; draws differ only where the target falls within float rounding of a token boundary)");
  public static final ConfigKey DEVICE =
      key(
          "runtime.device",
          "cpu",
          "cpu or cuda: cuda runs the models on ONNX Runtime's CUDA provider, on the GPU Spark assigned to the task (falls back to CPU with a log line when CUDA is unavailable)");
  public static final ConfigKey MODEL_CACHE_DIR =
      key(
          "runtime.model-cache-dir",
          "",
          "executor-local folder for copies of model directories on a Hadoop FS (s3a://, hdfs://), copied once per executor; empty: <java.io.tmpdir>/prefscore-models");
  public static final ConfigKey GPU_STAGE_RESOURCES =
      key(
          "runtime.gpu.stage-resources",
          "off",
          "stage-level scheduling of the model stages (needs runtime.device=cuda and a cluster manager, not local mode): off; task (a task resource profile: executors already have GPUs, only generation/scoring tasks take runtime.gpu.task-amount); executor (a resource profile that also asks for GPU executors; needs dynamic allocation)");
  public static final ConfigKey GPU_TASK_AMOUNT =
      key(
          "runtime.gpu.task-amount",
          "1",
          "GPUs per generation/scoring task in a stage resource profile: a whole number, or a fraction <= 0.5 to share a GPU (0.5: two tasks per GPU)");
  public static final ConfigKey GPU_EXECUTOR_AMOUNT =
      key(
          "runtime.gpu.executor-amount",
          "1",
          "GPUs per executor in an executor resource profile (runtime.gpu.stage-resources=executor)");
  public static final ConfigKey GPU_DISCOVERY_SCRIPT =
      key(
          "runtime.gpu.discovery-script",
          "",
          "GPU discovery script of an executor resource profile (e.g. conf/getGpusResources.sh as the executors see it); empty: spark.executor.resource.gpu.discoveryScript");

  // --- sampling
  public static final ConfigKey SAMPLING_N =
      key("sampling.n", "64", "N, samples per prompt (West-of-N paper: 64); at least 2");
  public static final ConfigKey SAMPLING_TEMPERATURE =
      key("sampling.temperature", "0.7", "sampling temperature (paper: 0.7); 0: greedy");
  public static final ConfigKey SAMPLING_TOP_K = key("sampling.top-k", "0", "top-k; 0: off");
  public static final ConfigKey SAMPLING_TOP_P =
      key("sampling.top-p", "1.0", "top-p in (0, 1]; 1: off");
  public static final ConfigKey SAMPLING_MAX_NEW_TOKENS =
      key("sampling.max-new-tokens", "128", "at most this many new tokens per sample (paper: 128)");
  public static final ConfigKey SAMPLING_STOP_STRINGS =
      key("sampling.stop-strings", "[]", "JSON array of stop strings, e.g. [\"\\n\\n\"]");

  // --- selection
  public static final ConfigKey SELECTION_TRUNCATED =
      key(
          "selection.truncated",
          "exclude",
          "west-of-n: exclude (a sample that stopped at sampling.max-new-tokens, finish reason LENGTH, is no candidate for a pair; a prompt left with fewer than two complete distinct samples yields no pair, FEWER_THAN_TWO_COMPLETE_SAMPLES) or keep (truncated samples are candidates)");

  // --- iterative West-of-N
  public static final ConfigKey MIX_BASE_PREFERENCES =
      key(
          "mix.base-preferences",
          "",
          "west-of-n: JSONL file or folder of base preference pairs, TRL's prompt/chosen/rejected (all strings, or all message lists: conversational); set: the run also writes mix and mix_conversational, a seeded 1:1 mix of these pairs and the run's West-of-N pairs for training the student reward model (the larger side subsampled to the smaller's size), and base_rejects; empty: no mix");

  // --- filters
  public static final ConfigKey CONFIDENCE_QUANTILE =
      key(
          "filter.confidence.quantile",
          "",
          "keep a pair when its confidence σ(r+ − r-) ≥ this quantile of all pairs' confidences, in [0, 1]; empty: no confidence filter");
  public static final ConfigKey QUANTILE_RELATIVE_ERROR =
      key(
          "filter.quantile.relative-error",
          "0.001",
          "relative rank error ε of Spark's approxQuantile (Greenwald–Khanna) for every quantile cut; 0: exact (costly)");
  public static final ConfigKey LIKELIHOOD_MODE =
      key(
          "filter.likelihood.mode",
          "off",
          "likelihood filter: off, absolute (τ = filter.likelihood.threshold) or quantile (τ = filter.likelihood.quantile of the pooled log π(y±|x))");
  public static final ConfigKey LIKELIHOOD_THRESHOLD =
      key(
          "filter.likelihood.threshold",
          "",
          "absolute τ: keep a pair when log π(y+|x) ≥ τ and log π(y-|x) ≥ τ");
  public static final ConfigKey LIKELIHOOD_QUANTILE =
      key("filter.likelihood.quantile", "", "quantile q in [0, 1] for τ in quantile mode");
  public static final ConfigKey LIKELIHOOD_NORMALIZATION =
      key(
          "filter.likelihood.normalization",
          "sum",
          "sum (log π(y|x)) or per-token (log π(y|x) / response tokens)");

  // --- Sr-DPO
  public static final ConfigKey BETA =
      key(
          "srdpo.beta",
          Double.toString(RefinementMargin.DEFAULT_BETA),
          "β of the DPO/Sr-DPO terms (paper: 0.1)");
  public static final ConfigKey LAMBDA =
      key(
          "srdpo.lambda",
          Double.toString(RefinementMargin.DEFAULT_LAMBDA),
          "λ weighting the refinement Δ (paper: one of 0.1, 0.3, 0.5, 1)");
  public static final ConfigKey REFINEMENT_PROMPT =
      key(
          "srdpo.refinement-prompt",
          RefinementPrompt.PAPER_TEXT,
          "the self-refinement prompt p (default: the paper's, verbatim)");
  public static final ConfigKey REFINEMENT_SEPARATOR =
      key(
          "srdpo.refinement-separator",
          RefinementPrompt.DEFAULT_SEPARATOR,
          "what joins p and x (default: one space; in a properties file write \\u0020 or \\n)");

  // --- spark
  public static final ConfigKey SPARK_MASTER =
      key(
          "spark.master",
          "",
          "Spark master, e.g. local[2]; empty: whatever spark-submit set (bin/prefscore: local[*])");
  public static final ConfigKey SPARK_PARTITIONS =
      key(
          "spark.partitions",
          "0",
          "partitions for the model stages; 0: Spark's default parallelism");

  // --- progress
  public static final ConfigKey PROGRESS_INTERVAL =
      key("progress.interval-seconds", "5", "seconds between progress lines on stderr; 0: none");

  private static ConfigKey key(String name, String defaultValue, String doc) {
    ConfigKey k = new ConfigKey(name, defaultValue, doc);
    if (KEYS.put(name, k) != null) {
      throw new IllegalStateException("duplicate config key " + name);
    }
    return k;
  }

  /** Every key, in documentation order. */
  public static List<ConfigKey> all() {
    return List.copyOf(KEYS.values());
  }

  public static Optional<ConfigKey> find(String name) {
    return Optional.ofNullable(KEYS.get(name));
  }

  /** Whether {@code name} may appear in a config: a listed key or a pass-through key. */
  public static boolean isKnown(String name) {
    return KEYS.containsKey(name)
        || (name.startsWith(SPARK_CONF_PREFIX) && name.length() > SPARK_CONF_PREFIX.length());
  }

  /**
   * Whether a key's value is redacted wherever the config is printed or stored: {@link
   * Redactor#isSecretKey}, the rule on the key's last word (no listed key is one:
   * runtime.token-budget counts tokens).
   */
  public static boolean isSecret(String name) {
    return Redactor.isSecretKey(name);
  }

  /** The closest listed key to a misspelt one, when close enough to be a likely typo. */
  public static Optional<String> suggest(String name) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String k : KEYS.keySet()) {
      int d = distance(name, k);
      if (d < bestDistance) {
        bestDistance = d;
        best = k;
      }
    }
    return bestDistance <= Math.max(2, name.length() / 4)
        ? Optional.ofNullable(best)
        : Optional.empty();
  }

  /** The configuration table of docs/pipeline.md. */
  public static String markdownTable() {
    List<String> lines = new ArrayList<>();
    lines.add("| key | default | description |");
    lines.add("| --- | --- | --- |");
    for (ConfigKey k : KEYS.values()) {
      lines.add("| `" + k.name() + "` | " + shownDefault(k) + " | " + escape(k.doc()) + " |");
    }
    lines.add(
        "| `"
            + SPARK_CONF_PREFIX
            + "<property>` | | passed to Spark as `<property>` (e.g. `"
            + SPARK_CONF_PREFIX
            + "spark.sql.shuffle.partitions=8`); the value of a key whose last word names a secret"
            + " (key, secret, token, password, credential, ...: see Redaction) is shown as `****`"
            + " in the log, the dry-run plan and the manifest |");
    return String.join("\n", lines) + "\n";
  }

  private static String shownDefault(ConfigKey k) {
    if (k.defaultValue().isEmpty()) {
      return "";
    }
    if (k == REFINEMENT_PROMPT) {
      return "the paper's p (see below)";
    }
    if (k.defaultValue().isBlank()) {
      return "`\"" + k.defaultValue() + "\"` (a space)";
    }
    return "`" + k.defaultValue() + "`";
  }

  private static String escape(String s) {
    return s.replace("|", "\\|");
  }

  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  static Map<String, ConfigKey> byName() {
    return Collections.unmodifiableMap(KEYS);
  }
}
