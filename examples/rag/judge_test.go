package rag_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"

	"github.com/llmcheck/llmcheck/examples/rag"
)

func TestFaithfulness(t *testing.T) {
	pricing := []rag.Retrieved{{ID: "kb-pricing", Title: "Plans and pricing", Score: 0.5}}
	cases := []struct {
		name    string
		answer  string
		docs    []rag.Retrieved
		score   float64
		label   string
		explain string
	}{
		{"supported", `According to "Plans and pricing": The Team plan costs 25 dollars per user per month.`, pricing,
			1, rag.LabelFaithful, "1 of 1 claims supported by the 1 retrieved articles"},
		{"one of two claims made up", `The Starter plan costs 10 dollars per month. Most customers tell us it only takes a minute.`, pricing,
			0.5, rag.LabelUnfaithful, `1 of 2 claims supported by the 1 retrieved articles; unsupported: "Most customers tell us it only takes a minute." (not in the articles: most, customer, tell, us, only, take, minute)`},
		{"nothing supported", "Refunds arrive within 5 business days.", pricing,
			0, rag.LabelUnfaithful, `0 of 1 claims supported by the 1 retrieved articles; unsupported: "Refunds arrive within 5 business days." (not in the articles: refund, arrive, within, 5, business)`},
		{"the same claim against the right article", "Refunds are issued within 5 business days.", []rag.Retrieved{{ID: "kb-refunds"}},
			1, rag.LabelFaithful, "1 of 1 claims supported by the 1 retrieved articles"},
		{"no articles", "The Team plan costs 25 dollars.", nil,
			0, rag.LabelUnfaithful, `0 of 1 claims supported by the 0 retrieved articles; unsupported: "The Team plan costs 25 dollars." (not in the articles: team, plan, cost, 25, dollar)`},
		{"a question is no claim", "I do not know; shall I open a ticket?", pricing,
			1, rag.LabelFaithful, "the answer makes no claim to check"},
		{"empty", "", pricing, 1, rag.LabelFaithful, "the answer makes no claim to check"},
		{"4 of 5 is the threshold", "Team plan. Starter plan. Enterprise pricing. Free trial. Purple elephants.", pricing,
			0.8, rag.LabelFaithful, `4 of 5 claims supported by the 1 retrieved articles; unsupported: "Purple elephants." (not in the articles: purple, elephant)`},
		{"version numbers stay in their sentence", "Single sign-on uses SAML 2.0 and OpenID Connect.", []rag.Retrieved{{ID: "kb-sso"}},
			1, rag.LabelFaithful, "1 of 1 claims supported by the 1 retrieved articles"},
		{"an unknown document id adds nothing", "The Team plan costs 25 dollars.", []rag.Retrieved{{ID: "kb-nope"}},
			0, rag.LabelUnfaithful, `0 of 1 claims supported by the 1 retrieved articles; unsupported: "The Team plan costs 25 dollars." (not in the articles: team, plan, cost, 25, dollar)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := rag.Faithfulness(c.answer, c.docs)
			assert.Equal(t, rag.Evaluation{Name: "faithfulness", Score: c.score, Label: c.label, Explanation: c.explain}, ev)
		})
	}
}

// logSink is an OTLP logs endpoint (HTTP and gRPC) that keeps what it
// receives, decoded by the Collector's pdata.
type logSink struct {
	plogotlp.UnimplementedGRPCServer
	mu   sync.Mutex
	logs []plog.Logs
}

func (s *logSink) Export(_ context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logs = append(s.logs, req.Logs())
	return plogotlp.NewExportResponse(), nil
}

func (s *logSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	req := plogotlp.NewExportRequest()
	if err == nil {
		err = req.UnmarshalProto(body)
	}
	if r.URL.Path != "/v1/logs" || err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	resp, _ := s.Export(r.Context(), req)
	out, _ := resp.MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (s *logSink) records() []plog.LogRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []plog.LogRecord
	for _, l := range s.logs {
		for i := range l.ResourceLogs().Len() {
			rl := l.ResourceLogs().At(i)
			if v, _ := rl.Resource().Attributes().Get("service.name"); v.Str() != "judge-test" {
				continue
			}
			for j := range rl.ScopeLogs().Len() {
				sl := rl.ScopeLogs().At(j)
				for k := range sl.LogRecords().Len() {
					out = append(out, sl.LogRecords().At(k))
				}
			}
		}
	}
	return out
}

// The judge's results travel as OTLP log records through the real logs SDK
// and exporter, configured by the standard environment, over loopback:
// one gen_ai.evaluation.result event per answer, on the answer's chat span.
func TestJudgeExportsEvaluationEvents(t *testing.T) {
	for _, proto := range []string{"http/protobuf", "grpc"} {
		t.Run(proto, func(t *testing.T) {
			clearOTelEnv(t)
			sink := &logSink{}
			var endpoint string
			if proto == "grpc" {
				lis, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				srv := grpc.NewServer()
				plogotlp.RegisterGRPCServer(srv, sink)
				go func() { _ = srv.Serve(lis) }()
				t.Cleanup(srv.Stop)
				endpoint = "http://" + lis.Addr().String()
				t.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
			} else {
				srv := httptest.NewServer(sink)
				t.Cleanup(srv.Close)
				endpoint = srv.URL
			}
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", proto)
			t.Setenv("OTEL_SERVICE_NAME", "judge-test")
			lp, err := rag.NewLoggerProvider(context.Background())
			require.NoError(t, err)
			require.NotNil(t, lp)

			app, exp := recorder(t, rag.Config{ChatModel: rag.CheapChat})
			judge := rag.Judge{LoggerProvider: lp}
			var results []*rag.Result
			var evals []rag.Evaluation
			for _, q := range []string{"Is shipping free?", "How do I reset my password?"} {
				res, err := app.Answer(context.Background(), q)
				require.NoError(t, err)
				results = append(results, res)
				evals = append(evals, judge.Evaluate(context.Background(), res))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, lp.Shutdown(ctx)) // flushes the batch

			recs := sink.records()
			require.Len(t, recs, 2)
			chatSpans := map[string]bool{}
			for _, s := range exp.GetSpans() {
				if s.Name == "chat "+rag.CheapChat {
					chatSpans[s.SpanContext.SpanID().String()] = true
				}
			}
			require.Len(t, chatSpans, 2)
			for i, r := range recs {
				res, ev := results[i], evals[i]
				assert.Equal(t, "gen_ai.evaluation.result", r.EventName())
				assert.Equal(t, pcommon.TraceID(res.ChatSpan.TraceID()), r.TraceID())
				assert.Equal(t, pcommon.SpanID(res.ChatSpan.SpanID()), r.SpanID())
				assert.True(t, chatSpans[r.SpanID().String()], "the record names a chat span")
				assert.Equal(t, plog.SeverityNumberInfo, r.SeverityNumber())
				assert.NotZero(t, r.Timestamp())
				assert.Equal(t, map[string]any{
					"gen_ai.evaluation.name":        "faithfulness",
					"gen_ai.evaluation.score.value": 0.5,
					"gen_ai.evaluation.score.label": "unfaithful",
					"gen_ai.evaluation.explanation": ev.Explanation,
					"gen_ai.response.id":            res.ResponseID,
				}, r.Attributes().AsRaw())
				assert.Contains(t, ev.Explanation, `unsupported: "Most customers tell us it only takes a minute."`)
			}
		})
	}
}

func TestLogsProtocol(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"nothing set", nil, ""},
		{"endpoint, default protocol", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, "http"},
		{"logs endpoint only", map[string]string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://127.0.0.1:4318/v1/logs"}, "http"},
		{"traces endpoint is not for logs", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, ""},
		{"grpc", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "x", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "grpc"},
		{"logs protocol wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "x", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "grpc"}, "grpc"},
		{"traces protocol is not for logs", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "x", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}, "http"},
		{"logs exporter none", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "x", "OTEL_LOGS_EXPORTER": "none"}, ""},
		{"traces exporter none leaves logs", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "x", "OTEL_TRACES_EXPORTER": "none"}, "http"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearOTelEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			assert.Equal(t, c.want, rag.LogsProtocol())
		})
	}
}

func TestSetupLoggingWithoutEndpoint(t *testing.T) {
	clearOTelEnv(t)
	lp, err := rag.NewLoggerProvider(context.Background())
	require.NoError(t, err)
	assert.Nil(t, lp)
	shutdown, err := rag.SetupLogging(context.Background())
	require.NoError(t, err)
	require.NoError(t, shutdown(context.Background()))
}
