package safetext

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostile are recorded strings that attack a terminal or the Actions
// runner.
var hostile = []string{
	"\r::error file=x::forged",
	"x\n::error file=.github/workflows/ci.yml,line=1::forged",
	"##[error]forged",
	"ok ##[add-mask]secret",
	"::add-mask::hunter2",
	"::stop-commands::x",
	"  ::warning::indented",
	"\u00a0::notice::after a no-break space",
	"\u2003::notice::after an em space",
	"\x1b]52;c;SGVsbG8=\x07clipboard",
	"\x1b[2K\x1b[1Arewrite",
	"\u009b31mC1 CSI",
	"evil\u202eexe.txt",
	"@org/team https://evil.example",
	"\xff\xfe not UTF-8",
}

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"chat gpt-4o", "chat gpt-4o"},
		{"ns::Type::method", "ns::Type::method"},
		{"::error::x", `\u003a:error::x`},
		{"  ::error::x", `  \u003a:error::x`},
		{"\u00a0::x::y", "\u00a0\\u003a:x::y"},
		{"a\r::error::x", `a\r::error::x`},
		{"a\nb\tc", `a\nb\tc`},
		{"##[error]x", `##\u005berror]x`},
		{"#[x] ##[y]", `#[x] ##\u005by]`},
		{"\x1b]52;c;SGVsbG8=\x07", `\x1b]52;c;SGVsbG8=\x07`},
		{"\u009b2J", `\u009b2J`},
		{"evil\u202eexe.txt", `evil\u202eexe.txt`},
		{"\u2066x\u2069", `\u2066x\u2069`},
		{"del\x7f", `del\x7f`},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"héllo 🙂 日本", "héllo 🙂 日本"},
		{"", ""},
	} {
		assert.Equal(t, tc.want, Escape(tc.in), "%q", tc.in)
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("é", 300)
	got := Clip(long, 200)
	assert.Equal(t, strings.Repeat("é", 200)+"…(600 bytes)", got)
	assert.Equal(t, "short", Clip("short", 200))
	assert.Equal(t, strings.Repeat("a", 200), Clip(strings.Repeat("a", 200), 200))

	ten := strings.Repeat("n", 10<<20)
	assert.Equal(t, strings.Repeat("n", MaxRunes)+"…(10485760 bytes)", Text(ten))
}

// TestEscapeNoCommand: an escaped string cannot be, or start, a command
// wherever it is printed: alone, indented, after other escaped strings.
func TestEscapeNoCommand(t *testing.T) {
	for _, h := range hostile {
		for _, line := range []string{Text(h), "  " + Text(h), Text(":") + Text(h), Text(h) + Text(h), "\t" + Text(" ") + Text(h)} {
			assert.Empty(t, Commands(line, true), "%q printed as %q", h, line)
			assert.NotContains(t, line, "\x1b")
			assert.NotContains(t, line, "\r")
			assert.NotContains(t, line, "\n")
			assert.NotContains(t, line, "\u202e")
		}
	}
}

func TestCommandsParser(t *testing.T) {
	got := Commands("plain\r::error file=a::x\nfoo ##[warning]y\n  ::group::g\n::stop-commands::T\n::error::hidden\n##[error]hidden\n::T::\n::notice::after", false)
	var names []string
	for _, c := range got {
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"error", "warning", "group", "stop-commands", "T", "notice"}, names)
	assert.Len(t, Commands("::stop-commands::T\n::error::x\n", true), 2)
	assert.Empty(t, Commands("::not a command\n##[ no bracket\n", false))
}

