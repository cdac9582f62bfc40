#!/usr/bin/env bash
# Set-up and the test suite. pytest's own exit code is kept: 5 (no test ran) fails too.
# Two workers (pytest-xdist), each taking whole files: much of the suite is XLA compiling on
# one thread, so on 2 cores the suite ends sooner than in one process. Arguments after the
# script's go to pytest and win (`bash scripts/test.sh -n 0` runs in one process).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/python scripts/check_shape.py  # code shape: function/module sizes, import cycles
exec .venv/bin/python -m pytest -q -n 2 --dist loadfile "$@"
