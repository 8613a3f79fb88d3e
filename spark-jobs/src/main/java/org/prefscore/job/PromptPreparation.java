package org.prefscore.job;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.first;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.when;

import java.util.List;
import java.util.function.UnaryOperator;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.prefscore.chat.ChatMessage;
import org.prefscore.job.config.PipelineConfig;
import org.prefscore.job.io.InputReader;
import org.prefscore.spark.InputMessages;
import org.prefscore.spark.OutputSchema;

/**
 * Stage {@code prepare}: turns read rows into prompts (tuples) for the executors, or into rejects.
 *
 * <ul>
 *   <li>a JSONL line the reader rejected ({@link org.prefscore.job.io.JsonlRecords}:
 *       MALFORMED_RECORD, INVALID_PROMPT_TYPE, INVALID_MESSAGES, INVALID_RESPONSE_TYPE,
 *       INVALID_FIELD_TYPE): that reason, stage read;
 *   <li>no usable prompt (null/blank text and no messages, or messages with only blank contents):
 *       EMPTY_PROMPT; a message without role or content, or with a role other than system, user and
 *       assistant ({@link InputMessages}): INVALID_MESSAGES;
 *   <li>score-pairs/evaluate: null chosen or rejected (or an empty list of assistant turns):
 *       EMPTY_RESPONSE; assistant turns after a plain-text prompt, or a turn without role or
 *       content: INVALID_MESSAGES;
 *   <li>west-of-n: exact duplicates ({@link PromptIdentity}): the row with the lowest input_row is
 *       kept, the others become DUPLICATE_PROMPT with a detail naming the kept row and prompt_id;
 *       with a given id column, a prompt_id already taken by a different prompt:
 *       DUPLICATE_PROMPT_ID.
 * </ul>
 *
 * A prompt is chat when its messages column holds a non-empty array, plain text otherwise. The
 * prompt_id is the given id when an id column is configured and the row has one, else the hash.
 */
public final class PromptPreparation {

  public static final String READ = "read";
  public static final String STAGE = "prepare";
  private static final String KEY = "dedup_key";
  private static final String MARKED_ROW = "_marked_row";
  private static final String MARKED_STAGE = "_marked_stage";
  private static final String MARKED_REASON = "_marked_reason";
  private static final String MARKED_DETAIL = "_marked_detail";

  static final StructType CLASSIFIED =
      OutputSchema.PROMPTS
          .add(KEY, DataTypes.StringType)
          .add(OutputSchema.REJECT_STAGE, DataTypes.StringType)
          .add(OutputSchema.REJECT_REASON, DataTypes.StringType)
          .add(OutputSchema.REJECT_DETAIL, DataTypes.StringType);

  private PromptPreparation() {}

  /**
   * Every input row, classified: rows whose {@code reject_reason} is null are the prompts (columns
   * of {@link OutputSchema#PROMPTS}); the others carry reject_stage / reject_reason /
   * reject_detail. One dataset, so the caller can persist it and split it without recomputing the
   * windows.
   *
   * <p>West-of-n's duplicate rules need windows, hence shuffles; so that a prompt's text does not
   * cross them, they run on a narrow projection ({@link #duplicates}) and their marks are joined
   * back by input_row ({@link #withDuplicates}). {@code materialize} is given the marks before the
   * join (the runner persists and counts them): a persisted dataset's size is known to the planner,
   * which then broadcasts the marks when they are small (Spark's {@code
   * spark.sql.autoBroadcastJoinThreshold}), and the rows are not shuffled at all.
   */
  public static Dataset<Row> apply(
      Dataset<Row> input,
      Mode mode,
      PipelineConfig.ResponseFormat responses,
      UnaryOperator<Dataset<Row>> materialize) {
    Dataset<Row> c =
        input.map(
            new Classifier(
                mode != Mode.WEST_OF_N, responses == PipelineConfig.ResponseFormat.MESSAGES),
            Encoders.row(CLASSIFIED));
    if (mode != Mode.WEST_OF_N) {
      return c;
    }
    return withDuplicates(c, materialize.apply(duplicates(c)));
  }

