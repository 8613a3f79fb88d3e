package org.prefscore.job.io;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.prefscore.job.Mode;
import org.prefscore.job.config.ConfigException;
import org.prefscore.job.config.PipelineConfig;
import org.prefscore.spark.OutputSchema;

/**
 * Reads the input (JSONL or Parquet, any Hadoop FS path) into {@link #SCHEMA}: the configured
 * columns under fixed internal names, plus {@code input_row}, the 0-based position of the row in
 * read order, which follows the row to whichever output it ends in.
 *
 * <p>JSONL is read as lines of bytes and each line parsed strictly by {@link JsonlRecords}: a line
 * that is not UTF-8 JSON holding one object, or whose configured fields have the wrong JSON types,
 * becomes a row with only {@code read_reason} / {@code read_detail} set (MALFORMED_RECORD,
 * INVALID_PROMPT_TYPE, INVALID_MESSAGES, INVALID_RESPONSE_TYPE, INVALID_FIELD_TYPE), which
 * preparation turns into a reject of stage read; no value is converted to another type. Lines of
 * only whitespace are not rows. For one JSONL file, {@code input_row} is the index of the line
 * among its non-blank lines. Parquet columns are type-checked up front instead (a wrong type is a
 * configuration error naming the column).
 */
public final class InputReader {

  public static final String GIVEN_ID = "given_id";

  /** Why the read stage rejects the row (a JsonlRecords code), or null. */
  public static final String READ_REASON = "read_reason";

  /** What was wrong with the row, quoting its start, or null. */
  public static final String READ_DETAIL = "read_detail";

  /** The rows as read, under internal names. */
  public static final StructType SCHEMA =
      new StructType(
          new StructField[] {
            DataTypes.createStructField(OutputSchema.INPUT_ROW, DataTypes.LongType, false),
            DataTypes.createStructField(GIVEN_ID, DataTypes.StringType, true),
            DataTypes.createStructField(OutputSchema.PROMPT, DataTypes.StringType, true),
            DataTypes.createStructField(OutputSchema.MESSAGES, OutputSchema.MESSAGES_TYPE, true),
            DataTypes.createStructField(OutputSchema.CHOSEN, DataTypes.StringType, true),
            DataTypes.createStructField(OutputSchema.REJECTED, DataTypes.StringType, true),
            DataTypes.createStructField(
                OutputSchema.CHOSEN_MESSAGES, OutputSchema.MESSAGES_TYPE, true),
            DataTypes.createStructField(
                OutputSchema.REJECTED_MESSAGES, OutputSchema.MESSAGES_TYPE, true),
            DataTypes.createStructField(OutputSchema.SCORE_GAP, DataTypes.DoubleType, true),
            DataTypes.createStructField(READ_REASON, DataTypes.StringType, true),
            DataTypes.createStructField(READ_DETAIL, DataTypes.StringType, true)
          });

  private final SparkSession spark;
  private final PipelineConfig config;

  public InputReader(SparkSession spark, PipelineConfig config) {
    this.spark = spark;
    this.config = config;
  }

  /** The input with {@code input_row}; fails before any model work when columns are unusable. */
  public Dataset<Row> read() {
    PipelineConfig.Input in = config.input();
    JavaRDD<Row> indexed;
    if (in.format() == PipelineConfig.Format.JSONL) {
      indexed = readJsonl(in);
    } else {
      Dataset<Row> raw = readParquet(in);
      StructType rawSchema = raw.schema();
      indexed =
          raw.javaRDD()
              .zipWithIndex()
              .map(
                  t -> {
                    Object[] values = new Object[rawSchema.length() + 1];
                    values[0] = t._2();
                    for (int i = 0; i < rawSchema.length(); i++) {
                      values[i + 1] = t._1().get(i);
                    }
                    return RowFactory.create(values);
                  });
    }
    Dataset<Row> rows = spark.createDataFrame(indexed, SCHEMA);
    if (in.limit() > 0) {
      rows = rows.filter(col(OutputSchema.INPUT_ROW).lt(in.limit()));
    }
    return rows;
  }

