#!/usr/bin/env bash
# Tests of the Python package: makes a virtual environment, installs maturin, pytest and pandas
# into it, lints and builds the extension (`maturin develop`), runs pytest on python/tests/
# against the `dealrules` binary, and runs the example notebook so it cannot rot.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/python-venv"

"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.9,<2" pytest pandas

# The package is its own cargo workspace: lint it as the root crate is linted.
cd "$root/python"
cargo fmt -- --check
CARGO_TARGET_DIR="$target/python" cargo clippy --locked --all-targets -- -D warnings
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" CARGO_TARGET_DIR="$target/python" \
  maturin develop --locked --quiet

# The command whose JSON output `Report.to_json` must equal.
(cd "$root" && cargo build --locked --quiet --bin dealrules)
export DEALRULES_BIN="$target/debug/dealrules"

"$venv/bin/python" -m pytest -q "$root/python/tests"
DEALRULES_ROOT="$root" "$venv/bin/python" "$root/python/examples/notebook.py" > /dev/null
echo "python example notebook: ok"
