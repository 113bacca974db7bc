#!/bin/sh
# The DuckDB baseline of W2 and W3 (docs/performance.md), without building DuckDB from source:
# fetches DuckDB 1.5.6's prebuilt `libduckdb.so` (linux-x64, from the npm registry's package
# @duckdb/node-bindings-linux-x64, which ships the C library beside its Node.js addon) into
# target/duckdb/, then runs the workloads with the feature `bench-duckdb` linked against it.
#
#   benches/duckdb.sh [CRITERION FILTER]     default: 'w2_vendor_financing|w3_commitments'
#
# Needs npm (which reaches the npm registry) and tar; runs from any directory. The library
# (70 MB) is kept in target/duckdb/ for the next run. DEALRULES_BENCH_SIZES picks the sizes, as
# for `cargo bench`. The crate `duckdb` 1.10506 in Cargo.toml is the Rust API of this release.
set -eu
cd "$(dirname "$0")/.."
command -v npm > /dev/null || { echo "benches/duckdb.sh needs npm to fetch DuckDB's library" >&2; exit 2; }
filter="${1:-w2_vendor_financing|w3_commitments}"
dir="$(pwd)/target/duckdb"
package="@duckdb/node-bindings-linux-x64@1.5.6-r.1"
if [ ! -f "$dir/libduckdb.so" ]; then
  mkdir -p "$dir"
  tarball="$(cd "$dir" && npm pack --silent "$package")"
  tar -xzf "$dir/$tarball" -C "$dir" --strip-components=1 package/libduckdb.so
  rm -f "$dir/$tarball"
fi
export DUCKDB_LIB_DIR="$dir"
export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cargo bench --features bench-duckdb --bench workloads -- "$filter"
