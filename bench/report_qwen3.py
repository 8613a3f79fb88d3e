#!/usr/bin/env python3
"""Print the table of bench/qwen3.sh from its JSON results.  Usage: report_qwen3.py RESULTS_DIR"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def load(d: Path, name: str) -> dict:
    return json.loads((d / name).read_text(encoding="utf-8"))


def step_cost_rows(d: Path, v: dict) -> list:
    """The head's in-graph time per step (StepCostBenchmark: head minus plain graph, both lent) and the
    sampling share of a step it gives with the JVM's share of ours_head: [lower quartile, median]."""
    rows = []
    for t in ("0.7", "1.0"):
        f = d / f"qwen3-stepcost-t{t}.json"
        if not f.exists():
            continue
        s = load(d, f.name)
        head = [h - p for h, p in zip(s["head_lent_ms"], s["plain_lent_ms"])]
        share = [w / step for w, step in zip(head, s["head_lent_ms"])]
        jvm = v["ours_head" if t == "0.7" else "ours_head_t1"]["sampling_share"]
        rows.append((f"**sampling share of a step, batch 32, T = {t}** (target <= 10 %): the head's work in the graph "
                     "(StepCostBenchmark, head - plain, lower quartile / median) + the JVM's sampling share",
                     f"{head[0]:.2f} / {head[1]:.2f} ms of {s['head_lent_ms'][0]:.1f} / {s['head_lent_ms'][1]:.1f} ms "
                     f"({100 * share[0]:.1f} / {100 * share[1]:.1f} %) + {100 * jvm:.1f} % = "
                     f"**{100 * (share[0] + jvm):.1f} / {100 * (share[1] + jvm):.1f} %**"))
    return rows


