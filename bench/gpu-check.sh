#!/usr/bin/env bash
# GPU check, for the day a CUDA machine is lent (at most 8 minutes; not part of CI).
#
#   bench/gpu-check.sh            # from the repository root of a checkout, on a machine with an NVIDIA GPU
#
# 1. Shows the GPU (nvidia-smi) and stops, saying why, where there is none.
# 2. Runs the CUDA tests with ONNX Runtime's GPU build: mvn -Pgpu -pl udf test -Dgroups=gpu
#    (CudaDeviceTest: the graph runs on the CUDA provider and gives the CPU's greedy tokens;
#    CudaFallbackTest). Needs CUDA 12.x + cuDNN 9.x libraries (docs/deploy.md, "GPU executors").
# 3. Runs GenerationBenchmark on GPU 0 (--gpu 0: ours and the bare ONNX Runtime loop on the CUDA
#    provider; ours with two lanes, one piece's forward pass on the device while the host samples
#    the other's, against two bare loops at once) on bench/target/bench-qwen3 when it is there (carry it, or build it with
#    bench/make_qwen3_bench_model.py where Python is), else on bench/target/bench-llama, else on the
#    fixture tiny-llama; N = 4 and N = 16, 32 new tokens, 1 warm-up and 2 timed rounds.
# Everything it prints is also in $OUT (default bench/target/gpu-check/): gpu.txt, tests.log,
# bench.log, bench.json. Each step has its own time limit so the whole stays under 8 minutes.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${OUT:-$ROOT/bench/target/gpu-check}"
mkdir -p "$OUT" bench/target/tmp bench/target/djl-cache
start=$(date +%s)

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi >"$OUT/gpu.txt" 2>&1; then
  echo "gpu-check: no NVIDIA GPU here (nvidia-smi missing or failing): nothing to check" | tee -a "$OUT/gpu.txt"
  exit 2
fi
cat "$OUT/gpu.txt"

echo "== CUDA tests (limit 240 s)"
timeout 240 mvn -B -ntp -Pgpu -pl udf test -Dgroups=gpu -DexcludedGroups=benchmark \
  -Dsurefire.failIfNoSpecifiedTests=false >"$OUT/tests.log" 2>&1
tests_rc=$?
grep -E "Tests run:|Skipped|CUDA|FAIL" "$OUT/tests.log" | tail -20
echo "CUDA tests: rc=$tests_rc (124 = out of time)"

MODEL=fixtures/models/tiny-llama NAME=tiny-llama KEY=tokens
if [[ -f bench/target/bench-qwen3/model.onnx ]]; then
  MODEL=bench/target/bench-qwen3 NAME=bench-qwen3 KEY=tokens_qwen3
elif [[ -f bench/target/bench-llama/model.onnx ]]; then
  MODEL=bench/target/bench-llama NAME=bench-llama
fi
# The same model with prefscore's sampling head (bench/qwen3.sh builds bench-qwen3-head).
HEAD_ARGS=() HEAD_ONLY=""
HEAD="$MODEL-head"
if [[ -f "$HEAD/model.onnx" ]]; then
  HEAD_ARGS=(--head-model "$NAME=$HEAD") HEAD_ONLY=",ours_head,ours_head_n16"
fi
left=$(( 470 - ($(date +%s) - start) ))
if (( left < 60 )); then
  echo "gpu-check: only ${left} s left, benchmark skipped"; exit "$tests_rc"
fi
echo "== generation benchmark on GPU 0, $NAME (limit ${left} s)"
CP="$OUT/classpath.txt"
timeout 60 mvn -q -B -ntp -Pgpu -pl udf dependency:build-classpath -Dmdep.outputFile="$CP" >/dev/null 2>&1
timeout "$(( left - 60 ))" java -Xmx8g --add-modules=jdk.incubator.vector -Dai.djl.offline=true -DOPT_OUT_TRACKING=true \
  -Djava.io.tmpdir="$ROOT/bench/target/tmp" -Djna.tmpdir="$ROOT/bench/target/tmp" \
  -DDJL_CACHE_DIR="$ROOT/bench/target/djl-cache" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "udf/target/classes:udf/target/test-classes:$(cat "$CP")" \
  org.prefscore.bench.GenerationBenchmark --model "$NAME=$MODEL" --tokens-key "$NAME=$KEY" --gpu 0 \
  --prompts bench/prompts.json --threads 2 --n 4 --n-prefill 16 --new-tokens 32 --warmup 1 --repeats 2 \
  "${HEAD_ARGS[@]}" \
  --only "ours,bare_ort,ours_greedy,ours_lanes,bare_ort_loops,ours_n16_shared,bare_ort_n16$HEAD_ONLY" --json-out "$OUT/bench.json" \
  2>&1 | tee "$OUT/bench.log" | grep -v '^{"bench"'
bench_rc=${PIPESTATUS[0]}
echo "benchmark: rc=$bench_rc; total $(( $(date +%s) - start )) s; results in $OUT"
exit $(( tests_rc != 0 ? tests_rc : bench_rc ))
