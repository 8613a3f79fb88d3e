"""prefscore_onnx.sampling_head: the head prefscore's sampler reads, on a real fixture graph.

    bin/reference-python -m unittest discover -s python/tests -v

Adds the head to fixtures/models/tiny-llama/model.onnx (and to an fp16-logits copy) and checks with
ONNX Runtime that the logits are unchanged and the block masses equal numpy's float64 softmax
(T = 1 and a warped T) within 1e-6, for one-position and multi-position passes; that the block is
the largest divisor at most sqrt(V); and that graphs it cannot serve are refused with a reason.
Skipped, with the reason, where onnx / onnxruntime / numpy are missing.
"""

from __future__ import annotations

import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    from prefscore_onnx import sampling_head as sh

    MISSING = None
except ImportError as e:  # pragma: no cover - depends on the environment
    MISSING = f"needs onnx, onnxruntime and numpy (bin/reference-python has them): {e}"

FIXTURE = os.path.join(ROOT, "fixtures", "models", "tiny-llama", "model.onnx")


def softmax_blocks(x, temperature, blocks):
    z = x.astype(np.float64) / np.float32(temperature)
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return p.reshape(x.shape[0], blocks, -1).sum(-1)


def feed(session, batch, seq, rng):
    f = {"input_ids": rng.integers(0, 900, (batch, seq)).astype(np.int64),
         "attention_mask": np.ones((batch, seq), np.int64),
         "position_ids": np.tile(np.arange(seq), (batch, 1)).astype(np.int64)}
    for i in session.get_inputs():
        if i.name.startswith("past_key_values"):
            f[i.name] = np.zeros((batch, i.shape[1], 0, i.shape[3]), np.float32)
    return f


@unittest.skipIf(MISSING, MISSING or "")
class SamplingHeadTest(unittest.TestCase):

    def test_blocks_are_the_largest_divisor_up_to_the_square_root(self):
        self.assertEqual(sh.choose_block(151936), 128)
        self.assertEqual(sh.choose_block(128256), 334)
        self.assertEqual(sh.choose_block(961), 31)
        with self.assertRaisesRegex(ValueError, "no divisor"):
            sh.choose_block(50261)  # a prime

    def test_head_matches_numpy_and_leaves_logits_alone(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "model.onnx")
            self.assertEqual(sh.main([FIXTURE, out]), 0)
            plain = ort.InferenceSession(FIXTURE)
            head = ort.InferenceSession(out)
            rng = np.random.default_rng(3)
            for seq in (1, 4):
                f = feed(plain, 2, seq, rng)
                want = plain.run(["logits"], f)[0]
                for t in (1.0, 0.6, 1.5):
                    logits, mass, warped = head.run(
                        ["logits", "sampling_block_mass", "sampling_block_mass_t"],
                        {**f, "sampling_temperature": np.array(t, np.float32)})
                    np.testing.assert_array_equal(logits, want)
                    last = want[:, -1, :]
                    np.testing.assert_allclose(mass, softmax_blocks(last, 1.0, 31), atol=1e-6)
                    np.testing.assert_allclose(warped, softmax_blocks(last, t, 31), atol=1e-6)

    def test_fp16_logits_are_widened_first(self):
        model = helper.make_model(helper.make_graph(
            [helper.make_node("Cast", ["x"], ["logits"], to=TensorProto.FLOAT16)], "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", 64])],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT16, ["batch", "seq", 64])]),
            opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        sh.add_sampling_head(model)
        session = ort.InferenceSession(model.SerializeToString())
        x = np.random.default_rng(5).normal(size=(3, 2, 64)).astype(np.float32)
        mass, warped = session.run(["sampling_block_mass", "sampling_block_mass_t"],
                                   {"x": x, "sampling_temperature": np.array(0.7, np.float32)})
        last = x[:, -1, :].astype(np.float16).astype(np.float32)
        np.testing.assert_allclose(mass, softmax_blocks(last, 1.0, 8), atol=1e-6)
        np.testing.assert_allclose(warped, softmax_blocks(last, 0.7, 8), atol=1e-6)

    def test_graphs_it_cannot_serve_are_refused(self):
        def graph(shape, elem=TensorProto.FLOAT, name="logits"):
            m = helper.make_model(helper.make_graph(
                [helper.make_node("Identity", ["x"], [name])], "g",
                [helper.make_tensor_value_info("x", elem, shape)],
                [helper.make_tensor_value_info(name, elem, shape)]),
                opset_imports=[helper.make_opsetid("", 17)])
            return m
        with self.assertRaisesRegex(ValueError, "no output 'logits'"):
            sh.add_sampling_head(graph(["b", "s", 64], name="scores"))
        with self.assertRaisesRegex(ValueError, "static vocab"):
            sh.add_sampling_head(graph(["b", "s", "v"]))
        with self.assertRaisesRegex(ValueError, "float32, float16 or bfloat16"):
            sh.add_sampling_head(graph(["b", "s", 64], TensorProto.INT64))
        with self.assertRaisesRegex(ValueError, "does not divide"):
            sh.add_sampling_head(graph(["b", "s", 64]), block=5)
        twice = sh.add_sampling_head(graph(["b", "s", 64]))
        with self.assertRaisesRegex(ValueError, "already has a sampling head"):
            sh.add_sampling_head(twice)


if __name__ == "__main__":
    unittest.main()
