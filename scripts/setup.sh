#!/usr/bin/env bash
# Creates .venv (once) and installs ganjax with the extras named in $1 (default: test), at the
# versions pinned in constraints.txt; with the tf extra, whose TensorFlow brings its own pins,
# at the newest versions pyproject.toml allows.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-test}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
pins=(-c constraints.txt)
if [[ ",${extras}," == *,tf,* ]]; then pins=(); fi
.venv/bin/python -m pip install -q "${pins[@]}" -e ".[${extras}]"
