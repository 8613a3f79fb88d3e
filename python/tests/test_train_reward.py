"""The Airflow DAG's external task, prefscore_trl.train_reward, on a real mix: train, export, check.

    bin/reference-python -m unittest discover -s python/tests -v

Writes a published run folder whose ``mix`` and ``mix_conversational`` tables hold the Quick-start
pairs of python/tests/data (12 plain, 7 conversational: the shape IterativeMix writes, as Parquet,
with ``_SUCCESS``), runs ``train_reward.main`` on it with the tiny-reward fixture (its transformers
weights under fixtures/models/) as the base model, and checks that
  - the student folder has the layout ``models.reward`` loads (model.onnx with input_ids /
    attention_mask -> logits [batch, 1], config.json, tokenizer.json) and no ``.partial`` is left;
  - an export's rewards equal its model's (transformers) within 1e-4 on a padded batch of the mix;
  - training moved the model towards the mix: the mean reward margin chosen - rejected over the
    plain training pairs (responses ending in EOS, as RewardTrainer sees them) is higher than the
    base model's, and positive;
  - a run folder without ``_SUCCESS`` is refused before any training.
Skipped, with the reason, where torch / transformers / trl / datasets / onnxruntime are missing.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))

try:
    import datasets  # noqa: F401
    import numpy as np
    import onnxruntime as ort
    import pyarrow as pa
    import pyarrow.parquet as pq
    import torch
    import transformers  # noqa: F401
    import trl  # noqa: F401

    MISSING = None
except ImportError as e:  # pragma: no cover - depends on the environment
    MISSING = ("needs torch, transformers, trl, datasets, onnxruntime and pyarrow "
               f"(bin/reference-python has them): {e}")

BASE = os.path.join(ROOT, "fixtures", "models", "tiny-reward")


def rows(table):
    with open(os.path.join(HERE, "data", f"quickstart-{table}.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def write_run(folder, published=True):
    """A run folder as IterativeMix leaves it: mix/ and mix_conversational/ Parquet, _SUCCESS."""
    for table, source in (("mix", "pairs"), ("mix_conversational", "pairs_conversational")):
        data = [{"prompt": r["prompt"], "chosen": r["chosen"], "rejected": r["rejected"],
                 "source": "west_of_n", "prompt_id": r["prompt_id"], "round": 1} for r in rows(source)]
        os.makedirs(os.path.join(folder, table))
        pq.write_table(pa.Table.from_pylist(data),
                       os.path.join(folder, table, "part-00000.parquet"))
    if published:
        open(os.path.join(folder, "_SUCCESS"), "w").close()


@unittest.skipIf(MISSING is not None, MISSING or "")
class TrainRewardTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="prefscore-train-reward-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def margins(self, score, eos):
        """Mean reward(prompt + chosen) - reward(prompt + rejected) over the plain mix rows, each
        response ending in EOS as TRL's RewardTrainer trains them."""
        return float(np.mean([score(r["prompt"] + r["chosen"] + eos)
                              - score(r["prompt"] + r["rejected"] + eos) for r in rows("pairs")]))

    def test_trains_on_the_mix_and_exports_a_student_prefscore_loads(self):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from prefscore_trl import train_reward

        run = os.path.join(self.tmp, "run")
        student = os.path.join(self.tmp, "student")
        write_run(run)
        torch.manual_seed(0)
        train_reward.main(["--run", run, "--base-model", BASE, "--output", student,
                           "--set", "num_train_epochs=3", "--set", "learning_rate=0.0005",
                           "--set", "per_device_train_batch_size=4", "--set", "report_to=none",
                           "--set", "use_cpu=true", "--set", "seed=0"])

        for name in ("model.onnx", "config.json", "tokenizer.json"):
            self.assertTrue(os.path.isfile(os.path.join(student, name)), name)
        self.assertFalse(os.path.exists(student + ".partial"))

        tokenizer = AutoTokenizer.from_pretrained(student)
        base = AutoModelForSequenceClassification.from_pretrained(BASE, num_labels=1)
        session = ort.InferenceSession(os.path.join(student, "model.onnx"),
                                       providers=["CPUExecutionProvider"])
        self.assertEqual([i.name for i in session.get_inputs()], ["input_ids", "attention_mask"])
        self.assertEqual([o.name for o in session.get_outputs()], ["logits"])

        def onnx_reward(text):
            enc = tokenizer([text], return_tensors="np")
            out = session.run(["logits"], {"input_ids": enc["input_ids"].astype(np.int64),
                                           "attention_mask": enc["attention_mask"].astype(np.int64)})
            self.assertEqual(out[0].shape, (1, 1))
            return float(out[0][0, 0])

        def torch_reward(model):
            def score(text):
                enc = tokenizer([text], return_tensors="pt")
                with torch.no_grad():
                    return float(model(**enc).logits[0, 0])
            return score

        # The student (its ONNX graph, as prefscore will run it) prefers the mix's chosen responses
        # more than the base model does.
        base_margin = self.margins(torch_reward(base.eval()), tokenizer.eos_token)
        student_margin = self.margins(onnx_reward, tokenizer.eos_token)
        self.assertGreater(student_margin, 0.0)
        self.assertGreater(student_margin, base_margin,
                           f"training did not raise the mean margin ({base_margin} -> {student_margin})")

    def test_export_equals_the_model_within_tolerance(self):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from prefscore_trl.train_reward import EXPORT_TOLERANCE, export_reward_onnx

        tokenizer = AutoTokenizer.from_pretrained(BASE)
        model = AutoModelForSequenceClassification.from_pretrained(BASE, num_labels=1).eval()
        folder = os.path.join(self.tmp, "export")
        export_reward_onnx(model, tokenizer, folder)
        session = ort.InferenceSession(os.path.join(folder, "model.onnx"),
                                       providers=["CPUExecutionProvider"])
        texts = [r["prompt"] + r["chosen"] for r in rows("pairs")]
        enc = tokenizer(texts, padding=True, return_tensors="pt")
        with torch.no_grad():
            expected = model(**enc).logits.numpy()
        got = session.run(["logits"], {"input_ids": enc["input_ids"].numpy(),
                                       "attention_mask": enc["attention_mask"].numpy()})[0]
        self.assertEqual(got.shape, (len(texts), 1))
        self.assertLess(float(np.max(np.abs(got - expected))), EXPORT_TOLERANCE)

    def test_unpublished_run_is_refused(self):
        from prefscore_trl import train_reward

        run = os.path.join(self.tmp, "run")
        write_run(run, published=False)
        with self.assertRaises(SystemExit) as refused:
            train_reward.main(["--run", run, "--base-model", BASE,
                               "--output", os.path.join(self.tmp, "student")])
        self.assertIn("_SUCCESS", str(refused.exception))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "student")))


if __name__ == "__main__":
    unittest.main()
