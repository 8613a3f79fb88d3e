"""CachedRefDPOTrainer on the output of a real prefscore run (the Quick-start's), against TRL.

    bin/reference-python -m unittest discover -s python/tests -v

Trains 3 steps on the run's pairs with tiny-llama (the run's models.reference, its transformers
weights under fixtures/models/) as the policy, and checks that
  - no reference forward pass happens (ref_model is None; no forward of the model without grad,
    no call of TRL's compute_ref_log_probs);
  - the step-1 loss is ln 2 within 1e-4 (policy = reference, so every log-ratio is 0);
  - the 3 losses equal those of TRL's own precompute_ref_log_probs=True run on the same rows (its
    reference pass over the same model) within 1e-4.
Once for the plain-text table (pairs) and once for the conversational one (pairs_conversational).
The rows are python/tests/data/quickstart-*.jsonl (written from a Quick-start run by
python/tests/make_test_data.py), or the tables of the finished run PREFSCORE_RUN_DIR when set.
Skipped, with the reason, where torch / transformers / trl / datasets cannot be imported.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))

try:
    import torch
    import datasets  # noqa: F401
    import transformers  # noqa: F401
    import trl  # noqa: F401

    MISSING = None
except ImportError as e:  # pragma: no cover - depends on the environment
    MISSING = f"needs torch, transformers, trl and datasets (bin/reference-python has them): {e}"

MODEL = os.path.join(ROOT, "fixtures", "models", "tiny-llama")
STEPS = 3
TOLERANCE = 1e-4


def rows_of(table):
    run = os.environ.get("PREFSCORE_RUN_DIR")
    if run:
        from prefscore_trl import load_pairs

        return load_pairs(run, table).to_list()
    with open(os.path.join(HERE, "data", f"quickstart-{table}.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@unittest.skipIf(MISSING is not None, MISSING or "")
class CachedRefTest(unittest.TestCase):
    def train(self, rows, cached, batch):
        from datasets import Dataset
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from trl import DPOConfig, DPOTrainer

        from prefscore_trl import REF_COLUMNS, CachedRefDPOTrainer

        torch.manual_seed(0)
        tokenizer = AutoTokenizer.from_pretrained(MODEL)
        model = AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32)
        no_grad_forwards = []
        model.register_forward_hook(
            lambda m, i, o: no_grad_forwards.append(1) if not torch.is_grad_enabled() else None)
        keep = ["prompt", "chosen", "rejected"] + (list(REF_COLUMNS) if cached else [])
        ds = Dataset.from_list([{k: r[k] for k in keep} for r in rows])
        out = tempfile.mkdtemp(prefix="prefscore-trl-")
        args = DPOConfig(
            output_dir=out, per_device_train_batch_size=batch, max_steps=STEPS, learning_rate=1e-3,
            lr_scheduler_type="constant", warmup_steps=0, logging_steps=1, save_strategy="no",
            report_to=[], use_cpu=True, seed=0, dataloader_num_workers=0, max_length=None,
            precompute_ref_log_probs=not cached,
            disable_tqdm=True, bf16=False, fp16=False,  # TRL defaults to bf16: keep float32 as the cache
        )
        cls = CachedRefDPOTrainer if cached else DPOTrainer
        trainer = cls(model=model, args=args, train_dataset=ds, processing_class=tokenizer)
        ref_calls = []
        original = trainer.compute_ref_log_probs
        trainer.compute_ref_log_probs = lambda *a, **k: ref_calls.append(1) or original(*a, **k)
        no_grad_forwards.clear()  # TRL's own run did its reference pass in __init__
        losses = []
        compute_loss = trainer.compute_loss

        def recording(*a, **k):
            loss = compute_loss(*a, **k)
            losses.append((loss[0] if isinstance(loss, tuple) else loss).item())
            return loss

        trainer.compute_loss = recording
        trainer.train()
        return trainer, losses, len(ref_calls) + len(no_grad_forwards)

    def check(self, table, count, batch):
        rows = rows_of(table)[:count]
        self.assertGreaterEqual(len(rows), batch * STEPS, f"{table}: too few rows")
        ours, losses, ref_passes = self.train(rows, cached=True, batch=batch)
        self.assertIsNone(ours.ref_model)
        self.assertEqual(ref_passes, 0, "reference forward passes during training")
        theirs, trl_losses, _ = self.train(rows, cached=False, batch=batch)
        trl_ref = theirs.train_dataset
        diff = max(
            max(abs(a - b["ref_chosen_logps"]) for a, b in zip(trl_ref["ref_chosen_logps"], rows)),
            max(abs(a - b["ref_rejected_logps"]) for a, b in zip(trl_ref["ref_rejected_logps"], rows)))
        print(f"\n{table}: {len(rows)} rows, batch {batch}; losses (cached columns) "
              f"{[round(x, 6) for x in losses]}; TRL precompute {[round(x, 6) for x in trl_losses]}; "
              f"max |TRL ref - cached ref| {diff:.3g}; ln 2 = {math.log(2):.6f}")
        self.assertEqual(len(losses), STEPS)
        self.assertAlmostEqual(losses[0], math.log(2), delta=TOLERANCE)
        for a, b in zip(losses, trl_losses):
            self.assertAlmostEqual(a, b, delta=TOLERANCE)
        self.assertLess(diff, 1e-3)  # float32 ONNX vs PyTorch over responses of up to 96 tokens

    def test_plain_text_pairs(self):
        self.check("pairs", count=12, batch=4)

    def test_conversational_pairs(self):
        self.check("pairs_conversational", count=6, batch=2)

    def test_missing_columns_are_refused(self):
        from datasets import Dataset
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from trl import DPOConfig

        from prefscore_trl import CachedRefDPOTrainer

        rows = rows_of("pairs")[:2]
        ds = Dataset.from_list([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows])
        with self.assertRaisesRegex(ValueError, "ref_chosen_logps"):
            CachedRefDPOTrainer(
                model=AutoModelForCausalLM.from_pretrained(MODEL),
                args=DPOConfig(output_dir=tempfile.mkdtemp(), report_to=[], use_cpu=True),
                train_dataset=ds, processing_class=AutoTokenizer.from_pretrained(MODEL))


if __name__ == "__main__":
    unittest.main()
