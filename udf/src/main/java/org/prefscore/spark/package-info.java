/**
 * The thin Spark adapters: the functions executors run ({@link
 * org.prefscore.spark.GenerationFunction}, {@link org.prefscore.spark.WestOfNSelectFunction},
 * {@link org.prefscore.spark.PairFilterFunction}, {@link org.prefscore.spark.PromptRenderFunction},
 * {@link org.prefscore.spark.PairScoringFunction}) and the one definition of the rows they exchange
 * ({@link org.prefscore.spark.OutputSchema}).
 *
 * <p>This is the only package of the udf module that imports Spark. The functions look models up in
 * {@link org.prefscore.executor.ExecutorRegistry#instance()} (one load per executor JVM) and carry
 * only small serializable settings; the rules they apply live in {@code org.prefscore.method}.
 */
package org.prefscore.spark;
