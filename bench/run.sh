#!/usr/bin/env bash
# Reproduces the tables of docs/performance.md in one command:
#
#   bench/run.sh                 # everything (about 15 minutes on 2 cores)
#   bench/run.sh -no-ingest      # skip the OTLP ingest comparison
#   bench/run.sh -reps 5 -spans 100000
#
# It builds llmcheck (from the repository root) and the llmbench tool (this
# separate module: it holds the OpenTelemetry Collector dependencies the
# main module must not), writes the data sets deterministically under
# $LLMBENCH_DIR (default /tmp/llmbench; nothing large is checked in), runs
# every comparison side by side (each measured phase in its own process,
# rows interleaved, medians) and prints Markdown tables on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${LLMBENCH_DIR:-${TMPDIR:-/tmp}/llmbench}"
mkdir -p "$dir/bin"
(cd "$here/.." && go build -o "$dir/bin/llmcheck" .)
(cd "$here" && go build -o "$dir/bin/llmbench" ./cmd/llmbench)
echo "# llmcheck performance, $(date -u +%Y-%m-%d), $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)" 
echo
echo "nproc: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); $(go version)"
echo
exec "$dir/bin/llmbench" all -dir "$dir" -llmcheck "$dir/bin/llmcheck" "$@"
