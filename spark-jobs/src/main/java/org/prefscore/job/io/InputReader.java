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
 * <p>JSONL is read in PERMISSIVE mode with an explicit schema and a corrupt-record column: a line
 * that is not a JSON object of the expected shape (bad JSON, messages that are not an array of
 * {role, content}, ...) becomes a row with only {@code corrupt_record} set, which preparation turns
 * into a MALFORMED_RECORD reject. Spark skips blank lines, so they are not rows. For one JSONL
 * file, {@code input_row} is the index of the line among its non-blank lines.
 */
public final class InputReader {

  public static final String GIVEN_ID = "given_id";
  public static final String CORRUPT = "corrupt_record";

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
            DataTypes.createStructField(CORRUPT, DataTypes.StringType, true)
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
    Dataset<Row> raw = in.format() == PipelineConfig.Format.JSONL ? readJsonl(in) : readParquet(in);
    StructType rawSchema = raw.schema();
    JavaRDD<Row> indexed =
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
    Dataset<Row> rows = spark.createDataFrame(indexed, SCHEMA);
    if (in.limit() > 0) {
      rows = rows.filter(col(OutputSchema.INPUT_ROW).lt(in.limit()));
    }
    return rows;
  }

  private Dataset<Row> readJsonl(PipelineConfig.Input in) {
    List<StructField> fields = new ArrayList<>();
    List<String> seen = new ArrayList<>();
    addField(fields, seen, in.idColumn(), DataTypes.StringType);
    addField(fields, seen, in.promptColumn(), DataTypes.StringType);
    addField(fields, seen, in.messagesColumn(), OutputSchema.MESSAGES_TYPE);
    if (config.mode() != Mode.WEST_OF_N) {
      DataType responses = chatResponses(in) ? OutputSchema.MESSAGES_TYPE : DataTypes.StringType;
      addField(fields, seen, in.chosenColumn(), responses);
      addField(fields, seen, in.rejectedColumn(), responses);
      addField(fields, seen, in.scoreGapColumn(), DataTypes.DoubleType);
    }
    fields.add(DataTypes.createStructField(CORRUPT, DataTypes.StringType, true));
    Dataset<Row> df =
        spark
            .read()
            .schema(new StructType(fields.toArray(StructField[]::new)))
            .option("mode", "PERMISSIVE")
            .option("columnNameOfCorruptRecord", CORRUPT)
            .json(in.path());
    return df.select(internalColumns(in, df.schema(), true));
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
    return df.select(internalColumns(in, schema, false));
  }

  private Column[] internalColumns(
      PipelineConfig.Input in, StructType schema, boolean withCorrupt) {
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
      (withCorrupt ? col(CORRUPT) : lit(null).cast(DataTypes.StringType)).as(CORRUPT)
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

  private static void addField(
      List<StructField> fields, List<String> seen, String name, DataType type) {
    if (!name.isEmpty() && !seen.contains(name)) {
      seen.add(name);
      fields.add(DataTypes.createStructField(name, type, true));
    }
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
