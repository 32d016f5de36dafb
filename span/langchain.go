package span

import (
	"encoding/json"
	"strings"
)

// LangChain.js with OpenInference (@arizeai/openinference-instrumentation-langchain).
//
// Recorded from the real library (4.1.1, @langchain/core 1.4.0,
// interop/langchain): an LLM span names no llm.provider or llm.system; the
// provider is only in the run's LangSmith metadata, the span attribute
// "metadata" (a JSON object: {"ls_provider":"openai","ls_model_name":…}).
// A retriever span lists each document's content and its metadata JSON
// (retrieval.documents.N.document.metadata), and no document.id: the id is
// the metadata's "id" member.

// lsProvider returns the top-level "ls_provider" of an OpenInference span's
// metadata JSON, or "".
func lsProvider(s *Span) string {
	v, ok := s.Attrs.Get("metadata")
	if !ok {
		return ""
	}
	meta, ok := v.(string)
	if !ok || !strings.Contains(meta, `"ls_provider"`) {
		return ""
	}
	var m struct {
		LSProvider json.RawMessage `json:"ls_provider"`
	}
	if json.Unmarshal([]byte(meta), &m) != nil {
		return ""
	}
	var p string
	if len(m.LSProvider) == 0 || m.LSProvider[0] != '"' || json.Unmarshal(m.LSProvider, &p) != nil {
		return ""
	}
	return p
}

// metadataID returns the top-level "id" of a document's metadata JSON
// object (a string or a number), or "" when there is none.
func metadataID(a attrVal) string {
	meta, ok := a.v.(string)
	if !ok || !strings.Contains(meta, `"id"`) {
		return ""
	}
	t := strings.TrimSpace(meta)
	if len(t) == 0 || t[0] != '{' {
		return ""
	}
	// docsFromJSON reads the top-level id of each object in a list and
	// skips every other member; exactly one object must come back.
	docs, err := docsFromJSON("[" + t + "]")
	if err != nil || len(docs) != 1 {
		return ""
	}
	return docs[0].ID
}

// oiStreaming reports whether an OpenInference LLM span's
// llm.invocation_parameters JSON asks for a stream (a top-level
// "stream": true, as LangChain.js records a streamed ChatOpenAI call).
func oiStreaming(s *Span) bool {
	v, ok := s.Attrs.Get("llm.invocation_parameters")
	if !ok {
		return false
	}
	params, ok := v.(string)
	if !ok || !strings.Contains(params, `"stream"`) {
		return false
	}
	var p struct {
		Stream json.RawMessage `json:"stream"`
	}
	return json.Unmarshal([]byte(params), &p) == nil && string(p.Stream) == "true"
}
