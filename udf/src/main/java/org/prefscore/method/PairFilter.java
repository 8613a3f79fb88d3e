package org.prefscore.method;

import java.io.Serializable;
import java.util.Optional;

/**
 * An optional West-of-N filter (method.md §1.5). {@link #check} returns empty to keep the pair, or
 * the reason to drop it. Pure and thread-safe; serializable for Spark closures.
 */
@FunctionalInterface
public interface PairFilter extends Serializable {

  Optional<FilterReason> check(PreferencePair pair);

  default boolean keeps(PreferencePair pair) {
    return check(pair).isEmpty();
  }
}
