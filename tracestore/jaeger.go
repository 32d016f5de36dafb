// Package tracestore reads traces out of trace stores (Jaeger's v3 query
// API) into llmcheck's trace files: the store named as KIND=URL, queries
// split into time windows that stay within the store's limits, traces
// fetched in parallel, de-duplicated and filtered, and the answers treated as
// untrusted input.
package tracestore

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llmcheck/llmcheck/internal/jsondepth"
	"github.com/llmcheck/llmcheck/internal/safetext"
)

// Kinds are the store kinds --from and --collect-from accept.
var Kinds = []string{"jaeger"}

// Spec is a parsed KIND=URL.
type Spec struct {
	Kind string
	URL  *url.URL
}

// String is the spec as given, KIND=URL, with a password in the URL
// replaced by xxxxx (it is printed and written to reports).
func (s Spec) String() string { return s.Kind + "=" + s.URL.Redacted() }

// ParseSpec parses a store given as KIND=URL (jaeger=http://localhost:16686,
// the address of Jaeger's query service). flag names the flag in errors.
func ParseSpec(flag, s string) (Spec, error) {
	kind, raw, ok := strings.Cut(s, "=")
	if !ok || kind == "" || raw == "" {
		return Spec{}, fmt.Errorf("%s %q: expected KIND=URL, e.g. %s jaeger=http://localhost:16686", flag, s, flag)
	}
	if kind != "jaeger" {
		return Spec{}, fmt.Errorf("%s %q: unknown store kind %q; known kinds: %s", flag, s, kind, strings.Join(Kinds, ", "))
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		if err == nil { // a password in it is not printed
			raw = u.Redacted()
			s = kind + "=" + raw
		}
		return Spec{}, fmt.Errorf("%s %q: %q is not an http:// or https:// URL of Jaeger's query service, e.g. http://localhost:16686", flag, s, raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return Spec{Kind: kind, URL: u}, nil
}

// ClientOptions configure the HTTP client of a store.
type ClientOptions struct {
	Headers map[string]string // sent with every request (authentication)
	// MaxResponseBytes bounds one answer of the store (default
	// DefaultMaxResponseBytes); a larger answer to a search splits the
	// window, to a trace is an error naming the flag.
	MaxResponseBytes int64
	// LimitFlag is the flag that sets MaxResponseBytes, named in errors;
	// empty: the limit is given in bytes (run --collect-from has no flag).
	LimitFlag string
	// Retries is how often a 429, a 5xx or a failed connection is retried,
	// with exponential backoff from RetryWait (defaults 4 and 250ms);
	// negative: never.
	Retries   int
	RetryWait time.Duration
	Timeout   time.Duration // per request (default 60s)
}

// DefaultMaxResponseBytes is ClientOptions.MaxResponseBytes when not set.
const DefaultMaxResponseBytes = 64 << 20

// Jaeger is a client of Jaeger's v3 query API over HTTP
// (/api/v3/traces, OTLP JSON answers wrapped as {"result": TracesData}).
type Jaeger struct {
	spec   Spec
	opts   ClientOptions
	client *http.Client
}

// NewJaeger returns a client of the Jaeger query service of spec.
func NewJaeger(spec Spec, opts ClientOptions) *Jaeger {
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if opts.Retries == 0 {
		opts.Retries = 4
	}
	if opts.RetryWait <= 0 {
		opts.RetryWait = 250 * time.Millisecond
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32 // the parallel requests reuse their connections
	return &Jaeger{spec: spec, opts: opts, client: &http.Client{Timeout: opts.Timeout, Transport: tr, CheckRedirect: opts.checkRedirect}}
}

// checkRedirect follows a redirect, but one to another scheme, host or
// port does not get the --header values: they are credentials for the
// store, not for whoever it redirects to (Go's client forwards all but
// Authorization and Cookie, and those too within the same domain).
func (o ClientOptions) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if req.URL.Scheme != via[0].URL.Scheme || req.URL.Host != via[0].URL.Host {
		for k := range o.Headers {
			req.Header.Del(k)
		}
	}
	return nil
}

// URL is the store's base URL, a password in it replaced by xxxxx.
func (j *Jaeger) URL() string { return j.spec.URL.Redacted() }

// StatusError is a store's refusal: a status other than 200 (and other than
// 404, which means nothing found) after the retries.
type StatusError struct {
	URL     string // the request, with its query
	Status  int
	Message string // the store's message, escaped and clipped

	retryAfter time.Duration
}

func (e *StatusError) Error() string {
	msg := ""
	if e.Message != "" {
		msg = ": " + e.Message
	}
	return fmt.Sprintf("%s answered %d %s%s", e.URL, e.Status, http.StatusText(e.Status), msg)
}

// UnreachableError is a request that got no answer.
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the trace store at %s: %v", e.URL, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// TooLargeError is an answer larger than ClientOptions.MaxResponseBytes.
type TooLargeError struct {
	URL  string
	Max  int64
	Flag string // ClientOptions.LimitFlag
}

func (e *TooLargeError) Error() string {
	if e.Flag == "" {
		return fmt.Sprintf("%s: the answer is larger than %d bytes, the most one answer may hold", e.URL, e.Max)
	}
	return fmt.Sprintf("%s: the answer is larger than %s %d", e.URL, e.Flag, e.Max)
}

// BadAnswerError is an answer that is not the OTLP JSON expected.
type BadAnswerError struct {
	URL string
	Err error
}

func (e *BadAnswerError) Error() string {
	return fmt.Sprintf("%s: not a Jaeger v3 answer ({\"result\": OTLP JSON}): %v", e.URL, e.Err)
}

// window is a search's time range, both ends inclusive (as Jaeger's
// query.start_time_min and query.start_time_max).
type window struct{ min, max time.Time }

// Query is a search.
type Query struct {
	Service   string
	Operation string
	// Attrs must all be found on one span: on the span, its scope, its
	// resource or one of its events (Jaeger's rule); values compare as text.
	// Jaeger's HTTP API ignores them, so they are applied here.
	Attrs      map[string]string
	Start, End time.Time
}

// search asks for the traces with a span starting in w, at most page of
// them. found says whether the store answered 404 (no traces).
func (j *Jaeger) search(ctx context.Context, q Query, w window, page int) ([]ptrace.Traces, error) {
	v := url.Values{}
	if q.Service != "" {
		v.Set("query.service_name", q.Service)
	}
	if q.Operation != "" {
		v.Set("query.operation_name", q.Operation)
	}
	v.Set("query.start_time_min", w.min.UTC().Format(time.RFC3339Nano))
	v.Set("query.start_time_max", w.max.UTC().Format(time.RFC3339Nano))
	v.Set("query.num_traces", strconv.Itoa(page))
	v.Set("query.raw_traces", "true")
	return j.get(ctx, "/api/v3/traces", v)
}

// Trace returns the trace with id as the store holds it (raw, without
// Jaeger's adjusters), or an empty Traces when the store has none.
func (j *Jaeger) Trace(ctx context.Context, id pcommon.TraceID) (ptrace.Traces, error) {
	v := url.Values{}
	v.Set("raw_traces", "true")
	tds, err := j.get(ctx, "/api/v3/traces/"+hex.EncodeToString(id[:]), v)
	if err != nil {
		return ptrace.Traces{}, err
	}
	out := ptrace.NewTraces()
	for _, td := range tds {
		td.ResourceSpans().MoveAndAppendTo(out.ResourceSpans())
	}
	// Only the trace asked for: spans of other traces in the answer are
	// not this trace's, whatever the store sends.
	out.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			ss.Spans().RemoveIf(func(s ptrace.Span) bool { return s.TraceID() != id })
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})
	return out, nil
}

