package org.prefscore.spark;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.api.java.function.FlatMapGroupsFunction;
import org.apache.spark.sql.Row;
import org.prefscore.method.Candidate;
import org.prefscore.method.NoPair;
import org.prefscore.method.NoPairReason;
import org.prefscore.method.PreferencePair;
import org.prefscore.method.Selection;
import org.prefscore.method.WestOfNSelector;
import org.prefscore.runtime.decode.FinishReason;

/**
 * West-of-N step 3 for one prompt: all {@link OutputSchema#SAMPLES} rows of one prompt id in (from
 * {@link WestOfNSelectFunction}, which reads them where generation wrote them), one {@link
 * OutputSchema#PAIR_WORK} row out: a pair, or a reject carrying the {@link
 * org.prefscore.method.NoPairReason} code (stage {@code select}).
 *
 * <p>Selection, including the rule for samples the reward model refused (REWARD_REFUSED), is {@link
 * WestOfNSelector#select(String, List, int)}: duplicates removed (lowest sample index kept),
 * argmax/argmin with ties to the lowest sample index, equal extremes give no pair. With {@link
 * TruncatedSamples#EXCLUDE} samples that stopped at max-new-tokens are no candidates ({@link
 * WestOfNSelector#selectComplete}). A prompt that was sampled as a conversation (its sample 0
 * carries the messages) gives a pair of response format {@code conversational}.
 */
public final class WestOfNGroupFunction implements FlatMapGroupsFunction<String, Row, Row> {

  private static final long serialVersionUID = 1L;
  public static final String STAGE = "select";

  private final WestOfNSelector selector = new WestOfNSelector();
  private final TruncatedSamples truncatedSamples;

  /**
   * @param truncatedSamples selection.truncated: whether samples that stopped at max-new-tokens are
   *     candidates
   */
  public WestOfNGroupFunction(TruncatedSamples truncatedSamples) {
    this.truncatedSamples = truncatedSamples;
  }

  /** Truncated samples are candidates (selection.truncated=keep). */
  public WestOfNGroupFunction() {
    this(TruncatedSamples.KEEP);
  }

  @Override
  public Iterator<Row> call(String promptId, Iterator<Row> samples) {
    Row any = null;
    Map<Integer, Row> byIndex = new TreeMap<>();
    List<Candidate> scored = new ArrayList<>();
    List<String> refusals = new ArrayList<>();
    int truncated = 0;
    while (samples.hasNext()) {
      Row s = samples.next();
      any = s;
      int index = Rows.<Integer>get(s, OutputSchema.SAMPLE_INDEX);
      byIndex.put(index, s);
      if (truncatedSamples == TruncatedSamples.EXCLUDE
          && FinishReason.LENGTH.name().equals(Rows.get(s, OutputSchema.FINISH_REASON))) {
        truncated++;
        continue;
      }
      Double reward = Rows.get(s, OutputSchema.REWARD);
      if (reward == null) {
        refusals.add(Rows.get(s, OutputSchema.REWARD_REFUSAL));
        continue;
      }
      scored.add(candidate(promptId, s, reward));
    }
    // x and p ⊕ x ride on sample 0 only (GenerationFunction): one copy persisted per prompt.
    Row carrier = byIndex.get(0);
    if (carrier == null || Rows.get(carrier, OutputSchema.PROMPT) == null) {
      throw new IllegalStateException(
          "prompt " + promptId + ": its sample 0, which carries the prompt text, is missing");
    }
    Rows out =
        Rows.of(OutputSchema.PAIR_WORK)
            .set(OutputSchema.PROMPT_ID, promptId)
            .set(OutputSchema.INPUT_ROW, Rows.get(any, OutputSchema.INPUT_ROW))
            .set(OutputSchema.PROMPT, Rows.get(carrier, OutputSchema.PROMPT))
            .set(OutputSchema.PX_PROMPT, Rows.get(carrier, OutputSchema.PX_PROMPT))
            .set(OutputSchema.MESSAGES, Rows.get(carrier, OutputSchema.MESSAGES));
    Selection selection = selector.selectComplete(promptId, scored, truncated, refusals.size());
    if (selection instanceof NoPair noPair && noPair.reason() == NoPairReason.REWARD_REFUSED) {
      return List.of(
              out.set(OutputSchema.REJECT_STAGE, STAGE)
                  .set(OutputSchema.REJECT_REASON, noPair.reason().name())
                  .set(
                      OutputSchema.REJECT_DETAIL,
                      refusals.size()
                          + " of "
                          + byIndex.size()
                          + " samples refused by the reward model ("
                          + refusals.get(0)
                          + "), "
                          + scored.size()
                          + " scored")
                  .build())
          .iterator();
    }
    if (selection instanceof NoPair noPair) {
      return List.of(
              noPairFields(out, noPair, noPair.distinctCandidates())
                  .set(
                      OutputSchema.REJECT_DETAIL,
                      noPair.distinctCandidates()
                          + " distinct of "
                          + scored.size()
                          + " scored samples ("
                          + noPair.duplicatesRemoved()
                          + " exact duplicates removed"
                          + (truncated > 0
                              ? ", " + truncated + " stopped at max-new-tokens left out"
                              : "")
                          + ")")
                  .build())
          .iterator();
    }
    return List.of(pairFields(out, (PreferencePair) selection, byIndex, carrier).build())
        .iterator();
  }

