#!/usr/bin/env bash
# Build Jaeger all-in-one (v2, on the OpenTelemetry collector) at JAEGER_VERSION of versions.env from its Go module
# into ${SHOPBOX_CACHE:-~/.cache/shopbox}/jaeger/<hash>/jaeger and print that path; <hash> covers the version, this
# script and the Go version. `go install module@version` refuses Jaeger (its go.mod has replace directives), so the
# module's source, as the Go module proxy serves it, is built as the main module. `--path` prints the path only.
# Needs Go (/usr/local/go/bin is searched too) and the Go module proxy. Heavy: see tests/README.md for the timing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PATH="$PATH:/usr/local/go/bin" GOTOOLCHAIN=local
version="$(sed -n 's/^JAEGER_VERSION=//p' "$here/../../versions.env")"
key="$(cat <(echo "$version") "${BASH_SOURCE[0]}" <(go version) | sha256sum | cut -c1-16)"
out="${SHOPBOX_CACHE:-$HOME/.cache/shopbox}/jaeger/$key"
if [[ ${1:-} == --path || -x $out/jaeger ]]; then
  echo "$out/jaeger"
  exit 0
fi
echo "building jaeger v$version into $out" >&2
source_dir="$(go mod download -json "github.com/jaegertracing/jaeger@v$version" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$source_dir" "$work/jaeger"
chmod -R u+w "$work/jaeger"
mkdir -p "$out"
(cd "$work/jaeger" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags "-s -w" \
  -o "$out/jaeger.tmp" ./cmd/jaeger)
mv "$out/jaeger.tmp" "$out/jaeger"
echo "$out/jaeger"
