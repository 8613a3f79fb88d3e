#!/usr/bin/env bash
# GPU discovery script for Spark executors (spark.executor.resource.gpu.discoveryScript, and
# runtime.gpu.discovery-script for an executor resource profile): prints the NVIDIA GPUs this
# executor may use in the form Spark expects, e.g.
#
#   {"name": "gpu", "addresses": ["0","1"]}
#
# The addresses are nvidia-smi indices, the same as Spark's own example script
# (examples/src/main/scripts/getGpusResources.sh). It assumes the executor runs where the GPUs it
# sees are the ones it may use (a container with its GPUs, or one executor per node). prefscore
# turns the address a task gets into the CUDA device of its models (CUDA_VISIBLE_DEVICES, when
# set, is taken into account: see org.prefscore.spark.TaskGpus).
#
# Without nvidia-smi or a GPU it fails (exit 1), so an executor that was meant to have GPUs does not
# start silently without them. Copy it to the same path on every node (or ship it with --files) and
# make it executable.
set -euo pipefail

if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "getGpusResources.sh: nvidia-smi not found" >&2
  exit 1
fi
indices="$(nvidia-smi --query-gpu=index --format=csv,noheader)"
addresses=""
while IFS= read -r i; do
  i="${i//[[:space:]]/}"
  [ -z "$i" ] && continue
  addresses="${addresses:+$addresses,}\"$i\""
done <<< "$indices"
if [ -z "$addresses" ]; then
  echo "getGpusResources.sh: nvidia-smi lists no GPU" >&2
  exit 1
fi
echo "{\"name\": \"gpu\", \"addresses\": [$addresses]}"
