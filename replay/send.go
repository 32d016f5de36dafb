package replay

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	grpcgzip "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/llmcheck/llmcheck/internal/jsondepth"
)

// Protocols accepted in SendOptions.Protocol.
const (
	ProtocolGRPC         = "grpc"
	ProtocolHTTPProtobuf = "http/protobuf"
	ProtocolHTTPJSON     = "http/json"
)

// SendOptions configures Send.
type SendOptions struct {
	// Endpoint is the OTLP endpoint. HTTP: a URL such as
	// "http://localhost:4318" ("http://" is assumed without a scheme);
	// "/v1/traces" is appended unless the URL already has a path. gRPC:
	// "localhost:4317" or "http://localhost:4317" (plaintext) or
	// "https://host:4317" (TLS). https uses TLS with the system roots.
	Endpoint string
	// Protocol is "grpc", "http/protobuf" (the default when empty) or
	// "http/json".
	Protocol string
	// Headers are sent with every request (gRPC: as metadata).
	Headers map[string]string
	// Gzip compresses request bodies.
	Gzip bool
	// Timeout bounds each request (each attempt); 10 s when zero.
	Timeout time.Duration
	// Warn receives the warnings of reading the files (see Read) and the
	// spans an endpoint reports as rejected (OTLP partial success). Nil
	// drops them.
	Warn func(msg string)
}

// SendStats counts what Send delivered.
type SendStats struct {
	// Batches is the number of export requests the endpoint accepted (one
	// per batch read, more when an oversized batch was split).
	Batches int64
	// Spans is the number of spans in those requests.
	Spans int64
	// Rejected is the number of those spans the endpoint reported as
	// rejected in an OTLP partial success response.
	Rejected int64
}

// maxRequestBytes is the protobuf size above which a batch is split into
// several requests: gRPC servers refuse messages over 4 MiB by default.
const maxRequestBytes = 4<<20 - 64<<10

// Retry policy for retryable failures; variables so tests can shorten them.
var (
	retryAttempts     = 6                      // attempts per request, the first included
	retryBaseDelay    = 100 * time.Millisecond // doubled after each attempt
	retryMaxDelay     = 2 * time.Second        // cap of the computed backoff
	retryMaxServerDur = 30 * time.Second       // cap of a server's Retry-After
)

// Send re-sends every batch of the trace files to an OTLP endpoint,
// unchanged (same ids, attributes, resources), one request per batch read,
// in file order. A batch whose protobuf encoding exceeds about 4 MiB is
// split into several requests, by resource, scope and span, so that gRPC
// servers with the default message limit accept it (a single span larger
// than that is still sent alone). Batches without spans are not sent.
//
// Retryable failures (HTTP 429, 502, 503, 504, honouring Retry-After;
// gRPC Unavailable, ResourceExhausted, Aborted, DeadlineExceeded; network
// errors and timeouts) are retried with a short bounded backoff. Any other
// failure stops Send with an error naming the endpoint and the server's
// status. Batches sent before an error (including a read error in a later
// line) stay sent; the returned stats count them.
func Send(ctx context.Context, paths []string, opts SendOptions) (SendStats, error) {
	var stats SendStats
	exp, err := newExporter(opts)
	if err != nil {
		return stats, err
	}
	defer exp.close()
	warn := opts.Warn
	if warn == nil {
		warn = func(string) {}
	}
	err = Read(paths, ReadOptions{Warn: warn}, func(td ptrace.Traces) error {
		if td.SpanCount() == 0 {
			return nil
		}
		for _, part := range splitTraces(td, maxRequestBytes) {
			rejected, msg, err := exp.export(ctx, part)
			if err != nil {
				return err
			}
			stats.Batches++
			stats.Spans += int64(part.SpanCount())
			switch {
			case rejected > 0:
				stats.Rejected += rejected
				warn(fmt.Sprintf("%s: the endpoint rejected %d of %d spans: %s", exp.name(), rejected, part.SpanCount(), msg))
			case msg != "":
				warn(fmt.Sprintf("%s: the endpoint accepted the spans with a warning: %s", exp.name(), msg))
			}
		}
		return nil
	})
	return stats, err
}

