package org.prefscore.runtime.decode;

/**
 * What a graph's sampling head outputs ({@link org.prefscore.runtime.SamplingHead}: each block's
 * share of softmax(logits) and of softmax(logits / T)), computed in the JVM for a graph without
 * one, so that {@link HeadSampler} draws from one or two blocks of the row instead of {@link
 * TokenSampler}'s scalar exp passes over all of it.
 *
 * <p>The one implementation, {@code VectorBlockMasses}, uses the JDK's vector API (the incubator
 * module {@code jdk.incubator.vector}, on the JVM's command line as {@code --add-modules
 * jdk.incubator.vector}). It is loaded only where that module is present and its exponential is
 * compiled to vector instructions (x86-64); {@link #vectorised()} is null everywhere else, and the
 * sampler keeps its scalar passes, which give the same tokens (see {@link HeadSampler}).
 */
interface BlockMasses {

  /** Ids per block are a multiple of this: whole vectors of every width the JDK has, 4 to 16. */
  int LANE_MULTIPLE = 16;

  /** The largest block of ids: {@link HeadSampler} walks two blocks of the row. */
  int MAX_BLOCK = 512;

  /** Rows narrower than this keep the scalar passes, cheap at that width. */
  int MIN_WIDTH = 4096;

  /**
   * Fills {@code mass[0, width / blockSize)} with each block's share of softmax(row) and, unless
   * {@code warpedMass} is null, {@code warpedMass} with its share of softmax(row / temperature)
   * (the same array may be given for both at temperature 1). Returns false, leaving the arrays
   * unspecified, for a row whose largest value is NaN or infinite or whose ids are all -∞.
   *
   * @param blockSize from {@link #blockSize(int)}
   */
  boolean weigh(
      float[] row,
      int offset,
      int width,
      int blockSize,
      double temperature,
      float[] mass,
      float[] warpedMass);

  /**
   * Ids per block for rows of {@code width}: the largest multiple of {@link #LANE_MULTIPLE} that
   * divides it and is at most {@link #MAX_BLOCK}; 0 where there is none or the row is narrower than
   * {@link #MIN_WIDTH} (Qwen's 151,936 ids: 128; Llama 3's 128,256: 384; GPT-2's 50,257: 0).
   */
  static int blockSize(int width) {
    if (width < MIN_WIDTH) {
      return 0;
    }
    for (int d = MAX_BLOCK; d >= LANE_MULTIPLE; d -= LANE_MULTIPLE) {
      if (width % d == 0) {
        return d;
      }
    }
    return 0;
  }

  /** The vectorised implementation, or null where it is not available (see the class comment). */
  static BlockMasses vectorised() {
    return Loader.VECTORISED;
  }

  /** Looks for the vector module once per JVM. */
  final class Loader {
    private static final org.slf4j.Logger LOG =
        org.slf4j.LoggerFactory.getLogger(BlockMasses.class);

    static final String MODULE = "jdk.incubator.vector";

    static final BlockMasses VECTORISED = load();

    private Loader() {}

    private static BlockMasses load() {
      if (ModuleLayer.boot().findModule(MODULE).isEmpty()) {
        LOG.info(
            "token sampling without the JVM's vector API (start the JVM with --add-modules {} for"
                + " faster sampling at large vocabularies)",
            MODULE);
        return null;
      }
      try {
        Class<?> impl = Class.forName(BlockMasses.class.getPackageName() + ".VectorBlockMasses");
        BlockMasses masses = (BlockMasses) impl.getMethod("create").invoke(null);
        if (masses == null) {
          LOG.info("token sampling without the JVM's vector API: its exp is not vectorised here");
        }
        return masses;
      } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
        LOG.warn("token sampling without the JVM's vector API: {}", e.toString());
        return null;
      }
    }
  }
}
