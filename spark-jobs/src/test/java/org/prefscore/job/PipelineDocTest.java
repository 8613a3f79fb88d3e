package org.prefscore.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.prefscore.job.config.ConfigKeys;
import org.prefscore.spark.OutputSchema;

/**
 * docs/pipeline.md's configuration and schema tables are generated from {@link ConfigKeys} and
 * {@link OutputSchema}; this keeps them equal. Run with -Dprefscore.update-docs=true to rewrite
 * them.
 */
class PipelineDocTest {

  static Path doc() {
    return TestSupport.repoRoot().resolve("docs/pipeline.md");
  }

  static String schemaTable(StructType schema) {
    StringBuilder sb = new StringBuilder("| column | type | meaning |\n| --- | --- | --- |\n");
    for (StructField f : schema.fields()) {
      sb.append("| `")
          .append(f.name())
          .append("` | ")
          .append(f.dataType().simpleString())
          .append(" | ")
          .append(f.getComment().getOrElse(() -> "").replace("|", "\\|"))
          .append(" |\n");
    }
    return sb.toString();
  }

  private static String section(String text, String name) {
    String begin = "<!-- generated:" + name + " -->\n";
    String end = "<!-- end:" + name + " -->";
    int b = text.indexOf(begin);
    int e = text.indexOf(end);
    assertThat(b).as("docs/pipeline.md has a section %s", name).isGreaterThanOrEqualTo(0);
    assertThat(e).isGreaterThan(b);
    return text.substring(b + begin.length(), e);
  }

  private static String replace(String text, String name, String content) {
    String begin = "<!-- generated:" + name + " -->\n";
    String end = "<!-- end:" + name + " -->";
    int b = text.indexOf(begin);
    int e = text.indexOf(end);
    return text.substring(0, b + begin.length()) + content + text.substring(e);
  }

  @Test
  void configTableMatchesTheRegistry() throws IOException {
    check("config", ConfigKeys.markdownTable());
  }

  @Test
  void schemaTablesMatchTheOutputSchema() throws IOException {
    for (Map.Entry<String, StructType> t : OutputSchema.outputs().entrySet()) {
      check("schema-" + t.getKey(), schemaTable(t.getValue()));
    }
  }

  private static void check(String name, String expected) throws IOException {
    String text = Files.readString(doc(), StandardCharsets.UTF_8);
    if (Boolean.getBoolean("prefscore.update-docs")) {
      Files.writeString(doc(), replace(text, name, expected), StandardCharsets.UTF_8);
      text = Files.readString(doc(), StandardCharsets.UTF_8);
    }
    assertThat(section(text, name))
        .as("section %s of %s (regenerate with -Dprefscore.update-docs=true)", name, doc())
        .isEqualTo(expected);
  }
}