  /**
   * The base preference pairs of {@code mix.base-preferences} (JSONL) in {@link #SCHEMA}, each line
   * parsed by {@link JsonlRecords#basePreferences()}: a standard row fills prompt, chosen and
   * rejected; a conversational one messages, chosen_messages and rejected_messages; a bad line only
   * read_reason / read_detail. {@code input_row} is the line's index among the non-blank lines (one
   * file; a folder's files in Spark's order).
   */
  public Dataset<Row> readBasePreferences(String path) {
    JsonlRecords parser = JsonlRecords.basePreferences();
    JavaRDD<byte[]> lines =
        spark
            .read()
            .text(path)
            .select(col("value").cast(DataTypes.BinaryType))
            .javaRDD()
            .map(r -> (byte[]) r.get(0))
            .filter(line -> !JsonlRecords.isBlank(line));
    return spark.createDataFrame(
        lines.zipWithIndex().map(t -> row(t._2(), parser.parse(t._1()))), SCHEMA);
  }

  /**
   * The lines as bytes (Spark's text source keeps a line's bytes as they are, so invalid UTF-8 is
   * seen, not replaced), without the blank ones, numbered, each parsed by {@link JsonlRecords}.
   */
  private JavaRDD<Row> readJsonl(PipelineConfig.Input in) {
    boolean pairs = config.mode() != Mode.WEST_OF_N;
    JsonlRecords parser =
        new JsonlRecords(
            in.idColumn(),
            in.promptColumn(),
            in.messagesColumn(),
            pairs ? in.chosenColumn() : "",
            pairs ? in.rejectedColumn() : "",
            pairs ? in.scoreGapColumn() : "",
            pairs && chatResponses(in));
    JavaRDD<byte[]> lines =
        spark
            .read()
            .text(in.path())
            .select(col("value").cast(DataTypes.BinaryType))
            .javaRDD()
            .map(r -> (byte[]) r.get(0))
            .filter(line -> !JsonlRecords.isBlank(line));
    return lines.zipWithIndex().map(t -> row(t._2(), parser.parse(t._1())));
  }

  private static Row row(long inputRow, JsonlRecords.Record r) {
    return RowFactory.create(
        inputRow,
        r.givenId(),
        r.prompt(),
        messageRows(r.messages()),
        r.chosen(),
        r.rejected(),
        messageRows(r.chosenMessages()),
        messageRows(r.rejectedMessages()),
        r.scoreGap(),
        r.reason(),
        r.detail());
  }

  /** An array of struct(role, content) as a Row holds it: a Scala Seq. */
  private static scala.collection.Seq<Row> messageRows(List<JsonlRecords.Message> messages) {
    if (messages == null) {
      return null;
    }
    List<Row> rows = new ArrayList<>(messages.size());
    for (JsonlRecords.Message m : messages) {
      rows.add(RowFactory.create(m.role(), m.content()));
    }
    return scala.collection.JavaConverters.asScalaBuffer(rows).toList();
  }

