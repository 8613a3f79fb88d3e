/**
 * Generation: N samples per prompt with a shared-prefill key/value cache ({@link
 * org.prefscore.runtime.decode.SampleGenerator}), token sampling ({@link
 * org.prefscore.runtime.decode.TokenSampler}) and the per-sample seeds ({@link
 * org.prefscore.runtime.decode.SampleSeeds}). Written against the runtime's contracts; no engine
 * import.
 */
package org.prefscore.runtime.decode;
