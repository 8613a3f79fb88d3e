package org.prefscore.job.report.html;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class FunnelTest {

  static final String QUICK_START_COUNTS =
      "{\"mode\":\"west-of-n\",\"counts\":{\"input_rows\":304,\"prompts_after_prepare\":299,"
          + "\"prompts_sampled\":298,\"samples\":2384,\"pairs_selected\":298,"
          + "\"pairs_after_filters\":219,\"rejects_by_stage_and_reason\":{\"generate\":"
          + "{\"PROMPT_TOO_LONG\":1},\"prepare\":{\"DUPLICATE_PROMPT\":2,\"EMPTY_PROMPT\":2},"
          + "\"read\":{\"MALFORMED_RECORD\":1}},\"filtered_by_reason\":{\"LOW_CONFIDENCE\":74,"
          + "\"LOW_LIKELIHOOD\":5}},\"accounting\":{\"input_rows\":304,\"pairs\":219,"
          + "\"filtered\":79,\"rejects\":6}}";

  @Test
  void eachStepLosesWhatItsStagesRejectedOrFiltered() throws Exception {
    Funnel f = Funnel.of(new ObjectMapper().readTree(QUICK_START_COUNTS));
    assertThat(f.steps())
        .extracting(s -> s.left().label() + "=" + s.left().value())
        .containsExactly(
            "input rows=304",
            "prompts after prepare=299",
            "prompts sampled=298",
            "pairs selected=298",
            "pairs after filters=219",
            "pairs written=219");
    assertThat(f.steps().get(1).lost())
        .extracting(c -> c.label() + "=" + c.value())
        .containsExactlyInAnyOrder(
            "read / MALFORMED_RECORD=1",
            "prepare / DUPLICATE_PROMPT=2",
            "prepare / EMPTY_PROMPT=2");
    assertThat(f.steps().get(2).lost())
        .extracting(Funnel.Count::pointer)
        .containsExactly("/counts/rejects_by_stage_and_reason/generate/PROMPT_TOO_LONG");
    assertThat(f.steps().get(4).lostTotal()).isEqualTo(79);
    assertThat(f.consistent()).isTrue();
  }

  @Test
  void countsThatDisagreeAreNoticedAndAnUnknownStageLosesAtTheEnd() throws Exception {
    JsonNode m =
        new ObjectMapper()
            .readTree(
                QUICK_START_COUNTS.replace(
                    "\"read\":{\"MALFORMED_RECORD\":1}",
                    "\"read\":{\"MALFORMED_RECORD\":1},\"publish\":{\"LOST\":3}"));
    Funnel f = Funnel.of(m);
    assertThat(f.steps().get(5).lost()).extracting(Funnel.Count::label).contains("publish / LOST");
    assertThat(f.consistent()).isFalse();
  }

  @Test
  void scorePairsHasThreeStepsAndAMissingCountIsLeftOut() throws Exception {
    Funnel f =
        Funnel.of(
            new ObjectMapper()
                .readTree(
                    "{\"mode\":\"score-pairs\",\"counts\":{\"input_rows\":5,"
                        + "\"rejects_by_stage_and_reason\":{\"score\":{\"SEQUENCE_TOO_LONG\":1}}},"
                        + "\"accounting\":{\"pairs\":4}}"));
    assertThat(f.steps())
        .extracting(s -> s.left().label())
        .containsExactly("input rows", "pairs written");
    assertThat(f.consistent()).isTrue();
    assertThat(Funnel.of(new ObjectMapper().readTree("{}")).steps()).isEmpty();
  }
}
