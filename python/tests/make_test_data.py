"""Writes the rows CachedRefTest trains on from a finished prefscore run.

    bin/reference-python python/tests/make_test_data.py target/prefscore-runs/<run_id>

Keeps the first 12 pairs of `pairs` and every pair of `pairs_conversational` (TRL's columns:
prompt, chosen, rejected, ref_chosen_logps, ref_rejected_logps, and prompt_id) in
python/tests/data/quickstart-<table>.jsonl, sorted by prompt_id.
"""

import glob
import json
import os
import sys

import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
COLUMNS = ["prompt_id", "prompt", "chosen", "rejected", "ref_chosen_logps", "ref_rejected_logps"]


def main(run):
    if not os.path.exists(os.path.join(run, "_SUCCESS")):
        sys.exit(f"{run}: no _SUCCESS")
    for table, limit in (("pairs", 12), ("pairs_conversational", None)):
        rows = []
        for f in sorted(glob.glob(os.path.join(run, table, "*.parquet"))):
            rows.extend(pq.read_table(f, columns=COLUMNS).to_pylist())
        rows.sort(key=lambda r: r["prompt_id"])
        rows = rows[:limit] if limit else rows
        path = os.path.join(HERE, "data", f"quickstart-{table}.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{path}: {len(rows)} rows")


if __name__ == "__main__":
    main(sys.argv[1])
