#!/usr/bin/env python3
"""samespans.py A B: exit 0 when two llmcheck trace files (OTLP JSON lines)
hold exactly the same spans: each span with its resource and scope, compared
as canonical JSON (sorted keys), as a multiset; prints the counts."""
import collections, hashlib, json, sys

def spans(path):
    c = collections.Counter()
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            for rs in json.loads(line).get("resourceSpans", []):
                res = json.dumps(rs.get("resource", {}), sort_keys=True)
                for ss in rs.get("scopeSpans", []):
                    scope = json.dumps(ss.get("scope", {}), sort_keys=True)
                    for s in ss.get("spans", []):
                        k = res + scope + json.dumps(s, sort_keys=True)
                        c[hashlib.sha1(k.encode()).digest()] += 1
    return c

a, b = spans(sys.argv[1]), spans(sys.argv[2])
print(f"{sys.argv[1]}: {sum(a.values())} spans; {sys.argv[2]}: {sum(b.values())} spans; "
      f"only in the first: {sum((a - b).values())}; only in the second: {sum((b - a).values())}")
sys.exit(0 if a == b else 1)
