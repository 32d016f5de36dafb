#!/usr/bin/env bash
# The fetch measurement of docs/performance.md: N spans (default 1,000,000:
# N/4 traces of 4 spans, internal/benchdata) sent with llmcheck replay to a
# real Jaeger v2 (memory storage, this folder's tool module), then read back
# with llmcheck fetch into a trace file under /usr/bin/time -v: the fetch
# rate, llmcheck's peak RSS, and a check that the file holds exactly the
# spans Jaeger was sent (samespans.py).
#
#   tools/jaeger/fetchbench.sh            # N=1000000
#   N=20000 tools/jaeger/fetchbench.sh    # quick
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-1000000}
PAGE=${PAGE:-1000}
PARALLEL=${PARALLEL:-4}
tmp=$(mktemp -d)
jaeger=
trap '[ -n "$jaeger" ] && kill "$jaeger" 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/llmcheck" .
go build -modfile=tools/jaeger/go.mod -o "$tmp/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger
(cd bench && go run ./cmd/llmbench gen "$tmp" "$N" > /dev/null)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
q=$(port) qg=$(port) og=$(port) oh=$(port)
JAEGER_MAX_TRACES=$((N / 4 + 1000)) JAEGER_QUERY_PORT=$q JAEGER_QUERY_GRPC_PORT=$qg JAEGER_OTLP_GRPC_PORT=$og JAEGER_OTLP_HTTP_PORT=$oh \
  OTEL_SDK_DISABLED=true OTEL_TRACES_EXPORTER=none "$tmp/jaeger" --config internal/jaegertest/jaeger.yaml > "$tmp/jaeger.log" 2>&1 &
jaeger=$!
for _ in $(seq 300); do curl -fs "http://127.0.0.1:$q/api/v3/services" > /dev/null && python3 -c "import socket; socket.create_connection((\"127.0.0.1\", $oh))" 2>/dev/null && break; sleep 0.1; done
"$tmp/llmcheck" replay "$tmp/spans-$N.jsonl" --endpoint "http://127.0.0.1:$oh"
echo "jaeger RSS after ingest: $(ps -o rss= -p "$jaeger") KiB"
# benchdata's traces start at 2023-11-14T22:13:20Z, one a second.
/usr/bin/time -v "$tmp/llmcheck" fetch --from "jaeger=http://127.0.0.1:$q" \
  --start 2023-11-14T22:00:00Z --end 2023-12-31T00:00:00Z --page-size "$PAGE" --parallel "$PARALLEL" \
  --out "$tmp/fetched.jsonl" 2> "$tmp/fetch.log" || { cat "$tmp/fetch.log"; exit 1; }
grep -E 'llmcheck: fetched|Elapsed \(wall|Maximum resident|User time|System time' "$tmp/fetch.log"
ls -l "$tmp/fetched.jsonl" | awk '{print "trace file: " $5 " bytes"}'
python3 tools/jaeger/samespans.py "$tmp/spans-$N.jsonl" "$tmp/fetched.jsonl"
