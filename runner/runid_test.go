package runner

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/report"
)

// TestAppendResourceAttributes checks the value llmcheck run gives
// OTEL_RESOURCE_ATTRIBUTES, and that the OpenTelemetry Go SDK's own
// parser (resource.Environment) reads from it the user's attributes and
// llmcheck's.
func TestAppendResourceAttributes(t *testing.T) {
	for _, tc := range []struct {
		name, user, want string
		attrs            map[string]string // what the SDK reads
	}{
		{
			name:  "empty",
			user:  "",
			want:  "llmcheck.run.id=r-1,llmcheck.repeat=2",
			attrs: map[string]string{"llmcheck.run.id": "r-1", "llmcheck.repeat": "2"},
		},
		{
			name:  "user value",
			user:  "service.version=1.2,team=search",
			want:  "service.version=1.2,team=search,llmcheck.run.id=r-1,llmcheck.repeat=2",
			attrs: map[string]string{"service.version": "1.2", "team": "search", "llmcheck.run.id": "r-1", "llmcheck.repeat": "2"},
		},
		{
			name:  "user value with encoded characters, kept as written",
			user:  "team=search%20quality,note=a%2Cb%3Dc, region = eu ",
			want:  "team=search%20quality,note=a%2Cb%3Dc, region = eu ,llmcheck.run.id=r-1,llmcheck.repeat=2",
			attrs: map[string]string{"team": "search quality", "note": "a,b=c", "region": "eu", "llmcheck.run.id": "r-1", "llmcheck.repeat": "2"},
		},
		{
			name:  "user sets the keys: theirs removed, ours appended",
			user:  "llmcheck.run.id=theirs,a=1, llmcheck.repeat =9",
			want:  "a=1,llmcheck.run.id=r-1,llmcheck.repeat=2",
			attrs: map[string]string{"a": "1", "llmcheck.run.id": "r-1", "llmcheck.repeat": "2"},
		},
		{
			name:  "trailing and doubled commas dropped",
			user:  "a=1,,b=2,",
			want:  "a=1,b=2,llmcheck.run.id=r-1,llmcheck.repeat=2",
			attrs: map[string]string{"a": "1", "b": "2", "llmcheck.run.id": "r-1", "llmcheck.repeat": "2"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendResourceAttributes(tc.user, "llmcheck.run.id", "r-1", "llmcheck.repeat", "2")
			assert.Equal(t, tc.want, got)
			t.Setenv("OTEL_SERVICE_NAME", "")
			t.Setenv("OTEL_RESOURCE_ATTRIBUTES", got)
			res := resource.Environment()
			read := map[string]string{}
			for _, kv := range res.Attributes() {
				read[string(kv.Key)] = kv.Value.AsString()
			}
			assert.Equal(t, tc.attrs, read)
		})
	}
}

// Values llmcheck appends are percent-encoded so that any string (a comma,
// an equals sign, a space, a non-ASCII letter) comes back whole.
func TestAppendResourceAttributesEncodes(t *testing.T) {
	val := "a,b=c d%é;\"\\"
	got := AppendResourceAttributes("x=1", "k", val)
	assert.Equal(t, "x=1,k=a%2Cb%3Dc%20d%25%C3%A9%3B%22%5C", got)
	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", got)
	v, ok := resource.Environment().Set().Value("k")
	require.True(t, ok)
	assert.Equal(t, val, v.AsString())
	back, found := ResourceAttribute(got, "k")
	assert.True(t, found)
	assert.Equal(t, val, back)
}

func TestRunEnv(t *testing.T) {
	env := RunEnv([]string{"PATH=/bin", "LLMCHECK_RUN_ID=stale", "LLMCHECK_REPEAT=7", "OTEL_RESOURCE_ATTRIBUTES=team=a"}, "r-1", 3)
	assert.Equal(t, []string{
		"PATH=/bin",
		"OTEL_RESOURCE_ATTRIBUTES=team=a,llmcheck.run.id=r-1,llmcheck.repeat=3",
		"LLMCHECK_RUN_ID=r-1",
		"LLMCHECK_REPEAT=3",
	}, env)
}

func TestCheckRunID(t *testing.T) {
	for _, ok := range []string{"r", "nightly-42", "20261205T011502Z-gh98.2-3f9a1c2b4d5e", "a_b.c:d", strings.Repeat("x", 128)} {
		assert.NoError(t, CheckRunID(ok), ok)
	}
	for id, msg := range map[string]string{
		"":                       "empty: a run id is 1 to 128",
		strings.Repeat("x", 129): "129 bytes long",
		"-x":                     `byte 1 ("-") is not allowed`,
		"a b":                    `byte 2 (" ") is not allowed`,
		"a,b":                    `byte 2 (",") is not allowed`,
		"a\x1b[31m":              `byte 2 ("\x1b") is not allowed`,
		"é":                      `byte 1 ("\xc3") is not allowed`,
	} {
		err := CheckRunID(id)
		if assert.Error(t, err, "%q", id) {
			assert.Contains(t, err.Error(), msg)
		}
	}
}

