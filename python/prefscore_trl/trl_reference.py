"""TRL's own reference log-probs for prefscore rows, to compare with the cached columns.

    bin/reference-python -m prefscore_trl.trl_reference RUN_DIR MODEL_DIR

runs TRL 1.x's ``DPOTrainer`` with ``precompute_ref_log_probs=True`` (its tokenization, its
reference forward pass) on every table of pairs of a finished run, with MODEL_DIR (a directory with
transformers weights: the fixtures' ``fixtures/models/<name>``) as the reference, and prints the
largest |TRL - prefscore| per table and response format.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile

import torch


def trl_ref_logps(rows, model_dir, batch_size=8):
    """TRL's ``ref_chosen_logps`` / ``ref_rejected_logps`` for ``rows`` (dicts with prompt, chosen,
    rejected), in row order, from its precompute step with ``model_dir`` as the reference."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    ds = Dataset.from_list([{"prompt": r["prompt"], "chosen": r["chosen"], "rejected": r["rejected"]} for r in rows])
    with tempfile.TemporaryDirectory() as out:
        args = DPOConfig(
            output_dir=out,
            precompute_ref_log_probs=True,
            precompute_ref_batch_size=batch_size,
            report_to=[],
            use_cpu=True,
            dataset_num_proc=None,
            max_length=None,
        )
        trainer = DPOTrainer(model=model, args=args, train_dataset=ds, processing_class=tokenizer)
        data = trainer.train_dataset
        return list(data["ref_chosen_logps"]), list(data["ref_rejected_logps"]), data


def _read_table(run_dir, table):
    import pyarrow.parquet as pq

    rows = []
    for f in sorted(glob.glob(os.path.join(run_dir, table, "*.parquet"))):
        rows.extend(pq.read_table(f).to_pylist())
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir")
    p.add_argument("model_dir")
    a = p.parse_args(argv)
    worst = 0.0
    for table in ("pairs", "pairs_conversational"):
        rows = _read_table(a.run_dir, table)
        if not rows:
            continue
        groups = {}
        for r in rows:
            kind = "conversational" if isinstance(r["prompt"], list) else (
                "chat template text" if r["prompt"].startswith(("<s>", "<|im_start|>")) else "plain text")
            groups.setdefault(kind, []).append(r)
        for kind, rs in groups.items():
            c, j, _ = trl_ref_logps(rs, a.model_dir)
            diffs = [abs(x - r["ref_chosen_logps"]) for x, r in zip(c, rs)]
            diffs += [abs(x - r["ref_rejected_logps"]) for x, r in zip(j, rs)]
            worst = max(worst, max(diffs))
            print(f"{table:22s} {kind:20s} rows {len(rs):4d}  max |TRL - prefscore| {max(diffs):.3g}  "
                  f"(min {min(diffs):.3g})")
    return 0 if worst < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
