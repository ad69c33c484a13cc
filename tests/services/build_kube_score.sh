#!/usr/bin/env bash
# Build kube-score (a third-party Kubernetes manifest linter) at the version pinned in kube_score/go.mod into
# ${SHOPBOX_CACHE:-~/.cache/shopbox}/kube-score/<hash>/kube-score and print that path; <hash> covers go.mod, go.sum,
# this script and the Go version, so it rebuilds only when a pin changes. `--path` prints the path, builds nothing.
# Needs Go (/usr/local/go/bin is searched too) and the Go module proxy; a build takes a minute or two.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PATH="$PATH:/usr/local/go/bin"
module="$here/kube_score"
key="$(cat "$module/go.mod" "$module/go.sum" "${BASH_SOURCE[0]}" <(go version) | sha256sum | cut -c1-16)"
out="${SHOPBOX_CACHE:-$HOME/.cache/shopbox}/kube-score/$key"
if [[ ${1:-} == --path || -x $out/kube-score ]]; then
  echo "$out/kube-score"
  exit 0
fi
echo "building kube-score ($(sed -n 's/.*zegl\/kube-score \(v[^ ]*\).*/\1/p' "$module/go.mod")) into $out" >&2
mkdir -p "$out"
(cd "$module" && go build -trimpath -ldflags "-s -w" -o "$out/kube-score.tmp" github.com/zegl/kube-score/cmd/kube-score)
mv "$out/kube-score.tmp" "$out/kube-score"
echo "$out/kube-score"
