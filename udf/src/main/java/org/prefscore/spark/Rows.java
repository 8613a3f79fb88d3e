package org.prefscore.spark;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema;
import org.apache.spark.sql.types.StructType;

/**
 * Builds one row of a schema from {@link OutputSchema} by column name, so the adapters never depend
 * on column positions. Not thread-safe; one builder per row.
 */
final class Rows {

  private final StructType schema;
  private final Object[] values;

  private Rows(StructType schema) {
    this.schema = schema;
    this.values = new Object[schema.length()];
  }

  static Rows of(StructType schema) {
    return new Rows(schema);
  }

  /** Sets a column; the value must be of the column's external type (Long, Integer, ...). */
  Rows set(String column, Object value) {
    values[schema.fieldIndex(column)] = value;
    return this;
  }

  /** Copies every column of {@code source} that this schema also has. */
  Rows copyFrom(Row source) {
    StructType from = source.schema();
    for (String name : from.fieldNames()) {
      if (schema.getFieldIndex(name).isDefined()) {
        set(name, source.get(from.fieldIndex(name)));
      }
    }
    return this;
  }

  Row build() {
    return new GenericRowWithSchema(values.clone(), schema);
  }

  /** The value of a column, or null when the row lacks the column or holds null. */
  static <T> T get(Row row, String column) {
    if (row.schema().getFieldIndex(column).isEmpty()) {
      return null;
    }
    int i = row.fieldIndex(column);
    return row.isNullAt(i) ? null : row.getAs(i);
  }
}
