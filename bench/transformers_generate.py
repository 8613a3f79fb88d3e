#!/usr/bin/env python3
"""transformers' generate() on the same weights and workload as GenerationBenchmark (Java).

Run:  bin/reference-python bench/transformers_generate.py --model NAME=DIR [--model ...]
        [--prompts bench/prompts.json] [--threads 2] [--n 4] [--new-tokens 64] [--temperature 0.7]
        [--top-p 1.0 --top-p 0.9] [--warmup 2] [--repeats 5] [--min-seconds 0] [--json-out FILE]

The model is loaded from DIR (model.safetensors + config.json, the weights model.onnx was exported
from) with PyTorch's default attention (sdpa), float32, on CPU with torch threads = --threads.
All prompts form one left-padded batch; num_return_sequences = N, so the batch has prompts x N rows
(transformers repeats the prompt rows before the prefill: no prefill sharing). do_sample with the
given temperature, top_k = 0 (off), top_p; min_new_tokens = max_new_tokens so every row generates
exactly --new-tokens tokens. Throughput = rows x new tokens / wall time of generate() (tokenization
excluded). Benchmark-only: CI never runs it. Prints one JSON line {"bench":"generation-transformers"}.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402


def bench_model(name: str, directory: str, prompts: list[dict], args) -> dict:
    t_load = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(directory)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()
    load_s = time.perf_counter() - t_load
    texts = [p["text"] for p in prompts]
    lengths = [len(tok(t)["input_ids"]) for t in texts]
    key = dict(kv.split("=", 1) for kv in args.tokens_key or []).get(name, "tokens")
    expected = [p[key] for p in prompts]
    if lengths != expected:
        sys.exit(f"{name}: prompt token counts {lengths} differ from prompts.json {expected}")
    enc = tok(texts, return_tensors="pt", padding=True)
    gen_cfg = model.generation_config
    eos = gen_cfg.eos_token_id
    pad = gen_cfg.pad_token_id if gen_cfg.pad_token_id is not None else (eos[0] if isinstance(eos, list) else eos)
    rows = len(texts) * args.n
    variants = {}
    for top_p in args.top_p:
        key = "transformers" if top_p == 1.0 else f"transformers_top_p{top_p:g}"
        kwargs = dict(do_sample=True, temperature=args.temperature, top_k=0, top_p=top_p,
                      max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens,
                      num_return_sequences=args.n, pad_token_id=pad, eos_token_id=eos, use_cache=True)
        variants[key] = kwargs

    def once(kwargs) -> tuple[int, float]:
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**enc, **kwargs)
        dt = time.perf_counter() - t0
        new = out.shape[1] - enc["input_ids"].shape[1]
        assert out.shape[0] == rows, out.shape
        assert new == args.new_tokens, new
        return rows * new, dt

    torch.manual_seed(0)
    round_s = 0.0
    for _ in range(args.warmup):
        t0 = time.perf_counter()
        for kwargs in variants.values():
            once(kwargs)
        round_s = time.perf_counter() - t0
    # Short rounds (small models) get more repeats: at least --min-seconds of timed rounds, at most 30.
    rounds = args.repeats
    if round_s > 0 and args.min_seconds > 0:
        rounds = int(min(30, max(args.repeats, -(-args.min_seconds // round_s))))
    timings = {k: [] for k in variants}
    for r in range(rounds):
        for key, kwargs in variants.items():
            timings[key].append(once(kwargs))
        print(f"[{name}] transformers repeat {r + 1}/{rounds} done", file=sys.stderr, flush=True)
    result = {"dir": directory, "repeats": rounds, "load_s": load_s,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "prompt_tokens": lengths, "attn_implementation": model.config._attn_implementation,
              "variants": {}}
    print(f"\n== {name} (transformers {transformers.__version__}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, attn {model.config._attn_implementation})")
    print(f"{'variant':<26} {'rows':>5} {'ms(med)':>9} {'tok/s med':>10} {'tok/s min':>10} {'tok/s max':>10} {'spread':>7}")
    for key, runs in timings.items():
        tps = sorted(t / dt for t, dt in runs)
        med = statistics.median(tps)
        ms = statistics.median(dt * 1e3 for _, dt in runs)
        result["variants"][key] = {"rows": rows, "new_tokens": runs[0][0], "median_ms": ms, "tok_s_median": med,
                                   "tok_s_min": tps[0], "tok_s_max": tps[-1], "spread": (tps[-1] - tps[0]) / med,
                                   "tok_s_all": [t / dt for t, dt in runs]}
        print(f"{key:<26} {rows:>5} {ms:>9.1f} {med:>10.0f} {tps[0]:>10.0f} {tps[-1]:>10.0f} "
              f"{100 * (tps[-1] - tps[0]) / med:>6.1f}%")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True, help="NAME=DIR")
    ap.add_argument("--prompts", default=str(Path(__file__).resolve().parent / "prompts.json"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--top-p", type=float, action="append")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--min-seconds", type=float, default=0.0)
    ap.add_argument("--json-out")
    ap.add_argument("--tokens-key", action="append", help="NAME=KEY: the prompts.json field with NAME's token counts")
    args = ap.parse_args()
    args.top_p = args.top_p or [1.0, 0.9]
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    transformers.utils.logging.disable_progress_bar()
    prompts = json.loads(Path(args.prompts).read_text(encoding="utf-8"))["prompts"]
    out = {"bench": "generation-transformers", "threads": args.threads, "n": args.n, "new_tokens": args.new_tokens,
           "temperature": args.temperature, "top_k": 0, "top_p": args.top_p, "warmup": args.warmup,
           "repeats": args.repeats, "min_seconds": args.min_seconds, "prompts": len(prompts), "python": platform.python_version(),
           "torch": torch.__version__, "transformers": transformers.__version__, "models": {}}
    for spec in args.model:
        name, directory = spec.split("=", 1)
        out["models"][name] = bench_model(name, directory, prompts, args)
    line = json.dumps(out)
    print(line)
    if args.json_out:
        Path(args.json_out).write_text(line + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
