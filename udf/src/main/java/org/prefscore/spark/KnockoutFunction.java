package org.prefscore.spark;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.prefscore.chat.ChatTemplate;
import org.prefscore.executor.ExecutorRegistry;
import org.prefscore.judge.GenerativeJudge;
import org.prefscore.judge.PairwiseClassifier;
import org.prefscore.judge.PairwiseTeacher;
import org.prefscore.method.Candidate;
import org.prefscore.method.KnockoutTournament;
import org.prefscore.method.NoPair;
import org.prefscore.method.NoPairReason;
import org.prefscore.method.PreferencePair;
import org.prefscore.method.Selection;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.ModelSpec;
import org.prefscore.runtime.decode.FinishReason;
import org.prefscore.runtime.decode.SampleSeeds;

/**
 * West-of-N step 3 with a pairwise teacher (method.md §1.4), on one partition: every prompt's
 * samples ({@link OutputSchema#SAMPLES} rows, all of a prompt in this partition, grouped by prompt
 * in prompt_id order as generation emits them: {@link PromptRuns}) enter a {@link
 * KnockoutTournament}, and the tournaments advance together, one round at a time: the comparisons
 * of one round of every prompt of the partition go to the teacher as one list, in both orders, and
 * each comparison gets the symmetric score ½[P(a≻b) + 1 − P(b≻a)]. Emits one {@link
 * OutputSchema#PAIR_WORK} row per prompt: a pair (confidence = the symmetric P(y+ ≻ y−), with the
 * bracket and the comparison counts), or a reject of stage {@code select} with the {@link
 * org.prefscore.method.NoPairReason} code, or {@code JUDGE_REFUSED} when the teacher refused a
 * comparison (a judge prompt too long for its context window).
 *
 * <p>The bracket of a prompt is its distinct responses permuted by {@link
 * KnockoutTournament#seededOrder} with the seed {@link SampleSeeds#derive}(run seed, prompt id,
 * −1), so it does not depend on partitioning and is recorded in {@code knockout_bracket}. The
 * partition's samples are held in memory while its tournaments run.
 *
 * <p>{@code selection.truncated} applies as on the reward path ({@link WestOfNGroupFunction}): with
 * {@link TruncatedSamples#EXCLUDE} samples that stopped at max-new-tokens never enter the bracket,
 * and a prompt left with fewer than two complete distinct samples yields no pair ({@code
 * FEWER_THAN_TWO_COMPLETE_SAMPLES}, no teacher call when none is complete).
 */
public final class KnockoutFunction implements MapPartitionsFunction<Row, Row> {

  private static final long serialVersionUID = 1L;
  public static final String STAGE = WestOfNGroupFunction.STAGE;
  public static final String JUDGE_REFUSED = "JUDGE_REFUSED";

  private final JudgeSettings settings;
  private final TruncatedSamples truncatedSamples;

  /**
   * @param truncatedSamples selection.truncated: whether samples that stopped at max-new-tokens
   *     enter the bracket
   */
  public KnockoutFunction(JudgeSettings settings, TruncatedSamples truncatedSamples) {
    this.settings = settings;
    this.truncatedSamples = truncatedSamples;
  }

  /** Truncated samples enter the bracket (selection.truncated=keep). */
  public KnockoutFunction(JudgeSettings settings) {
    this(settings, TruncatedSamples.KEEP);
  }

  /** The bracket seed of one prompt. */
  public static long bracketSeed(long runSeed, String promptId) {
    return SampleSeeds.derive(runSeed, promptId, -1);
  }

  /** The teacher a spec describes, from this executor's registry. */
  static PairwiseTeacher teacher(JudgeSettings settings) {
    ExecutorRegistry registry = ExecutorRegistry.instance();
    ModelSpec spec = settings.placement().resolve(settings.teacher());
    if (spec.kind() == ModelSpec.Kind.REWARD) {
      return new PairwiseClassifier(
          registry.reward(spec), settings.prompt(), settings.tokenBudget());
    }
    LanguageModel judge = registry.decoder(spec);
    ChatTemplate template =
        judge.files().chatTemplate().filter(t -> !t.isBlank()).isPresent()
            ? registry.chatTemplate(judge.files())
            : null;
    return new GenerativeJudge(judge, settings.prompt(), template, settings.tokenBudget());
  }

  /** One prompt on its way through the knockout. */
  private static final class Entry {
    final Row carrier;
    final Row any;
    final String query;
    final KnockoutTournament tournament;
    final Map<Integer, Row> byIndex;

    /** Samples left out of the bracket for stopping at max-new-tokens. */
    final int truncated;

    /** The prompt's id; set also when no tournament runs. */
    final String promptId;

    String refused;

    Entry(
        String promptId,
        Row carrier,
        Row any,
        String query,
        KnockoutTournament tournament,
        Map<Integer, Row> byIndex,
        int truncated) {
      this.promptId = promptId;
      this.carrier = carrier;
      this.any = any;
      this.query = query;
      this.tournament = tournament;
      this.byIndex = byIndex;
      this.truncated = truncated;
    }

