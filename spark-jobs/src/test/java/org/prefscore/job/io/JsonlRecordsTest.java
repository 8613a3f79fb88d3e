package org.prefscore.job.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** One JSONL line, strictly: wrong JSON types are rejects with a reason, never converted. */
class JsonlRecordsTest {

  private static final JsonlRecords WEST_OF_N =
      new JsonlRecords("id", "prompt", "messages", "", "", "", false);
  private static final JsonlRecords PAIRS =
      new JsonlRecords("", "prompt", "messages", "chosen", "rejected", "gap", false);
  private static final JsonlRecords TURNS =
      new JsonlRecords("", "", "prompt", "chosen", "rejected", "", true);

  private static JsonlRecords.Record parse(JsonlRecords parser, String line) {
    return parser.parse(line.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void validLinesKeepTheirValuesAsGiven() {
    JsonlRecords.Record r =
        parse(
            WEST_OF_N,
            "\uFEFF{\"id\": 42, \"prompt\": \"  Hi \", \"messages\": [{\"role\": \"user\","
                + " \"content\": \"Yo\"}, {\"role\": \"user\"}], \"other\": [1]}");
    assertThat(r.isReject()).isFalse();
    assertThat(r.givenId()).isEqualTo("42");
    assertThat(r.prompt()).isEqualTo("  Hi ");
    assertThat(r.messages())
        .containsExactly(
            new JsonlRecords.Message("user", "Yo"), new JsonlRecords.Message("user", null));
    JsonlRecords.Record p =
        parse(PAIRS, "{\"prompt\": \"Q\", \"chosen\": \"A\", \"rejected\": null, \"gap\": 2}");
    assertThat(p.chosen()).isEqualTo("A");
    assertThat(p.rejected()).isNull();
    assertThat(p.scoreGap()).isEqualTo(2.0);
    assertThat(parse(WEST_OF_N, "{\"id\": 123456789012345678901234567890}").givenId())
        .isEqualTo("123456789012345678901234567890");
  }

  @Test
  void basePreferencesAreStandardOrConversationalByThePromptsType() {
    JsonlRecords base = JsonlRecords.basePreferences();
    JsonlRecords.Record text =
        parse(base, "{\"prompt\": \"Q\", \"chosen\": \" A\", \"rejected\": \" B\", \"x\": 1}");
    assertThat(text.isReject()).isFalse();
    assertThat(text.prompt()).isEqualTo("Q");
    assertThat(text.messages()).isNull();
    assertThat(text.chosen()).isEqualTo(" A");
    assertThat(text.chosenMessages()).isNull();
    JsonlRecords.Record chat =
        parse(
            base,
            "{\"prompt\": [{\"role\": \"user\", \"content\": \"Q\"}], \"chosen\": [{\"role\":"
                + " \"assistant\", \"content\": \"A\"}], \"rejected\": [{\"role\": \"assistant\","
                + " \"content\": \"B\"}]}");
    assertThat(chat.isReject()).isFalse();
    assertThat(chat.prompt()).isNull();
    assertThat(chat.messages()).containsExactly(new JsonlRecords.Message("user", "Q"));
    assertThat(chat.chosenMessages()).containsExactly(new JsonlRecords.Message("assistant", "A"));
    assertThat(chat.chosen()).isNull();
    // Mixed formats are rejects, never converted.
    assertThat(
            parse(
                    base,
                    "{\"prompt\": [{\"role\": \"user\", \"content\": \"Q\"}], \"chosen\": \"A\","
                        + " \"rejected\": [{\"role\": \"assistant\", \"content\": \"B\"}]}")
                .reason())
        .isEqualTo(JsonlRecords.INVALID_MESSAGES);
    assertThat(
            parse(
                    base,
                    "{\"prompt\": \"Q\", \"chosen\": [{\"role\": \"assistant\", \"content\":"
                        + " \"A\"}], \"rejected\": \"B\"}")
                .reason())
        .isEqualTo(JsonlRecords.INVALID_RESPONSE_TYPE);
    assertThat(parse(base, "{\"prompt\": {\"text\": \"Q\"}}").reason())
        .isEqualTo(JsonlRecords.INVALID_PROMPT_TYPE);
  }

  @Test
  void aLongValidLineIsRead() {
    String prompt = "word ".repeat(5_000_000); // 25 million characters: over Jackson's default
    JsonlRecords.Record r = parse(WEST_OF_N, "{\"prompt\": \"" + prompt + "\"}");
    assertThat(r.isReject()).isFalse();
    assertThat(r.prompt()).hasSize(prompt.length());
  }

  @Test
  void wrongTypesAreRejectedWithTheirReason() {
    List<String[]> cases =
        List.of(
            new String[] {
              "{\"prompt\": 12345}",
              "INVALID_PROMPT_TYPE",
              "prompt column 'prompt' holds a number (12345), not a string"
            },
            new String[] {
              "{\"prompt\": [{\"role\": \"user\"}]}",
              "INVALID_PROMPT_TYPE",
              "holds an array ([{\"role\":\"user\"}]), not a string; a conversation belongs in the"
                  + " messages column 'messages'"
            },
            new String[] {"{\"prompt\": false}", "INVALID_PROMPT_TYPE", "holds a boolean (false)"},
            new String[] {"{\"prompt\": {\"t\": 1}}", "INVALID_PROMPT_TYPE", "holds an object"},
            new String[] {
              "{\"messages\": \"hi\"}",
              "INVALID_MESSAGES",
              "column 'messages' holds a string (\"hi\"), not an array of {role, content}"
            },
            new String[] {
              "{\"messages\": [\"hi\"]}",
              "INVALID_MESSAGES",
              "messages[0] is a string (\"hi\"), not an object {role, content}"
            },
            new String[] {
              "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}",
              "INVALID_MESSAGES",
              "messages[0].content is a number (5), not a string"
            },
            new String[] {
              "{\"messages\": [{\"role\": 1, \"content\": \"x\"}]}",
              "INVALID_MESSAGES",
              "messages[0].role is a number (1), not a string"
            },
            new String[] {
              "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\"}]}]}",
              "INVALID_MESSAGES",
              "multimodal content parts are not supported"
            },
            new String[] {
              "{\"id\": 1.5, \"prompt\": \"x\"}",
              "INVALID_FIELD_TYPE",
              "id column 'id' holds a number (1.5), not a string or an integer"
            },
            new String[] {
              "{\"id\": true, \"prompt\": 7}",
              "INVALID_FIELD_TYPE",
              "id column 'id' holds a boolean"
            });
    for (String[] c : cases) {
      JsonlRecords.Record r = parse(WEST_OF_N, c[0]);
      assertThat(r.reason()).as(c[0]).isEqualTo(c[1]);
      assertThat(r.detail()).as(c[0]).contains(c[2]);
      assertThat(r.prompt()).isNull();
    }
    assertThat(parse(PAIRS, "{\"prompt\": \"Q\", \"chosen\": 5, \"rejected\": \"B\"}").detail())
        .isEqualTo("column 'chosen' holds a number (5), not a string");
    assertThat(parse(PAIRS, "{\"prompt\": \"Q\", \"chosen\": [\"A\"], \"rejected\": \"B\"}"))
        .satisfies(
            r -> {
              assertThat(r.reason()).isEqualTo("INVALID_RESPONSE_TYPE");
              assertThat(r.detail())
                  .endsWith("for assistant turns set input.response-format=messages");
            });
    assertThat(
            parse(
                PAIRS,
                "{\"prompt\": \"Q\", \"chosen\": \"A\", \"rejected\": \"B\", \"gap\": \"1\"}"))
        .satisfies(
            r -> {
              assertThat(r.reason()).isEqualTo("INVALID_FIELD_TYPE");
              assertThat(r.detail())
                  .isEqualTo("score-gap column 'gap' holds a string (\"1\"), not a number");
            });
    assertThat(parse(TURNS, "{\"prompt\": [], \"chosen\": \"plain\", \"rejected\": []}").detail())
        .isEqualTo("column 'chosen' holds a string (\"plain\"), not an array of {role, content}");
  }

  @Test
  void linesThatAreNotOneJsonObjectAreMalformed() {
    for (String[] c :
        new String[][] {
          {"{\"prompt\": \"Write a haiku ab", "not JSON ("},
          {"not json at all", "not JSON ("},
          {"{\"prompt\": \"a\", \"prompt\": \"b\"}", "Duplicate field 'prompt'"},
          {"[{\"prompt\": \"a\"}]", "a JSON array, not an object: [{\"prompt\": \"a\"}]"},
          {"\"a string\"", "a JSON string, not an object"},
          {"{\"prompt\": \"a\"} {\"prompt\": \"b\"}", "not JSON ("}
        }) {
      JsonlRecords.Record r = parse(WEST_OF_N, c[0]);
      assertThat(r.reason()).as(c[0]).isEqualTo("MALFORMED_RECORD");
      assertThat(r.detail()).as(c[0]).contains(c[1]);
    }
    JsonlRecords.Record bad =
        WEST_OF_N.parse(new byte[] {'{', '"', 'p', '"', ':', '"', (byte) 0xff, '"', '}'});
    assertThat(bad.reason()).isEqualTo("MALFORMED_RECORD");
    assertThat(bad.detail()).startsWith("not UTF-8 text");
    assertThat(JsonlRecords.isBlank(" \t\r".getBytes(StandardCharsets.UTF_8))).isTrue();
    assertThat(JsonlRecords.isBlank(" x".getBytes(StandardCharsets.UTF_8))).isFalse();
  }
}