  private Dataset<Row> readParquet(PipelineConfig.Input in) {
    Dataset<Row> df = spark.read().parquet(in.path());
    StructType schema = df.schema();
    List<String> problems = new ArrayList<>();
    boolean hasPrompt = !in.promptColumn().isEmpty() && has(schema, in.promptColumn());
    boolean hasMessages = !in.messagesColumn().isEmpty() && has(schema, in.messagesColumn());
    if (!hasPrompt && !hasMessages) {
      List<String> wanted = new ArrayList<>();
      if (!in.promptColumn().isEmpty()) {
        wanted.add("the prompt column '" + in.promptColumn() + "'");
      }
      if (!in.messagesColumn().isEmpty()) {
        wanted.add("the messages column '" + in.messagesColumn() + "'");
      }
      problems.add(
          "input "
              + in.path()
              + " has none of "
              + String.join(", ", wanted)
              + "; it has "
              + List.of(schema.fieldNames()));
    }
    if (hasPrompt
        && !(type(schema, in.promptColumn()) instanceof org.apache.spark.sql.types.StringType)) {
      problems.add(
          "prompt column '"
              + in.promptColumn()
              + "' must be a string, is "
              + type(schema, in.promptColumn()).simpleString());
    }
    if (hasMessages && !isMessages(type(schema, in.messagesColumn()))) {
      problems.add(
          "messages column '"
              + in.messagesColumn()
              + "' must be an array of struct<role: string, content: string>, is "
              + type(schema, in.messagesColumn()).simpleString());
    }
    if (config.mode() != Mode.WEST_OF_N) {
      for (String c : List.of(in.chosenColumn(), in.rejectedColumn())) {
        if (!has(schema, c)) {
          problems.add("input has no column '" + c + "'");
        } else if (chatResponses(in) && !isMessages(type(schema, c))) {
          problems.add(
              "column '"
                  + c
                  + "' must be an array of struct<role: string, content: string>"
                  + " (input.response-format=messages), is "
                  + type(schema, c).simpleString());
        } else if (!chatResponses(in)
            && !(type(schema, c) instanceof org.apache.spark.sql.types.StringType)) {
          problems.add(
              "column '"
                  + c
                  + "' must be a string, is "
                  + type(schema, c).simpleString()
                  + (isMessages(type(schema, c))
                      ? "; for assistant turns set input.response-format=messages"
                      : ""));
        }
      }
      if (!in.scoreGapColumn().isEmpty()) {
        if (!has(schema, in.scoreGapColumn())) {
          problems.add("input has no score-gap column '" + in.scoreGapColumn() + "'");
        } else if (!(type(schema, in.scoreGapColumn()) instanceof NumericType)) {
          problems.add("score-gap column '" + in.scoreGapColumn() + "' must be numeric");
        }
      }
    }
    if (!in.idColumn().isEmpty() && !has(schema, in.idColumn())) {
      problems.add("input has no id column '" + in.idColumn() + "'");
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return df.select(internalColumns(in, schema));
  }

  private Column[] internalColumns(PipelineConfig.Input in, StructType schema) {
    boolean pairs = config.mode() != Mode.WEST_OF_N;
    boolean text = pairs && !chatResponses(in);
    boolean chat = pairs && chatResponses(in);
    return new Column[] {
      column(schema, in.idColumn(), DataTypes.StringType).as(GIVEN_ID),
      column(schema, in.promptColumn(), DataTypes.StringType).as(OutputSchema.PROMPT),
      messages(schema, in.messagesColumn()).as(OutputSchema.MESSAGES),
      column(schema, text ? in.chosenColumn() : "", DataTypes.StringType).as(OutputSchema.CHOSEN),
      column(schema, text ? in.rejectedColumn() : "", DataTypes.StringType)
          .as(OutputSchema.REJECTED),
      messages(schema, chat ? in.chosenColumn() : "").as(OutputSchema.CHOSEN_MESSAGES),
      messages(schema, chat ? in.rejectedColumn() : "").as(OutputSchema.REJECTED_MESSAGES),
      column(schema, pairs ? in.scoreGapColumn() : "", DataTypes.DoubleType)
          .as(OutputSchema.SCORE_GAP),
      lit(null).cast(DataTypes.StringType).as(READ_REASON),
      lit(null).cast(DataTypes.StringType).as(READ_DETAIL)
    };
  }

  private static Column column(StructType schema, String name, DataType type) {
    return name.isEmpty() || !has(schema, name)
        ? lit(null).cast(type)
        : col(quote(name)).cast(type);
  }

  private static Column messages(StructType schema, String name) {
    if (name.isEmpty() || !has(schema, name)) {
      return lit(null).cast(OutputSchema.MESSAGES_TYPE);
    }
    return functions.transform(
        col(quote(name)),
        m ->
            functions.struct(
                m.getField("role").cast(DataTypes.StringType).as("role"),
                m.getField("content").cast(DataTypes.StringType).as("content")));
  }

  private static boolean chatResponses(PipelineConfig.Input in) {
    return in.responseFormat() == PipelineConfig.ResponseFormat.MESSAGES;
  }

  private static boolean isMessages(DataType t) {
    if (!(t instanceof ArrayType a) || !(a.elementType() instanceof StructType s)) {
      return false;
    }
    return has(s, "role") && has(s, "content");
  }

  private static boolean has(StructType schema, String name) {
    return schema.getFieldIndex(name).isDefined();
  }

  private static DataType type(StructType schema, String name) {
    return schema.apply(name).dataType();
  }

  private static String quote(String name) {
    return "`" + name.replace("`", "``") + "`";
  }
}
