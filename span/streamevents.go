package span

// Time to first token from span events, for the conventions that record
// the first streamed chunk as an event rather than an attribute:
//
//   - OpenInference: one "First Token Stream Event" (no attributes) when the
//     first chunk arrives (openinference-instrumentation-openai and
//     -langchain for Python; no JavaScript instrumentation emits it as of
//     @arizeai/openinference-instrumentation-langchain 4.1.1);
//   - OpenLLMetry: an event per streamed chunk, "llm.content.completion.chunk"
//     (opentelemetry-instrumentation-openai for Python; newer releases'
//     semantic conventions spell it "gen_ai.completion.chunk"); the first
//     is the first token. @traceloop/instrumentation-langchain and
//     -llamaindex 0.27.0 emit none.
//
// TTFT is the earliest such event's time minus the span's start. An event
// without a time, or before the start, gives nothing.

// streamEventTTFT sets s.TTFTMS from the span's stream events, unless the
// span already has one.
func streamEventTTFT(s *Span) {
	if s.HasTTFT || len(s.Events) == 0 {
		return
	}
	var first uint64
	for i := range s.Events {
		e := &s.Events[i]
		switch e.Name {
		case "First Token Stream Event", "llm.content.completion.chunk", "gen_ai.completion.chunk":
		default:
			continue
		}
		if e.TimeUnixNano == 0 || e.TimeUnixNano < s.StartUnixNano {
			continue
		}
		if first == 0 || e.TimeUnixNano < first {
			first = e.TimeUnixNano
		}
	}
	if first == 0 {
		return
	}
	s.TTFTMS, s.HasTTFT = float64(first-s.StartUnixNano)/1e6, true
	s.Streaming = true
}
