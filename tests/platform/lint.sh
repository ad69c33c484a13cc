#!/usr/bin/env bash
# Lint: ruff on all Python, shellcheck on every shell script (found by extension or shebang).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
venv="${SHOPBOX_VENV:-.venv}"

"$venv/bin/ruff" check .

mapfile -t scripts < <(
  find . \( -path ./.git -o -path ./.venv -o -name node_modules -o -path ./build \) -prune -o -type f -print \
    | while read -r f; do
        if [[ $f == *.sh ]] || head -c 64 "$f" 2>/dev/null | grep -qE '^#!.*\b(ba|da)?sh\b'; then echo "$f"; fi
      done | sort
)
shellcheck "${scripts[@]}"
echo "lint: ruff clean; shellcheck clean on ${#scripts[@]} scripts"
