#!/bin/sh
# W5 of docs/performance.md: the whole shipped rule pack (rules/) end to end through the
# command line on generated deals, with wall time and peak memory (resident set size).
#
#   benches/w5.sh [DEALS] [SEED]      default: 1000000 deals, seed 1
#
# Also measures loading alone (no rules) for the peak memory per deal of W1. Needs GNU time
# (/usr/bin/time). Run from the repository root; generated files go to target/bench-data/.
set -eu
deals="${1:-1000000}"
seed="${2:-1}"
dir="target/bench-data"
file="$dir/deals-$deals-$seed.deals"
mkdir -p "$dir"
cargo build --release --quiet --bin dealrules --example generate_deals
if [ ! -f "$file" ]; then
  target/release/examples/generate_deals --deals "$deals" --seed "$seed" --out "$file"
fi
echo "file: $file ($(wc -c < "$file") bytes)"
echo "load only (no rules):"
/usr/bin/time -f "  %e s wall, %M KB peak RSS" target/release/dealrules run "$file" > /dev/null
echo "whole pack (rules/), text report:"
/usr/bin/time -f "  %e s wall, %M KB peak RSS" target/release/dealrules run rules/ "$file" \
  > "$dir/w5-report-$deals.txt" 2> "$dir/w5-stderr-$deals.txt" || true
tail -n 1 "$dir/w5-report-$deals.txt"
tail -n 1 "$dir/w5-stderr-$deals.txt"
