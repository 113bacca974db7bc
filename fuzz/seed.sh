#!/bin/sh
# Seeds the fuzz corpora from the shipped rule pack, the examples and the test fixtures.
# Run from the repository root: fuzz/seed.sh
set -eu
cd "$(dirname "$0")/.."
for target in parse check eval; do
  mkdir -p "fuzz/corpus/$target"
done
find rules examples tests/fixtures fuzz/fixed -type f \( -name '*.rules' -o -name '*.deals' \) |
  while read -r f; do
    name=$(echo "$f" | tr '/' '_')
    cp "$f" "fuzz/corpus/parse/$name"
    case "$f" in
      *.rules) cp "$f" "fuzz/corpus/check/$name" ;;
      *.deals) cp "$f" "fuzz/corpus/eval/$name" ;;
    esac
  done
