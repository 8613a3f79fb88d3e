package org.prefscore.job.report.html;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The funnel of a run from its manifest: the rows left after each step (input rows, prompts after
 * prepare, ... pairs written) and, at each step, the rows it lost by stage and reason (the rejects
 * of the stages before it, the filter reasons). Pure; every number carries the JSON pointer of the
 * manifest field it comes from.
 *
 * @param steps in run order
 */
public record Funnel(List<Step> steps) {

  /** A count and where it is in the manifest. */
  public record Count(String label, long value, String pointer) {}

  /**
   * One step: the rows left after it, and what it lost.
   *
   * @param left rows left after the step
   * @param lost rows lost in the step, by "stage / REASON"
   */
  public record Step(Count left, List<Count> lost) {
    public long lostTotal() {
      return lost.stream().mapToLong(Count::value).sum();
    }
  }

  /**
   * Whether every step's rows are the next step's rows plus what the next step lost (the
   * nothing-lost identity, step by step).
   */
  public boolean consistent() {
    for (int i = 1; i < steps.size(); i++) {
      if (steps.get(i - 1).left().value()
          != steps.get(i).left().value() + steps.get(i).lostTotal()) {
        return false;
      }
    }
    return true;
  }

  /**
   * The funnel of {@code manifest}; steps whose count the manifest lacks are left out, and the
   * losses of an unknown reject stage are put at the last step.
   */
  public static Funnel of(JsonNode manifest) {
    boolean westOfN = "west-of-n".equals(manifest.path("mode").asText());
    // step label, manifest pointer, reject stages lost at that step
    List<String[]> plan = new ArrayList<>();
    plan.add(new String[] {"input rows", "/counts/input_rows", ""});
    if (westOfN) {
      plan.add(
          new String[] {"prompts after prepare", "/counts/prompts_after_prepare", "read prepare"});
      plan.add(new String[] {"prompts sampled", "/counts/prompts_sampled", "render generate"});
      plan.add(new String[] {"pairs selected", "/counts/pairs_selected", "select"});
      plan.add(new String[] {"pairs after filters", "/counts/pairs_after_filters", "filter"});
      plan.add(new String[] {"pairs written", "/accounting/pairs", "score"});
    } else {
      plan.add(
          new String[] {"tuples after prepare", "/counts/tuples_after_prepare", "read prepare"});
      plan.add(new String[] {"pairs written", "/accounting/pairs", "render score"});
    }
    plan.removeIf(p -> !manifest.at(p[1]).isNumber());
    Map<String, List<Count>> lostByStage = new LinkedHashMap<>();
    JsonNode rejects = manifest.at("/counts/rejects_by_stage_and_reason");
    for (Iterator<Map.Entry<String, JsonNode>> s = rejects.fields(); s.hasNext(); ) {
      Map.Entry<String, JsonNode> stage = s.next();
      for (Iterator<Map.Entry<String, JsonNode>> r = stage.getValue().fields(); r.hasNext(); ) {
        Map.Entry<String, JsonNode> reason = r.next();
        lostByStage
            .computeIfAbsent(stage.getKey(), k -> new ArrayList<>())
            .add(
                new Count(
                    stage.getKey() + " / " + reason.getKey(),
                    reason.getValue().asLong(),
                    "/counts/rejects_by_stage_and_reason/"
                        + pointerToken(stage.getKey())
                        + "/"
                        + pointerToken(reason.getKey())));
      }
    }
    JsonNode filtered = manifest.at("/counts/filtered_by_reason");
    for (Iterator<Map.Entry<String, JsonNode>> r = filtered.fields(); r.hasNext(); ) {
      Map.Entry<String, JsonNode> reason = r.next();
      lostByStage
          .computeIfAbsent("filter", k -> new ArrayList<>())
          .add(
              new Count(
                  "filter / " + reason.getKey(),
                  reason.getValue().asLong(),
                  "/counts/filtered_by_reason/" + pointerToken(reason.getKey())));
    }
    List<Step> steps = new ArrayList<>();
    for (String[] p : plan) {
      List<Count> lost = new ArrayList<>();
      if (!steps.isEmpty()) {
        for (String stage : p[2].split(" ")) {
          List<Count> l = lostByStage.remove(stage);
          if (l != null) {
            lost.addAll(l);
          }
        }
      }
      steps.add(new Step(new Count(p[0], manifest.at(p[1]).asLong(), p[1]), lost));
    }
    if (!steps.isEmpty() && !lostByStage.isEmpty()) {
      Step last = steps.remove(steps.size() - 1);
      List<Count> lost = new ArrayList<>(last.lost());
      lostByStage.values().forEach(lost::addAll);
      steps.add(new Step(last.left(), lost));
    }
    return new Funnel(List.copyOf(steps));
  }

  /** A JSON pointer reference token for {@code key} (RFC 6901: ~ and / escaped). */
  public static String pointerToken(String key) {
    return key.replace("~", "~0").replace("/", "~1");
  }
}