  /**
   * The duplicate rules on the classified rows' ids only: one row ({@code input_row} and the reject
   * columns) per row that becomes DUPLICATE_PROMPT or DUPLICATE_PROMPT_ID.
   */
  static Dataset<Row> duplicates(Dataset<Row> classified) {
    Dataset<Row> c =
        classified
            .select(
                col(OutputSchema.INPUT_ROW),
                col(KEY),
                col(OutputSchema.PROMPT_ID),
                col(OutputSchema.REJECT_STAGE),
                col(OutputSchema.REJECT_REASON),
                col(OutputSchema.REJECT_DETAIL))
            .withColumn("_valid", col(OutputSchema.REJECT_REASON).isNull());
    WindowSpec byKey = Window.partitionBy(KEY).orderBy(OutputSchema.INPUT_ROW);
    c =
        c.withColumn("_rank", row_number().over(byKey))
            .withColumn("_first_row", first(OutputSchema.INPUT_ROW).over(byKey))
            .withColumn("_first_id", first(OutputSchema.PROMPT_ID).over(byKey));
    c =
        markReject(
            c,
            col(OutputSchema.REJECT_REASON).isNull().and(col("_rank").gt(1)),
            "DUPLICATE_PROMPT",
            concat(
                lit("exact duplicate of the kept prompt_id "),
                col("_first_id"),
                lit(" (input_row "),
                col("_first_row").cast(DataTypes.StringType),
                lit(")")));
    // With given ids, two different prompts may claim one id: the first keeps it.
    WindowSpec byId =
        Window.partitionBy(col(OutputSchema.PROMPT_ID), col(OutputSchema.REJECT_REASON).isNull())
            .orderBy(OutputSchema.INPUT_ROW);
    c =
        c.withColumn("_id_rank", row_number().over(byId))
            .withColumn("_id_first_row", first(OutputSchema.INPUT_ROW).over(byId));
    c =
        markReject(
            c,
            col(OutputSchema.REJECT_REASON).isNull().and(col("_id_rank").gt(1)),
            "DUPLICATE_PROMPT_ID",
            concat(
                lit("prompt_id already taken by a different prompt at input_row "),
                col("_id_first_row").cast(DataTypes.StringType)));
    return c.filter(col("_valid").and(col(OutputSchema.REJECT_REASON).isNotNull()))
        .select(
            col(OutputSchema.INPUT_ROW).as(MARKED_ROW),
            col(OutputSchema.REJECT_STAGE).as(MARKED_STAGE),
            col(OutputSchema.REJECT_REASON).as(MARKED_REASON),
            col(OutputSchema.REJECT_DETAIL).as(MARKED_DETAIL));
  }

  /** The classified rows with the {@link #duplicates} marks applied (a left join by input_row). */
  static Dataset<Row> withDuplicates(Dataset<Row> classified, Dataset<Row> marks) {
    Dataset<Row> j =
        classified.join(
            marks, classified.col(OutputSchema.INPUT_ROW).equalTo(marks.col(MARKED_ROW)), "left");
    Column marked = col(MARKED_ROW).isNotNull();
    return j.withColumn(
            OutputSchema.REJECT_STAGE,
            when(marked, col(MARKED_STAGE)).otherwise(col(OutputSchema.REJECT_STAGE)))
        .withColumn(
            OutputSchema.REJECT_REASON,
            when(marked, col(MARKED_REASON)).otherwise(col(OutputSchema.REJECT_REASON)))
        .withColumn(
            OutputSchema.REJECT_DETAIL,
            when(marked, col(MARKED_DETAIL)).otherwise(col(OutputSchema.REJECT_DETAIL)))
        .select(columns(CLASSIFIED));
  }

  /**
   * Base preference pairs ({@code mix.base-preferences}, read by {@link
   * InputReader#readBasePreferences}) classified as score-pairs classifies its tuples: a row whose
   * prompt is a conversation must have assistant turns as chosen/rejected, a plain-text one
   * strings; bad rows keep their reject columns. No duplicate check: a base set may hold several
   * pairs of one prompt.
   */
  public static Dataset<Row> basePreferences(Dataset<Row> read) {
    return read.map(new Classifier(true, false, true), Encoders.row(CLASSIFIED));
  }

  private static Dataset<Row> markReject(
      Dataset<Row> c, Column condition, String reason, Column detail) {
    return c.withColumn(
            OutputSchema.REJECT_STAGE,
            when(condition, lit(STAGE)).otherwise(col(OutputSchema.REJECT_STAGE)))
        .withColumn(
            OutputSchema.REJECT_DETAIL,
            when(condition, detail).otherwise(col(OutputSchema.REJECT_DETAIL)))
        .withColumn(
            OutputSchema.REJECT_REASON,
            when(condition, lit(reason)).otherwise(col(OutputSchema.REJECT_REASON)));
  }

  /** The prompts of a classified dataset. */
  public static Dataset<Row> prompts(Dataset<Row> classified) {
    return classified
        .filter(col(OutputSchema.REJECT_REASON).isNull())
        .select(columns(OutputSchema.PROMPTS));
  }

  static Column[] columns(StructType schema) {
    return java.util.Arrays.stream(schema.fieldNames()).map(n -> col(n)).toArray(Column[]::new);
  }

  /** Per row: validity, canonical form, ids. */
  static final class Classifier implements MapFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private final boolean tuples;
    private final boolean chatResponses;

    /** Per row: responses are assistant turns when the row's prompt is a conversation. */
    private final boolean responsesFollowPrompt;

    Classifier(boolean tuples, boolean chatResponses) {
      this(tuples, chatResponses, false);
    }

