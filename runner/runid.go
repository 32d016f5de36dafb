package runner

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/span"
)

// Variables `llmcheck run` gives the test command besides the OTLP ones:
// the run's id and the repetition (1..N of --repeat) under way.
const (
	EnvRunID              = "LLMCHECK_RUN_ID"
	EnvRepeat             = "LLMCHECK_REPEAT"
	EnvResourceAttributes = "OTEL_RESOURCE_ATTRIBUTES"
)

// MaxRepeat bounds --repeat.
const MaxRepeat = 1000

// MaxRunIDLen bounds the length of a run id.
const MaxRunIDLen = 128

// CheckRepeat says why n is not a valid --repeat, or returns nil.
func CheckRepeat(n int) error {
	if n < 1 || n > MaxRepeat {
		return fmt.Errorf("expected a whole number from 1 to %d (the times the test command runs)", MaxRepeat)
	}
	return nil
}

// RunIDRule says what a run id is made of.
const RunIDRule = "1 to 128 ASCII letters, digits, '.', '_', ':' or '-', starting with a letter or digit"

// CheckRunID says why id cannot be a run id (RunIDRule), or returns
// nil: it is written unescaped into resource attributes, $GITHUB_OUTPUT,
// reports and trace-store queries.
func CheckRunID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("empty: a run id is %s", RunIDRule)
	case len(id) > MaxRunIDLen:
		return fmt.Errorf("%d bytes long: a run id is %s", len(id), RunIDRule)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != ':' && c != '-') {
			return fmt.Errorf("byte %d (%q) is not allowed: a run id is %s", i+1, id[i:i+1], RunIDRule)
		}
	}
	return nil
}

// NewRunID makes a run id unique across CI jobs and sortable by start
// time: the UTC start time to the second, then, on GitHub Actions
// (GITHUB_RUN_ID in env), the workflow run and its attempt, then 12
// random hex digits (48 bits: the jobs of one workflow run share the
// rest). For example 20261205T011502Z-3f9a1c2b4d5e, or
// 20261205T011502Z-gh9876543210.2-3f9a1c2b4d5e.
func NewRunID(now time.Time, env []string, random io.Reader) (string, error) {
	var b [6]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", fmt.Errorf("make a run id: %w", err)
	}
	parts := []string{now.UTC().Format("20060102T150405Z")}
	if gh := lookup(env, "GITHUB_RUN_ID"); isDigits(gh) && len(gh) <= 20 {
		attempt := lookup(env, "GITHUB_RUN_ATTEMPT")
		if !isDigits(attempt) || len(attempt) > 6 {
			attempt = "1"
		}
		parts = append(parts, "gh"+gh+"."+attempt)
	}
	parts = append(parts, hex.EncodeToString(b[:]))
	return strings.Join(parts, "-"), nil
}

// resolveRunID decides the run's id: the one given (--run-id,
// LLMCHECK_RUN_ID), else the llmcheck.run.id the inherited
// OTEL_RESOURCE_ATTRIBUTES sets, else a new one. Both given and
// different is an error, as is an id CheckRunID refuses.
func resolveRunID(given string, env []string, now time.Time) (string, error) {
	userID, inAttrs := ResourceAttribute(lookup(env, EnvResourceAttributes), span.ResourceRunID)
	if given != "" {
		if err := CheckRunID(given); err != nil {
			return "", exitcode.Newf(exitcode.Usage, "--run-id %q: %v", given, err)
		}
		if inAttrs && userID != given {
			return "", exitcode.Newf(exitcode.Usage, "--run-id %s differs from %s=%s in %s: set the run id in one place", given, span.ResourceRunID, userID, EnvResourceAttributes)
		}
		return given, nil
	}
	if inAttrs {
		if err := CheckRunID(userID); err != nil {
			return "", exitcode.Newf(exitcode.Usage, "%s sets %s=%q: %v; change it there or leave it out (llmcheck then makes one)", EnvResourceAttributes, span.ResourceRunID, userID, err)
		}
		return userID, nil
	}
	id, err := NewRunID(now, env, rand.Reader)
	if err != nil {
		return "", exitcode.New(exitcode.Usage, err)
	}
	return id, nil
}

// RunEnv is env with the run's identity for one repetition: LLMCHECK_RUN_ID,
// LLMCHECK_REPEAT, and llmcheck.run.id and llmcheck.repeat appended to
// OTEL_RESOURCE_ATTRIBUTES (see AppendResourceAttributes).
func RunEnv(env []string, runID string, repeat int) []string {
	out := make([]string, 0, len(env)+3)
	attrs := ""
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case EnvResourceAttributes:
			attrs = v
		case EnvRunID, EnvRepeat:
		default:
			out = append(out, kv)
		}
	}
	r := strconv.Itoa(repeat)
	return append(out,
		EnvResourceAttributes+"="+AppendResourceAttributes(attrs, span.ResourceRunID, runID, span.ResourceRepeat, r),
		EnvRunID+"="+runID,
		EnvRepeat+"="+r,
	)
}

// AppendResourceAttributes returns the OTEL_RESOURCE_ATTRIBUTES value
// user with the key=value pairs kv (key, value, key, value, …) appended:
// the format is the W3C Baggage list the OpenTelemetry SDKs read
// (comma-separated key=value, values percent-encoded). The user's pairs
// are kept byte for byte, except those setting one of kv's keys, which
// are removed (SDKs disagree on which of two duplicates wins); empty
// members (a trailing comma) are dropped.
func AppendResourceAttributes(user string, kv ...string) string {
	set := map[string]bool{}
	for i := 0; i+1 < len(kv); i += 2 {
		set[kv[i]] = true
	}
	var members []string
	for _, m := range strings.Split(user, ",") {
		if strings.TrimSpace(m) == "" {
			continue
		}
		k, _, _ := strings.Cut(m, "=")
		if set[strings.TrimSpace(k)] {
			continue
		}
		members = append(members, m)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		members = append(members, kv[i]+"="+percentEncode(kv[i+1]))
	}
	return strings.Join(members, ",")
}

// ResourceAttribute returns the decoded value key has in an
// OTEL_RESOURCE_ATTRIBUTES value, the last one when set twice (as the
// OpenTelemetry Go and Python SDKs read it). A value that does not
// percent-decode is returned as written, as the Go SDK keeps it.
func ResourceAttribute(attrs, key string) (string, bool) {
	val, found := "", false
	for _, m := range strings.Split(attrs, ",") {
		k, v, ok := strings.Cut(m, "=")
		if !ok || strings.TrimSpace(k) != key {
			continue
		}
		v = strings.TrimSpace(v)
		if d, err := url.PathUnescape(v); err == nil {
			v = d
		}
		val, found = v, true
	}
	return val, found
}

// percentEncode encodes every byte of s but the unreserved characters of
// RFC 3986 (letters, digits, '-', '.', '_', '~'): a superset of what the
// W3C Baggage format requires, which every SDK decodes.
func percentEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// lookup returns the value of name in env (KEY=VALUE entries; the last
// one wins, as for exec).
func lookup(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
