package org.prefscore.job.report.html;

import java.util.List;
import java.util.Map;
import org.prefscore.job.report.ProgressSamples;

/**
 * What the report draws besides the manifest, read from the run's tables: histograms by name,
 * counts by category, the evaluate scatter and the progress samples. Plain values: built by {@link
 * RunReport} from the Parquet tables, or by a test.
 *
 * @param histograms by the names below; a name is absent when the run has no such values
 * @param categories counts per category value, by the names below
 * @param scatter m(x) against the score gap, or null
 * @param progress the progress samples of the run (empty: none recorded)
 */
public record ReportData(
    Map<String, Histogram> histograms,
    Map<String, Map<String, Long>> categories,
    Scatter scatter,
    List<ProgressSamples.Sample> progress) {

  /** r(x, y+) of the selected pairs (pairs and filtered). */
  public static final String REWARD_CHOSEN = "reward_chosen";

  /** r(x, y-) of the selected pairs, on the bins of {@link #REWARD_CHOSEN}. */
  public static final String REWARD_REJECTED = "reward_rejected";

  /** r+ − r- of the selected pairs. */
  public static final String REWARD_GAP = "reward_gap";

  /** The external score gap s+ − s- of the pairs (input.score-gap-column). */
  public static final String SCORE_GAP = "score_gap";

  /** σ(r+ − r-) of the selected pairs. */
  public static final String CONFIDENCE = "confidence";

  /** ℓ(y+) of the selected pairs (the likelihood filter's normalization). */
  public static final String LIKELIHOOD_CHOSEN = "likelihood_chosen";

  /** ℓ(y-) of the selected pairs, on the bins of {@link #LIKELIHOOD_CHOSEN}. */
  public static final String LIKELIHOOD_REJECTED = "likelihood_rejected";

  /** m(x) of the written pairs. */
  public static final String DPO_MARGIN = "dpo_margin";

  /** Δ = β·m_p(x) of the written pairs. */
  public static final String REFINEMENT = "refinement";

  /** Generated tokens per sample (candidates). */
  public static final String RESPONSE_TOKENS = "response_tokens";

  /** Category: finish reason per sample (candidates). */
  public static final String FINISH_REASON = "finish_reason";

  /** Knockout comparisons per prompt (method.md's count) of the selected pairs. */
  public static final String KNOCKOUT_COMPARISONS = "knockout_comparisons";

  public ReportData {
    histograms = Map.copyOf(histograms);
    categories = Map.copyOf(categories);
    progress = List.copyOf(progress);
  }

  /**
   * Points (m(x), s+ − s-) of the pairs that carry a score gap.
   *
   * @param margin m(x) per point
   * @param scoreGap s+ − s- per point
   * @param total pairs with both values (more than the points when only a sample is drawn)
   */
  public record Scatter(double[] margin, double[] scoreGap, long total) {
    public Scatter {
      if (margin.length != scoreGap.length) {
        throw new IllegalArgumentException("one score gap per margin");
      }
      margin = margin.clone();
      scoreGap = scoreGap.clone();
    }

    @Override
    public double[] margin() {
      return margin.clone();
    }

    @Override
    public double[] scoreGap() {
      return scoreGap.clone();
    }
  }
}