// exporter sends one request, retrying retryable failures. It returns the
// rejected spans and message of a partial success.
type exporter interface {
	export(ctx context.Context, td ptrace.Traces) (rejected int64, msg string, err error)
	name() string
	close()
}

func newExporter(opts SendOptions) (exporter, error) {
	if opts.Endpoint == "" {
		return nil, errors.New("replay: no endpoint given")
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	switch opts.Protocol {
	case ProtocolGRPC:
		return newGRPCExporter(opts, timeout)
	case "", ProtocolHTTPProtobuf, ProtocolHTTPJSON:
		return newHTTPExporter(opts, timeout)
	default:
		return nil, fmt.Errorf("replay: unknown protocol %q (valid: %s, %s, %s)",
			opts.Protocol, ProtocolGRPC, ProtocolHTTPProtobuf, ProtocolHTTPJSON)
	}
}

// attemptError is the outcome of one failed attempt.
type attemptError struct {
	err        error
	retryable  bool
	retryAfter time.Duration // server-requested delay; 0 = use backoff
}

// withRetry runs attempt until it succeeds, fails for good, the attempts
// are used up or ctx ends.
func withRetry(ctx context.Context, attempt func() *attemptError) error {
	delay := retryBaseDelay
	for i := 1; ; i++ {
		ae := attempt()
		if ae == nil {
			return nil
		}
		if !ae.retryable || ctx.Err() != nil {
			return ae.err
		}
		if i >= retryAttempts {
			return fmt.Errorf("%w (gave up after %d attempts)", ae.err, i)
		}
		wait := min(delay, retryMaxDelay)
		if ae.retryAfter > 0 {
			wait = min(ae.retryAfter, retryMaxServerDur)
		}
		delay *= 2
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (retry abandoned: %w)", ae.err, ctx.Err())
		case <-t.C:
		}
	}
}

// --- HTTP ---

type httpExporter struct {
	url     string
	json    bool
	gzip    bool
	headers map[string]string
	timeout time.Duration
	client  *http.Client
}

func newHTTPExporter(opts SendOptions, timeout time.Duration) (*httpExporter, error) {
	u, err := httpURL(opts.Endpoint)
	if err != nil {
		return nil, err
	}
	return &httpExporter{
		url:     u,
		json:    opts.Protocol == ProtocolHTTPJSON,
		gzip:    opts.Gzip,
		headers: opts.Headers,
		timeout: timeout,
		client:  &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
	}, nil
}