// get requests path?v and decodes the answer: nil on 404.
func (j *Jaeger) get(ctx context.Context, path string, v url.Values) ([]ptrace.Traces, error) {
	u := *j.spec.URL
	u.Path += path
	u.RawQuery = v.Encode()
	target, where := u.String(), u.Redacted() // where names the request in messages
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			wait := j.opts.RetryWait << (attempt - 1)
			var se *StatusError
			if errors.As(lastErr, &se) && se.retryAfter > 0 {
				wait = se.retryAfter
			}
			wait = min(wait, maxRetryWait)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
		}
		body, status, retry, err := j.once(ctx, target, where)
		if err == nil {
			if status == http.StatusNotFound {
				return nil, nil
			}
			return decode(where, body)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		lastErr = err
		if !retry || attempt >= j.opts.Retries || j.opts.Retries < 0 {
			return nil, err
		}
	}
}

// maxRetryWait bounds one wait before a retry, whatever the store's
// Retry-After asks.
const maxRetryWait = 30 * time.Second

// retryAfter is the wait a Retry-After header asks for (seconds or an HTTP
// date), at most maxRetryWait; 0 when absent or bad.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.ParseUint(h, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || s > uint64(maxRetryWait/time.Second) {
			return maxRetryWait
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return min(max(t.Sub(now), 0), maxRetryWait)
	}
	return 0
}

