package span

import (
	"encoding/json"
	"strings"
)

// LlamaIndex.TS with OpenLLMetry (@traceloop/instrumentation-llamaindex).
//
// Recorded from the real library (0.27.0, llamaindex 0.12.1,
// interop/llamaindex): a retriever's retrieve() is a span named
// "<class in snake_case>.retrieve" (vector_index_retriever.retrieve) with
// traceloop.span.kind "task", the call's arguments in
// traceloop.entity.input ({"args":[],"kwargs":{"query":"…"}}) and the
// result in traceloop.entity.output: a JSON array of
// {"node": {"id_": …, "relationships": {"SOURCE": {"nodeId": …}}, …},
// "score": …} in rank order.
//
// Such a span is a retrieval. A node's id_ is the chunk's id, a random
// UUID unless the application set it; the document a chunk was split from
// is relationships.SOURCE.nodeId (the Document's id_). The document id is
// that source id when present, else the node's id_, so ground truth can
// name the documents an application loads.

// tlOutput is traceloop.entity.output, which the normaliser does not
// remember by key.
const tlOutput = "traceloop.entity.output"

// isLlamaIndexRetrieve reports whether s is a LlamaIndex.TS retriever span.
func isLlamaIndexRetrieve(s *Span) bool {
	return s.Operation == OpTask && strings.HasSuffix(s.Name, ".retrieve") && len(s.Name) > len(".retrieve")
}

// llamaIndexRetrieve makes a LlamaIndex.TS retriever span a retrieval and
// reads its documents.
func (n *normaliser) llamaIndexRetrieve(s *Span) {
	s.Operation = OpRetrieval
	v, ok := s.Attrs.Get(tlOutput)
	if !ok {
		return
	}
	str, ok := v.(string)
	if !ok {
		n.warnf(s, tlOutput, attrVal{v: v}, "a JSON array of {node, score}")
		return
	}
	var nodes []struct {
		Node *struct {
			ID            json.RawMessage `json:"id_"`
			Relationships struct {
				Source json.RawMessage `json:"SOURCE"`
			} `json:"relationships"`
		} `json:"node"`
		Score json.RawMessage `json:"score"`
	}
	if err := json.Unmarshal([]byte(str), &nodes); err != nil {
		n.warnf(s, tlOutput, attrVal{v: v}, "a JSON array of {node, score}")
		return
	}
	docs := make([]Document, 0, len(nodes))
	for _, nd := range nodes {
		d := Document{Rank: len(docs) + 1}
		if nd.Node != nil {
			var src struct {
				NodeID json.RawMessage `json:"nodeId"`
			}
			if len(nd.Node.Relationships.Source) > 0 && nd.Node.Relationships.Source[0] == '{' &&
				json.Unmarshal(nd.Node.Relationships.Source, &src) == nil {
				d.ID = jsonID(src.NodeID)
			}
			if d.ID == "" {
				d.ID = jsonID(nd.Node.ID)
			}
		}
		if len(nd.Score) > 0 {
			var f float64
			if json.Unmarshal(nd.Score, &f) == nil {
				d.Score, d.HasScore = f, true
			}
		}
		docs = append(docs, d)
	}
	s.Documents = docs
}

// jsonID reads an id: a JSON string or number; "" otherwise.
func jsonID(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var p jscan
	p.s = string(raw)
	if c := p.peek(); c != '"' && c != '-' && (c < '0' || c > '9') {
		return ""
	}
	id, ok := p.id()
	if !ok {
		return ""
	}
	return id
}
