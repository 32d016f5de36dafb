package rag_test

import (
	"context"
	"encoding/json"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/llmcheck/llmcheck/examples/rag"
	"github.com/llmcheck/llmcheck/span"
)

// conversations are the multi-turn conversations the suite has with the
// support agent; TestConversations exports them (10 traces, one per turn).
var conversations = []struct {
	id    string
	turns []struct {
		msg     string
		query   string // the search_docs query: the message, or with the previous query for a follow-up
		wantTop string
	}
}{
	{"conv-refund", []struct{ msg, query, wantTop string }{
		{"How long do I have to request a refund?", "", "kb-refunds"},
		{"When will it arrive?", "How long do I have to request a refund? When will it arrive?", "kb-refunds"},
		{"Are annual subscriptions refunded?", "", "kb-refunds"},
	}},
	{"conv-sso", []struct{ msg, query, wantTop string }{
		{"Do you support SAML single sign-on?", "", "kb-sso"},
		{"Which plans include it?", "Do you support SAML single sign-on? Which plans include it?", "kb-sso"},
		{"How do I set it up?", "Do you support SAML single sign-on? Which plans include it? How do I set it up?", "kb-sso"},
	}},
	{"conv-limits", []struct{ msg, query, wantTop string }{
		{"How many API requests per minute are allowed?", "", "kb-rate-limits"},
		{"What happens above that?", "How many API requests per minute are allowed? What happens above that?", "kb-rate-limits"},
	}},
	{"conv-2fa", []struct{ msg, query, wantTop string }{
		{"I lost my phone, how do I sign in?", "", "kb-two-factor"},
		{"How do I turn two-factor authentication back on?", "", "kb-two-factor"},
	}},
}

// TestConversations talks to the agent through the global providers, so
// `llmcheck run` records these turns and their evaluations.
func TestConversations(t *testing.T) {
	agent := rag.NewAgent(rag.Config{})
	var judge rag.Judge
	turns := 0
	for _, c := range conversations {
		t.Run(c.id, func(t *testing.T) {
			conv := &rag.Conversation{ID: c.id}
			var lastInput int64
			for _, turn := range c.turns {
				res, err := agent.Turn(context.Background(), conv, turn.msg)
				require.NoError(t, err, turn.msg)
				turns++
				require.Len(t, res.Documents, rag.DefaultTopK)
				assert.Equal(t, turn.wantTop, res.Documents[0].ID, turn.msg)
				assert.Greater(t, res.Usage.InputTokens, lastInput, "the prompt carries the conversation so far")
				lastInput = res.Usage.InputTokens
				ev := judge.Evaluate(context.Background(), res)
				assert.Equal(t, rag.LabelFaithful, ev.Label, "%s: %s", turn.msg, ev.Explanation)
			}
		})
	}
	assert.Equal(t, 10, turns)
}