    boolean active() {
      return refused == null && tournament != null && !tournament.done();
    }
  }

  @Override
  public Iterator<Row> call(Iterator<Row> samples) {
    List<Entry> entries = new ArrayList<>();
    for (PromptRuns runs = new PromptRuns(samples); runs.hasNext(); ) {
      PromptRuns.Run run = runs.next();
      entries.add(entry(run.promptId(), run.rows()));
    }
    if (entries.isEmpty()) {
      return List.<Row>of().iterator();
    }
    for (Entry e : entries) {
      if (e.tournament == null) {
        judged(e);
      }
    }
    if (entries.stream().noneMatch(Entry::active)) {
      return rows(entries);
    }
    PairwiseTeacher teacher = teacher(settings);
    while (true) {
      List<Entry> round = new ArrayList<>();
      List<PairwiseTeacher.Comparison> comparisons = new ArrayList<>();
      for (Entry e : entries) {
        if (!e.active()) {
          continue;
        }
        round.add(e);
        for (KnockoutTournament.Match m : e.tournament.pending()) {
          comparisons.add(
              new PairwiseTeacher.Comparison(e.query, m.first().text(), m.second().text()));
          comparisons.add(
              new PairwiseTeacher.Comparison(e.query, m.second().text(), m.first().text()));
        }
      }
      if (round.isEmpty()) {
        break;
      }
      long nanos = teacher.modelNanos();
      List<PairwiseTeacher.Verdict> verdicts = teacher.preferFirst(comparisons);
      settings.counters().judgeNanos.add(teacher.modelNanos() - nanos);
      settings.counters().judgeCalls.add(comparisons.size());
      int next = 0;
      for (Entry e : round) {
        List<KnockoutTournament.Match> pending = e.tournament.pending();
        double[] scores = new double[pending.size()];
        for (int i = 0; i < pending.size(); i++) {
          PairwiseTeacher.Verdict ab = verdicts.get(next++);
          PairwiseTeacher.Verdict ba = verdicts.get(next++);
          KnockoutTournament.Match m = pending.get(i);
          if (!ab.scored() || !ba.scored()) {
            PairwiseTeacher.Verdict r = ab.scored() ? ba : ab;
            e.refused =
                "the "
                    + teacher.kind()
                    + " refused the comparison of samples "
                    + m.first().sampleIndex()
                    + " and "
                    + m.second().sampleIndex()
                    + " ("
                    + r.refusal().reason().name()
                    + ": "
                    + r.refusal().detail()
                    + ")";
            break;
          }
          scores[i] = symmetric(ab.pFirst(), ba.pFirst(), e, m);
        }
        if (e.refused == null) {
          e.tournament.record(scores);
        }
        if (!e.active()) {
          judged(e);
        }
      }
    }
    return rows(entries);
  }

  private void judged(Entry e) {
    settings.counters().promptsJudged.add(1);
    ExecutorRegistry.instance().progress().prompts.addAndGet(1);
  }

  private static Iterator<Row> rows(List<Entry> entries) {
    List<Row> out = new ArrayList<>(entries.size());
    for (Entry e : entries) {
      out.add(row(e));
    }
    return out.iterator();
  }

  /** ½[P(a≻b) + 1 − P(b≻a)], after checking both are probabilities. */
  private static double symmetric(double ab, double ba, Entry e, KnockoutTournament.Match m) {
    if (!(ab >= 0 && ab <= 1 && ba >= 0 && ba <= 1)) {
      throw new IllegalStateException(
          "pairwise teacher returned "
              + ab
              + " and "
              + ba
              + " (not probabilities) for prompt '"
              + e.tournament.promptId()
              + "', samples "
              + m.first().sampleIndex()
              + " and "
              + m.second().sampleIndex());
    }
    return 0.5 * (ab + 1.0 - ba);
  }

  private Entry entry(String promptId, List<Row> samples) {
    Map<Integer, Row> byIndex = new TreeMap<>();
    int truncated = 0;
    for (Row s : samples) {
      byIndex.put(Rows.<Integer>get(s, OutputSchema.SAMPLE_INDEX), s);
    }
    Row carrier = byIndex.get(0);
    // The tournament sees the candidates in sample-index order, however the rows came.
    List<Candidate> candidates = new ArrayList<>(samples.size());
    for (Map.Entry<Integer, Row> e : byIndex.entrySet()) {
      int index = e.getKey();
      Row s = e.getValue();
      if (truncatedSamples == TruncatedSamples.EXCLUDE
          && FinishReason.LENGTH.name().equals(Rows.get(s, OutputSchema.FINISH_REASON))) {
        truncated++;
        continue;
      }
      candidates.add(
          new Candidate(
              promptId,
              index,
              Rows.<Long>get(s, OutputSchema.SEED),
              Rows.get(s, OutputSchema.TEXT),
              0.0,
              Rows.<Double>get(s, OutputSchema.POLICY_LOGPROB),
              Rows.<Integer>get(s, OutputSchema.RESPONSE_TOKENS)));
    }
    if (carrier == null || Rows.get(carrier, OutputSchema.PROMPT) == null) {
      throw new IllegalStateException(
          "prompt " + promptId + ": its sample 0, which carries the prompt text, is missing");
    }
    KnockoutTournament t =
        candidates.isEmpty()
            ? null
            : KnockoutTournament.start(candidates, bracketSeed(settings.runSeed(), promptId));
    return new Entry(
        promptId,
        carrier,
        samples.get(0),
        Rows.get(carrier, OutputSchema.PROMPT),
        t,
        byIndex,
        truncated);
  }

