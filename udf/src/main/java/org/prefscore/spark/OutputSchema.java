package org.prefscore.spark;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The one definition of every table the pipeline writes ({@link #CANDIDATES}, {@link #PAIRS},
 * {@link #FILTERED}, {@link #REJECTS}) and of the internal row types its stages pass along.
 *
 * <p>It lives in the adapter package, not in spark-jobs, because the executor-side functions here
 * build rows of these types and spark-jobs depends on this module, not the other way round. Each
 * column carries its documentation as the field comment: it is written into the Parquet footer's
 * Spark schema, and docs/pipeline.md's schema tables are generated from it (a test keeps them
 * equal).
 *
 * <p>Every column is nullable in Spark's sense; the comments say when a value is null.
 */
public final class OutputSchema {

  private OutputSchema() {}

  // Column names shared by several tables.
  public static final String INPUT_ROW = "input_row";
  public static final String PROMPT_ID = "prompt_id";
  public static final String PROMPT = "prompt";
  public static final String PX_PROMPT = "px_prompt";
  public static final String CHOSEN = "chosen";
  public static final String REJECTED = "rejected";
  public static final String MESSAGES = "messages";
  public static final String CHOSEN_MESSAGES = "chosen_messages";
  public static final String REJECTED_MESSAGES = "rejected_messages";
  public static final String RESPONSE_FORMAT = "response_format";
  public static final String SCORE_GAP = "score_gap";
  public static final String SAMPLE_INDEX = "sample_index";
  public static final String SEED = "seed";
  public static final String TEXT = "text";
  public static final String PROMPT_TOKENS = "prompt_tokens";
  public static final String RESPONSE_TOKENS = "response_tokens";
  public static final String FINISH_REASON = "finish_reason";
  public static final String POLICY_LOGPROB = "policy_logprob";
  public static final String SAMPLING_LOGPROB = "sampling_logprob";
  public static final String REWARD = "reward";
  public static final String REWARD_REFUSAL = "reward_refusal";
  public static final String CHOSEN_SAMPLE_INDEX = "chosen_sample_index";
  public static final String REJECTED_SAMPLE_INDEX = "rejected_sample_index";
  public static final String CHOSEN_SEED = "chosen_seed";
  public static final String REJECTED_SEED = "rejected_seed";
  public static final String CHOSEN_TOKENS = "chosen_tokens";
  public static final String REJECTED_TOKENS = "rejected_tokens";
  public static final String CHOSEN_FINISH_REASON = "chosen_finish_reason";
  public static final String REJECTED_FINISH_REASON = "rejected_finish_reason";
  public static final String REWARD_CHOSEN = "reward_chosen";
  public static final String REWARD_REJECTED = "reward_rejected";
  public static final String CONFIDENCE = "confidence";
  public static final String DISTINCT_CANDIDATES = "distinct_candidates";
  public static final String DUPLICATES_REMOVED = "duplicates_removed";
  public static final String KNOCKOUT_BRACKET = "knockout_bracket";
  public static final String KNOCKOUT_COMPARISONS = "knockout_comparisons";
  public static final String KNOCKOUT_SCORED = "knockout_scored";
  public static final String POLICY_CHOSEN_LOGPROB = "policy_chosen_logprob";
  public static final String POLICY_REJECTED_LOGPROB = "policy_rejected_logprob";
  public static final String REF_CHOSEN_LOGPS = "ref_chosen_logps";
  public static final String REF_REJECTED_LOGPS = "ref_rejected_logps";
  public static final String REF_CHOSEN_LOGPS_PX = "ref_chosen_logps_px";
  public static final String REF_REJECTED_LOGPS_PX = "ref_rejected_logps_px";
  public static final String CKPT_CHOSEN_LOGPS = "ckpt_chosen_logps";
  public static final String CKPT_REJECTED_LOGPS = "ckpt_rejected_logps";
  public static final String CKPT_CHOSEN_LOGPS_PX = "ckpt_chosen_logps_px";
  public static final String CKPT_REJECTED_LOGPS_PX = "ckpt_rejected_logps_px";
  public static final String POLICY_TERMS = "policy_terms";
  public static final String DPO_MARGIN = "dpo_margin";
  public static final String PX_MARGIN = "px_margin";
  public static final String REFINEMENT = "refinement";
  public static final String DPO_LOSS = "dpo_loss";
  public static final String SR_DPO_LOSS = "sr_dpo_loss";
  public static final String SR_IPO_LOSS = "sr_ipo_loss";
  public static final String PREFIX_MISMATCH = "prefix_mismatch";
  public static final String FILTER_REASON = "filter_reason";
  public static final String STAGE = "stage";
  public static final String REASON_CODE = "reason_code";
  public static final String DETAIL = "detail";
  public static final String ROUND = "round";
  public static final String SOURCE = "source";
  public static final String SOURCE_ROW = "source_row";
  // Internal columns: a row that a stage turned into a reject carries these until it is split off.
  public static final String REJECT_STAGE = "reject_stage";
  public static final String REJECT_REASON = "reject_reason";
  public static final String REJECT_DETAIL = "reject_detail";

  /**
   * Value of {@link #RESPONSE_FORMAT}: chosen/rejected given or generated as text, EOS appended
   * when scored.
   */
  public static final String RESPONSE_FORMAT_TEXT = "text";

  /**
   * Value of {@link #RESPONSE_FORMAT}: chosen/rejected rendered from assistant turns, no EOS
   * appended.
   */
  public static final String RESPONSE_FORMAT_CHAT = "chat";

  /**
   * Value of {@link #RESPONSE_FORMAT} for a west-of-n pair of a conversation: written to {@code
   * pairs_conversational} in TRL's conversational format and scored as TRL scores it.
   */
  public static final String RESPONSE_FORMAT_CONVERSATIONAL = "conversational";

  /** Value of {@link #POLICY_TERMS} when a policy checkpoint scored the pair. */
  public static final String POLICY_TERMS_CHECKPOINT = "checkpoint";

  /**
   * Value of {@link #POLICY_TERMS} when no checkpoint was given: π = π_ref, margins and Δ are 0.
   */
  public static final String POLICY_TERMS_REFERENCE = "reference";

  /** {@code source} of a mix row from the base preferences ({@code mix.base-preferences}). */
  public static final String SOURCE_BASE = "base";

  /** {@code source} of a mix row from this run's West-of-N pairs. */
  public static final String SOURCE_WEST_OF_N = "west_of_n";

  private static final String ROUND_DOC =
      "run.round: the iterative West-of-N round that wrote the row (1 = the first)";

  private static final DataType STRING = DataTypes.StringType;
  private static final DataType LONG = DataTypes.LongType;
  private static final DataType INT = DataTypes.IntegerType;
  private static final DataType DOUBLE = DataTypes.DoubleType;
  private static final DataType BOOLEAN = DataTypes.BooleanType;

  /** A chat message as read from the input: {role, content}. */
  public static final StructType MESSAGE =
      new StructType(
          new StructField[] {
            field("role", STRING, "system, user or assistant"), field("content", STRING, "text")
          });

  /** The messages column type: array of {role, content}. */
  public static final DataType MESSAGES_TYPE = DataTypes.createArrayType(MESSAGE, true);

  /** {@code candidates}: every sample of every sampled prompt (west-of-n). */
  public static final StructType CANDIDATES =
      struct(
          field(PROMPT_ID, STRING, "the prompt's stable id (see prompt_id in docs/pipeline.md)"),
          field(SAMPLE_INDEX, INT, "0..N-1"),
          field(
              SEED,
              LONG,
              "seed the sample was drawn with: SampleSeeds.derive(run.seed, prompt_id, sample_index)"),
          field(TEXT, STRING, "the response, decoded with special tokens skipped"),
          field(
              PROMPT_TOKENS, INT, "tokens of the rendered prompt under models.policy's tokenizer"),
          field(RESPONSE_TOKENS, INT, "generated tokens (EOS included when it ended the sample)"),
          field(FINISH_REASON, STRING, "EOS, STOP or LENGTH"),
          field(
              POLICY_LOGPROB,
              DOUBLE,
              "log π(y|x) of models.policy at temperature 1, summed over the generated ids"),
          field(
              SAMPLING_LOGPROB,
              DOUBLE,
              "log-probability under the warped sampling distribution (0 when greedy)"),
          field(
              REWARD,
              DOUBLE,
              "r(x, y) of models.reward; null when the reward model refused the text"),
          field(
              REWARD_REFUSAL,
              STRING,
              "null, or the reward model's refusal code (SEQUENCE_TOO_LONG, EMPTY_PROMPT)"),
          field(ROUND, INT, ROUND_DOC));

  private static final List<StructField> PAIR_FIELDS =
      List.of(
          field(PROMPT_ID, STRING, "the prompt's stable id"),
          field(INPUT_ROW, LONG, "the input row this pair comes from"),
          field(
              PROMPT,
              STRING,
              "x as the models saw it (chat template applied): TRL's / OpenRLHF's prompt"),
          field(CHOSEN, STRING, "y+: TRL's / OpenRLHF's chosen"),
          field(REJECTED, STRING, "y-: TRL's / OpenRLHF's rejected"),
          field(
              PX_PROMPT,
              STRING,
              "p ⊕ x, the prompt-augmented prompt the *_px terms are conditioned on"),
          field(
              RESPONSE_FORMAT,
              STRING,
              "text: chosen/rejected are plain text, scored with the EOS token appended (unless they end with it); chat: they are assistant turns as the chat template renders them after x (input.response-format=messages), scored as they are; conversational: prompt/chosen/rejected are messages (table pairs_conversational), scored as TRL scores conversational data"),
          field(CHOSEN_SAMPLE_INDEX, INT, "sample index of y+ (west-of-n; null otherwise)"),
          field(REJECTED_SAMPLE_INDEX, INT, "sample index of y- (west-of-n; null otherwise)"),
          field(CHOSEN_SEED, LONG, "seed of y+ (west-of-n; null otherwise)"),
          field(REJECTED_SEED, LONG, "seed of y- (west-of-n; null otherwise)"),
          field(CHOSEN_TOKENS, INT, "generated tokens of y+ (west-of-n; null otherwise)"),
          field(REJECTED_TOKENS, INT, "generated tokens of y- (west-of-n; null otherwise)"),
          field(
              CHOSEN_FINISH_REASON,
              STRING,
              "why sampling y+ stopped: EOS, STOP or LENGTH (max-new-tokens; see selection.truncated) (west-of-n; null otherwise)"),
          field(
              REJECTED_FINISH_REASON,
              STRING,
              "why sampling y- stopped: EOS, STOP or LENGTH (west-of-n; null otherwise)"),
          field(REWARD_CHOSEN, DOUBLE, "r(x, y+) of models.reward (west-of-n; null otherwise)"),
          field(REWARD_REJECTED, DOUBLE, "r(x, y-) of models.reward (west-of-n; null otherwise)"),
          field(
              CONFIDENCE,
              DOUBLE,
              "P(y+ ≻ y- | x): σ(r+ − r-) with models.reward, the symmetric ½[P(y+≻y-) + 1 − P(y-≻y+)] with a pairwise teacher (west-of-n; null otherwise)"),
          field(
              DISTINCT_CANDIDATES, INT, "distinct responses the pair was chosen from (west-of-n)"),
          field(
              DUPLICATES_REMOVED,
              INT,
              "exact-duplicate responses removed before selection (west-of-n)"),
          field(
              KNOCKOUT_BRACKET,
              DataTypes.createArrayType(INT, true),
              "pairwise teacher: the distinct samples' indices in bracket order, a permutation seeded from (run.seed, prompt_id); null otherwise"),
          field(
              KNOCKOUT_COMPARISONS,
              INT,
              "pairwise teacher: comparisons as method.md counts them, 2(N−1) + 1 for N distinct responses; null otherwise"),
          field(
              KNOCKOUT_SCORED,
              INT,
              "pairwise teacher: distinct pairs the teacher scored (both orders each; the knockouts share their first round); null otherwise"),
          field(
              POLICY_CHOSEN_LOGPROB,
              DOUBLE,
              "log π(y+|x) of models.policy recorded at sampling (generated ids; west-of-n)"),
          field(
              POLICY_REJECTED_LOGPROB,
              DOUBLE,
              "log π(y-|x) of models.policy recorded at sampling (generated ids; west-of-n)"),
          field(
              REF_CHOSEN_LOGPS,
              DOUBLE,
              "log π_ref(y+|x) of models.reference, TRL's ref_chosen_logps convention"),
          field(
              REF_REJECTED_LOGPS,
              DOUBLE,
              "log π_ref(y-|x) of models.reference, TRL's ref_rejected_logps convention"),
          field(REF_CHOSEN_LOGPS_PX, DOUBLE, "log π_ref(y+|p⊕x) of models.reference"),
          field(REF_REJECTED_LOGPS_PX, DOUBLE, "log π_ref(y-|p⊕x) of models.reference"),
          field(
              CKPT_CHOSEN_LOGPS,
              DOUBLE,
              "log π_t(y+|x) of models.policy-checkpoint; null without one"),
          field(
              CKPT_REJECTED_LOGPS,
              DOUBLE,
              "log π_t(y-|x) of models.policy-checkpoint; null without one"),
          field(
              CKPT_CHOSEN_LOGPS_PX,
              DOUBLE,
              "log π_t(y+|p⊕x) of models.policy-checkpoint; null without one"),
          field(
              CKPT_REJECTED_LOGPS_PX,
              DOUBLE,
              "log π_t(y-|p⊕x) of models.policy-checkpoint; null without one"),
          field(
              POLICY_TERMS,
              STRING,
              "which model gave the policy terms of the margins: checkpoint, or reference (π = π_ref, margins and Δ are 0)"),
          field(
              DPO_MARGIN,
              DOUBLE,
              "m(x) = [log π(y+|x) − log π_ref(y+|x)] − [log π(y-|x) − log π_ref(y-|x)]"),
          field(PX_MARGIN, DOUBLE, "m_p(x): m(x) with p ⊕ x in place of x"),
          field(REFINEMENT, DOUBLE, "Δ_π(y-, y+; x) = β·m_p(x)"),
          field(DPO_LOSS, DOUBLE, "−log σ(β·m(x))"),
          field(SR_DPO_LOSS, DOUBLE, "−log σ(β·m(x) − λ·Δ)"),
          field(SR_IPO_LOSS, DOUBLE, "(m(x) − λ·Δ − 1/(2β))²"),
          field(
              PREFIX_MISMATCH,
              BOOLEAN,
              "a prompt's ids were not a prefix of tok(prompt + response) for some term (TRL convention applied; see docs/pipeline.md)"),
          field(
              SCORE_GAP,
              DOUBLE,
              "external score gap s+ − s- from input.score-gap-column (score-pairs, evaluate); null otherwise"),
          field(ROUND, INT, ROUND_DOC));

  /**
   * {@code pairs}: the kept preference tuples with every log-prob term. Sr-DPO columns are filled
   * by the second scoring pass; West-of-N columns are null in score-pairs and evaluate.
   */
  public static final StructType PAIRS = struct(PAIR_FIELDS);

  /**
   * {@code pairs_conversational}: the pairs of chat prompts in TRL's conversational preference
   * format (west-of-n): {@code prompt} is the conversation, {@code chosen} / {@code rejected} are
   * one assistant turn each; every other column as in {@link #PAIRS}.
   */
  public static final StructType PAIRS_CONVERSATIONAL = conversational(PAIR_FIELDS);

  /** {@code filtered}: West-of-N pairs a filter dropped (not scored: Sr-DPO columns are null). */
  public static final StructType FILTERED =
      PAIRS.add(
          field(
              FILTER_REASON,
              STRING,
              "LOW_CONFIDENCE or LOW_LIKELIHOOD (the first filter that failed)"));

  /** {@code rejects}: every input row that became neither a pair nor a filtered pair. */
  public static final StructType REJECTS =
      struct(
          field(INPUT_ROW, LONG, "the input row"),
          field(PROMPT_ID, STRING, "the prompt's id; null when the row had no usable prompt"),
          field(STAGE, STRING, "read, prepare, render, generate, select or score"),
          field(REASON_CODE, STRING, "a stable code, listed in docs/pipeline.md"),
          field(DETAIL, STRING, "what happened, with the numbers involved"),
          field(ROUND, INT, ROUND_DOC));

  /** Internal: a prompt (or a tuple, in score-pairs/evaluate) ready for the executors. */
  public static final StructType PROMPTS =
      struct(
          field(INPUT_ROW, LONG, ""),
          field(PROMPT_ID, STRING, ""),
          field(PROMPT, STRING, "plain-text prompt, or null for chat messages"),
          new StructField(
              MESSAGES, MESSAGES_TYPE, true, org.apache.spark.sql.types.Metadata.empty()),
          field(CHOSEN, STRING, ""),
          field(REJECTED, STRING, ""),
          new StructField(
              CHOSEN_MESSAGES, MESSAGES_TYPE, true, org.apache.spark.sql.types.Metadata.empty()),
          new StructField(
              REJECTED_MESSAGES, MESSAGES_TYPE, true, org.apache.spark.sql.types.Metadata.empty()),
          field(SCORE_GAP, DOUBLE, ""));

  /**
   * Internal: what generation emits, one row per sample or one reject row per refused prompt. A
   * prompt's own fields, {@link #PROMPT} (x) and {@link #PX_PROMPT} (p ⊕ x), are set on its sample
   * 0 only (null on the others), so the persisted samples hold one copy of each prompt, not N
   * (selection reads them in place, no shuffle); a reject row carries x when it was rendered.
   */
  public static final StructType SAMPLES =
      CANDIDATES
          .add(field(INPUT_ROW, LONG, ""))
          .add(field(PROMPT, STRING, ""))
          .add(field(PX_PROMPT, STRING, ""))
          .add(new StructField(MESSAGES, MESSAGES_TYPE, true, Metadata.empty()))
          .add(field(REJECT_STAGE, STRING, ""))
          .add(field(REJECT_REASON, STRING, ""))
          .add(field(REJECT_DETAIL, STRING, ""));

  /** Internal: a pair on its way through selection, filtering and scoring. */
  public static final StructType PAIR_WORK =
      FILTERED
          .add(new StructField(MESSAGES, MESSAGES_TYPE, true, Metadata.empty()))
          .add(field(REJECT_STAGE, STRING, ""))
          .add(field(REJECT_REASON, STRING, ""))
          .add(field(REJECT_DETAIL, STRING, ""));

  private static final List<StructField> MIX_FIELDS =
      List.of(
          field(
              PROMPT,
              STRING,
              "x: TRL's explicit prompt (a West-of-N pair's prompt as in pairs; a base pair's as given)"),
          field(CHOSEN, STRING, "y+: TRL RewardTrainer's chosen"),
          field(REJECTED, STRING, "y-: TRL RewardTrainer's rejected"),
          field(
              SOURCE,
              STRING,
              "base (a row of mix.base-preferences) or west_of_n (a pair of this run's pairs tables)"),
          field(PROMPT_ID, STRING, "the prompt's id (a base pair's: the hash of its prompt)"),
          field(
              SOURCE_ROW,
              LONG,
              "base: the row's 0-based position among the non-blank lines of mix.base-preferences; west_of_n: the pair's input_row"),
          field(ROUND, INT, ROUND_DOC));

  /**
   * Table {@code mix} (west-of-n with {@code mix.base-preferences}): the student reward model's
   * training data, a seeded 1:1 mix of base preference pairs and West-of-N pairs in TRL's standard
   * preference format (explicit prompt); the pairs whose prompt is plain text.
   */
  public static final StructType MIX = struct(MIX_FIELDS);

  /** Table {@code mix_conversational}: the mix's pairs in TRL's conversational format. */
  public static final StructType MIX_CONVERSATIONAL = conversational(MIX_FIELDS);

  /** The tables only a west-of-n run with mix.base-preferences writes (iterative West-of-N). */
  public static final List<String> MIX_TABLES =
      List.of("mix", "mix_conversational", "base_rejects");

  /** The written tables, in the order docs/pipeline.md documents them. */
  public static Map<String, StructType> outputs() {
    Map<String, StructType> tables = new LinkedHashMap<>();
    tables.put("candidates", CANDIDATES);
    tables.put("pairs", PAIRS);
    tables.put("pairs_conversational", PAIRS_CONVERSATIONAL);
    tables.put("filtered", FILTERED);
    tables.put("rejects", REJECTS);
    tables.put("mix", MIX);
    tables.put("mix_conversational", MIX_CONVERSATIONAL);
    tables.put("base_rejects", REJECTS);
    return tables;
  }

  /** Column names of a schema, in order. */
  public static List<String> names(StructType schema) {
    List<String> names = new ArrayList<>();
    for (StructField f : schema.fields()) {
      names.add(f.name());
    }
    return names;
  }

  private static StructType conversational(List<StructField> fields) {
    List<StructField> out = new ArrayList<>();
    for (StructField f : fields) {
      String doc =
          switch (f.name()) {
            case PROMPT -> "x: the conversation (TRL's conversational prompt)";
            case CHOSEN -> "y+: [{\"role\": \"assistant\", \"content\": ...}] (TRL's chosen)";
            case REJECTED -> "y-: [{\"role\": \"assistant\", \"content\": ...}] (TRL's rejected)";
            default -> null;
          };
      out.add(
          doc == null
              ? f
              : new StructField(f.name(), MESSAGES_TYPE, true, Metadata.empty()).withComment(doc));
    }
    return struct(out);
  }

  private static StructField field(String name, DataType type, String doc) {
    StructField f = new StructField(name, type, true, org.apache.spark.sql.types.Metadata.empty());
    return doc.isEmpty() ? f : f.withComment(doc);
  }

  private static StructType struct(StructField... fields) {
    return new StructType(fields);
  }

  private static StructType struct(List<StructField> fields) {
    return new StructType(fields.toArray(StructField[]::new));
  }
}
