package span

import (
	"fmt"
	"strconv"
)

// Validate reports what is wrong with a run's spans but can still be
// used, so nothing is silently counted: spans that end before they start
// (their duration is taken as 0), span ids used twice in a trace, and
// spans whose parent was not recorded (one summary line), and spans whose
// parent link NewRun cut because it closed a cycle. warn receives
// one message per problem, at most maxPerKind per kind then a count.
func Validate(r *Run, warn func(string)) {
	if warn == nil {
		return
	}
	const maxPerKind = 5
	negative, dups, orphans, cycles := 0, 0, 0, 0
	// NewRun found the repeated ids when the spans are its own, in order
	var seen map[spanKey]bool
	own := len(r.Spans) == len(r.spans)
	for i := 0; own && i < len(r.Spans); i++ {
		own = r.Spans[i] == &r.spans[i]
	}
	if !own {
		seen = make(map[spanKey]bool, len(r.Spans))
	}
	for _, s := range r.Spans {
		if s.EndUnixNano < s.StartUnixNano {
			negative++
			if negative <= maxPerKind {
				warn(fmt.Sprintf("span %s (trace %s, span %s) ends %s ms before it starts; its duration is taken as 0",
					strconv.Quote(s.Name), s.TraceID, s.SpanID, strconv.FormatFloat(float64(s.StartUnixNano-s.EndUnixNano)/1e6, 'f', -1, 64)))
			}
		}
		var dup bool
		if seen != nil {
			k := spanKey{s.TraceID, s.SpanID}
			dup = seen[k]
			seen[k] = true
		} else {
			dup, _ = r.isDup(s)
		}
		if dup {
			dups++
			if dups <= maxPerKind {
				warn(fmt.Sprintf("span id %s appears more than once in trace %s (span %s); every copy is counted", s.SpanID, s.TraceID, strconv.Quote(s.Name)))
			}
		}
		switch {
		case r.isCut(s):
			cycles++
			if cycles <= maxPerKind {
				warn(fmt.Sprintf("span %s (trace %s, span %s) names parent %s, which is itself or one of its descendants; the link is ignored and the span is taken as a root",
					strconv.Quote(s.Name), s.TraceID, s.SpanID, s.ParentSpanID))
			}
		case s.ParentSpanID != "" && r.Parent(s) == nil:
			orphans++
		}
	}
	if negative > maxPerKind {
		warn(fmt.Sprintf("%d more spans end before they start", negative-maxPerKind))
	}
	if dups > maxPerKind {
		warn(fmt.Sprintf("%d more duplicate span ids", dups-maxPerKind))
	}
	if cycles > maxPerKind {
		warn(fmt.Sprintf("%d more spans are their own ancestor (a parent cycle)", cycles-maxPerKind))
	}
	if orphans > 0 {
		warn(fmt.Sprintf("%d spans have a parent that was not recorded (an incomplete trace: the parent was not exported, or was exported after llmcheck stopped); their traces use the earliest span as root", orphans))
	}
}