// TestWriter feeds hostile lines through the guarded streams in chunks of
// every size; the runner finds only llmcheck's own commands (and, under
// GitHub Actions, the stop/resume pairs).
func TestWriter(t *testing.T) {
	var payload strings.Builder
	for _, h := range hostile {
		payload.WriteString(h)
		payload.WriteString("\n")
		payload.WriteString("llmcheck: warning: " + h + "\n")
	}
	for _, github := range []bool{false, true} {
		for _, chunk := range []int{1, 2, 3, 7, 64, 1 << 20} {
			var out, errb bytes.Buffer
			s := NewStreams(&out, &errb, github)
			p := payload.String()
			for i := 0; i < len(p); i += chunk {
				_, err := s.Err.Write([]byte(p[i:min(i+chunk, len(p))]))
				require.NoError(t, err)
			}
			require.NoError(t, s.Err.Command("::error title=llmcheck::own"))
			_, _ = s.Err.Write([]byte("unfinished ::"))
			require.NoError(t, s.Out.Command("::warning::own too"))
			_, _ = s.Out.Write([]byte("::error::forged on stdout\n"))
			require.NoError(t, s.Close())

			for _, ignore := range []bool{true, false} {
				var own []string
				for _, stream := range []string{errb.String(), out.String()} {
					for _, c := range Commands(stream, ignore) {
						own = append(own, c.Name)
					}
				}
				if github && !ignore {
					tok := s.Token()
					assert.Equal(t, []string{"stop-commands", tok, "error", tok, "warning", "stop-commands"}, own, "chunk %d", chunk)
				}
				for _, n := range own {
					assert.Contains(t, []string{"error", "warning", "stop-commands", s.Token()}, n, "chunk %d github %v ignore %v: %q", chunk, github, ignore, own)
				}
			}
			// The filtered text keeps what was written, escaped.
			assert.Contains(t, errb.String(), `llmcheck: warning: ##\u005berror]forged`)
			assert.Contains(t, errb.String(), "unfinished ::\n")
		}
	}
}

// TestWriterJSON: the escapes the filter writes inside a JSON string read
// back as the same characters.
func TestWriterJSON(t *testing.T) {
	doc := map[string]string{"name": "##[error]x", "::k": "::error::y"}
	var out bytes.Buffer
	s := NewStreams(&out, &out, false)
	enc := json.NewEncoder(s.Out)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(doc))
	require.NoError(t, s.Close())
	assert.Empty(t, Commands(out.String(), true))
	var back map[string]string
	require.NoError(t, json.Unmarshal(out.Bytes(), &back))
	assert.Equal(t, doc, back)
}

func BenchmarkText(b *testing.B) {
	for b.Loop() {
		_ = Text("chat gpt-4o-mini-2024-07-18")
	}
}

func TestNoMentions(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"hi @org/team and @bob", "hi @&#8203;org/team and @&#8203;bob"},
		{"hit@5 a@b.c", "hit@5 a@b.c"},
		{"see https://evil.example or www.evil.example", "see https&#8203;://evil.example or www&#8203;.evil.example"},
		{"plain", "plain"},
	} {
		assert.Equal(t, tc.want, NoMentions(tc.in))
	}
}

// FuzzText: whatever a span carries, its printed form is one line of
// printable text that no Actions runner rule takes for a command, alone,
// indented or after another printed string, and a guarded writer never
// lets a command line through.
func FuzzText(f *testing.F) {
	for _, h := range hostile {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, line := range []string{Text(s), " \t" + Text(s), Text(s) + Text(s), Line(s)} {
			if cmds := Commands(line, true); len(cmds) > 0 {
				t.Fatalf("%q printed as %q is a command", s, line)
			}
			for _, r := range strings.TrimLeft(line, " \t") {
				if r < 0x20 || r == 0x7f || unsafeRune(r) {
					t.Fatalf("%q printed as %q holds %U", s, line, r)
				}
			}
		}
		// 200 runes of s, each escaped to at most 6 (\uHHHH), and the length.
		if n := len([]rune(Text(s))); n > 6*MaxRunes+len("…(18446744073709551615 bytes)") {
			t.Fatalf("Text is %d runes", n)
		}
		var out bytes.Buffer
		st := NewStreams(&out, &out, true)
		_, _ = st.Out.Write([]byte(s))
		_ = st.Close()
		for _, c := range Commands(out.String(), true) {
			if c.Name != "stop-commands" && c.Name != st.Token() {
				t.Fatalf("%q written through the guard gave the command %q", s, c.Line)
			}
		}
	})
}

// BenchmarkWriter: the guarded stream's throughput on indented JSON
// (--format json prints results.json through it).
func BenchmarkWriter(b *testing.B) {
	var doc bytes.Buffer
	for doc.Len() < 4<<20 {
		doc.WriteString(`      {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "name": "chat gpt-4o-mini", "metric": "duration_ms", "value": 812.5, "unit": "ms"},` + "\n")
	}
	b.SetBytes(int64(doc.Len()))
	for b.Loop() {
		s := NewStreams(io.Discard, io.Discard, false)
		if _, err := s.Out.Write(doc.Bytes()); err != nil {
			b.Fatal(err)
		}
		_ = s.Close()
	}
}
