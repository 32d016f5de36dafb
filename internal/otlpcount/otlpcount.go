// Package otlpcount counts the log records of OTLP log data without
// decoding it, so that a reader can refuse data that would take far more
// memory decoded than its size (an empty log record is 2 bytes of JSON or
// protobuf and about 100 bytes decoded).
package otlpcount

import (
	"bytes"

	"google.golang.org/protobuf/encoding/protowire"
)

// LogRecordsJSON counts the elements of the logRecords (log_records) arrays
// of OTLP JSON log data without decoding it: the objects opened at depth 7,
// {resourceLogs:[{scopeLogs:[{logRecords:[{…}]}]}]}, in an array opened at
// depth 6 after that key. Strings are skipped as jsondepth.Check skips them;
// for invalid JSON the count is whatever it is (the decoder then says what
// is wrong).
func LogRecordsJSON(b []byte) int64 {
	var n int64
	depth := 0
	var key []byte // the last string at depth 5
	inRecords := false
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			start := i + 1
			for {
				j := bytes.IndexByte(b[i+1:], '"')
				if j < 0 {
					return n
				}
				i += 1 + j
				k := i - 1
				for b[k] == '\\' {
					k--
				}
				if (i-1-k)%2 == 0 {
					break
				}
			}
			if depth == 5 {
				key = b[start:i]
			}
		case '{', '[':
			depth++
			switch depth {
			case 6:
				inRecords = b[i] == '[' && (string(key) == "logRecords" || string(key) == "log_records")
			case 7:
				if inRecords && b[i] == '{' {
					n++
				}
			}
		case '}', ']':
			depth--
		}
	}
	return n
}

// LogRecordsProto counts the log records of a protobuf LogsData or
// ExportLogsServiceRequest (field 1 resource_logs, its field 2 scope_logs,
// their field 2 log_records) without decoding them. Malformed input is
// counted as far as it goes (the decoder then says what is wrong).
func LogRecordsProto(b []byte) int64 {
	var n int64
	eachBytes(b, 1, func(rl []byte) {
		eachBytes(rl, 2, func(sl []byte) {
			eachBytes(sl, 2, func([]byte) { n++ })
		})
	})
	return n
}

// eachBytes calls fn with every length-delimited field num of message b.
func eachBytes(b []byte, num protowire.Number, fn func([]byte)) {
	for len(b) > 0 {
		f, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return
		}
		b = b[n:]
		if f == num && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return
			}
			fn(v)
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(f, typ, b)
		if m < 0 {
			return
		}
		b = b[m:]
	}
}
