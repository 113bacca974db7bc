#!/usr/bin/env bash
# Tests the hooks of .pre-commit-hooks.yaml through pre-commit itself: `pre-commit try-repo`
# builds this repository's committed HEAD with `cargo install` (its `language: rust`) and runs
# the hooks in a temporary git repository, once on a good rule pack (every hook passes) and once
# on a broken one (each hook fails, with the expected message).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/precommit-venv"

"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check pre-commit
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# try-repo builds the hooks' environment in a fresh store each time; a lasting target directory
# lets the second build reuse the first, and later runs reuse both.
export CARGO_TARGET_DIR="$target/precommit-build"
export PRE_COMMIT_HOME="$work/home"
export PRE_COMMIT_COLOR=never
# The commits of the temporary repositories (and of try-repo's shadow copy, when this
# repository has uncommitted changes) need an author on a machine with no git identity.
export GIT_AUTHOR_NAME=ci GIT_AUTHOR_EMAIL=ci@example.com
export GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.com

fail() {
  echo "pre-commit hooks: $1" >&2
  echo "--- output of pre-commit:" >&2
  cat "$2" >&2
  exit 1
}

# A repository of rules and deals: the shipped pack and example, committed.
repo() {
  local dir="$work/$1"
  mkdir -p "$dir"
  cp -r "$root/rules" "$root/examples" "$dir/"
  rm -f "$dir/examples/"*.rs
  git -C "$dir" init --quiet
  git -C "$dir" add .
  git -C "$dir" commit --quiet -m pack
  echo "$dir"
}

try_repo() {
  local dir="$1" log="$2"
  (cd "$dir" && "$venv/bin/pre-commit" try-repo "$root" --all-files > "$log" 2>&1)
}

good="$(repo good)"
# One more file, in the canonical layout.
printf 'entity Acme {\n  type: company\n}\n' > "$good/examples/acme.deals"
git -C "$good" add .
if ! try_repo "$good" "$work/good.log"; then
  fail "the hooks fail on a good pack" "$work/good.log"
fi
for hook in "dealrules fmt --check" "dealrules check" "dealrules test"; do
  grep -Eq "^$hook\.+Passed$" "$work/good.log" ||
    fail "\`$hook\` did not pass on a good pack" "$work/good.log"
done

broken="$(repo broken)"
# Valid but not in the canonical layout.
printf 'entity   Messy {type: company}\n' > "$broken/examples/messy.deals"
# Formatted, but lends to an entity nobody declared.
printf 'deal acme_loan {\n  kind:     loan\n  lender:   Messy\n  borrower: Nobody\n  amount:   5B USD\n}\n' \
  > "$broken/examples/loan.deals"
# A test that expects one finding too many.
sed -i 's/^  expect count supplier_funded_spv 1$/  expect count supplier_funded_spv 2/' \
  "$broken/rules/spv.rules"
git -C "$broken" add .
if try_repo "$broken" "$work/broken.log"; then
  fail "the hooks pass on a broken pack" "$work/broken.log"
fi
expect() {
  grep -Fq -- "$1" "$work/broken.log" || fail "expected \`$1\` in the output" "$work/broken.log"
}
for hook in "dealrules fmt --check" "dealrules check" "dealrules test"; do
  grep -Eq "^$hook\.+Failed$" "$work/broken.log" ||
    fail "\`$hook\` did not fail on a broken pack" "$work/broken.log"
done
expect "examples/messy.deals"
expect "1 file is not in the canonical layout; \`dealrules fmt\` rewrites it"
expect "× \`Nobody\` in field \`borrower\` of \`acme_loan\` is not a declared entity"
expect "╭─[examples/loan.deals:4:"
expect "FAILED  rules/spv.rules:22"
expect "- count supplier_funded_spv 2"
echo "pre-commit hooks: the good pack passes all three, the broken one fails each with its message"
