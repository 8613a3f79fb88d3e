package org.prefscore.runtime.decode;

/** Why a sample stopped growing. */
public enum FinishReason {
  /** The model produced an end-of-sequence token (included in the token ids and log-prob). */
  EOS,
  /** The text reached a configured stop string (the completing token is kept). */
  STOP,
  /** The sample reached {@code maxNewTokens}. */
  LENGTH
}