// httpURL returns the URL to POST traces to.
func httpURL(endpoint string) (string, error) {
	raw := endpoint
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("replay: invalid endpoint %q: %w", endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("replay: invalid endpoint %q: scheme must be http or https", endpoint)
	}
	if u.Host == "" {
		return "", fmt.Errorf("replay: invalid endpoint %q: no host", endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

func (e *httpExporter) name() string { return e.url }

func (e *httpExporter) close() { e.client.CloseIdleConnections() }

func (e *httpExporter) export(ctx context.Context, td ptrace.Traces) (int64, string, error) {
	req := ptraceotlp.NewExportRequestFromTraces(td)
	var (
		body  []byte
		ctype string
		err   error
	)
	if e.json {
		body, err = req.MarshalJSON()
		ctype = "application/json"
	} else {
		body, err = req.MarshalProto()
		ctype = "application/x-protobuf"
	}
	if err != nil {
		return 0, "", fmt.Errorf("replay: encode request: %w", err)
	}
	if e.gzip {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		_, _ = zw.Write(body)
		if err := zw.Close(); err != nil {
			return 0, "", fmt.Errorf("replay: gzip request: %w", err)
		}
		body = zb.Bytes()
	}

	var rejected int64
	var msg string
	err = withRetry(ctx, func() *attemptError {
		var ae *attemptError
		rejected, msg, ae = e.attempt(ctx, body, ctype)
		return ae
	})
	return rejected, msg, err
}

func (e *httpExporter) attempt(ctx context.Context, body []byte, ctype string) (int64, string, *attemptError) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return 0, "", &attemptError{err: fmt.Errorf("send to %s: %w", e.url, err)}
	}
	for k, v := range e.headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", ctype)
	if e.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	req.Header.Set("User-Agent", "llmcheck-replay")
	resp, err := e.client.Do(req)
	if err != nil {
		// Network errors and timeouts are worth another try (a cancelled
		// parent context stops withRetry); a certificate that does not
		// verify is not.
		var certErr *tls.CertificateVerificationError
		return 0, "", &attemptError{err: fmt.Errorf("send to %s: %w", e.url, err), retryable: !errors.As(err, &certErr)}
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		rejected, msg := httpPartialSuccess(respBody, resp.Header.Get("Content-Type"))
		return rejected, msg, nil
	}
	err = fmt.Errorf("send to %s: HTTP %s%s", e.url, resp.Status, describeHTTPBody(respBody, resp.Header.Get("Content-Type")))
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return 0, "", &attemptError{err: err, retryable: true, retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
	}
	return 0, "", &attemptError{err: err}
}

// httpPartialSuccess decodes the partial success of an
// ExportTraceServiceResponse body, if any.
func httpPartialSuccess(body []byte, ctype string) (int64, string) {
	if len(body) == 0 {
		return 0, ""
	}
	resp := ptraceotlp.NewExportResponse()
	var err error
	if strings.HasPrefix(ctype, "application/json") {
		// the endpoint's answer is untrusted: pdata's decoder recurses
		// once per level
		if err = jsondepth.Check(body, jsondepth.Max); err == nil {
			err = resp.UnmarshalJSON(body)
		}
	} else {
		err = resp.UnmarshalProto(body)
	}
	if err != nil {
		return 0, ""
	}
	ps := resp.PartialSuccess()
	return ps.RejectedSpans(), ps.ErrorMessage()
}

// describeHTTPBody renders the message of an error response: a
// google.rpc.Status (protobuf or JSON) or short plain text.
func describeHTTPBody(body []byte, ctype string) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	var msg string
	switch {
	case strings.HasPrefix(ctype, "application/x-protobuf"), strings.HasPrefix(ctype, "application/protobuf"):
		msg = statusMessageProto(body)
	case strings.HasPrefix(ctype, "application/json"):
		var st struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &st) == nil {
			msg = st.Message
		}
		if msg == "" {
			msg = string(body)
		}
	default:
		if utf8.Valid(body) {
			msg = string(body)
		}
	}
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return ""
	}
	if len(msg) > 512 {
		msg = msg[:512] + "…"
	}
	return ": " + msg
}

// statusMessageProto extracts field 2 (message) of a google.rpc.Status.
func statusMessageProto(b []byte) string {
	for len(b) > 0 {
		tag, n := uvarint(b)
		if n <= 0 {
			return ""
		}
		b = b[n:]
		field, wire := tag>>3, tag&7
		switch wire {
		case 0:
			_, n = uvarint(b)
			if n <= 0 {
				return ""
			}
			b = b[n:]
		case 2:
			l, n := uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return ""
			}
			v := b[n : n+int(l)]
			if field == 2 {
				return string(v)
			}
			b = b[n+int(l):]
		case 1:
			if len(b) < 8 {
				return ""
			}
			b = b[8:]
		case 5:
			if len(b) < 4 {
				return ""
			}
			b = b[4:]
		default:
			return ""
		}
	}
	return ""
}

func uvarint(b []byte) (uint64, int) {
	var x uint64
	for i := 0; i < len(b) && i < 10; i++ {
		x |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return x, i + 1
		}
	}
	return 0, 0
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// --- gRPC ---

type grpcExporter struct {
	target  string
	conn    *grpc.ClientConn
	client  ptraceotlp.GRPCClient
	md      metadata.MD
	gzip    bool
	timeout time.Duration
}

func newGRPCExporter(opts SendOptions, timeout time.Duration) (*grpcExporter, error) {
	target, secure, err := grpcTarget(opts.Endpoint)
	if err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	if secure {
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(creds), grpc.WithUserAgent("llmcheck-replay"))
	if err != nil {
		return nil, fmt.Errorf("replay: gRPC endpoint %q: %w", opts.Endpoint, err)
	}
	md := metadata.MD{}
	for k, v := range opts.Headers {
		md.Append(k, v)
	}
	return &grpcExporter{
		target:  opts.Endpoint,
		conn:    conn,
		client:  ptraceotlp.NewGRPCClient(conn),
		md:      md,
		gzip:    opts.Gzip,
		timeout: timeout,
	}, nil
}

