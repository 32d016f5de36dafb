package assert

// StoreResult is what `llmcheck run --collect-from` added to the run from
// a trace store: the spans of the deployed services that joined the run's
// traces, and the traces that were still incomplete when the wait ended.
type StoreResult struct {
	From   string `json:"from"`   // the store, KIND=URL
	Spans  int    `json:"spans"`  // spans added from the store
	Traces int    `json:"traces"` // traces asked for (every trace of the local spans)
	// Incomplete are the traces whose span count in the store was still
	// changing (or could not be read) at --collect-timeout: their spans
	// so far are in the run, more may be missing.
	Incomplete []IncompleteTrace `json:"incomplete,omitempty"`
}

// IncompleteTrace names a trace that was not complete in the store.
type IncompleteTrace struct {
	TraceID string `json:"trace_id"`
	Reason  string `json:"reason"`
}
