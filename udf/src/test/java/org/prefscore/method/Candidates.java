package org.prefscore.method;

import java.util.ArrayList;
import java.util.List;

/** Test fixtures: candidates of prompt "p" built from rewards or (text, reward) pairs. */
final class Candidates {

  static final String PROMPT = "p";

  private Candidates() {}

  static Candidate candidate(int index, String text, double reward) {
    return new Candidate(PROMPT, index, 1000L + index, text, reward, -1.0 - index, 5);
  }

  /** One candidate per reward, sample index = position, distinct texts "y<index>". */
  static List<Candidate> withRewards(double... rewards) {
    List<Candidate> out = new ArrayList<>();
    for (int i = 0; i < rewards.length; i++) {
      out.add(candidate(i, "y" + i, rewards[i]));
    }
    return out;
  }
}
