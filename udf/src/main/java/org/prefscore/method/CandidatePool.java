package org.prefscore.method;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The candidates of one prompt after the rules method.md fixes: sorted by sample index, exact
 * duplicate texts removed keeping the lowest sample index.
 */
final class CandidatePool {

  private final String promptId;
  private final List<Candidate> distinct;
  private final int duplicatesRemoved;

  private CandidatePool(String promptId, List<Candidate> distinct, int duplicatesRemoved) {
    this.promptId = promptId;
    this.distinct = distinct;
    this.duplicatesRemoved = duplicatesRemoved;
  }

  /** Validates and sorts without removing duplicates. */
  static List<Candidate> sortedOnePrompt(List<Candidate> candidates) {
    Objects.requireNonNull(candidates, "candidates");
    if (candidates.isEmpty()) {
      throw new IllegalArgumentException("candidates of a prompt must be non-empty");
    }
    List<Candidate> sorted = new ArrayList<>(candidates.size());
    for (Candidate c : candidates) {
      sorted.add(Objects.requireNonNull(c, "candidates must not contain null"));
    }
    String promptId = sorted.get(0).promptId();
    sorted.sort(Comparator.comparingInt(Candidate::sampleIndex));
    for (int i = 0; i < sorted.size(); i++) {
      Candidate c = sorted.get(i);
      if (!c.promptId().equals(promptId)) {
        throw new IllegalArgumentException(
            "candidates must all belong to one prompt but found '"
                + promptId
                + "' and '"
                + c.promptId()
                + "'");
      }
      if (i > 0 && sorted.get(i - 1).sampleIndex() == c.sampleIndex()) {
        throw new IllegalArgumentException(
            "sampleIndex "
                + c.sampleIndex()
                + " occurs more than once for prompt '"
                + promptId
                + "'");
      }
    }
    return sorted;
  }

  static CandidatePool of(List<Candidate> candidates) {
    List<Candidate> sorted = sortedOnePrompt(candidates);
    Set<String> seen = new HashSet<>();
    List<Candidate> distinct = new ArrayList<>(sorted.size());
    for (Candidate c : sorted) {
      if (seen.add(c.text())) {
        distinct.add(c);
      }
    }
    return new CandidatePool(
        sorted.get(0).promptId(), List.copyOf(distinct), sorted.size() - distinct.size());
  }

  String promptId() {
    return promptId;
  }

  /** Distinct responses, ascending sample index. */
  List<Candidate> distinct() {
    return distinct;
  }

  int duplicatesRemoved() {
    return duplicatesRemoved;
  }
}
