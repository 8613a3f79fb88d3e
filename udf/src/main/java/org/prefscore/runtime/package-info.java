/**
 * The model runtime's contracts and model files: what a loaded decoder or reward model offers
 * ({@link org.prefscore.runtime.CausalLm}, {@link org.prefscore.runtime.LanguageModel}, ...), the
 * metadata of a model directory ({@link org.prefscore.runtime.ModelFiles}) and loading ({@link
 * org.prefscore.runtime.ModelLoader}). Decoding and scoring are in the subpackages; the engine in
 * {@code runtime.onnx}.
 */
package org.prefscore.runtime;
