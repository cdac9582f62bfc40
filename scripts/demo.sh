#!/usr/bin/env bash
# Set-up and the demo: DCGAN on Fashion-MNIST, written to runs/demo (samples, metrics, checkpoints).
# Extra arguments go to `ganjax train` (e.g. --config.total_steps=2000).
set -euo pipefail
cd "$(dirname "$0")/.."
data_dir="${GANJAX_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}"
source_flags=()
if [ ! -e "$data_dir/train-images-idx3-ubyte.gz" ] && [ ! -e "$data_dir/train-images-idx3-ubyte" ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist
  elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then
    sudo apt-get update -qq && sudo apt-get install -y -qq dataset-fashion-mnist
  else
    echo "Fashion-MNIST IDX files not found and apt is unavailable: using TFDS (needs internet once)."
    source_flags=(--config.data.source=tfds --config.data.download=true)
  fi
fi
if [ ${#source_flags[@]} -gt 0 ]; then bash scripts/setup.sh "test,tf"; else bash scripts/setup.sh test; fi
.venv/bin/ganjax train --config experiments/dcgan_fashion_mnist.py --workdir runs/demo \
  "${source_flags[@]}" "$@"
echo "Samples: runs/demo/samples/  metrics: runs/demo/metrics.jsonl  TensorBoard: runs/demo/tb"