// grpcTarget turns an endpoint into a gRPC target and whether to use TLS.
func grpcTarget(endpoint string) (string, bool, error) {
	scheme, _, ok := strings.Cut(endpoint, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return endpoint, false, nil // host:port, or a gRPC target such as dns:///host:port
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "", false, fmt.Errorf("replay: invalid gRPC endpoint %q", endpoint)
	}
	if u.Path != "" && u.Path != "/" {
		return "", false, fmt.Errorf("replay: gRPC endpoint %q has a path (%s); gRPC takes host:port (for OTLP/HTTP use protocol %s)", endpoint, u.Path, ProtocolHTTPProtobuf)
	}
	return u.Host, scheme == "https", nil
}

func (e *grpcExporter) name() string { return e.target }

func (e *grpcExporter) close() { _ = e.conn.Close() }

func (e *grpcExporter) export(ctx context.Context, td ptrace.Traces) (int64, string, error) {
	req := ptraceotlp.NewExportRequestFromTraces(td)
	var callOpts []grpc.CallOption
	if e.gzip {
		callOpts = append(callOpts, grpc.UseCompressor(grpcgzip.Name))
	}
	var rejected int64
	var msg string
	err := withRetry(ctx, func() *attemptError {
		actx, cancel := context.WithTimeout(ctx, e.timeout)
		defer cancel()
		if len(e.md) > 0 {
			actx = metadata.NewOutgoingContext(actx, e.md)
		}
		resp, err := e.client.Export(actx, req, callOpts...)
		if err == nil {
			ps := resp.PartialSuccess()
			rejected, msg = ps.RejectedSpans(), ps.ErrorMessage()
			return nil
		}
		st := status.Convert(err)
		ae := &attemptError{err: fmt.Errorf("send to %s: gRPC %s: %s", e.target, st.Code(), st.Message())}
		switch st.Code() {
		case codes.Unavailable, codes.ResourceExhausted, codes.Aborted, codes.DeadlineExceeded:
			ae.retryable = true
		}
		return ae
	})
	return rejected, msg, err
}

// --- splitting ---

// splitTraces splits td into parts whose protobuf encoding stays within
// limit bytes, keeping the order of spans and each span's resource and
// scope. A td within the limit is returned as is.
func splitTraces(td ptrace.Traces, limit int) []ptrace.Traces {
	var m ptrace.ProtoMarshaler
	if m.TracesSize(td) <= limit {
		return []ptrace.Traces{td}
	}
	// Each nested message costs its size plus a tag and a length prefix.
	const framing = 1 + 5
	var (
		out     []ptrace.Traces
		cur     = ptrace.NewTraces()
		curSize int
		curRS   ptrace.ResourceSpans
		curSS   ptrace.ScopeSpans
	)
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		bareRS := ptrace.NewResourceSpans()
		rs.Resource().CopyTo(bareRS.Resource())
		bareRS.SetSchemaUrl(rs.SchemaUrl())
		rsCost := m.ResourceSpansSize(bareRS) + framing
		newRS := true
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			bareSS := ptrace.NewScopeSpans()
			ss.Scope().CopyTo(bareSS.Scope())
			bareSS.SetSchemaUrl(ss.SchemaUrl())
			ssCost := m.ScopeSpansSize(bareSS) + framing
			newSS := true
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				cost := m.SpanSize(sp) + framing
				if newRS {
					cost += rsCost
				}
				if newSS {
					cost += ssCost
				}
				if curSize > 0 && curSize+cost > limit {
					out = append(out, cur)
					cur, curSize = ptrace.NewTraces(), 0
					if !newRS {
						cost += rsCost
					}
					if !newSS {
						cost += ssCost
					}
					newRS, newSS = true, true
				}
				if newRS {
					curRS = cur.ResourceSpans().AppendEmpty()
					bareRS.CopyTo(curRS)
					newRS = false
				}
				if newSS {
					curSS = curRS.ScopeSpans().AppendEmpty()
					bareSS.CopyTo(curSS)
					newSS = false
				}
				sp.CopyTo(curSS.Spans().AppendEmpty())
				curSize += cost
			}
		}
	}
	if curSize > 0 {
		out = append(out, cur)
	}
	return out
}
