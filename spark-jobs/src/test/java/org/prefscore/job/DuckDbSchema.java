package org.prefscore.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** Checks, with DuckDB, that a written table has exactly the documented columns and types. */
final class DuckDbSchema {

  private DuckDbSchema() {}

  static String duckType(DataType t) {
    if (t.equals(DataTypes.LongType)) {
      return "BIGINT";
    } else if (t.equals(DataTypes.IntegerType)) {
      return "INTEGER";
    } else if (t.equals(DataTypes.DoubleType)) {
      return "DOUBLE";
    } else if (t.equals(DataTypes.StringType)) {
      return "VARCHAR";
    } else if (t.equals(DataTypes.BooleanType)) {
      return "BOOLEAN";
    } else if (t instanceof org.apache.spark.sql.types.ArrayType a) {
      return duckType(a.elementType()) + "[]";
    } else if (t instanceof StructType st) {
      List<String> fields = new ArrayList<>();
      for (StructField f : st.fields()) {
        fields.add(f.name() + " " + duckType(f.dataType()));
      }
      return "STRUCT(" + String.join(", ", fields) + ")";
    }
    throw new IllegalArgumentException("no DuckDB mapping for " + t);
  }

  static void assertMatches(String runDir, String table, StructType documented) {
    List<Map<String, Object>> described =
        TestSupport.duckdb("DESCRIBE SELECT * FROM " + TestSupport.parquet(runDir, table));
    List<String> actual = new ArrayList<>();
    for (Map<String, Object> r : described) {
      // DuckDB quotes some field names inside STRUCT types ("role"): compare without quotes.
      actual.add(r.get("column_name") + " " + ((String) r.get("column_type")).replace("\"", ""));
    }
    List<String> expected = new ArrayList<>();
    for (StructField f : documented.fields()) {
      expected.add(f.name() + " " + duckType(f.dataType()));
    }
    assertThat(actual)
        .as("columns of %s as DuckDB reads them", table)
        .containsExactlyElementsOf(expected);
  }
}
