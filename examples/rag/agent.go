package rag

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// AgentName is the gen_ai.agent.name of the support agent.
const AgentName = "support-agent"

// The agent's tools, in the order it calls them.
const (
	ToolSearchDocs = "search_docs"
	ToolAnswer     = "answer"
)

// followUp reports whether message refers back to the conversation with
// a pronoun ("When will it arrive?"): the agent then searches with the
// previous query plus the message.
func followUp(message string) bool {
	for _, w := range strings.FieldsFunc(strings.ToLower(message), func(r rune) bool { return !(r >= 'a' && r <= 'z') }) {
		switch w {
		case "it", "that", "this", "them", "they", "those":
			return true
		}
	}
	return false
}

// Agent is a support agent over the same knowledge base and fake models as
// App, for multi-turn conversations. Each turn calls two tools in order:
// search_docs (embed the query, retrieve articles) and answer (the chat
// model writes the reply from the articles and the conversation so far).
type Agent struct {
	app *App
}

// NewAgent returns an Agent; cfg is as for New.
func NewAgent(cfg Config) *Agent {
	return &Agent{app: New(cfg)}
}

// Conversation is one conversation with the agent: its id (recorded as
// gen_ai.conversation.id) and its turns so far. Create it with an ID and
// use it from one goroutine.
type Conversation struct {
	ID    string
	turns []turn
}

type turn struct {
	message, query, answer string
}

// Turn answers message, the customer's next message in conv, under one
// root span "invoke_agent support-agent" (gen_ai.operation.name
// invoke_agent, gen_ai.agent.name, gen_ai.conversation.id) with two
// children, "execute_tool search_docs" (holding the embeddings and
// retrieval spans) and "execute_tool answer" (holding the chat span), each
// with gen_ai.tool.name, gen_ai.tool.type, gen_ai.tool.call.id and
// gen_ai.tool.call.arguments (JSON). A short follow-up ("When will it
// arrive?") is searched together with the previous query; the chat prompt
// carries the earlier turns, so later turns cost more input tokens.
func (ag *Agent) Turn(ctx context.Context, conv *Conversation, message string) (res *Result, err error) {
	a := ag.app
	tr := a.tracer()
	n := len(conv.turns) + 1
	ctx, root := tr.Start(ctx, "invoke_agent "+AgentName, trace.WithAttributes(
		attribute.String("gen_ai.operation.name", "invoke_agent"),
		attribute.String("gen_ai.agent.name", AgentName),
		attribute.String("gen_ai.conversation.id", conv.ID),
		attribute.String("gen_ai.provider.name", Provider),
	))
	defer func() {
		if err != nil {
			root.RecordError(err)
			root.SetStatus(codes.Error, err.Error())
		}
		root.End()
	}()
	if strings.TrimSpace(message) == "" {
		return nil, ErrEmptyQuestion
	}

	query := message
	if len(conv.turns) > 0 && followUp(message) {
		query = conv.turns[len(conv.turns)-1].query + " " + message
	}
	lat := newLatencies(query, a.cfg.ChatModel)

	var docs []Retrieved
	var embTokens int64
	err = ag.tool(ctx, tr, conv, n, ToolSearchDocs, map[string]any{"query": query}, func(ctx context.Context) error {
		vec, tokens, err := a.embed(ctx, tr, query, lat)
		if err != nil {
			return err
		}
		embTokens = tokens
		docs, err = a.retrieve(ctx, tr, query, vec, nil, lat)
		return err
	})
	if err != nil {
		return nil, err
	}

	var history strings.Builder
	for _, t := range conv.turns {
		history.WriteString("Customer: " + t.message + "\nAssistant: " + t.answer + "\n")
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	err = ag.tool(ctx, tr, conv, n, ToolAnswer, map[string]any{"question": message, "document_ids": ids}, func(ctx context.Context) error {
		res, err = a.chat(ctx, tr, message, conv.ID, history.String(), docs, lat)
		return err
	})
	if err != nil {
		return nil, err
	}
	res.Usage.EmbeddingTokens = embTokens
	conv.turns = append(conv.turns, turn{message: message, query: query, answer: res.Answer})
	return res, nil
}

// tool runs f under an execute_tool span for the n-th turn of conv.
func (ag *Agent) tool(ctx context.Context, tr trace.Tracer, conv *Conversation, n int, name string, args map[string]any, f func(context.Context) error) error {
	argJSON, err := json.Marshal(args)
	if err != nil {
		return err
	}
	callID := "call_" + strconv.FormatUint(hash64(conv.ID+"\x00"+strconv.Itoa(n)+"\x00"+name), 36)
	ctx, sp := tr.Start(ctx, "execute_tool "+name, trace.WithAttributes(
		attribute.String("gen_ai.operation.name", "execute_tool"),
		attribute.String("gen_ai.tool.name", name),
		attribute.String("gen_ai.tool.type", "function"),
		attribute.String("gen_ai.tool.call.id", callID),
		attribute.String("gen_ai.tool.call.arguments", string(argJSON)),
	))
	defer sp.End()
	if err := f(ctx); err != nil {
		return fail(sp, err)
	}
	return nil
}
