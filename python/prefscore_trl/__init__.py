"""Train with TRL on prefscore's output without a reference model.

prefscore writes ``ref_chosen_logps`` / ``ref_rejected_logps`` next to every pair, computed as TRL's
``DPOTrainer`` computes them (same tokenization, plain or conversational). TRL 1.x only reads those
columns from its own precompute step, so :class:`CachedRefDPOTrainer` is ``DPOTrainer`` with that
step replaced by "use the columns the dataset already has": no reference model is created, loaded
or run, ever.

    from datasets import load_dataset
    from prefscore_trl import CachedRefDPOTrainer, load_pairs
    from trl import DPOConfig

    train = load_pairs("target/prefscore-runs/<run_id>")           # the run's pairs table
    trainer = CachedRefDPOTrainer(model=policy, args=DPOConfig(output_dir="out"),
                                  train_dataset=train, processing_class=tokenizer)
    trainer.train()
"""

from __future__ import annotations

import copy
import glob
import os

from trl import DPOConfig, DPOTrainer

__all__ = ["CachedRefDPOTrainer", "load_pairs", "REF_COLUMNS"]

REF_COLUMNS = ("ref_chosen_logps", "ref_rejected_logps")


class CachedRefDPOTrainer(DPOTrainer):
    """``DPOTrainer`` that takes the reference log-probs from the dataset's columns.

    The hook is TRL's own precompute path: with ``precompute_ref_log_probs=True`` TRL creates no
    reference model and ``_compute_loss`` reads ``inputs["ref_chosen_logps"]`` /
    ``inputs["ref_rejected_logps"]``; this class forces that flag and replaces the one method that
    would compute the columns (``_precompute_ref_logps``, which also fails on a dataset that has
    them already) by a check that they are there. Nothing else of TRL changes.

    The columns must come from the same reference model and tokenizer (and chat template) as the
    training run, with TRL's settings that change log-probs left at their defaults
    (``ld_alpha=None``, no ``max_length`` truncation of these rows).
    """

    def __init__(self, *args, **kwargs):
        config = kwargs.get("args")
        if config is None and len(args) >= 3:
            config = args[2]
        if config is None:
            raise ValueError("CachedRefDPOTrainer needs args=DPOConfig(...)")
        if not config.precompute_ref_log_probs:
            config = copy.copy(config)
            config.precompute_ref_log_probs = True
        if config.sync_ref_model:
            raise ValueError("sync_ref_model=True updates the reference: cached log-probs would be stale")
        if getattr(config, "ld_alpha", None) is not None:
            raise ValueError("ld_alpha changes the reference log-probs; the cached columns are plain sums")
        if kwargs.get("ref_model") is not None:
            raise ValueError("CachedRefDPOTrainer never uses a reference model; pass none")
        if "args" in kwargs:
            kwargs["args"] = config
        else:
            args = args[:2] + (config,) + args[3:]
        super().__init__(*args, **kwargs)

    def _precompute_ref_logps(self, dataset, name, batch_size):  # noqa: D401 (TRL's hook)
        missing = [c for c in REF_COLUMNS if c not in dataset.column_names]
        if missing:
            raise ValueError(
                f"the {name} dataset has no column(s) {missing}: give it prefscore's pairs table "
                "(ref_chosen_logps / ref_rejected_logps), or use DPOTrainer itself"
            )
        return dataset


def load_pairs(run_dir: str, table: str | None = None, columns=("prompt", "chosen", "rejected") + REF_COLUMNS):
    """The pairs of a finished prefscore run as a ``datasets.Dataset`` with TRL's columns.

    ``table`` is ``"pairs"`` (plain text) or ``"pairs_conversational"`` (TRL's conversational
    format); by default the one that has rows (``pairs`` when both do: TRL takes one format per
    dataset). The run must have its ``_SUCCESS`` marker.
    """
    from datasets import Dataset, concatenate_datasets

    if not os.path.exists(os.path.join(run_dir, "_SUCCESS")):
        raise ValueError(f"{run_dir} has no _SUCCESS: the run did not finish")
    tables = [table] if table else ["pairs", "pairs_conversational"]
    for t in tables:
        files = sorted(glob.glob(os.path.join(run_dir, t, "*.parquet")))
        parts = [Dataset.from_parquet(f) for f in files]
        parts = [p for p in parts if len(p) > 0]
        if parts or table:
            if not parts:
                raise ValueError(f"{run_dir}/{t} holds no rows")
            ds = concatenate_datasets(parts) if len(parts) > 1 else parts[0]
            return ds.select_columns(list(columns))
    raise ValueError(f"{run_dir} holds no pairs")
