package org.prefscore.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

/**
 * Selection where the samples are: {@link WestOfNSelectFunction} over one partition gives, prompt
 * by prompt, what {@link WestOfNGroupFunction} gives for that prompt's group after a shuffle, and
 * {@link PromptRuns} refuses rows that are not grouped by prompt in Spark's prompt_id order.
 */
class WestOfNSelectFunctionTest {

  /** One sample row as generation emits it: x and p ⊕ x on sample 0 only. */
  private static Row sample(String promptId, long inputRow, int index, String text, Double reward) {
    return Rows.of(OutputSchema.SAMPLES)
        .set(OutputSchema.PROMPT_ID, promptId)
        .set(OutputSchema.INPUT_ROW, inputRow)
        .set(OutputSchema.PROMPT, index == 0 ? "x of " + promptId : null)
        .set(OutputSchema.PX_PROMPT, index == 0 ? "p + x of " + promptId : null)
        .set(OutputSchema.SAMPLE_INDEX, index)
        .set(OutputSchema.SEED, 1000L * inputRow + index)
        .set(OutputSchema.TEXT, text)
        .set(OutputSchema.PROMPT_TOKENS, 7)
        .set(OutputSchema.RESPONSE_TOKENS, 2)
        .set(OutputSchema.FINISH_REASON, index == 2 ? "LENGTH" : "EOS")
        .set(OutputSchema.POLICY_LOGPROB, -1.5 * index)
        .set(OutputSchema.SAMPLING_LOGPROB, -1.0 * index)
        .set(OutputSchema.REWARD, reward)
        .set(OutputSchema.REWARD_REFUSAL, reward == null ? "SEQUENCE_TOO_LONG" : null)
        .build();
  }

  /** Three prompts in prompt_id order: a pair, all-equal samples (no pair), a refusal. */
  private static List<List<Row>> prompts() {
    return List.of(
        List.of(
            sample("a1", 0, 0, "one", 0.5),
            sample("a1", 0, 1, "two", 2.0),
            sample("a1", 0, 2, "three", -1.0),
            sample("a1", 0, 3, "two", 2.0)),
        List.of(sample("b2", 1, 0, "same", 1.0), sample("b2", 1, 1, "same", 1.0)),
        List.of(sample("c3", 2, 0, "ok", 1.0), sample("c3", 2, 1, "long", null)));
  }

  private static List<Row> all(Iterator<Row> rows) {
    List<Row> out = new ArrayList<>();
    rows.forEachRemaining(out::add);
    return out;
  }

  @Test
  void selectsPerPromptExactlyAsTheGroupFunction() throws Exception {
    for (TruncatedSamples truncated : TruncatedSamples.values()) {
      List<Row> partition = new ArrayList<>();
      List<Row> expected = new ArrayList<>();
      WestOfNGroupFunction group = new WestOfNGroupFunction(truncated);
      for (List<Row> prompt : prompts()) {
        partition.addAll(prompt);
        expected.addAll(
            all(group.call(Rows.get(prompt.get(0), OutputSchema.PROMPT_ID), prompt.iterator())));
      }
      List<Row> got = all(new WestOfNSelectFunction(truncated).call(partition.iterator()));
      assertThat(got).isEqualTo(expected);
      assertThat(got).hasSize(3);
      assertThat(Rows.<String>get(got.get(0), OutputSchema.CHOSEN)).isEqualTo("two");
      assertThat(Rows.<String>get(got.get(0), OutputSchema.PROMPT)).isEqualTo("x of a1");
      assertThat(Rows.<String>get(got.get(0), OutputSchema.PX_PROMPT)).isEqualTo("p + x of a1");
      assertThat(Rows.<String>get(got.get(1), OutputSchema.REJECT_REASON)).isNotNull();
      assertThat(Rows.<String>get(got.get(2), OutputSchema.REJECT_REASON))
          .isEqualTo("REWARD_REFUSED");
    }
  }

  @Test
  void anEmptyPartitionGivesNothing() throws Exception {
    assertThat(
            new WestOfNSelectFunction(TruncatedSamples.KEEP)
                .call(List.<Row>of().iterator())
                .hasNext())
        .isFalse();
  }

  @Test
  void aPromptSplitOverTwoRunsIsRefused() {
    List<Row> rows =
        List.of(
            sample("a1", 0, 0, "one", 0.5),
            sample("b2", 1, 0, "x", 1.0),
            sample("a1", 0, 1, "two", 2.0));
    PromptRuns runs = new PromptRuns(rows.iterator());
    assertThat(runs.next().rows()).hasSize(1);
    assertThat(runs.next().promptId()).isEqualTo("b2");
    assertThatThrownBy(runs::next)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("prompt a1 follows prompt b2");
  }

  @Test
  void promptsOutOfOrderAreRefused() {
    List<Row> rows = List.of(sample("b2", 1, 0, "x", 1.0), sample("a1", 0, 0, "one", 0.5));
    assertThatThrownBy(
            () -> all(new WestOfNSelectFunction(TruncatedSamples.KEEP).call(rows.iterator())))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not grouped by prompt in prompt_id order");
  }

  @Test
  void theOrderIsSparksStringOrderNotJavas() {
    // U+FFFF sorts before U+1F600 in Spark (UTF-8 bytes, code points) but after it in Java's
    // String.compareTo (UTF-16 units: 0xFFFF > 0xD83D): a given prompt id may hold either.
    String bmp = "id\uFFFF";
    String astral = "id\uD83D\uDE00";
    assertThat(bmp.compareTo(astral)).isPositive();
    PromptRuns runs =
        new PromptRuns(
            List.of(
                    sample(bmp, 0, 0, "one", 0.5),
                    sample(bmp, 0, 1, "two", 1.5),
                    sample(astral, 1, 0, "three", 0.5))
                .iterator());
    assertThat(runs.next().rows()).hasSize(2);
    assertThat(runs.next().promptId()).isEqualTo(astral);
    assertThat(runs.hasNext()).isFalse();
  }
}
