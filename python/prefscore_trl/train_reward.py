"""Train one iterative West-of-N round's student reward model on the round's mix, and export it.

    python3 -m prefscore_trl.train_reward --run <output.path>/<run.id> \
        --base-model <transformers model dir or Hub id> --output <dir>

The external task of the example Airflow DAG (airflow/dags/prefscore_west_of_n.py) between two
rounds; NOT run by the project's tests or CI (it needs torch, transformers, trl, datasets and
onnx, and a GPU for real models; python/tests/test_train_reward.py runs it on the tiny-reward fixture
in the reference environment). What it does:

1. reads the run's ``mix`` (TRL's standard preference format: prompt/chosen/rejected strings) and
   ``mix_conversational`` (TRL's conversational format) tables, only after the run's
   ``_SUCCESS`` exists; conversational rows are rendered with the base model's chat template
   (``trl.maybe_apply_chat_template``) so both tables train together;
2. trains ``AutoModelForSequenceClassification(num_labels=1)`` from ``--base-model`` with TRL's
   ``RewardTrainer`` (explicit prompt: TRL joins prompt and response);
3. exports it with ``torch.onnx.export`` into ``--output`` in the layout prefscore's ``models.reward``
   loads (the fixtures' and optimum's ``text-classification`` layout): ``model.onnx`` with inputs
   ``input_ids`` and ``attention_mask`` and output ``logits`` [batch, 1], batch and sequence axes
   dynamic, weights over 2 GB in ``model.onnx_data`` beside it; plus ``config.json``,
   ``tokenizer.json`` and the rest of the tokenizer files. The export is checked against the trained
   model with ONNX Runtime (logits within 1e-4) before it is published.
   A local folder is written under a temporary name and renamed into place at the end, so a
   failed try leaves no half-written model; a remote one (``s3a://`` is read as ``s3://``, any
   fsspec URL) is uploaded from a local export at the end.

Pass RewardConfig settings with ``--set name=value`` (e.g. ``--set num_train_epochs=1``).
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile

OPSET = 17
EXPORT_TOLERANCE = 1e-4


def _fs(url: str):
    """fsspec's file system and path of a local path or URL (Hadoop's s3a:// is s3://)."""
    import fsspec

    return fsspec.core.url_to_fs(url.replace("s3a://", "s3://", 1))


def _table(run_dir: str, table: str):
    from datasets import load_dataset

    fs, path = _fs(run_dir)
    files = sorted(fs.glob(f"{path.rstrip('/')}/{table}/*.parquet"))
    if not files:
        return None
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if protocol not in ("file", "local"):
        files = [f"{protocol}://{f}" for f in files]
    ds = load_dataset("parquet", data_files=files, split="train")
    return ds.select_columns(["prompt", "chosen", "rejected"]) if len(ds) else None


def load_mix(run_dir: str, tokenizer):
    """The run's mix as one standard-format dataset (prompt, chosen, rejected strings)."""
    from datasets import concatenate_datasets
    from trl import maybe_apply_chat_template

    fs, path = _fs(run_dir)
    if not fs.exists(f"{path.rstrip('/')}/_SUCCESS"):
        raise SystemExit(f"{run_dir} has no _SUCCESS marker: the run is not published")
    parts = []
    text = _table(run_dir, "mix")
    if text is not None:
        parts.append(text)
    chat = _table(run_dir, "mix_conversational")
    if chat is not None:
        parts.append(chat.map(lambda row: maybe_apply_chat_template(row, tokenizer)))
    if not parts:
        raise SystemExit(f"{run_dir}: the mix is empty (see manifest.json, 'mix')")
    return concatenate_datasets(parts)


def export_reward_onnx(model, tokenizer, folder: str) -> None:
    """Writes ``model`` (a trained ``AutoModelForSequenceClassification``, one label) and its
    tokenizer into ``folder`` in the layout ``models.reward`` loads, and checks the graph's logits
    against the model's on a padded batch of two texts (ONNX Runtime, CPU)."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch

    class Logits(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              use_cache=False, return_dict=True).logits

    os.makedirs(folder, exist_ok=True)
    model = model.to("cpu").eval()
    probe = tokenizer(["a first text to check the export", "a second"], padding=True,
                      return_tensors="pt")
    ids, mask = probe["input_ids"], probe["attention_mask"]
    graph = os.path.join(folder, "model.onnx")
    with torch.no_grad():
        torch.onnx.export(Logits(model), (ids, mask), graph,
                          input_names=["input_ids", "attention_mask"], output_names=["logits"],
                          dynamic_axes={"input_ids": {0: "batch_size", 1: "sequence_length"},
                                        "attention_mask": {0: "batch_size", 1: "sequence_length"},
                                        "logits": {0: "batch_size"}},
                          opset_version=OPSET, dynamo=False, do_constant_folding=True)
        expected = model(input_ids=ids, attention_mask=mask).logits.numpy()
    if set(os.listdir(folder)) != {"model.onnx"}:
        # Over 2 GB torch writes one file per weight: gather them into model.onnx_data.
        loaded = onnx.load(graph)
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))
        onnx.save_model(loaded, graph, save_as_external_data=True, all_tensors_to_one_file=True,
                        location="model.onnx_data")
    onnx.checker.check_model(graph)
    session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    worst = float(np.max(np.abs(got - expected)))
    if worst > EXPORT_TOLERANCE:
        raise SystemExit(f"the ONNX export's logits differ from the trained model's by {worst:.2e}"
                         f" (> {EXPORT_TOLERANCE}); nothing published")
    model.config.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run", required=True, help="the round's published run folder")
    p.add_argument("--base-model", required=True, help="the model the student starts from")
    p.add_argument("--output", required=True, help="the student's ONNX model folder")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    a = p.parse_args(argv)

    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    tokenizer = AutoTokenizer.from_pretrained(a.base_model)
    train = load_mix(a.run, tokenizer)
    model = AutoModelForSequenceClassification.from_pretrained(a.base_model, num_labels=1)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
        model.config.pad_token_id = tokenizer.pad_token_id
    work = tempfile.mkdtemp(prefix="prefscore-student-")
    settings = dict(s.split("=", 1) for s in a.set)
    args = RewardConfig(output_dir=os.path.join(work, "trainer"),
                        **{k: _value(v) for k, v in settings.items()})
    trainer = RewardTrainer(model=model, args=args, train_dataset=train, processing_class=tokenizer)
    trainer.train()
    remote = "://" in a.output and not a.output.startswith("file://")
    staged = os.path.join(work, "onnx") if remote else a.output.rstrip("/") + ".partial"
    shutil.rmtree(staged, ignore_errors=True)
    # Export a fresh load of the saved weights: the trainer's model carries its wrappers and hooks.
    trained = os.path.join(work, "trained")
    trainer.save_model(trained)
    export_reward_onnx(AutoModelForSequenceClassification.from_pretrained(trained), tokenizer, staged)
    if remote:
        fs, path = _fs(a.output)
        if fs.exists(path):
            fs.rm(path, recursive=True)
        fs.put(staged.rstrip("/") + "/", path, recursive=True)
    else:
        shutil.rmtree(a.output, ignore_errors=True)
        os.replace(staged, a.output)
    shutil.rmtree(work, ignore_errors=True)
    print(f"student reward model of {a.run}: {a.output} ({len(train)} pairs)")


if __name__ == "__main__":
    main()
