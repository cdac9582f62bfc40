#!/usr/bin/env bash
# Set-up and the test suite. pytest's own exit code is kept: 5 (no test ran) fails too.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
exec .venv/bin/python -m pytest -q "$@"