def main() -> None:
    d = Path(sys.argv[1])
    gj = load(d, "qwen3-gen-java.json")["models"]["bench-qwen3"]
    v = gj["variants"]
    t4 = load(d, "qwen3-gen-transformers-n4.json")["models"]["bench-qwen3"]["variants"]["transformers"]
    t16 = load(d, "qwen3-gen-transformers-n16.json")["models"]["bench-qwen3"]["variants"]["transformers"]
    sj = load(d, "qwen3-score-java.json")
    st = load(d, "qwen3-score-transformers.json")
    rss = {k: load(d, f"qwen3-score-rss-{k}.json")["peak_rss_mb"] for k in ("separate", "shared")}
    tps = lambda x: x["tok_s_median"]  # noqa: E731
    rows = [
        ("generation N=4 (32 rows): ours, tokens/s", f"{tps(v['ours']):.0f}"),
        ("generation N=4: bare ONNX Runtime loop", f"{tps(v['bare_ort']):.0f}"),
        ("generation N=4: bare loop, ONNX Runtime's worker spinning off (as ours)",
         f"{tps(v['bare_ort_nospin']):.0f}" if "bare_ort_nospin" in v else "-"),
        ("generation N=4: transformers generate()", f"{tps(t4):.0f}"),
        ("generation N=4: ours greedy (diagnostic)", f"{tps(v['ours_greedy']):.0f}"),
        ("**ours / bare, N=4** (target >= 0.95)", f"{tps(v['ours']) / tps(v['bare_ort']):.2f}"),
        ("ours / bare loop without spinning, N=4",
         f"{tps(v['ours']) / tps(v['bare_ort_nospin']):.2f}" if "bare_ort_nospin" in v else "-"),
        ("ours greedy / bare, N=4", f"{tps(v['ours_greedy']) / tps(v['bare_ort']):.2f}"),
        ("**ours / transformers, N=4** (target >= 2)", f"{tps(v['ours']) / tps(t4):.2f}"),
        ("generation N=4 at T = 1.0 (one exp pass): ours, tokens/s; / bare loop without spinning",
         f"{tps(v['ours_t1']):.0f}; {tps(v['ours_t1']) / tps(v['bare_ort_nospin']):.2f}" if "ours_t1" in v else "-"),
        ("generation N=4, lanes (2 pieces at once, 1 intra-op thread each): ours, tokens/s",
         f"{tps(v['ours_lanes']):.0f}" if "ours_lanes" in v else "-"),
        ("generation N=4: bare loop on 1 intra-op thread / 2 such loops at once over halves",
         f"{tps(v['bare_ort_1thread']):.0f} / {tps(v['bare_ort_loops']):.0f}" if "bare_ort_loops" in v else "-"),
        ("ours lanes / 2 bare loops at once; / best bare variant",
         f"{tps(v['ours_lanes']) / tps(v['bare_ort_loops']):.2f}; "
         f"{tps(v['ours_lanes']) / max(tps(v[k]) for k in ('bare_ort', 'bare_ort_nospin', 'bare_ort_1thread', 'bare_ort_loops')):.2f}"
         if "bare_ort_loops" in v else "-"),
        ("best of ours / best bare variant (any thread layout)",
         f"{max(tps(v[k]) for k in ('ours', 'ours_1thread', 'ours_lanes')) / max(tps(v[k]) for k in ('bare_ort', 'bare_ort_nospin', 'bare_ort_1thread', 'bare_ort_loops')):.2f}"
         if "bare_ort_loops" in v else "-"),
    ]
    if "ours_head" in v:
        r = gj["ratios"]
        rows += [
            ("**with the sampling head** (docs/deploy.md#a-sampling-head), N=4: ours, tokens/s; / bare; / bare without spinning",
             f"{tps(v['ours_head']):.0f}; **{tps(v['ours_head']) / tps(v['bare_ort']):.2f}**; "
             f"{tps(v['ours_head']) / tps(v['bare_ort_nospin']):.2f}"),
            ("sampling head, each step's logits copied to the heap (before lent logits): ours, tokens/s; / bare; lent / copied",
             f"{tps(v['ours_head_copied']):.0f}; {tps(v['ours_head_copied']) / tps(v['bare_ort']):.2f}; "
             f"{tps(v['ours_head']) / tps(v['ours_head_copied']):.2f}"
             if "ours_head_copied" in v else "-"),
            ("sampling head, workers spinning (runtime.engine-spinning=true): ours, tokens/s; / bare",
             f"{tps(v['ours_head_spin']):.0f}; **{tps(v['ours_head_spin']) / tps(v['bare_ort']):.2f}**"
             if "ours_head_spin" in v else "-"),
            ("sampling head at T = 1.0: ours, tokens/s; / bare; greedy / bare",
             f"{tps(v['ours_head_t1']):.0f}; {tps(v['ours_head_t1']) / tps(v['bare_ort']):.2f}; "
             f"{tps(v['ours_head_greedy']) / tps(v['bare_ort']):.2f}"),
            ("sampling head, N=16 (128 rows): ours, tokens/s; / bare",
             f"{tps(v['ours_head_n16']):.0f}; {tps(v['ours_head_n16']) / tps(v['bare_ort_n16']):.2f}"
             if "ours_head_n16" in v else "-"),
            ("sampling share with the head, batch 32, in-benchmark estimate (the head's forward time beyond the plain"
             " graph's, measured in other slots of each round: swings between runs; use the StepCostBenchmark rows), T = 0.7; T = 1.0",
             f"{100 * r['head_sampling_share']:.1f} % ({100 * v['ours_head']['sampling_share']:.1f} % + "
             f"{r['head_sampling_share_in_graph_ms']:.0f} ms of {v['ours_head']['call_ms_mean']:.0f} ms per call); "
             f"{100 * r['head_t1_sampling_share']:.1f} %"),
            *step_cost_rows(d, v),
            ("samples identical to the whole-row sampler's (same seeds)", f"{100 * gj.get('head_same_samples', float('nan')):.0f} %"),
        ]
    rows += [
        ("generation N=16 (128 rows): ours", f"{tps(v['ours_n16_shared']):.0f}"),
        ("generation N=16: bare loop", f"{tps(v['bare_ort_n16']):.0f}"),
        ("generation N=16: transformers", f"{tps(t16):.0f}"),
        ("**ours / bare, N=16**", f"{tps(v['ours_n16_shared']) / tps(v['bare_ort_n16']):.2f}"),
        ("**ours / transformers, N=16**", f"{tps(v['ours_n16_shared']) / tps(t16):.2f}"),
        ("ours / bare loop without spinning (as ours), N=16; bare without spinning, tokens/s",
         f"{tps(v['ours_n16_shared']) / tps(v['bare_ort_nospin_n16']):.2f}; {tps(v['bare_ort_nospin_n16']):.0f}"
         if "bare_ort_nospin_n16" in v else "-"),
        ("ours with workers spinning (runtime.engine-spinning=true): tokens/s; / bare, N=4 | N=16",
         f"{tps(v['ours_spin']):.0f}; {tps(v['ours_spin']) / tps(v['bare_ort']):.2f} | "
         f"{tps(v['ours_spin_n16']):.0f}; {tps(v['ours_spin_n16']) / tps(v['bare_ort_n16']):.2f}"
         if "ours_spin_n16" in v and "ours_spin" in v else "-"),
        ("ours, whole-row scalar sampler (runtime.sampling-head=false, or no vector module): tokens/s; / bare, N=4 | N=16",
         f"{tps(v['ours_scalar']):.0f}; {tps(v['ours_scalar']) / tps(v['bare_ort']):.2f} | "
         f"{tps(v['ours_scalar_n16']):.0f}; {tps(v['ours_scalar_n16']) / tps(v['bare_ort_n16']):.2f}"
         if "ours_scalar_n16" in v and "ours_scalar" in v else "-"),
        ("sampling share of wall time, N=16 (128 rows): ours / scalar sampler",
         f"{100 * v['ours_n16_shared']['sampling_share']:.0f} % / {100 * v['ours_scalar_n16']['sampling_share']:.0f} %"
         if "ours_scalar_n16" in v else "-"),
        ("**sampling share of wall time, batch 32** (target <= 10 %)",
         f"{100 * v['ours']['sampling_share']:.0f} % (2 sampling threads), "
         f"{100 * v['ours_1thread']['sampling_share']:.0f} % (1), greedy {100 * v['ours_greedy']['sampling_share']:.0f} %"
         + (f", T = 1.0 {100 * v['ours_t1']['sampling_share']:.0f} %" if "ours_t1" in v else "")),
        ("sampling share of the process's CPU time, batch 32 (load-independent)",
         f"{100 * v['ours'].get('sampling_cpu_share', float('nan')):.0f} % (2 sampling threads), "
         f"{100 * v['ours_1thread'].get('sampling_cpu_share', float('nan')):.0f} % (1), "
         f"greedy {100 * v['ours_greedy'].get('sampling_cpu_share', float('nan')):.0f} %"
         + (f", T = 1.0 {100 * v['ours_t1'].get('sampling_cpu_share', float('nan')):.0f} %" if "ours_t1" in v else "")),
        ("CPU ms per token, N=4: ours / greedy / bare loop without spinning",
         f"{v['ours'].get('cpu_ms_per_token', float('nan')):.2f} / "
         f"{v['ours_greedy'].get('cpu_ms_per_token', float('nan')):.2f} / "
         f"{v.get('bare_ort_nospin', {}).get('cpu_ms_per_token', float('nan')):.2f}"),
        ("forward share of wall time, batch 32: ours / bare",
         f"{100 * v['ours']['forward_share']:.0f} % / {100 * v['bare_ort']['forward_share']:.0f} %"),
        ("scoring, today's separate scorer, tokens/s", f"{tps(sj['variants']['separate']):.0f}"),
        ("scoring, prefill-once scorer", f"{tps(sj['variants']['shared']):.0f}"),
        ("scoring, transformers (TRL convention, batch 2)", f"{st['tok_s_median']:.0f}"),
        ("**prefill-once / separate** (target >= 1.6)",
         f"{tps(sj['variants']['shared']) / tps(sj['variants']['separate']):.2f}"),
        ("**ours (prefill-once) / transformers, scoring**", f"{tps(sj['variants']['shared']) / st['tok_s_median']:.2f}"),
        ("max abs difference separate vs prefill-once (sums)", f"{sj['max_abs_diff_separate_vs_shared']:.1e}"),
        ("peak RSS, scoring JVM alone: separate / prefill-once", f"{rss['separate']:.0f} / {rss['shared']:.0f} MB"),
        ("peak RSS: generation JVM / transformers generate N=16 / transformers scoring",
         f"{gj['peak_rss_mb']:.0f} / {load(d, 'qwen3-gen-transformers-n16.json')['models']['bench-qwen3']['peak_rss_mb']:.0f}"
         f" / {st['peak_rss_mb']:.0f} MB"),
        ("model load: ours (ModelLoader, first in the JVM) / bare ORT session / transformers",
         f"{gj['load_ms'] / 1e3:.1f} / {gj['bare_session_ms'] / 1e3:.1f} / "
         f"{load(d, 'qwen3-gen-transformers-n4.json')['models']['bench-qwen3']['load_s']:.1f} s"),
        ("model load, later in the generation JVM (its other sessions resident): ours / bare ORT session (medians of 3)",
         f"{gj.get('load_warm_ms', float('nan')) / 1e3:.1f} / "
         f"{gj.get('bare_session2_ms', float('nan')) / 1e3:.1f} s"),
    ]
    if (d / "qwen3-load.json").exists():
        lj = load(d, "qwen3-load.json")
        rows.append((f"**model load beyond the bare ORT session** (LoadBenchmark, own JVM, medians of {lj['rounds']}; target <= +1.5 s)",
                     f"**{lj['beyond_bare_ms'] / 1e3:+.2f} s** ({lj['later_load_ms'] / 1e3:.2f} / "
                     f"{lj['later_bare_session_ms'] / 1e3:.2f} s; first load {lj['first_load_ms'] / 1e3:.1f} s)"))
    p = sj.get("prefill")
    if p:
        rows.append((f"prefill {p['prompts']} prompts ({p['prompt_tokens']} tokens) + 1 token: logits_to_keep / all-position logits",
                     f"{p['keep_last_logits_ms']:.0f} / {p['all_logits_ms']:.0f} ms "
                     f"({p['all_logits_ms'] / p['keep_last_logits_ms']:.2f}x)"))
    b = gj["bytes_per_step_n4"]
    rows.append(("bytes per decode step, 32 rows: KV in / KV out / logits",
                 f"{b['kv_in'] / 1e6:.1f} / {b['kv_out'] / 1e6:.1f} / {b['logits'] / 1e6:.1f} MB"))
    print("\n| bench-qwen3 | value |\n| --- | --- |")
    for k, val in rows:
        print(f"| {k} | {val} |")
    print(f"\nscoring workload: {sj['requests']} requests, mean prompt {sj['mean_prompt_tokens']:.0f} tokens, "
          f"mean response {sj['mean_response_tokens']:.0f} tokens; generation: {gj['repeats']} timed rounds")


if __name__ == "__main__":
    main()