// retryStatus says whether a status is worth another try.
func retryStatus(s int) bool { return s == http.StatusTooManyRequests || s >= 500 }

// once makes one request for target: the body of a 200 or 404, or an
// error naming where that says whether to retry.
func (j *Jaeger) once(ctx context.Context, target, where string) (body []byte, status int, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, 0, false, &UnreachableError{URL: where, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range j.opts.Headers {
		req.Header.Set(k, v)
	}
	resp, err := j.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, 0, true, &UnreachableError{URL: where, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		se := &StatusError{URL: where, Status: resp.StatusCode, Message: gatewayMessage(msg)}
		se.retryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
		return nil, resp.StatusCode, retryStatus(resp.StatusCode), se
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, j.opts.MaxResponseBytes+1))
	if err != nil {
		return nil, resp.StatusCode, true, &UnreachableError{URL: where, Err: fmt.Errorf("reading the answer: %w", err)}
	}
	if int64(len(body)) > j.opts.MaxResponseBytes {
		return nil, resp.StatusCode, false, &TooLargeError{URL: where, Max: j.opts.MaxResponseBytes, Flag: j.opts.LimitFlag}
	}
	return body, resp.StatusCode, false, nil
}

// gatewayMessage is the message of Jaeger's error answer
// ({"error":{"httpCode":400,"message":"…"}}), else the body, escaped and
// clipped for the console.
func gatewayMessage(b []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
		return safetext.Line(e.Error.Message)
	}
	return safetext.Line(strings.TrimSpace(string(b)))
}

// decode reads an answer: one or more {"result": TracesData} objects (the
// gateway may stream chunks), or {"error": …}.
func decode(where string, body []byte) ([]ptrace.Traces, error) {
	if err := jsondepth.Check(body, jsondepth.Max); err != nil {
		return nil, &BadAnswerError{URL: where, Err: err}
	}
	var um ptrace.JSONUnmarshaler
	// Jaeger answers one {"result": TracesData}: decoded in place, without
	// a first pass of encoding/json (half the time of a large answer).
	// Anything else takes the general path below.
	// The unmarshaler stops after one value, so an answer with a second
	// "result" key (more chunks) takes the general path.
	if t := bytes.TrimSpace(body); bytes.HasPrefix(t, []byte(`{"result":`)) && bytes.HasSuffix(t, []byte("}")) && !hasKey(t[len(`{"result":`):], `"result"`) {
		if td, err := um.UnmarshalTraces(t[len(`{"result":`) : len(t)-1]); err == nil {
			return []ptrace.Traces{td}, nil
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var out []ptrace.Traces
	for {
		var w struct {
			Result json.RawMessage `json:"result"`
			Error  *struct {
				HTTPCode int    `json:"httpCode"`
				Message  string `json:"message"`
			} `json:"error"`
		}
		err := dec.Decode(&w)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, &BadAnswerError{URL: where, Err: err}
		}
		if w.Error != nil {
			if w.Error.HTTPCode == http.StatusNotFound {
				continue
			}
			return nil, &StatusError{URL: where, Status: w.Error.HTTPCode, Message: safetext.Line(w.Error.Message)}
		}
		if len(w.Result) == 0 || string(w.Result) == "null" {
			return nil, &BadAnswerError{URL: where, Err: errors.New(`no "result"`)}
		}
		td, err := um.UnmarshalTraces(w.Result)
		if err != nil {
			return nil, &BadAnswerError{URL: where, Err: err}
		}
		out = append(out, td)
	}
}

// hasKey reports whether b holds key (quoted) followed by a colon: an
// object key, never the text of a string, where quotes are escaped.
func hasKey(b []byte, key string) bool {
	for {
		i := bytes.Index(b, []byte(key))
		if i < 0 {
			return false
		}
		b = bytes.TrimLeft(b[i+len(key):], " \t\r\n")
		if len(b) > 0 && b[0] == ':' {
			return true
		}
	}
}
