package org.prefscore.method;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One prompt's West-of-N selection with a pairwise preference model (method.md §1.4), as a state
 * machine that asks for its comparisons one round at a time, so a caller can score the comparisons
 * of one round of many prompts in one batch (the pipeline does, per partition).
 *
 * <p>Rules, the same as {@link PairwiseKnockoutSelector}: exact duplicate texts removed (lowest
 * sample index kept); fewer than two distinct responses is {@link
 * NoPairReason#FEWER_THAN_TWO_DISTINCT_RESPONSES}. The distinct responses enter both knockouts in
 * the bracket order (ascending sample index, or a seeded permutation: {@link #seededOrder}); each
 * round pairs neighbours (1st v 2nd, 3rd v 4th, ...), an odd last entrant gets a bye, survivors
 * keep their order. The winner-advances and the loser-advances knockouts run side by side, N − 1
 * comparisons each; a symmetric score of exactly ½ is a tie and goes to the entrant placed first.
 * Then one more comparison gives the confidence P_sym(y+ ≻ y−): exactly ½ (or the same response
 * surviving both) is {@link NoPairReason#BEST_EQUALS_WORST}, below ½ {@link
 * NoPairReason#INCONSISTENT_PREFERENCES}.
 *
 * <p>A comparison is the symmetric score s(a, b) = ½[P(a≻b) + 1 − P(b≻a)] of {@link
 * PairwisePreferenceModel#symmetricPreference}, with s(b, a) = 1 − s(a, b). The tournament asks for
 * each unordered pair once: the first round of both knockouts is the same set of pairs, so it is
 * scored once ({@link #distinctComparisons()} counts what was asked, {@link #comparisons()} what
 * the specification counts, 2(N − 1) + 1).
 *
 * <p>Use: {@link #pending()} lists the comparisons of the current round (empty when {@link
 * #done()}); pass their scores, in that order, to {@link #record}; repeat; then {@link #result()}.
 * Not thread-safe.
 */
public final class KnockoutTournament {

  /**
   * A comparison the tournament needs: the symmetric probability that {@code first} beats {@code
   * second}.
   */
  public record Match(Candidate first, Candidate second) {
    public Match {
      Objects.requireNonNull(first, "first");
      Objects.requireNonNull(second, "second");
    }
  }

  private final String promptId;
  private final List<Candidate> bracket;
  private final int duplicatesRemoved;
  private final Map<Long, Double> scores = new HashMap<>();
  private List<Candidate> winners;
  private List<Candidate> losers;
  private List<Match> pending = List.of();
  private int comparisons;
  private Selection result;

  private KnockoutTournament(String promptId, List<Candidate> bracket, int duplicatesRemoved) {
    this.promptId = promptId;
    this.bracket = bracket;
    this.duplicatesRemoved = duplicatesRemoved;
    this.winners = bracket;
    this.losers = bracket;
  }

  /**
   * A tournament over one prompt's candidates with the bracket in ascending sample index (the order
   * of {@link PairwiseKnockoutSelector}).
   */
  public static KnockoutTournament start(List<Candidate> candidates) {
    CandidatePool pool = CandidatePool.of(candidates);
    return new KnockoutTournament(pool.promptId(), pool.distinct(), pool.duplicatesRemoved())
        .advance();
  }

  /**
   * A tournament whose bracket is the distinct candidates in the order {@link #seededOrder} gives
   * for {@code bracketSeed}.
   */
  public static KnockoutTournament start(List<Candidate> candidates, long bracketSeed) {
    CandidatePool pool = CandidatePool.of(candidates);
    return new KnockoutTournament(
            pool.promptId(), seededOrder(pool.distinct(), bracketSeed), pool.duplicatesRemoved())
        .advance();
  }

  /**
   * The entrants permuted by a Fisher–Yates shuffle driven by SplitMix64 seeded with {@code seed}
   * (documented so other tools can recompute a bracket): {@code state = seed}; for i = n − 1 down
   * to 1: {@code state += 0x9E3779B97F4A7C15}, {@code z = mix(state)} (the SplitMix64 finaliser),
   * {@code j = unsigned(z) mod (i + 1)}, swap i and j.
   */
  public static List<Candidate> seededOrder(List<Candidate> entrants, long seed) {
    List<Candidate> order = new ArrayList<>(entrants);
    long state = seed;
    for (int i = order.size() - 1; i > 0; i--) {
      state += 0x9E3779B97F4A7C15L;
      long z = state;
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      z = z ^ (z >>> 31);
      int j = (int) Long.remainderUnsigned(z, i + 1);
      Candidate t = order.get(i);
      order.set(i, order.get(j));
      order.set(j, t);
    }
    return List.copyOf(order);
  }

  public String promptId() {
    return promptId;
  }

  /** The distinct candidates' sample indices in bracket order (what the pipeline records). */
  public int[] bracketOrder() {
    return bracket.stream().mapToInt(Candidate::sampleIndex).toArray();
  }

  /** The comparisons of the current round, each unordered pair once; empty when done. */
  public List<Match> pending() {
    return pending;
  }

  public boolean done() {
    return result != null;
  }

  /**
   * Records the symmetric scores of {@link #pending()}, in its order, and moves to the next round.
   *
   * @throws IllegalArgumentException if the number of scores differs or a score is not in [0, 1]
   */
  public void record(double[] symmetricScores) {
    if (done()) {
      throw new IllegalStateException("tournament of prompt '" + promptId + "' is finished");
    }
    if (symmetricScores.length != pending.size()) {
      throw new IllegalArgumentException(
          pending.size() + " comparisons pending but " + symmetricScores.length + " scores given");
    }
    for (int i = 0; i < symmetricScores.length; i++) {
      double s = symmetricScores[i];
      if (!(s >= 0.0 && s <= 1.0)) {
        throw new IllegalArgumentException(
            "symmetric score " + s + " is not a probability (prompt '" + promptId + "')");
      }
      Match m = pending.get(i);
      // Stored as s(lower sample index, higher sample index).
      scores.put(
          key(m.first(), m.second()),
          m.first().sampleIndex() < m.second().sampleIndex() ? s : 1.0 - s);
    }
    advance();
  }

  /** Comparisons as the specification counts them: N − 1 per knockout, plus the confidence one. */
  public int comparisons() {
    return comparisons;
  }

  /** Unordered pairs actually scored (each a symmetric comparison, two model calls). */
  public int distinctComparisons() {
    return scores.size();
  }

  /** The selection; only when {@link #done()}. */
  public Selection result() {
    if (!done()) {
      throw new IllegalStateException("tournament of prompt '" + promptId + "' is not finished");
    }
    return result;
  }

  private KnockoutTournament advance() {
    while (true) {
      if (bracket.size() < 2) {
        result =
            new NoPair(
                promptId,
                NoPairReason.FEWER_THAN_TWO_DISTINCT_RESPONSES,
                bracket.size(),
                duplicatesRemoved);
        pending = List.of();
        return this;
      }
      List<Match> wanted = new ArrayList<>();
      if (winners.size() > 1 || losers.size() > 1) {
        addRound(winners, wanted);
        addRound(losers, wanted);
      } else {
        Candidate best = winners.get(0);
        Candidate worst = losers.get(0);
        if (best.sampleIndex() == worst.sampleIndex()) {
          result = noPair(NoPairReason.BEST_EQUALS_WORST);
          pending = List.of();
          return this;
        }
        Double confidence = score(best, worst);
        if (confidence == null) {
          wanted.add(new Match(best, worst));
        } else {
          comparisons++;
          result =
              confidence == 0.5
                  ? noPair(NoPairReason.BEST_EQUALS_WORST)
                  : confidence < 0.5
                      ? noPair(NoPairReason.INCONSISTENT_PREFERENCES)
                      : new PreferencePair(
                          promptId, best, worst, confidence, bracket.size(), duplicatesRemoved);
          pending = List.of();
          return this;
        }
      }
      if (!wanted.isEmpty()) {
        pending = List.copyOf(wanted);
        return this;
      }
      // Every comparison of this round is known: play it.
      winners = play(winners, true);
      losers = play(losers, false);
    }
  }

  private void addRound(List<Candidate> round, List<Match> wanted) {
    for (int i = 0; i + 1 < round.size(); i += 2) {
      Candidate a = round.get(i);
      Candidate b = round.get(i + 1);
      if (score(a, b) == null
          && wanted.stream().noneMatch(m -> key(m.first(), m.second()) == key(a, b))) {
        wanted.add(new Match(a, b));
      }
    }
  }

  private List<Candidate> play(List<Candidate> round, boolean winnersAdvance) {
    if (round.size() < 2) {
      return round;
    }
    List<Candidate> next = new ArrayList<>((round.size() + 1) / 2);
    for (int i = 0; i + 1 < round.size(); i += 2) {
      Candidate first = round.get(i);
      Candidate second = round.get(i + 1);
      double firstBeatsSecond = score(first, second);
      comparisons++;
      boolean firstAdvances = winnersAdvance ? firstBeatsSecond >= 0.5 : firstBeatsSecond <= 0.5;
      next.add(firstAdvances ? first : second);
    }
    if (round.size() % 2 == 1) {
      next.add(round.get(round.size() - 1));
    }
    return next;
  }

  /** s(a, b) when known (from either order), else null. */
  private Double score(Candidate a, Candidate b) {
    Double s = scores.get(key(a, b));
    if (s == null) {
      return null;
    }
    // Stored as s(lower index, higher index).
    return a.sampleIndex() < b.sampleIndex() ? s : 1.0 - s;
  }

  private NoPair noPair(NoPairReason reason) {
    return new NoPair(promptId, reason, bracket.size(), duplicatesRemoved);
  }

  private static long key(Candidate a, Candidate b) {
    int lo = Math.min(a.sampleIndex(), b.sampleIndex());
    int hi = Math.max(a.sampleIndex(), b.sampleIndex());
    return ((long) lo << 32) | (hi & 0xffffffffL);
  }
}
