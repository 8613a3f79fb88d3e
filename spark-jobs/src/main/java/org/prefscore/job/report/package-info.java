/**
 * What a run reports: the manifest, the summary, the progress line, stage timings, the accounting
 * identity and the dry-run plan.
 */
package org.prefscore.job.report;
