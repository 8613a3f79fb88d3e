/**
 * Configuration: every key with its default and description ({@link
 * org.prefscore.job.config.ConfigKeys}), precedence ({@link
 * org.prefscore.job.config.ResolvedConfig}) and the typed, validated {@link
 * org.prefscore.job.config.PipelineConfig}, checked before Spark starts.
 */
package org.prefscore.job.config;
