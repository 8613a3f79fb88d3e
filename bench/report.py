#!/usr/bin/env python3
"""Combine the Java and transformers JSON results of bench/generation.sh into the ratio table.

Usage: report.py JAVA_JSON TRANSFORMERS_JSON [SUMMARY_JSON]
Ratios use the median tokens/s of each side; (min-max) spreads are shown next to every median.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def fmt(v: dict) -> str:
    return f"{v['tok_s_median']:8.0f} ({v['tok_s_min']:.0f}-{v['tok_s_max']:.0f})"


def paired(a: dict, b: dict) -> float:
    """Median over rounds of a/b, each round's two runs adjacent in time (drift cancels)."""
    ratios = sorted(x / y for x, y in zip(a["tok_s_all"], b["tok_s_all"]))
    m = len(ratios)
    return ratios[m // 2] if m % 2 else (ratios[m // 2 - 1] + ratios[m // 2]) / 2


def main() -> None:
    java = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    hf = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
    n, n16, new = java["n"], java["n_prefill"], java["new_tokens"]
    summary = {"bench": "generation-summary", "threads": java["threads"], "n": n, "n_prefill": n16,
               "new_tokens": new, "temperature": java["temperature"], "repeats": java["repeats"],
               "transformers": hf["transformers"], "torch": hf["torch"], "models": {}}
    print(f"\n=== generation throughput: new tokens/s, median (min-max) over the timed runs after "
          f"{java['warmup']} warm-up rounds; {java['prompts']} prompts x N={n}, {new} new tokens/row (forced), "
          f"T={java['temperature']}, top-k 0, {java['threads']} intra-op threads ===")
    for name, j in java["models"].items():
        jv = j["variants"]
        h = hf["models"].get(name, {}).get("variants", {})
        tf = h.get("transformers")
        tf_p = next((v for k, v in h.items() if k.startswith("transformers_top_p")), None)
        r = {
            "ours_over_bare": jv["ours"]["tok_s_median"] / jv["bare_ort"]["tok_s_median"],
            "ours_greedy_over_bare": jv["ours_greedy"]["tok_s_median"] / jv["bare_ort"]["tok_s_median"],
            "ours_over_transformers": jv["ours"]["tok_s_median"] / tf["tok_s_median"] if tf else None,
            "ours_top_p_over_transformers_top_p":
                jv["ours_top_p"]["tok_s_median"] / tf_p["tok_s_median"] if tf_p else None,
            "ours_top_p_over_ours": jv["ours_top_p"]["tok_s_median"] / jv["ours"]["tok_s_median"],
            "ours_1thread_over_bare": jv["ours_1thread"]["tok_s_median"] / jv["bare_ort"]["tok_s_median"],
            f"shared_over_unshared_n{n16}": jv[f"ours_n{n16}_shared"]["tok_s_median"]
                / jv[f"ours_n{n16}_unshared"]["tok_s_median"],
            f"ours_over_bare_n{n16}": jv[f"ours_n{n16}_shared"]["tok_s_median"]
                / jv[f"bare_ort_n{n16}"]["tok_s_median"],
        }
        pr = {"ours_over_bare": paired(jv["ours"], jv["bare_ort"]),
              "ours_greedy_over_bare": paired(jv["ours_greedy"], jv["bare_ort"]),
              "ours_top_p_over_ours": paired(jv["ours_top_p"], jv["ours"]),
              "ours_1thread_over_bare": paired(jv["ours_1thread"], jv["bare_ort"]),
              f"shared_over_unshared_n{n16}": paired(jv[f"ours_n{n16}_shared"], jv[f"ours_n{n16}_unshared"]),
              f"ours_over_bare_n{n16}": paired(jv[f"ours_n{n16}_shared"], jv[f"bare_ort_n{n16}"])}
        best = {"ours_over_bare": jv["ours"]["tok_s_max"] / jv["bare_ort"]["tok_s_max"],
                "ours_over_transformers": jv["ours"]["tok_s_max"] / tf["tok_s_max"] if tf else None}
        summary["models"][name] = {"ratios": r, "ratios_paired": pr, "ratios_best": best, "java": jv, "transformers": h}
        print(f"\n-- {name}: {j['layers']} layers, {j['kv_heads']} kv heads x {j['head_dim']}, vocab {j['vocab']}, "
              f"prompt tokens {j['prompt_tokens']}; timed runs: java {j.get('repeats')}, "
              f"transformers {hf['models'].get(name, {}).get('repeats')}")
        rows = [("ours: SampleGenerator, top-p 1.0", jv["ours"]),
                ("ours: SampleGenerator, top-p 0.9", jv["ours_top_p"]),
                ("ours: SampleGenerator, greedy (diagnostic)", jv["ours_greedy"]),
                ("ours: top-p 1.0, one sampling thread", jv["ours_1thread"]),
                ("bare ONNX Runtime loop, argmax", jv["bare_ort"]),
                ("transformers generate(), top-p 1.0", tf),
                ("transformers generate(), top-p 0.9", tf_p),
                (f"ours N={n16}, shared prefill", jv[f"ours_n{n16}_shared"]),
                (f"ours N={n16}, unshared prefill", jv[f"ours_n{n16}_unshared"]),
                (f"bare ONNX Runtime loop N={n16}", jv[f"bare_ort_n{n16}"])]
        for label, v in rows:
            if v:
                share = (f"  forward {100 * v['forward_share']:.0f}% of wall, rest "
                         f"{v['median_ms'] * (1 - v['forward_share']) * 1e3 / v['new_tokens']:.1f} us/token"
                         if "forward_share" in v else "")
                print(f"  {label:<44} rows {v['rows']:>4}  {fmt(v)}{share}")
        print("  ratios: of medians [median of per-round paired ratios]:")
        ok = lambda b: "ok" if b else "BELOW TARGET"  # noqa: E731
        print(f"    ours / bare loop                    {r['ours_over_bare']:.3f} [{pr['ours_over_bare']:.3f}]  target >= 0.9  "
              f"{ok(r['ours_over_bare'] >= 0.9)}  (best-of: {best['ours_over_bare']:.3f})")
        if r["ours_over_transformers"] is not None:
            print(f"    ours / transformers                 {r['ours_over_transformers']:.3f}          target > 1     "
                  f"{ok(r['ours_over_transformers'] > 1)}  (best-of: {best['ours_over_transformers']:.3f})")
        if r["ours_top_p_over_transformers_top_p"] is not None:
            print(f"    ours / transformers, top-p 0.9      {r['ours_top_p_over_transformers_top_p']:.3f}")
        print(f"    shared / unshared prefill, N={n16:<3}    {r[f'shared_over_unshared_n{n16}']:.3f} [{pr[f'shared_over_unshared_n{n16}']:.3f}]  "
              f"(samples asserted identical)")
        print(f"    top-p 0.9 / top-p 1.0 (ours)        {r['ours_top_p_over_ours']:.3f} [{pr['ours_top_p_over_ours']:.3f}]")
        print(f"    ours, one sampling thread / bare    {r['ours_1thread_over_bare']:.3f} [{pr['ours_1thread_over_bare']:.3f}]  (samples asserted identical)")
        print(f"    greedy ours / bare loop             {r['ours_greedy_over_bare']:.3f} [{pr['ours_greedy_over_bare']:.3f}]  (engine path, no sampling)")
        print(f"    ours / bare loop, N={n16:<3}            {r[f'ours_over_bare_n{n16}']:.3f} [{pr[f'ours_over_bare_n{n16}']:.3f}]")
    line = json.dumps(summary)
    if len(sys.argv) > 3:
        Path(sys.argv[3]).write_text(line + "\n", encoding="utf-8")
    print("\n" + json.dumps({"bench": "generation-ratios",
                             "models": {k: {"of_medians": v["ratios"], "paired": v["ratios_paired"]}
                                        for k, v in summary["models"].items()}}))


if __name__ == "__main__":
    main()
