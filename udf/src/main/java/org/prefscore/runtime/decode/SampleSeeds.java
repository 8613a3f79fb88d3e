package org.prefscore.runtime.decode;

import java.nio.charset.StandardCharsets;

/**
 * Derives the seed of one sample from (run seed, prompt id, sample index), so that a sample is
 * reproducible on its own, whatever batch, partition or retry it runs in.
 *
 * <p>The derivation is fixed and documented so other tools can recompute it: {@code h =
 * mix(runSeed); h = mix(h ^ fnv1a64(utf8(promptId))); h = mix(h ^ sampleIndex)}, with {@code mix}
 * the SplitMix64 finaliser. Changing it changes every stored sample, so it must not change.
 */
public final class SampleSeeds {

  private SampleSeeds() {}

  /**
   * The seed of sample {@code sampleIndex} of prompt {@code promptId} in a run seeded {@code
   * runSeed}.
   */
  public static long derive(long runSeed, String promptId, int sampleIndex) {
    long h = mix(runSeed);
    h = mix(h ^ fnv1a64(promptId.getBytes(StandardCharsets.UTF_8)));
    return mix(h ^ sampleIndex);
  }

  static long mix(long z) {
    z += 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  static long fnv1a64(byte[] bytes) {
    long h = 0xcbf29ce484222325L;
    for (byte b : bytes) {
      h ^= (b & 0xff);
      h *= 0x100000001b3L;
    }
    return h;
  }
}