    Classifier(boolean tuples, boolean chatResponses, boolean responsesFollowPrompt) {
      this.tuples = tuples;
      this.chatResponses = chatResponses;
      this.responsesFollowPrompt = responsesFollowPrompt;
    }

    @Override
    public Row call(Row in) {
      Object[] v = new Object[CLASSIFIED.length()];
      v[CLASSIFIED.fieldIndex(OutputSchema.INPUT_ROW)] = in.getAs(OutputSchema.INPUT_ROW);
      String readReason = in.getAs(InputReader.READ_REASON);
      if (readReason != null) {
        return reject(v, READ, readReason, in.getAs(InputReader.READ_DETAIL));
      }
      String text = in.getAs(OutputSchema.PROMPT);
      List<ChatMessage> messages;
      try {
        messages = InputMessages.of(in);
      } catch (IllegalArgumentException e) {
        return reject(v, STAGE, "INVALID_MESSAGES", e.getMessage());
      }
      String canonical;
      if (messages != null && !messages.isEmpty()) {
        if (messages.stream().allMatch(m -> m.content().isBlank())) {
          return reject(v, STAGE, "EMPTY_PROMPT", "every message content is blank");
        }
        canonical = PromptIdentity.canonical(messages);
        v[CLASSIFIED.fieldIndex(OutputSchema.MESSAGES)] =
            in.get(in.fieldIndex(OutputSchema.MESSAGES));
      } else if (text == null) {
        return reject(v, STAGE, "EMPTY_PROMPT", "the prompt is null");
      } else if (text.isBlank()) {
        return reject(
            v,
            STAGE,
            "EMPTY_PROMPT",
            "the prompt is blank (" + text.length() + " whitespace characters)");
      } else {
        canonical = PromptIdentity.canonical(text);
        v[CLASSIFIED.fieldIndex(OutputSchema.PROMPT)] = text;
      }
      String given = in.getAs(InputReader.GIVEN_ID);
      String hash = PromptIdentity.id(canonical);
      String id = given != null && !given.isBlank() ? given : hash;
      v[CLASSIFIED.fieldIndex(OutputSchema.PROMPT_ID)] = id;
      v[CLASSIFIED.fieldIndex(KEY)] =
          PromptIdentity.sha256Hex(canonical.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      boolean assistantTurns =
          responsesFollowPrompt ? in.getAs(OutputSchema.MESSAGES) != null : chatResponses;
      if (tuples && assistantTurns) {
        for (String column :
            List.of(OutputSchema.CHOSEN_MESSAGES, OutputSchema.REJECTED_MESSAGES)) {
          String name = column.equals(OutputSchema.CHOSEN_MESSAGES) ? "chosen" : "rejected";
          List<ChatMessage> turns;
          try {
            turns = InputMessages.of(in, column);
          } catch (IllegalArgumentException e) {
            return reject(v, STAGE, "INVALID_MESSAGES", name + ": " + e.getMessage());
          }
          if (turns == null || turns.isEmpty()) {
            return reject(
                v,
                STAGE,
                "EMPTY_RESPONSE",
                name + " is " + (turns == null ? "null" : "an empty list"));
          }
          v[CLASSIFIED.fieldIndex(column)] = in.get(in.fieldIndex(column));
        }
        if (messages == null || messages.isEmpty()) {
          return reject(
              v,
              STAGE,
              "INVALID_MESSAGES",
              "chosen/rejected are assistant turns (input.response-format=messages) but the prompt is plain text, not a conversation");
        }
      } else if (tuples) {
        String chosen = in.getAs(OutputSchema.CHOSEN);
        String rejected = in.getAs(OutputSchema.REJECTED);
        if (chosen == null || rejected == null) {
          return reject(
              v, STAGE, "EMPTY_RESPONSE", (chosen == null ? "chosen" : "rejected") + " is null");
        }
        v[CLASSIFIED.fieldIndex(OutputSchema.CHOSEN)] = chosen;
        v[CLASSIFIED.fieldIndex(OutputSchema.REJECTED)] = rejected;
      }
      if (tuples) {
        Double gap = in.getAs(OutputSchema.SCORE_GAP);
        v[CLASSIFIED.fieldIndex(OutputSchema.SCORE_GAP)] =
            gap != null && Double.isFinite(gap) ? gap : null;
      }
      return new GenericRowWithSchema(v, CLASSIFIED);
    }

    private static Row reject(Object[] v, String stage, String reason, String detail) {
      v[CLASSIFIED.fieldIndex(OutputSchema.REJECT_STAGE)] = stage;
      v[CLASSIFIED.fieldIndex(OutputSchema.REJECT_REASON)] = reason;
      v[CLASSIFIED.fieldIndex(OutputSchema.REJECT_DETAIL)] = detail;
      return new GenericRowWithSchema(v, CLASSIFIED);
    }
  }
}
