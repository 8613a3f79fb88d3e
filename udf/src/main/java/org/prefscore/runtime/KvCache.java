package org.prefscore.runtime;

/**
 * The attention key/value cache of a batch of sequences, held by the engine that produced it.
 *
 * <p>A cache belongs to the {@link DecodeSession} that created it and is only valid inside it. Each
 * {@link DecodeSession#forward} returns a new cache; the caller closes the one it no longer needs
 * so that a long generation keeps one cache alive, not one per step.
 */
public interface KvCache extends AutoCloseable {

  /** Number of sequences (rows) in the cache. */
  int batchSize();

  /** Number of cached positions per row, padding included. */
  int length();

  /** Releases the engine memory behind this cache. Idempotent. */
  @Override
  void close();
}