  /** The reject columns of a prompt without a pair (the detail is the caller's). */
  static Rows noPairFields(Rows out, NoPair noPair, int distinct) {
    return out.set(OutputSchema.REJECT_STAGE, STAGE)
        .set(OutputSchema.REJECT_REASON, noPair.reason().name())
        .set(OutputSchema.DISTINCT_CANDIDATES, distinct)
        .set(OutputSchema.DUPLICATES_REMOVED, noPair.duplicatesRemoved());
  }

  /**
   * The selection columns of a pair.
   *
   * @param byIndex the prompt's samples by sample index (their finish reasons)
   * @param carrier the prompt's sample 0 (its messages, for a conversational prompt)
   */
  static Rows pairFields(Rows out, PreferencePair pair, Map<Integer, Row> byIndex, Row carrier) {
    Candidate c = pair.chosen();
    Candidate r = pair.rejected();
    return out.set(
            OutputSchema.RESPONSE_FORMAT,
            Rows.get(carrier, OutputSchema.MESSAGES) == null
                ? OutputSchema.RESPONSE_FORMAT_TEXT
                : OutputSchema.RESPONSE_FORMAT_CONVERSATIONAL)
        .set(OutputSchema.CHOSEN, c.text())
        .set(OutputSchema.REJECTED, r.text())
        .set(OutputSchema.CHOSEN_SAMPLE_INDEX, c.sampleIndex())
        .set(OutputSchema.REJECTED_SAMPLE_INDEX, r.sampleIndex())
        .set(OutputSchema.CHOSEN_SEED, c.seed())
        .set(OutputSchema.REJECTED_SEED, r.seed())
        .set(OutputSchema.CHOSEN_TOKENS, c.responseTokens())
        .set(OutputSchema.REJECTED_TOKENS, r.responseTokens())
        .set(
            OutputSchema.CHOSEN_FINISH_REASON,
            Rows.get(byIndex.get(c.sampleIndex()), OutputSchema.FINISH_REASON))
        .set(
            OutputSchema.REJECTED_FINISH_REASON,
            Rows.get(byIndex.get(r.sampleIndex()), OutputSchema.FINISH_REASON))
        .set(OutputSchema.REWARD_CHOSEN, c.reward())
        .set(OutputSchema.REWARD_REJECTED, r.reward())
        .set(OutputSchema.CONFIDENCE, pair.confidence())
        .set(OutputSchema.DISTINCT_CANDIDATES, pair.distinctCandidates())
        .set(OutputSchema.DUPLICATES_REMOVED, pair.duplicatesRemoved())
        .set(OutputSchema.POLICY_CHOSEN_LOGPROB, c.policyLogprob())
        .set(OutputSchema.POLICY_REJECTED_LOGPROB, r.policyLogprob());
  }

  private static Candidate candidate(String promptId, Row s, double reward) {
    return new Candidate(
        promptId,
        Rows.<Integer>get(s, OutputSchema.SAMPLE_INDEX),
        Rows.<Long>get(s, OutputSchema.SEED),
        Rows.get(s, OutputSchema.TEXT),
        reward,
        Rows.<Double>get(s, OutputSchema.POLICY_LOGPROB),
        Rows.<Integer>get(s, OutputSchema.RESPONSE_TOKENS));
  }

  /** The candidate y+ or y- of a {@link OutputSchema#PAIR_WORK} row, as selection saw it. */
  static Candidate chosenOf(Row pair) {
    return new Candidate(
        Rows.get(pair, OutputSchema.PROMPT_ID),
        Rows.<Integer>get(pair, OutputSchema.CHOSEN_SAMPLE_INDEX),
        Rows.<Long>get(pair, OutputSchema.CHOSEN_SEED),
        Rows.get(pair, OutputSchema.CHOSEN),
        rewardOrZero(Rows.get(pair, OutputSchema.REWARD_CHOSEN)),
        Rows.<Double>get(pair, OutputSchema.POLICY_CHOSEN_LOGPROB),
        Rows.<Integer>get(pair, OutputSchema.CHOSEN_TOKENS));
  }

  static Candidate rejectedOf(Row pair) {
    return new Candidate(
        Rows.get(pair, OutputSchema.PROMPT_ID),
        Rows.<Integer>get(pair, OutputSchema.REJECTED_SAMPLE_INDEX),
        Rows.<Long>get(pair, OutputSchema.REJECTED_SEED),
        Rows.get(pair, OutputSchema.REJECTED),
        rewardOrZero(Rows.get(pair, OutputSchema.REWARD_REJECTED)),
        Rows.<Double>get(pair, OutputSchema.POLICY_REJECTED_LOGPROB),
        Rows.<Integer>get(pair, OutputSchema.REJECTED_TOKENS));
  }

  /** A pairwise teacher gives no pointwise reward: the candidate carries 0 (Candidate's rule). */
  private static double rewardOrZero(Double reward) {
    return reward == null ? 0.0 : reward;
  }

  /** The {@link PreferencePair} a PAIR_WORK row holds. */
  static PreferencePair pairOf(Row pair) {
    return new PreferencePair(
        Rows.get(pair, OutputSchema.PROMPT_ID),
        chosenOf(pair),
        rejectedOf(pair),
        Rows.<Double>get(pair, OutputSchema.CONFIDENCE),
        Rows.<Integer>get(pair, OutputSchema.DISTINCT_CANDIDATES),
        Rows.<Integer>get(pair, OutputSchema.DUPLICATES_REMOVED));
  }
}
