package tracestore_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llmcheck/llmcheck/tracestore"
)

// oneTrace is a Jaeger v3 answer holding one span of trace 0x01….
const oneTrace = `{"result":{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"scope":{},"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"chat","startTimeUnixNano":"1000","endTimeUnixNano":"2000"}]}]}]}}`

// TestHostileStore: what a store answers is untrusted input. Answers that
// are too large, too deep, not JSON or refused are errors naming the URL
// (and status), with the store's message escaped; 429 and 5xx are
// retried; nothing crashes.
func TestHostileStore(t *testing.T) {
	deep := `{"result":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`
	tests := []struct {
		name    string
		handler func(calls int64, w http.ResponseWriter)
		want    string // in the error; "" for success
		calls   int64  // requests made
	}{
		{"nested a thousand levels", func(_ int64, w http.ResponseWriter) { fmt.Fprint(w, deep) }, "nested more than 256 levels", 1},
		{"larger than the limit", func(_ int64, w http.ResponseWriter) {
			fmt.Fprint(w, `{"result":{"resourceSpans":[`+strings.Repeat(" ", 5000)+`]}}`)
		}, "larger than --max-response-bytes 4096", 1},
		{"not JSON", func(_ int64, w http.ResponseWriter) { fmt.Fprint(w, "<html>login</html>") }, "not a Jaeger v3 answer", 1},
		{"no result", func(_ int64, w http.ResponseWriter) { fmt.Fprint(w, `{"data":[]}`) }, `no "result"`, 1},
		{"not OTLP", func(_ int64, w http.ResponseWriter) {
			fmt.Fprint(w, `{"result":{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}}`)
		}, "not a Jaeger v3 answer", 1},
		{"refused with an escape sequence", func(_ int64, w http.ResponseWriter) {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"httpCode":401,"message":"bad token \u001b[31mred\u001b[0m"}}`)
		}, `answered 401 Unauthorized: bad token \x1b[31mred\x1b[0m`, 1},
		{"429 then 200", func(calls int64, w http.ResponseWriter) {
			if calls < 3 {
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			fmt.Fprint(w, oneTrace)
		}, "", 3},
		{"always 503", func(_ int64, w http.ResponseWriter) {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, "overloaded")
		}, "answered 503 Service Unavailable: overloaded", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				require.True(t, strings.HasPrefix(r.URL.Path, "/base/api/v3/traces/"), r.URL.Path)
				assert.Equal(t, "Bearer s3cret", r.Header.Get("Authorization"))
				tc.handler(calls.Add(1), w)
			}))
			defer srv.Close()
			spec, err := tracestore.ParseSpec("--from", "jaeger="+srv.URL+"/base/")
			require.NoError(t, err)
			store := tracestore.NewJaeger(spec, tracestore.ClientOptions{
				MaxResponseBytes: 4096, LimitFlag: "--max-response-bytes", Retries: 2, RetryWait: time.Millisecond,
				Headers: map[string]string{"Authorization": "Bearer s3cret"},
			})
			id, _ := tracestore.ParseTraceID("0102030405060708090a0b0c0d0e0f10")
			td, err := store.Trace(context.Background(), id)
			if tc.want == "" {
				require.NoError(t, err)
				assert.Equal(t, 1, td.SpanCount())
			} else {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.want)
				assert.Contains(t, err.Error(), srv.URL+"/base/api/v3/traces/0102030405060708090a0b0c0d0e0f10")
			}
			assert.Equal(t, tc.calls, calls.Load())
		})
	}
}

// TestSearchSplitsLargeAnswers: a search answer over the size limit splits
// the window instead of failing, down to a window of a microsecond.
func TestSearchSplitsLargeAnswers(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		fmt.Fprint(w, `{"result":{"resourceSpans":[`+strings.Repeat(" ", 5000)+`]}}`)
	}))
	defer srv.Close()
	spec, _ := tracestore.ParseSpec("--from", "jaeger="+srv.URL)
	start := time.Unix(1_800_000_000, 0)
	_, err := tracestore.Fetch(context.Background(), tracestore.NewJaeger(spec, tracestore.ClientOptions{MaxResponseBytes: 4096, LimitFlag: "--max-response-bytes"}),
		tracestore.FetchOptions{Query: tracestore.Query{Start: start, End: start.Add(time.Millisecond)}, Parallel: 1},
		func(ptrace.Traces) error { return nil })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "larger than --max-response-bytes 4096")
	assert.Greater(t, calls.Load(), int64(5), "the window was split (1 ms in quarters down to 1 µs) before giving up")
}

func TestParseSpec(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"jaeger=http://localhost:16686", "jaeger=http://localhost:16686", ""},
		{"jaeger=https://jaeger.example.com/jaeger/", "jaeger=https://jaeger.example.com/jaeger", ""},
		{"tempo=http://localhost:3200", "", `unknown store kind "tempo"; known kinds: jaeger`},
		{"http://localhost:16686", "", "expected KIND=URL"},
		{"jaeger=localhost:16686", "", "is not an http:// or https:// URL"},
		{"jaeger=", "", "expected KIND=URL"},
		{"jaeger=ftp://ci:hunter2@jaeger.example.com", "", `"ftp://ci:xxxxx@jaeger.example.com" is not an http:// or https:// URL`},
	}
	for _, tc := range tests {
		s, err := tracestore.ParseSpec("--from", tc.in)
		if tc.err != "" {
			require.Error(t, err, tc.in)
			assert.Contains(t, err.Error(), tc.err)
			assert.Contains(t, err.Error(), "--from")
			assert.NotContains(t, err.Error(), "hunter2", "a password is not printed")
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, s.String())
	}
}

// TestCollectRefused: a store that refuses every request leaves each trace
// incomplete with the status as the reason; nothing is silently complete.
func TestCollectRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"error":{"httpCode":403,"message":"tenant header missing"}}`)
	}))
	defer srv.Close()
	spec, _ := tracestore.ParseSpec("--collect-from", "jaeger="+srv.URL)
	a, _ := tracestore.ParseTraceID("0102030405060708090a0b0c0d0e0f10")
	b, _ := tracestore.ParseTraceID("1102030405060708090a0b0c0d0e0f10")
	written := 0
	st, err := tracestore.Collect(context.Background(), tracestore.NewJaeger(spec, tracestore.ClientOptions{Retries: -1}),
		[]pcommon.TraceID{b, a}, tracestore.CollectOptions{Settle: 10 * time.Millisecond, Timeout: 50 * time.Millisecond},
		func(ptrace.Traces) error { written++; return nil })
	require.NoError(t, err)
	assert.Zero(t, written)
	require.Len(t, st.Incomplete, 2)
	assert.Equal(t, a.String(), st.Incomplete[0].TraceID, "sorted by id")
	assert.Contains(t, st.Incomplete[0].Reason, "answered 403 Forbidden: tenant header missing")
	assert.Contains(t, st.Incomplete[1].Reason, srv.URL+"/api/v3/traces/"+b.String())
}

// TestRedirectToOtherHost: a store that redirects to another host does not
// get the --header values (tokens) sent there; Go's client alone strips
// only Authorization and Cookie, not X-Api-Key or a tenant header.
func TestRedirectToOtherHost(t *testing.T) {
	var leaked atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("Authorization") + "|" + r.Header.Get("X-Api-Key"))
		fmt.Fprint(w, oneTrace)
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	defer srv.Close()
	spec, _ := tracestore.ParseSpec("--from", "jaeger="+srv.URL)
	store := tracestore.NewJaeger(spec, tracestore.ClientOptions{Retries: -1,
		Headers: map[string]string{"Authorization": "Bearer s3cret", "X-Api-Key": "k3y"}})
	id, _ := tracestore.ParseTraceID("0102030405060708090a0b0c0d0e0f10")
	_, _ = store.Trace(context.Background(), id)
	if v := leaked.Load(); v != nil {
		assert.Equal(t, "|", v, "headers sent to the host redirected to")
	}
}

// TestCredentialsInURL: a store URL with user:password is used, but the
// password never appears in a message (CI logs) or in the spec as printed.
func TestCredentialsInURL(t *testing.T) {
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		auth.Store(u + ":" + p)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	spec, err := tracestore.ParseSpec("--from", "jaeger=http://ci:hunter2@"+strings.TrimPrefix(srv.URL, "http://"))
	require.NoError(t, err)
	assert.NotContains(t, spec.String(), "hunter2")
	store := tracestore.NewJaeger(spec, tracestore.ClientOptions{Retries: -1})
	assert.NotContains(t, store.URL(), "hunter2")
	id, _ := tracestore.ParseTraceID("0102030405060708090a0b0c0d0e0f10")
	_, err = store.Trace(context.Background(), id)
	require.Error(t, err)
	assert.Equal(t, "ci:hunter2", auth.Load(), "the credentials are sent")
	assert.NotContains(t, err.Error(), "hunter2")
	assert.Contains(t, err.Error(), "answered 503")
}

// TestTraceOfOtherIDs: a store that answers a trace id with spans of other
// traces: only the spans of the trace asked for are taken (by Trace, fetch
// --trace-id and run --collect-from), the id asked for is missing.
func TestTraceOfOtherIDs(t *testing.T) {
	other := strings.Replace(oneTrace, "0102030405060708090a0b0c0d0e0f10", "ffffffffffffffffffffffffffffffff", 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/0102030405060708090a0b0c0d0e0f10") {
			fmt.Fprint(w, oneTrace, other) // its own span and another trace's
			return
		}
		fmt.Fprint(w, other) // only another trace's span
	}))
	defer srv.Close()
	spec, _ := tracestore.ParseSpec("--from", "jaeger="+srv.URL)
	store := tracestore.NewJaeger(spec, tracestore.ClientOptions{Retries: -1})
	a, _ := tracestore.ParseTraceID("0102030405060708090a0b0c0d0e0f10")
	b, _ := tracestore.ParseTraceID("1102030405060708090a0b0c0d0e0f10")
	td, err := store.Trace(context.Background(), a)
	require.NoError(t, err)
	assert.Equal(t, 1, td.SpanCount())

	var got []string
	st, err := tracestore.Fetch(context.Background(), store, tracestore.FetchOptions{TraceIDs: []pcommon.TraceID{a, b}, Parallel: 1},
		func(td ptrace.Traces) error {
			got = append(got, td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID().String())
			return nil
		})
	require.NoError(t, err)
	assert.Equal(t, []string{a.String()}, got)
	assert.Equal(t, []pcommon.TraceID{b}, st.Missing)
}

// TestParseTraceID: ids as Jaeger's UI and API show them: 32 hex digits,
// upper or lower case, or fewer for a 64-bit id (Jaeger prints one whose
// high half is zero as 16 digits), left-padded with zeros.
func TestParseTraceID(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"4bf92f3577b34da6a3ce929d0e0e4736", "4bf92f3577b34da6a3ce929d0e0e4736", ""},
		{"4BF92F3577B34DA6A3CE929D0E0E4736", "4bf92f3577b34da6a3ce929d0e0e4736", ""},
		{"1122334455667788", "00000000000000001122334455667788", ""},
		{"abc", "00000000000000000000000000000abc", ""},
		{"04bf92f3577b34da6a3ce929d0e0e4736", "", "not a trace id (up to 32 hex digits)"},
		{"xyz", "", "not a trace id (up to 32 hex digits)"},
		{"", "", "not a trace id"},
		{"0000", "", "the empty trace id"},
	}
	for _, tc := range tests {
		id, err := tracestore.ParseTraceID(tc.in)
		if tc.err != "" {
			require.Error(t, err, tc.in)
			assert.Contains(t, err.Error(), tc.err)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, id.String())
	}
}

// TestFullPageAtTheSmallestWindow: a window that cannot be split further
// and whose answer holds exactly --page-size traces is asked once more for
// one trace more; it is an error only when the store has more, not when
// the one trace it holds fills a page of 1.
func TestFullPageAtTheSmallestWindow(t *testing.T) {
	var asked atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Store(r.URL.Query().Get("query.num_traces"))
		fmt.Fprint(w, strings.Replace(oneTrace, `"1000"`, `"1800000000000000000"`, 1))
	}))
	defer srv.Close()
	spec, _ := tracestore.ParseSpec("--from", "jaeger="+srv.URL)
	start := time.Unix(0, 1_800_000_000_000_000_000)
	st, err := tracestore.Fetch(context.Background(), tracestore.NewJaeger(spec, tracestore.ClientOptions{}),
		tracestore.FetchOptions{Query: tracestore.Query{Start: start, End: start.Add(time.Millisecond)}, PageSize: 1, Parallel: 1},
		func(ptrace.Traces) error { return nil })
	require.NoError(t, err)
	assert.Equal(t, int64(1), st.Traces)
	assert.Equal(t, "2", asked.Load())
}

// TestCollectStoreNeverAnswers: a store that accepts the requests and never
// answers does not hold run --collect-from past --collect-timeout and the
// last poll's bound: each trace is incomplete, saying the store did not
// answer in time (before, the wait lasted two per-request timeouts).
func TestCollectStoreNeverAnswers(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	spec, _ := tracestore.ParseSpec("--collect-from", "jaeger="+srv.URL)
	a, _ := tracestore.ParseTraceID("0102030405060708090a0b0c0d0e0f10")
	st, err := tracestore.Collect(context.Background(), tracestore.NewJaeger(spec, tracestore.ClientOptions{Retries: -1, Timeout: 5 * time.Second}),
		[]pcommon.TraceID{a}, tracestore.CollectOptions{Settle: 10 * time.Millisecond, Timeout: 50 * time.Millisecond, LastPoll: 50 * time.Millisecond},
		func(ptrace.Traces) error { return nil })
	require.NoError(t, err)
	require.Len(t, st.Incomplete, 1)
	assert.Contains(t, st.Incomplete[0].Reason, "no answer from "+srv.URL+" within --collect-timeout 50ms")
}

// TestChunkedAnswer: an answer of several {"result": …} objects (a gateway
// streaming chunks) gives the spans of all of them; before, the fast path
// decoded the first and silently dropped the rest. A string that merely
// holds "result" keeps the fast path's answer.
func TestChunkedAnswer(t *testing.T) {
	second := strings.Replace(oneTrace, `"spanId":"0102030405060708"`, `"spanId":"0202030405060708"`, 1)
	withKey := strings.Replace(oneTrace, `"name":"chat"`, `"name":"result","attributes":[{"key":"result","value":{"stringValue":"\"result\": 1"}}]`, 1)
	for name, tc := range map[string]struct {
		body  string
		spans int
	}{
		"two chunks":            {oneTrace + second, 2},
		"two lines":             {oneTrace + "\n" + second, 2},
		"spaced second chunk":   {oneTrace + ` { "result" : ` + strings.TrimPrefix(second, `{"result":`), 2},
		"result as a string":    {withKey, 1},
		"one chunk and garbage": {oneTrace + " garbage", -1},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, tc.body) }))
			defer srv.Close()
			spec, _ := tracestore.ParseSpec("--from", "jaeger="+srv.URL)
			id, _ := tracestore.ParseTraceID("0102030405060708090a0b0c0d0e0f10")
			td, err := tracestore.NewJaeger(spec, tracestore.ClientOptions{Retries: -1}).Trace(context.Background(), id)
			if tc.spans < 0 {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "not a Jaeger v3 answer")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.spans, td.SpanCount())
		})
	}
}

// TestAttrError: --attr error=true selects the spans whose status is Error,
// error=false those whose status is Ok, as Jaeger's own search does (the
// error tag of Jaeger's UI); before, an attribute named "error" was looked
// for, which OpenTelemetry spans do not carry, and nothing was found.
func TestAttrError(t *testing.T) {
	span := func(id, status string) string {
		return `{"traceId":"` + id + `","spanId":"0102030405060708","name":"chat","startTimeUnixNano":"1800000000000000000","endTimeUnixNano":"1800000000000000001"` + status + `}`
	}
	body := `{"result":{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[` +
		span("01000000000000000000000000000000", `,"status":{"code":2,"message":"boom"}`) + `,` +
		span("02000000000000000000000000000000", `,"status":{"code":1}`) + `,` +
		span("03000000000000000000000000000000", ``) + `]}]}]}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) }))
	defer srv.Close()
	spec, _ := tracestore.ParseSpec("--from", "jaeger="+srv.URL)
	start := time.Unix(0, 1_800_000_000_000_000_000)
	for v, want := range map[string]string{"true": "01000000000000000000000000000000", "false": "02000000000000000000000000000000"} {
		var got []string
		_, err := tracestore.Fetch(context.Background(), tracestore.NewJaeger(spec, tracestore.ClientOptions{}),
			tracestore.FetchOptions{Query: tracestore.Query{Start: start, End: start.Add(time.Second), Attrs: map[string]string{"error": v}}, Parallel: 1},
			func(td ptrace.Traces) error {
				got = append(got, td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID().String())
				return nil
			})
		require.NoError(t, err)
		assert.Equal(t, []string{want}, got, "error=%s", v)
	}
}

