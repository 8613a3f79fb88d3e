/**
 * The engine binding: ONNX Runtime through DJL and Hugging Face tokenizers, behind the runtime's
 * {@code CausalLm}, {@code SequenceClassifier} and {@code TextTokenizer} contracts. The only
 * package that imports DJL or ONNX Runtime.
 */
package org.prefscore.runtime.onnx;
