/**
 * The only driver classes that touch storage: reading inputs, writing and clearing a run's tables
 * and markers, checking and fingerprinting model directories.
 */
package org.prefscore.job.io;
