#!/usr/bin/env python3
"""Build the benchmark-size decoder `bench-llama` (random weights) and export it to ONNX.

Run:  bin/reference-python bench/make_bench_model.py [OUT_DIR]      (default bench/target/bench-llama)

Same architecture family, tokenizer and ONNX layout as fixtures/models/tiny-llama (the tokenizer and
the exporter are imported from fixtures/make_fixtures.py, not copied), but big enough that compute
is not negligible: LlamaForCausalLM, 6 layers, hidden 384, MLP 1024, 8 query heads / 4 KV heads
(GQA, head_dim 48), 512 positions, untied lm_head over the 961-token llama-style tokenizer.
~10.3 M parameters (~21 MFLOP per token). Written to an ignored folder; nothing here is committed
but this script. Deterministic (fixed seed); takes ~10 s on 2 cores.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "fixtures"))

import make_fixtures as mf  # noqa: E402  (sets torch to 1 thread, deterministic; fine for a build)
import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import AutoTokenizer, GenerationConfig, LlamaConfig, LlamaForCausalLM  # noqa: E402

LAYERS = 6
HIDDEN = 384
INTERMEDIATE = 1024
HEADS = 8
KV_HEADS = 4
HEAD_DIM = HIDDEN // HEADS
MAX_POS = 512
SEED = 20240611


def build(out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    style = "llama"
    tok = mf.build_tokenizer(style)
    mf.save_tokenizer(style, out)
    cfg_path = out / "tokenizer_config.json"
    tcfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    tcfg["model_max_length"] = MAX_POS
    mf.write_json(cfg_path, tcfg)
    hf_tok = AutoTokenizer.from_pretrained(str(out))
    tid = tok.token_to_id
    n_tok = tok.get_vocab_size(with_added_tokens=True)
    torch.manual_seed(SEED)
    cfg = LlamaConfig(vocab_size=n_tok, hidden_size=HIDDEN, intermediate_size=INTERMEDIATE,
                      num_hidden_layers=LAYERS, num_attention_heads=HEADS, num_key_value_heads=KV_HEADS,
                      head_dim=HEAD_DIM, max_position_embeddings=MAX_POS, rms_norm_eps=1e-6,
                      rope_theta=10000.0, tie_word_embeddings=False, initializer_range=0.05,
                      pad_token_id=tid("<pad>"), bos_token_id=tid("<s>"),
                      eos_token_id=[tid("</s>"), tid("<|im_end|>")], attn_implementation="eager")
    model = LlamaForCausalLM(cfg).eval()
    eos = mf.eos_ids_of(model)
    gen = GenerationConfig(bos_token_id=cfg.bos_token_id, eos_token_id=eos, pad_token_id=cfg.pad_token_id)
    mf.save_model("bench-llama", model, out, gen)
    model = LlamaForCausalLM.from_pretrained(str(out), attn_implementation="eager").eval()
    mf.export_decoder(model, out / "model.onnx")
    # Check: onnxruntime reproduces transformers on a prefill + 8 cached decode steps.
    dec = mf.OrtDecoder(model, out / "model.onnx")
    ids = hf_tok("The quick brown fox jumps over the lazy dog, again and again and again.")["input_ids"]
    full = mf.torch_logits(model, ids)
    lo, past = dec.run([ids[:-8]], [[1] * (len(ids) - 8)], [list(range(len(ids) - 8))], dec.empty_past(1))
    diff = mf.maxdiff(lo[0], full[:-8])
    for t in range(len(ids) - 8, len(ids)):
        lo, past = dec.run([[ids[t]]], [[1] * (t + 1)], [[t]], past)
        diff = max(diff, mf.maxdiff(lo[0, 0], full[t]))
    spread = float(np.std(full[-1]))
    params = sum(p.numel() for p in model.parameters())
    print(f"bench-llama: {params / 1e6:.2f} M parameters, {LAYERS} layers, hidden {HIDDEN}, "
          f"heads {HEADS}/{KV_HEADS}, head_dim {HEAD_DIM}, context {MAX_POS}, vocab {n_tok}; "
          f"max |onnxruntime - transformers| logits {diff:.2e}, logit std {spread:.2f} -> {out}")
    assert diff < 1e-3, diff


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "target" / "bench-llama"
    build(out.resolve())


if __name__ == "__main__":
    main()
