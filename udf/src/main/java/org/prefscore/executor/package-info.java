/**
 * What an executor JVM keeps between tasks: {@link org.prefscore.executor.ExecutorRegistry} (the
 * one place for loaded models, parsed model files, chat templates, local copies of remote model
 * directories, live progress and the sampling pool), {@link org.prefscore.executor.LocalModelCache}
 * and {@link org.prefscore.executor.Chunks}, the batching iterator the Spark functions pull
 * partitions through. Imports nothing from Spark.
 */
package org.prefscore.executor;