  private static Row row(Entry e) {
    KnockoutTournament t = e.tournament;
    Rows out =
        Rows.of(OutputSchema.PAIR_WORK)
            .set(OutputSchema.PROMPT_ID, e.promptId)
            .set(OutputSchema.INPUT_ROW, Rows.get(e.any, OutputSchema.INPUT_ROW))
            .set(OutputSchema.PROMPT, Rows.get(e.carrier, OutputSchema.PROMPT))
            .set(OutputSchema.PX_PROMPT, Rows.get(e.carrier, OutputSchema.PX_PROMPT))
            .set(OutputSchema.MESSAGES, Rows.get(e.carrier, OutputSchema.MESSAGES));
    if (e.refused != null) {
      return out.set(OutputSchema.REJECT_STAGE, STAGE)
          .set(OutputSchema.REJECT_REASON, JUDGE_REFUSED)
          .set(OutputSchema.REJECT_DETAIL, e.refused)
          .build();
    }
    if (t == null) {
      // selection.truncated=exclude and every sample stopped at max-new-tokens: no bracket.
      NoPair none = new NoPair(e.promptId, NoPairReason.FEWER_THAN_TWO_COMPLETE_SAMPLES, 0, 0);
      return WestOfNGroupFunction.noPairFields(out, none, 0)
          .set(
              OutputSchema.REJECT_DETAIL,
              "0 complete samples (" + e.truncated + " stopped at max-new-tokens left out)")
          .set(
              OutputSchema.KNOCKOUT_BRACKET,
              scala.collection.JavaConverters.asScalaBuffer(new ArrayList<Integer>()))
          .set(OutputSchema.KNOCKOUT_COMPARISONS, 0)
          .set(OutputSchema.KNOCKOUT_SCORED, 0)
          .build();
    }
    Selection selection = t.result();
    if (selection instanceof NoPair found) {
      NoPair noPair =
          e.truncated > 0 && found.reason() == NoPairReason.FEWER_THAN_TWO_DISTINCT_RESPONSES
              ? new NoPair(
                  found.promptId(),
                  NoPairReason.FEWER_THAN_TWO_COMPLETE_SAMPLES,
                  found.distinctCandidates(),
                  found.duplicatesRemoved())
              : found;
      return WestOfNGroupFunction.noPairFields(out, noPair, noPair.distinctCandidates())
          .set(OutputSchema.REJECT_DETAIL, noPairDetail(noPair, t, e.truncated))
          .set(OutputSchema.KNOCKOUT_BRACKET, bracketColumn(t))
          .set(OutputSchema.KNOCKOUT_COMPARISONS, t.comparisons())
          .set(OutputSchema.KNOCKOUT_SCORED, t.distinctComparisons())
          .build();
    }
    PreferencePair pair = (PreferencePair) selection;
    return WestOfNGroupFunction.pairFields(out, pair, e.byIndex, e.carrier)
        .set(OutputSchema.REWARD_CHOSEN, null)
        .set(OutputSchema.REWARD_REJECTED, null)
        .set(OutputSchema.KNOCKOUT_BRACKET, bracketColumn(t))
        .set(OutputSchema.KNOCKOUT_COMPARISONS, t.comparisons())
        .set(OutputSchema.KNOCKOUT_SCORED, t.distinctComparisons())
        .build();
  }

  /** An array column's external type in a Row is a Scala Seq. */
  private static Object bracketColumn(KnockoutTournament t) {
    List<Integer> order = new ArrayList<>();
    for (int i : t.bracketOrder()) {
      order.add(i);
    }
    return scala.collection.JavaConverters.asScalaBuffer(order);
  }

  private static String noPairDetail(NoPair noPair, KnockoutTournament t, int truncated) {
    return noPair.distinctCandidates()
        + " distinct samples ("
        + noPair.duplicatesRemoved()
        + " exact duplicates removed"
        + (truncated > 0 ? ", " + truncated + " stopped at max-new-tokens left out" : "")
        + "), bracket "
        + Arrays.toString(t.bracketOrder())
        + ", "
        + t.comparisons()
        + " comparisons";
  }
}