func TestNewRunID(t *testing.T) {
	now := time.Date(2026, 12, 5, 1, 15, 2, 0, time.FixedZone("CET", 3600))
	rnd := bytes.NewReader([]byte{0x3f, 0x9a, 0x1c, 0x2b, 0x4d, 0x5e, 0x3f, 0x9a, 0x1c, 0x2b, 0x4d, 0x5e, 0x3f, 0x9a, 0x1c, 0x2b, 0x4d, 0x5e})
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{nil, "20261205T001502Z-3f9a1c2b4d5e"},
		{[]string{"GITHUB_RUN_ID=9876543210", "GITHUB_RUN_ATTEMPT=2"}, "20261205T001502Z-gh9876543210.2-3f9a1c2b4d5e"},
		// a missing or odd attempt is the first; an odd run id is left out
		{[]string{"GITHUB_RUN_ID=12", "GITHUB_RUN_ATTEMPT=x"}, "20261205T001502Z-gh12.1-3f9a1c2b4d5e"},
	} {
		id, err := NewRunID(now, tc.env, rnd)
		require.NoError(t, err)
		assert.Equal(t, tc.want, id)
		assert.NoError(t, CheckRunID(id))
	}
	_, err := NewRunID(now, []string{"GITHUB_RUN_ID=12;rm"}, bytes.NewReader(nil))
	assert.ErrorContains(t, err, "make a run id")

	// Ids of one second differ, and sort by time.
	a, err := resolveRunID("", []string{"GITHUB_RUN_ID=1;x"}, now)
	require.NoError(t, err)
	b, err := resolveRunID("", nil, now)
	require.NoError(t, err)
	c, err := resolveRunID("", nil, now.Add(time.Second))
	require.NoError(t, err)
	assert.NotEqual(t, a, b)
	assert.Regexp(t, `^20261205T001502Z-[0-9a-f]{12}$`, a)
	assert.Less(t, b, c)
}

func TestResolveRunID(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name, given, attrs, want, err string
	}{
		{name: "given", given: "ci-1", want: "ci-1"},
		{name: "given and the same in the attributes", given: "ci-1", attrs: "llmcheck.run.id=ci-1", want: "ci-1"},
		{name: "from the attributes, decoded", attrs: "a=1,llmcheck.run.id=ci%3A2", want: "ci:2"},
		{name: "given and different", given: "ci-1", attrs: "llmcheck.run.id=ci-2", err: "--run-id ci-1 differs from llmcheck.run.id=ci-2 in OTEL_RESOURCE_ATTRIBUTES"},
		{name: "bad in the attributes", attrs: "llmcheck.run.id=a%2Cb", err: `OTEL_RESOURCE_ATTRIBUTES sets llmcheck.run.id="a,b": byte 2`},
		{name: "bad given", given: "a b", err: `--run-id "a b": byte 2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := resolveRunID(tc.given, []string{"OTEL_RESOURCE_ATTRIBUTES=" + tc.attrs}, now)
			if tc.err != "" {
				var ee *exitcode.Error
				require.True(t, errors.As(err, &ee), "%v", err)
				assert.Equal(t, exitcode.Usage, ee.Code)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, id)
		})
	}
}

// A bad --repeat given to the package (not through the flag) is a usage
// error naming the flag, found before the command runs.
func TestRunRefusesRepeat(t *testing.T) {
	for _, n := range []int{-1, MaxRepeat + 1} {
		var errb bytes.Buffer
		code, err := Run(context.Background(), RunOptions{Command: []string{"true"}, Repeat: n, Report: ReportOptions{OutDir: t.TempDir(), Stderr: &errb, Stdout: &errb}})
		assert.Equal(t, 0, code)
		var ee *exitcode.Error
		require.True(t, errors.As(err, &ee))
		assert.Equal(t, exitcode.Usage, ee.Code)
		assert.Contains(t, err.Error(), "--repeat")
	}
}

func TestRepetitionsStatus(t *testing.T) {
	assert.Equal(t, "", repetitionsStatus(nil, 1))
	assert.Equal(t, "exit status 7", repetitionsStatus(reps("exit status 7"), 1))
	assert.Equal(t, "", repetitionsStatus(reps("", "", ""), 3))
	assert.Equal(t, "failed in 2 of 5 repetitions (2, 4)", repetitionsStatus(reps("", "exit status 1", "", "killed by signal killed", ""), 5))
	// interrupted in the first of 3: the repetitions run are counted
	assert.Equal(t, "failed in 1 of 1 repetition (1)", repetitionsStatus(reps("exit status 130"), 3))
}

func reps(statuses ...string) []report.Repetition {
	out := make([]report.Repetition, len(statuses))
	for i, s := range statuses {
		out[i] = report.Repetition{Number: i + 1, Status: s}
	}
	return out
}

// Whatever the user's value and ours, the value llmcheck appends is the
// one read back, and the user's members other than its key are kept.
func FuzzAppendResourceAttributes(f *testing.F) {
	f.Add("team=a%20b,x=1", "r-1")
	f.Add("llmcheck.run.id=x,,", "a,b=c d%")
	f.Add("=,=,k", "é\x00")
	f.Fuzz(func(t *testing.T, user, val string) {
		got := AppendResourceAttributes(user, "llmcheck.run.id", val)
		back, ok := ResourceAttribute(got, "llmcheck.run.id")
		if !ok || back != val {
			t.Fatalf("AppendResourceAttributes(%q, %q) = %q reads back %q, %v", user, val, got, back, ok)
		}
		for _, m := range strings.Split(user, ",") {
			k, _, _ := strings.Cut(m, "=")
			if strings.TrimSpace(m) != "" && strings.TrimSpace(k) != "llmcheck.run.id" && !strings.Contains(got, m) {
				t.Fatalf("member %q of %q lost in %q", m, user, got)
			}
		}
	})
}
