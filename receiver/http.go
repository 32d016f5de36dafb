package receiver

import (
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/llmcheck/llmcheck/internal/jsondepth"
	"github.com/llmcheck/llmcheck/internal/otlpcount"
)

// OTLP/HTTP media types.
const (
	contentTypeProto = "application/x-protobuf"
	contentTypeJSON  = "application/json"
)

type encoding int

const (
	encUnknown encoding = iota
	encProto
	encJSON
)

func (e encoding) contentType() string {
	if e == encJSON {
		return contentTypeJSON
	}
	return contentTypeProto
}

// encodingOf maps a Content-Type header (parameters such as charset allowed)
// to an OTLP encoding.
func encodingOf(contentType string) encoding {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return encUnknown
	}
	switch mt {
	case contentTypeProto:
		return encProto
	case contentTypeJSON:
		return encJSON
	}
	return encUnknown
}

// Successful export responses: an empty ExportXServiceResponse, the same for
// the three signals, with partial_success unset as the specification asks
// (pdata's marshalers always write an empty partial_success).
var (
	okProto = []byte{}
	okJSON  = []byte("{}")
)

// serveHTTP implements OTLP/HTTP as documented on Start.
func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	r.requests.Add(1)
	r.inflight.Add(1)
	defer r.inflight.Add(-1)
	enc := encodingOf(req.Header.Get("Content-Type"))
	switch req.URL.Path {
	case "/v1/traces", "/v1/logs", "/v1/metrics":
	default:
		r.httpError(w, enc, http.StatusNotFound, "unknown path "+strconv.Quote(req.URL.Path)+"; OTLP/HTTP paths are /v1/traces, /v1/logs and /v1/metrics")
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.httpError(w, enc, http.StatusMethodNotAllowed, "method "+req.Method+" not allowed; OTLP/HTTP uses POST")
		return
	}
	if enc == encUnknown {
		r.httpError(w, enc, http.StatusUnsupportedMediaType, "unsupported content type "+strconv.Quote(req.Header.Get("Content-Type"))+"; use application/x-protobuf or application/json")
		return
	}

	// Every signal goes through the same bounded path: the body within the
	// body timeout, charged to the byte budget as it is read; a processing
	// slot only once it is in.
	buf := getBuffer()
	defer putBuffer(buf)
	charged, code, msg := r.readBody(w, req, buf)
	defer r.mem.release(charged)
	if code != 0 {
		if code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		if code == http.StatusServiceUnavailable || code == http.StatusRequestTimeout {
			// The rest of the body is not read: do not keep the connection.
			w.Header().Set("Connection", "close")
		}
		r.httpError(w, enc, code, msg)
		return
	}
	if !r.acquire() {
		w.Header().Set("Retry-After", "1")
		r.httpError(w, enc, http.StatusServiceUnavailable, "receiver busy: too many concurrent requests; retry")
		return
	}
	defer r.release()

	switch req.URL.Path {
	case "/v1/traces":
		var err error
		if enc == encJSON {
			et := ptraceotlp.NewExportRequest()
			if buf.Len() > 0 { // an empty body is an empty request
				// pdata's decoder recurses once per level: bound the nesting first
				err := jsondepth.Check(buf.Bytes(), jsondepth.Max)
				if err == nil {
					err = et.UnmarshalJSON(buf.Bytes())
				}
				if err != nil {
					r.httpError(w, enc, http.StatusBadRequest, "cannot decode "+enc.contentType()+" ExportTraceServiceRequest: "+err.Error())
					return
				}
			}
			err = r.consume(req.Context(), et.Traces())
		} else {
			err = r.consumeProto(req.Context(), buf.Bytes())
			var de *decodeError
			if errors.As(err, &de) {
				r.httpError(w, enc, http.StatusBadRequest, "cannot decode "+enc.contentType()+" ExportTraceServiceRequest: "+de.err.Error())
				return
			}
		}
		if err != nil {
			if isPermanent(err) {
				r.httpError(w, enc, http.StatusBadRequest, "spans not stored: "+err.Error())
				return
			}
			w.Header().Set("Retry-After", "1")
			r.httpError(w, enc, http.StatusServiceUnavailable, "spans not stored: "+err.Error())
			return
		}
	}
	if req.URL.Path == "/v1/logs" && r.logs != nil {
		el := plogotlp.NewExportRequest()
		if buf.Len() > 0 { // an empty body is an empty request
			var n int64
			if enc == encJSON {
				n = otlpcount.LogRecordsJSON(buf.Bytes())
			} else {
				n = otlpcount.LogRecordsProto(buf.Bytes())
			}
			if n > r.maxLogRecords() {
				r.httpError(w, enc, http.StatusRequestEntityTooLarge, r.tooManyLogRecords())
				return
			}
			var err error
			if enc == encJSON {
				// pdata's decoder recurses once per level: bound the nesting first
				err = jsondepth.Check(buf.Bytes(), jsondepth.Max)
				if err == nil {
					err = el.UnmarshalJSON(buf.Bytes())
				}
			} else {
				err = el.UnmarshalProto(buf.Bytes())
			}
			if err != nil {
				r.httpError(w, enc, http.StatusBadRequest, "cannot decode "+enc.contentType()+" ExportLogsServiceRequest: "+err.Error())
				return
			}
		}
		if err := r.consumeLogs(req.Context(), el.Logs()); err != nil {
			if isPermanent(err) {
				r.httpError(w, enc, http.StatusBadRequest, "log records not stored: "+err.Error())
				return
			}
			w.Header().Set("Retry-After", "1")
			r.httpError(w, enc, http.StatusServiceUnavailable, "log records not stored: "+err.Error())
			return
		}
	}
	// Metrics (and logs without Options.Logs) are read (within the
	// limits) and dropped.

	w.Header().Set("Content-Type", enc.contentType())
	w.WriteHeader(http.StatusOK)
	if enc == encJSON {
		_, _ = w.Write(okJSON)
	} else {
		_, _ = w.Write(okProto)
	}
}