// What one turn records and what llmcheck reads from it: the trajectory
// search_docs → answer under invoke_agent, with agent, tool, call and
// conversation identity.
func TestAgentSpans(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	agent := rag.NewAgent(agentConfig(t, exp))
	conv := &rag.Conversation{ID: "conv-test"}
	c := conversations[0]
	var results []*rag.Result
	for _, turn := range c.turns[:2] {
		res, err := agent.Turn(context.Background(), conv, turn.msg)
		require.NoError(t, err)
		results = append(results, res)
	}

	stubs := exp.GetSpans()
	require.Len(t, stubs, 2*6)
	run := span.NewRun(span.FromTracesWarn(nil, toTraces(stubs), func(w string) { t.Error(w) }))
	require.Len(t, run.Traces, 2)
	for i, tr := range run.Traces {
		turn := c.turns[i]
		root := tr.Root
		assert.Equal(t, "invoke_agent support-agent", root.Name)
		assert.Equal(t, span.OpInvokeAgent, root.Operation)
		assert.Equal(t, rag.AgentName, root.Agent)
		assert.Equal(t, "conv-test", root.Conversation)

		// Children by parent, in start order.
		children := map[string][]*span.Span{}
		for _, s := range tr.Spans {
			children[s.ParentSpanID] = append(children[s.ParentSpanID], s)
		}
		names := func(parent string) []string {
			kids := children[parent]
			sort.SliceStable(kids, func(a, b int) bool { return kids[a].StartUnixNano < kids[b].StartUnixNano })
			var out []string
			for _, s := range kids {
				out = append(out, s.Name)
			}
			return out
		}
		assert.Equal(t, []string{"execute_tool search_docs", "execute_tool answer"}, names(root.SpanID))
		search, answer := children[root.SpanID][0], children[root.SpanID][1]
		assert.LessOrEqual(t, search.EndUnixNano, answer.StartUnixNano, "search_docs returns before answer is called")
		assert.Equal(t, []string{"embeddings text-embedding-3-small", "retrieval acme-help"}, names(search.SpanID))
		assert.Equal(t, []string{"chat gpt-4o-mini"}, names(answer.SpanID))

		for _, tool := range []*span.Span{search, answer} {
			assert.Equal(t, span.OpExecuteTool, tool.Operation)
			assert.Equal(t, "function", tool.Attrs.Value("gen_ai.tool.type"))
			assert.Regexp(t, `^call_[0-9a-z]+$`, tool.ToolCallID)
		}
		assert.Equal(t, rag.ToolSearchDocs, search.Tool)
		assert.Equal(t, rag.ToolAnswer, answer.Tool)
		assert.NotEqual(t, search.ToolCallID, answer.ToolCallID)

		query := turn.query
		if query == "" {
			query = turn.msg
		}
		var searchArgs struct{ Query string }
		require.NoError(t, json.Unmarshal([]byte(search.Attrs.Value("gen_ai.tool.call.arguments").(string)), &searchArgs))
		assert.Equal(t, query, searchArgs.Query)
		var answerArgs struct {
			Question    string
			DocumentIDs []string `json:"document_ids"`
		}
		require.NoError(t, json.Unmarshal([]byte(answer.Attrs.Value("gen_ai.tool.call.arguments").(string)), &answerArgs))
		assert.Equal(t, turn.msg, answerArgs.Question)
		require.Len(t, answerArgs.DocumentIDs, rag.DefaultTopK)
		assert.Equal(t, results[i].Documents[0].ID, answerArgs.DocumentIDs[0])

		chat := children[answer.SpanID][0]
		assert.Equal(t, span.OpChat, chat.Operation)
		assert.Equal(t, "conv-test", chat.Conversation)
		assert.Equal(t, results[i].Usage.InputTokens, chat.Tokens.Input)
		assert.Equal(t, results[i].ChatSpan.SpanID().String(), chat.SpanID)
		retrieval := children[search.SpanID][1]
		assert.Equal(t, query, retrieval.Query)
		assert.Nil(t, retrieval.Attrs.Value("llmcheck.relevant_ids"), "no ground truth for conversation turns")
	}
	assert.NotEqual(t, run.Traces[0].Root.TraceID, run.Traces[1].Root.TraceID, "one trace per turn")
}

func TestAgentErrors(t *testing.T) {
	t.Run("empty message", func(t *testing.T) {
		exp := tracetest.NewInMemoryExporter()
		agent := rag.NewAgent(agentConfig(t, exp))
		_, err := agent.Turn(context.Background(), &rag.Conversation{ID: "c"}, " ")
		require.ErrorIs(t, err, rag.ErrEmptyQuestion)
		stubs := exp.GetSpans()
		require.Len(t, stubs, 1)
		assert.Equal(t, codes.Error, stubs[0].Status.Code)
	})
	t.Run("cancelled", func(t *testing.T) {
		exp := tracetest.NewInMemoryExporter()
		agent := rag.NewAgent(agentConfig(t, exp))
		conv := &rag.Conversation{ID: "c"}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := agent.Turn(ctx, conv, "Is shipping free?")
		require.ErrorIs(t, err, context.Canceled)
		stubs := exp.GetSpans()
		require.Len(t, stubs, 3) // the embedding, the search_docs call, the root
		for _, s := range stubs {
			assert.Equal(t, codes.Error, s.Status.Code, s.Name)
		}
		// A failed turn is not part of the conversation: the next message
		// is no follow-up of it.
		res, err := agent.Turn(context.Background(), conv, "Is shipping free?")
		require.NoError(t, err)
		assert.Equal(t, "kb-shipping", res.Documents[0].ID)
	})
}

// agentConfig is a Config whose spans go to exp (not to the global
// provider) and that does not sleep.
func agentConfig(t *testing.T, exp *tracetest.InMemoryExporter) rag.Config {
	t.Helper()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return rag.Config{
		TracerProvider: tp,
		Sleep:          func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	}
}
