#!/usr/bin/env python3
"""Add prefscore's sampling head to a decoder-with-past ONNX export.

    python -m prefscore_onnx.sampling_head IN.onnx OUT.onnx [--block N]
    (from python/, with the `onnx` package; weights in external data stay where they are:
    write OUT.onnx into the same folder)

The head moves the two whole-vocabulary passes a sampled token costs (the softmax at temperature 1
that log pi needs, and the warped softmax the draw needs) from the JVM into the graph, where ONNX
Runtime runs them vectorised. For the last position of every row it outputs, per block of `block`
consecutive ids (V = blocks x block):

- `sampling_block_mass`   [batch, blocks] float32: the block's share of softmax(logits);
- `sampling_block_mass_t` [batch, blocks] float32: its share of softmax(logits / T), T being the
  new float32 scalar input `sampling_temperature` (at T == 1 the same tensor as the previous one,
  computed once).

prefscore's loader detects the head (docs/deploy.md#a-sampling-head) and then reads only the
block it draws from: it picks the block by its warped mass, the id inside it from the block's
logits, and log Z from the block with the largest mass. (Greedy decoding scans the row for its
largest logit; block maxima would cost every sampled step a reduction for that.) Nothing else of the graph changes: a
runtime that does not know the head just feeds `sampling_temperature` = 1 or leaves the graph
as it was. The head reads the last position without copying it when a pass has one position
(decoding steps, prefills with logits_to_keep = 1), so scoring passes pay for one row per
sequence, not for every scored position.

The block is the largest divisor of V that is at most sqrt(V) unless --block is given (Qwen3's
151,936 -> 128 ids, 1,187 blocks; Llama 3's 128,256 -> 334; GPT-2's 50,257 -> 29; 961 -> 31).
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import onnx
from onnx import TensorProto, helper

TEMPERATURE = "sampling_temperature"
OUTPUTS = ("sampling_block_mass", "sampling_block_mass_t")


def choose_block(vocab: int) -> int:
    """The largest divisor of `vocab` that is at most sqrt(vocab) (at least 2 is required)."""
    best = 1
    for d in range(1, math.isqrt(vocab) + 1):
        if vocab % d == 0:
            best = d
    if best < 2:
        raise ValueError(f"vocabulary of {vocab} ids has no divisor to cut it into blocks: pass --block")
    return best


def _opset(model: onnx.ModelProto) -> int:
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return o.version
    raise ValueError("the model imports no default-domain opset")


def _reduce(op: str, data: str, out: str, opset: int, prefix: str) -> list:
    """ReduceSum over the last axis of a rank-3 tensor, keepdims=0 (axes an input from opset 13)."""
    if opset >= 13:
        return [helper.make_node(op, [data, prefix + "axis2"], [out], keepdims=0)]
    return [helper.make_node(op, [data], [out], axes=[2], keepdims=0)]


def _head_graph(name: str, source: str, logits_type: int, blocks: int, block: int, opset: int,
                slice_last: bool) -> onnx.GraphProto:
    """The If branch that computes the outputs from `source` (outer-scope logits)."""
    p = f"sh_{name}_"
    nodes, inits = [], [
        helper.make_tensor(p + "shape", TensorProto.INT64, [3], [-1, blocks, block]),
        helper.make_tensor(p + "axis2", TensorProto.INT64, [1], [2]),
        helper.make_tensor(p + "one", TensorProto.FLOAT, [], [1.0]),
    ]
    x = source
    if slice_last:
        inits += [helper.make_tensor(p + "start", TensorProto.INT64, [1], [-1]),
                  helper.make_tensor(p + "end", TensorProto.INT64, [1], [2**62]),
                  helper.make_tensor(p + "axis1", TensorProto.INT64, [1], [1])]
        nodes.append(helper.make_node("Slice", [x, p + "start", p + "end", p + "axis1"], [p + "last"]))
        x = p + "last"
    if logits_type != TensorProto.FLOAT:
        nodes.append(helper.make_node("Cast", [x], [p + "f32"], to=TensorProto.FLOAT))
        x = p + "f32"
    nodes.append(helper.make_node("Softmax", [x], [p + "probs"], axis=-1))
    nodes.append(helper.make_node("Reshape", [p + "probs", p + "shape"], [p + "pblocks"]))
    nodes += _reduce("ReduceSum", p + "pblocks", p + "mass", opset, p)

    # At T == 1 the warped mass is the mass; otherwise softmax(x / T) once more.
    def branch(tag: str, warped: bool) -> onnx.GraphProto:
        q = p + tag + "_"
        if not warped:
            body = [helper.make_node("Identity", [p + "mass"], [q + "out"])]
            b_inits = []
        else:
            body = [helper.make_node("Div", [x, TEMPERATURE], [q + "scaled"]),
                    helper.make_node("Softmax", [q + "scaled"], [q + "probs"], axis=-1),
                    helper.make_node("Reshape", [q + "probs", p + "shape"], [q + "pblocks"])]
            body += _reduce("ReduceSum", q + "pblocks", q + "out", opset, q)
            b_inits = [helper.make_tensor(q + "axis2", TensorProto.INT64, [1], [2])]
        return helper.make_graph(body, q + "graph", [], [
            helper.make_tensor_value_info(q + "out", TensorProto.FLOAT, None)], b_inits)

    nodes.append(helper.make_node("Equal", [TEMPERATURE, p + "one"], [p + "is_one"]))
    nodes.append(helper.make_node("If", [p + "is_one"], [p + "mass_t"],
                                  then_branch=branch("same", False), else_branch=branch("warp", True)))
    outs = []
    for out, src in zip(OUTPUTS, (p + "mass", p + "mass_t")):
        nodes.append(helper.make_node("Identity", [src], [p + out]))
        outs.append(helper.make_tensor_value_info(p + out, TensorProto.FLOAT, ["batch_size", blocks]))
    return helper.make_graph(nodes, p + "graph", [], outs, inits)


def add_sampling_head(model: onnx.ModelProto, block: int | None = None) -> onnx.ModelProto:
    """Returns `model` with the sampling head added (the proto is modified in place)."""
    graph = model.graph
    names = {i.name for i in graph.input} | {o.name for o in graph.output}
    if TEMPERATURE in names or any(o in names for o in OUTPUTS):
        raise ValueError("the graph already has a sampling head (or names it uses)")
    logits = next((o for o in graph.output if o.name == "logits"), None)
    if logits is None:
        raise ValueError("the graph has no output 'logits'")
    ltype = logits.type.tensor_type
    dims = ltype.shape.dim
    if len(dims) != 3 or not dims[2].HasField("dim_value"):
        raise ValueError("output 'logits' must be [batch, seq, vocab] with a static vocab size")
    if ltype.elem_type not in (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16):
        raise ValueError("output 'logits' must be float32, float16 or bfloat16")
    vocab = dims[2].dim_value
    block = block or choose_block(vocab)
    if block < 2 or vocab % block:
        raise ValueError(f"block {block} does not divide the vocabulary of {vocab} ids")
    blocks = vocab // block
    opset = _opset(model)
    if opset < 13:
        raise ValueError(f"opset {opset}: the head needs opset 13 or later")

    graph.input.append(helper.make_tensor_value_info(TEMPERATURE, TensorProto.FLOAT, []))
    graph.initializer.extend([helper.make_tensor("sh_seq_index", TensorProto.INT64, [], [1]),
                              helper.make_tensor("sh_one_position", TensorProto.INT64, [], [1])])
    graph.node.extend([
        helper.make_node("Shape", ["logits"], ["sh_logits_shape"]),
        helper.make_node("Gather", ["sh_logits_shape", "sh_seq_index"], ["sh_positions"], axis=0),
        helper.make_node("Equal", ["sh_positions", "sh_one_position"], ["sh_single"]),
        helper.make_node(
            "If", ["sh_single"], list(OUTPUTS),
            then_branch=_head_graph("one", "logits", ltype.elem_type, blocks, block, opset, False),
            else_branch=_head_graph("many", "logits", ltype.elem_type, blocks, block, opset, True)),
    ])
    for out in OUTPUTS:
        graph.output.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, [
            dims[0].dim_param or "batch_size", blocks]))
    return model


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--block", type=int, default=None, help="ids per block (must divide the vocabulary)")
    args = ap.parse_args(argv)
    model = onnx.load(str(args.input), load_external_data=False)
    try:
        add_sampling_head(model, args.block)
    except ValueError as e:
        print(f"{args.input}: {e}", file=sys.stderr)
        return 2
    onnx.save(model, str(args.output))
    onnx.checker.check_model(str(args.output))
    print(f"{args.output}: sampling head added")
    return 0


if __name__ == "__main__":
    sys.exit(main())