// readBody reads the request body into buf, decompressing it, and enforces
// the limit on both the wire and the decompressed size without inflating
// more than limit+1 bytes. The decompressed bytes are charged to the
// in-flight budget as they are read: it returns what was charged, for the
// caller to release once the request is answered. The whole body must
// arrive within the body timeout. It returns an HTTP status and message on
// failure, 0 on success.
func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request, buf *bodyBuf) (charged int64, code int, msg string) {
	// Errors are ignored: a connection without deadlines (none here) keeps
	// only the header timeout and the byte budget.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(r.bodyTimeout))
	raw := http.MaxBytesReader(w, req.Body, r.limit)
	var body io.Reader = raw
	ce := strings.ToLower(strings.TrimSpace(req.Header.Get("Content-Encoding")))
	switch ce {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(raw)
		if err != nil {
			code, msg := r.bodyError(err, "gzip")
			return 0, code, msg
		}
		defer zr.Close()
		body = zr
	case "deflate": // HTTP's deflate is the zlib format (RFC 9110 §8.4.1.2)
		zr, err := zlib.NewReader(raw)
		if err != nil {
			code, msg := r.bodyError(err, "deflate")
			return 0, code, msg
		}
		defer zr.Close()
		body = zr
	default:
		return 0, http.StatusUnsupportedMediaType, "unsupported content encoding " + strconv.Quote(ce) + "; use gzip, deflate or none"
	}
	// No buffer is sized from Content-Length: a client announcing a large
	// body and sending it slowly would hold memory it has not sent.
	cr := &chargedReader{r: body, b: &r.mem}
	n, err := buf.ReadFrom(io.LimitReader(cr, r.limit+1))
	if err != nil {
		code, msg := r.bodyError(err, ce)
		return cr.charged, code, msg
	}
	if n > r.limit {
		// Decompressed size over the limit. Read the rest of the (bounded)
		// wire body so the client, still sending, gets our answer instead of
		// a connection reset; nothing more is inflated.
		_, _ = io.Copy(io.Discard, raw)
		return cr.charged, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes after decompression", r.limit)
	}
	return cr.charged, 0, ""
}

func (r *Receiver) bodyError(err error, ce string) (int, string) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", r.limit)
	}
	if errors.Is(err, errOverBudget) {
		return http.StatusServiceUnavailable, fmt.Sprintf("%v (%d bytes in flight at most)", err, r.mem.max)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return http.StatusRequestTimeout, fmt.Sprintf("request body not received within %v", r.bodyTimeout)
	}
	if ce == "" || ce == "identity" {
		return http.StatusBadRequest, "cannot read request body: " + err.Error()
	}
	return http.StatusBadRequest, "cannot decompress " + ce + " request body: " + err.Error()
}

// httpError answers code with a google.rpc.Status body in the request's
// encoding, or text/plain when the request's media type is unknown.
func (r *Receiver) httpError(w http.ResponseWriter, enc encoding, code int, msg string) {
	r.rejected.Add(1)
	var body []byte
	switch enc {
	case encProto:
		body = statusProto(rpcCode(code), msg)
	case encJSON:
		body = statusJSON(rpcCode(code), msg)
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, msg+"\n")
		return
	}
	w.Header().Set("Content-Type", enc.contentType())
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// rpcCode maps an HTTP status to the google.rpc.Code put in the Status body.
func rpcCode(httpStatus int) int32 {
	switch httpStatus {
	case http.StatusBadRequest, http.StatusUnsupportedMediaType:
		return 3 // INVALID_ARGUMENT
	case http.StatusNotFound:
		return 5 // NOT_FOUND
	case http.StatusMethodNotAllowed:
		return 12 // UNIMPLEMENTED
	case http.StatusRequestEntityTooLarge:
		return 8 // RESOURCE_EXHAUSTED
	case http.StatusRequestTimeout:
		return 4 // DEADLINE_EXCEEDED
	case http.StatusServiceUnavailable:
		return 14 // UNAVAILABLE
	}
	return 2 // UNKNOWN
}

// statusProto encodes google.rpc.Status{code: 1, message: 2} by hand, which
// keeps the protobuf runtime out of this package's direct dependencies.
func statusProto(code int32, msg string) []byte {
	b := make([]byte, 0, len(msg)+16)
	b = append(b, 0x08) // field 1, varint
	b = appendVarint(b, uint64(code))
	b = append(b, 0x12) // field 2, length-delimited
	b = appendVarint(b, uint64(len(msg)))
	return append(b, msg...)
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func statusJSON(code int32, msg string) []byte {
	b, _ := json.Marshal(struct {
		Code    int32  `json:"code"`
		Message string `json:"message"`
	}{code, msg})
	return b
}
