#!/usr/bin/env python3
"""Teacher-forced scoring with transformers on the workload ScoringBenchmark (Java) wrote.

Run:  /work/refenv/bin/python bench/transformers_score.py --model DIR --texts FILE [--threads 2]
        [--batch 2] [--warmup 1] [--repeats 3] [--json-out FILE]

TRL's convention, as SequenceScorer: EOS text appended to the response, prompt_ids = tok(prompt),
full = tok(prompt + response), response ids = full[len(prompt_ids):], the model sees prompt_ids +
response_ids; one forward over the whole sequence (TRL's DPOTrainer computes the reference log-probs
that way: logits for every position), log_softmax at the response positions, summed. Batches of
--batch requests, right-padded. Throughput = sum of (prompt + response) tokens / wall time.
Prints one JSON line {"bench":"scoring-transformers"}.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--texts", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json-out")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    t0 = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    load_s = time.perf_counter() - t0
    texts = json.loads(Path(args.texts).read_text(encoding="utf-8"))
    seqs = []
    for t in texts:
        prompt = tok(t["prompt"])["input_ids"]
        full = tok(t["prompt"] + t["response"] + tok.eos_token)["input_ids"]
        seqs.append((prompt, full[len(prompt):]))
    tokens = sum(len(p) + len(r) for p, r in seqs)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    def once() -> list[float]:
        sums = []
        with torch.inference_mode():
            for b in range(0, len(seqs), args.batch):
                batch = seqs[b:b + args.batch]
                width = max(len(p) + len(r) for p, r in batch)
                ids = torch.full((len(batch), width), pad, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for i, (p, r) in enumerate(batch):
                    ids[i, :len(p) + len(r)] = torch.tensor(p + r)
                    mask[i, :len(p) + len(r)] = 1
                logits = model(input_ids=ids, attention_mask=mask).logits
                logp = torch.log_softmax(logits.float(), dim=-1)
                for i, (p, r) in enumerate(batch):
                    pos = torch.arange(len(p) - 1, len(p) + len(r) - 1)
                    sums.append(float(logp[i, pos, torch.tensor(r)].sum()))
        return sums

    for _ in range(args.warmup):
        once()
    tps = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        once()
        tps.append(tokens / (time.perf_counter() - t0))
    out = {"bench": "scoring-transformers", "threads": args.threads, "batch": args.batch, "requests": len(seqs),
           "tokens_per_call": tokens, "load_s": load_s, "tok_s_median": statistics.median(tps), "tok_s_all": tps,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    print(f"scoring transformers {out['tok_s_median']:8.0f} tokens/s (median of {len(tps)}; batch {args.batch}); "
          f"peak RSS {out['peak_rss_mb']:.0f} MB")
    line = json.dumps(out)
    print(line)
    if args.json_out:
        Path(args.json_out).write_text(line + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
