package org.prefscore.runtime.onnx;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.onnxruntime.engine.OrtNDArray;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;

/**
 * The floating-point element type of a decoder graph's KV cache ({@code past_key_values.*}, {@code
 * present.*}) or logits, read from the graph's declared input and output types: float32 (the
 * default export), float16 (the usual GPU export, {@code model_fp16.onnx}) or bfloat16. A
 * dynamically quantized export ({@code quantize_dynamic}: int8 weights, activations quantized
 * inside the graph) keeps float32 inputs and outputs and needs nothing here.
 *
 * <p>The cache is created and copied in the graph's own type, bit for bit (never rounded through
 * float32); logits of any of these types are read as float32 (ONNX Runtime's {@code getFloatBuffer}
 * widens float16 and bfloat16 exactly), so sampling and scoring always see float32.
 */
enum FloatKind {
  FLOAT32(DataType.FLOAT32, 4),
  FLOAT16(DataType.FLOAT16, 2),
  BFLOAT16(DataType.BFLOAT16, 2);

  private final DataType dataType;
  private final int bytes;

  FloatKind(DataType dataType, int bytes) {
    this.dataType = dataType;
    this.bytes = bytes;
  }

  /** Bytes per element. */
  int bytes() {
    return bytes;
  }

  /**
   * The element type of the tensor {@code name} among {@code nodes}, or null when it is none of
   * these.
   */
  static FloatKind of(Map<String, NodeInfo> nodes, String name) {
    NodeInfo node = nodes.get(name);
    if (node == null || !(node.getInfo() instanceof TensorInfo tensor)) {
      return null;
    }
    return of(tensor.type);
  }

  static FloatKind of(OnnxJavaType type) {
    return switch (type) {
      case FLOAT -> FLOAT32;
      case FLOAT16 -> FLOAT16;
      case BFLOAT16 -> BFLOAT16;
      default -> null;
    };
  }

  /** The declared type's name for messages ({@code FLOAT}, {@code INT8}, ...). */
  static String typeName(Map<String, NodeInfo> nodes, String name) {
    NodeInfo node = nodes.get(name);
    return node != null && node.getInfo() instanceof TensorInfo tensor
        ? tensor.type.name()
        : "not a tensor";
  }

  /** An empty tensor of this type (a cache of past length 0). */
  NDArray empty(NDManager manager, Shape shape) {
    return manager.create(direct(0), shape, dataType);
  }

  /**
   * Rows of a 4-d cache tensor {@code [batch, heads, length, headDim]}, repeated or dropped, in
   * this type. ONNX Runtime's Java API only hands out a copy of an output tensor's data; the chosen
   * rows go from that copy straight into a direct buffer that the new tensor wraps without copying
   * again (a heap array would be copied once more into direct memory, and at the N-fold expansion
   * after prefill that copy is the largest one).
   */
  NDArray gatherRows(NDManager manager, NDArray array, int batch, int[] rows) {
    ByteBuffer data = ((OrtNDArray) array).getTensor().getByteBuffer();
    int rowBytes = data.capacity() / batch;
    ByteBuffer out = direct(Math.multiplyExact(rowBytes, rows.length));
    for (int r = 0; r < rows.length; r++) {
      out.put(r * rowBytes, data, rows[r] * rowBytes, rowBytes);
    }
    Shape shape = array.getShape();
    return manager.create(
        out, new Shape(rows.length, shape.get(1), shape.get(2), shape.get(3)), dataType);
  }

  private static ByteBuffer direct(int size) {
    return ByteBuffer.allocateDirect(size).order(ByteOrder.nativeOrder());
  }
}