// TestPageSizeRefused: a store that refuses a search (Jaeger's memory
// store answers 500 to query.num_traces above its max_traces) gets an
// error that names --page-size, not only the store's words.
func TestPageSizeRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"error":{"httpCode":500,"message":"search depth must be greater than 0 and less than max traces"}}`)
	}))
	defer srv.Close()
	spec, _ := tracestore.ParseSpec("--from", "jaeger="+srv.URL)
	start := time.Unix(1_800_000_000, 0)
	_, err := tracestore.Fetch(context.Background(), tracestore.NewJaeger(spec, tracestore.ClientOptions{Retries: -1}),
		tracestore.FetchOptions{Query: tracestore.Query{Start: start, End: start.Add(time.Hour)}, PageSize: 200, Parallel: 1},
		func(ptrace.Traces) error { return nil })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "answered 500 Internal Server Error: search depth must be greater than 0 and less than max traces")
	assert.Contains(t, err.Error(), "--page-size 200")
}

// TestGzipBomb: a gzip answer that inflates far past the limit (10 KB to
// 64 MiB) is cut at --max-response-bytes of inflated bytes.
func TestGzipBomb(t *testing.T) {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	fmt.Fprint(zw, `{"result":{"resourceSpans":[`)
	_, _ = zw.Write(bytes.Repeat([]byte(" "), 64<<20))
	fmt.Fprint(zw, `]}}`)
	require.NoError(t, zw.Close())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write(z.Bytes())
	}))
	defer srv.Close()
	spec, _ := tracestore.ParseSpec("--from", "jaeger="+srv.URL)
	id, _ := tracestore.ParseTraceID("0102030405060708090a0b0c0d0e0f10")
	_, err := tracestore.NewJaeger(spec, tracestore.ClientOptions{Retries: -1, MaxResponseBytes: 1 << 20, LimitFlag: "--max-response-bytes"}).Trace(context.Background(), id)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "larger than --max-response-bytes 1048576")
	assert.Less(t, z.Len(), 200<<10, "the answer on the wire is small")
}

// TestCollectTooLarge: run --collect-from has no --max-response-bytes
// flag, so a trace larger than the limit is incomplete with the limit in
// bytes, not a flag run does not have.
func TestCollectTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"result":{"resourceSpans":[`+strings.Repeat(" ", 5000)+`]}}`)
	}))
	defer srv.Close()
	spec, _ := tracestore.ParseSpec("--collect-from", "jaeger="+srv.URL)
	a, _ := tracestore.ParseTraceID("0102030405060708090a0b0c0d0e0f10")
	st, err := tracestore.Collect(context.Background(), tracestore.NewJaeger(spec, tracestore.ClientOptions{Retries: -1, MaxResponseBytes: 4096}),
		[]pcommon.TraceID{a}, tracestore.CollectOptions{Settle: 10 * time.Millisecond, Timeout: 50 * time.Millisecond},
		func(ptrace.Traces) error { return nil })
	require.NoError(t, err)
	require.Len(t, st.Incomplete, 1)
	assert.NotContains(t, st.Incomplete[0].Reason, "--max-response-bytes")
	assert.Contains(t, st.Incomplete[0].Reason, "the answer is larger than 4096 bytes")
}
