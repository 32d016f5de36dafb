// Package safetext makes recorded strings (span names, models, attribute
// values, status messages, lines of trace files: anything a test or a
// model wrote) safe to print on a terminal or a CI log: one line, no
// control or bidi characters, no GitHub Actions workflow command, and a
// bounded length. It also holds the writer that guards llmcheck's own
// standard streams (Writer) and the parser of the Actions runner's rules
// the tests check every output with (Commands).
package safetext

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxRunes is how many runes of a recorded string are printed; a longer
// one is clipped to its first MaxRunes runes followed by "…(N bytes)",
// N being its whole length.
const MaxRunes = 200

// Text returns s as one printable line of at most MaxRunes runes of s
// (see Escape), clipped as described at MaxRunes.
func Text(s string) string { return Escape(Clip(s, MaxRunes)) }

// Clip returns s, or when it has more than n runes its first n runes and
// "…(N bytes)" with N = len(s). Bytes that are not UTF-8 count as one
// rune each; a clipped result never ends inside a rune.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i, runes := 0, 0
	for i < len(s) && runes < n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		runes++
	}
	if i >= len(s) {
		return s
	}
	return s[:i] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}

// Escape returns s as one printable line:
//
//   - CR, LF and TAB become \r, \n and \t; the other C0 controls, DEL and
//     the C1 controls (ESC, CSI, OSC: the sequences that move the cursor,
//     rewrite a line or write the clipboard) become \xHH or \uHHHH;
//   - bidi controls and invisible format characters (U+202A–U+202E,
//     U+2066–U+2069, U+200E, U+200F, U+061C, U+200B, U+2060–U+2064,
//     U+FEFF, U+2028, U+2029) become \uHHHH;
//   - bytes that are not UTF-8 become U+FFFD;
//   - "##[" (the Actions runner's legacy command prefix, honoured anywhere
//     in a line) becomes "##\u005b", and a leading ':' (which could start
//     a "::command::" line) becomes "\u003a".
//
// Printable text, including other non-ASCII letters and emoji, is kept.
func Escape(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	lead := true // only white space so far: the runner trims it
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		wasLead := lead
		lead = lead && isTrimmed(r)
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == ':' && wasLead:
			b.WriteString(`\u003a`)
		case r == '[' && i >= 2 && s[i-1] == '#' && s[i-2] == '#':
			b.WriteString(`\u005b`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteString(hex2(byte(r)))
		case unsafeRune(r):
			b.WriteString(`\u`)
			b.WriteString(hex4(r))
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// clean reports whether Escape would return s unchanged, quickly for the
// common case of printable ASCII.
func clean(s string) bool {
	if t := strings.TrimLeftFunc(s, isTrimmed); t != "" && t[0] == ':' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f {
			return cleanSlow(s)
		}
		if c == '[' && i >= 2 && s[i-1] == '#' && s[i-2] == '#' {
			return false
		}
	}
	return true
}

func cleanSlow(s string) bool {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return false
			}
		case r < 0x20 || r == 0x7f || unsafeRune(r):
			return false
		case r == '[' && i >= 2 && s[i-1] == '#' && s[i-2] == '#':
			return false
		}
	}
	return true
}

// unsafeRune reports the non-ASCII runes Escape writes as \uHHHH: the C1
// controls, and the bidi and invisible format characters that make a
// line read differently from what it holds.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1 controls (CSI, OSC, …)
		return true
	case r == 0x061c, r == 0x200b, r == 0x200e, r == 0x200f, r == 0xfeff:
		return true
	case r >= 0x2028 && r <= 0x202e: // line/paragraph separators, bidi embeddings and overrides
		return true
	case r >= 0x2060 && r <= 0x2069: // word joiner, invisible operators, bidi isolates
		return true
	case r >= 0xfff9 && r <= 0xfffb: // interlinear annotation
		return true
	}
	return false
}

// isTrimmed reports the runes the Actions runner trims from a line before
// it looks for "::" (.NET's white space), and the invisible ones a viewer
// would not see either.
func isTrimmed(r rune) bool {
	return unicode.IsSpace(r) || r == 0x200b || r == 0xfeff || r == 0x180e
}

const hexDigits = "0123456789abcdef"

func hex2(c byte) string { return string([]byte{hexDigits[c>>4], hexDigits[c&15]}) }

func hex4(r rune) string {
	return string([]byte{hexDigits[r>>12&15], hexDigits[r>>8&15], hexDigits[r>>4&15], hexDigits[r&15]})
}

// Neutral replaces the control characters (C0 but TAB, LF and CR; DEL;
// C1) and the bidi and invisible format characters of s (see Escape) with
// \xHH or \uHHHH and leaves everything else, for text that is escaped
// for its own format afterwards (Markdown).
func Neutral(s string) string {
	bad := func(r rune) bool {
		return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f || unsafeRune(r)
	}
	if strings.IndexFunc(s, bad) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f:
			if bad(r) {
				b.WriteString(`\x`)
				b.WriteString(hex2(byte(r)))
			} else {
				b.WriteRune(r)
			}
		case unsafeRune(r):
			b.WriteString(`\u`)
			b.WriteString(hex4(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// MaxLineRunes bounds a whole message or headline printed as one line
// (which may quote several recorded strings, each already clipped).
const MaxLineRunes = 1000

// Line is Text for a whole message or headline: escaped, and clipped at
// MaxLineRunes.
func Line(s string) string { return Escape(Clip(s, MaxLineRunes)) }

// Lines is Line for each line of a multi-line message (an error with its
// diagnostics): the line breaks of s are kept, every line escaped and
// clipped, at most MaxLines lines then a count of the rest.
func Lines(s string) string {
	if !strings.Contains(s, "\n") {
		return Line(s)
	}
	ls := strings.Split(s, "\n")
	more := 0
	if len(ls) > MaxLines {
		more = len(ls) - MaxLines
		ls = ls[:MaxLines]
	}
	for i, l := range ls {
		ls[i] = Line(l)
	}
	if more > 0 {
		ls = append(ls, "… "+strconv.Itoa(more)+" more lines")
	}
	return strings.Join(ls, "\n")
}

// MaxLines bounds the lines of one message printed by Lines.
const MaxLines = 50

// NoMentions neutralises, in Markdown that is already escaped, what GitHub
// would turn into a notification or a link on its own: a mention "@name"
// or "@org/team" (an @ not preceded by a letter or digit, followed by one)
// becomes "@&#8203;name", and "://" and "www." get a zero-width space
// ("https&#8203;://", "www&#8203;.") so that no autolink is made. The text
// reads the same.
func NoMentions(md string) string {
	if !strings.Contains(md, "@") && !strings.Contains(md, "://") && !strings.Contains(md, "www.") {
		return md
	}
	var b strings.Builder
	for i := 0; i < len(md); i++ {
		c := md[i]
		switch {
		case c == '@' && (i == 0 || !isAlnum(md[i-1])) && i+1 < len(md) && isAlnum(md[i+1]):
			b.WriteString("@&#8203;")
		case c == ':' && strings.HasPrefix(md[i:], "://"):
			b.WriteString("&#8203;:")
		case c == 'w' && strings.HasPrefix(md[i:], "www.") && (i == 0 || !isAlnum(md[i-1])):
			b.WriteString("www&#8203;")
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}
