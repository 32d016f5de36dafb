package span

import (
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
	raw, ok := topLevelMember(meta, "ls_provider")
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return ""
	}
	p := jscan{s: raw}
	str, ok := p.str()
	if !ok {
		return ""
	}
	return str
}

// topLevelMember returns the raw JSON text of member key of the JSON
// object obj (the last one, as encoding/json would), scanning without
// reflection: these attributes are on every LangChain span. ok is false
// when obj is not a well-formed object or has no such member.
func topLevelMember(obj, key string) (raw string, ok bool) {
	p := jscan{s: obj}
	p.ws()
	if !p.eat('{') {
		return "", false
	}
	p.ws()
	if p.eat('}') {
		return "", false
	}
	found := false
	for {
		p.ws()
		k, kok := p.str()
		if !kok {
			return "", false
		}
		p.ws()
		if !p.eat(':') {
			return "", false
		}
		p.ws()
		start := p.i
		if !p.skip(0) {
			return "", false
		}
		if k == key {
			raw, found = p.s[start:p.i], true
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		if !p.eat('}') || p.end() != nil {
			return "", false
		}
		return raw, found
	}
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
	raw, ok := topLevelMember(params, "stream")
	return ok && raw == "true"
}
