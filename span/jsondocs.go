package span

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

var errDocsJSON = errors.New("not a JSON array of objects")

// docsFromJSON reads a gen_ai.retrieval.documents JSON string: an array of
// objects of which it keeps "id" (string or number) and "score" (number or
// numeric string), skipping every other member (content, metadata, …).
// It is a small hand-written scanner: encoding/json's reflection costs
// several times more on the spans that carry documents.
func docsFromJSON(str string) ([]Document, error) {
	p := jscan{s: str}
	p.ws()
	if !p.eat('[') {
		return nil, errDocsJSON
	}
	docs := make([]Document, 0, docsCap(str))
	p.ws()
	if p.eat(']') {
		return docs, p.end()
	}
	for {
		p.ws()
		d := Document{Rank: len(docs) + 1}
		if c := p.peek(); c == '"' || c == '-' || c >= '0' && c <= '9' {
			// a bare id
			var ok bool
			if d.ID, ok = p.id(); !ok {
				return nil, errDocsJSON
			}
		} else if !p.eat('{') {
			return nil, errDocsJSON
		} else if p.ws(); !p.eat('}') {
			for {
				p.ws()
				k, ok := p.str()
				if !ok {
					return nil, errDocsJSON
				}
				p.ws()
				if !p.eat(':') {
					return nil, errDocsJSON
				}
				p.ws()
				switch k {
				case "id":
					d.ID, ok = p.id()
				case "score":
					d.Score, d.HasScore, ok = p.score()
				default:
					ok = p.skip(0)
				}
				if !ok {
					return nil, errDocsJSON
				}
				p.ws()
				if p.eat(',') {
					continue
				}
				if p.eat('}') {
					break
				}
				return nil, errDocsJSON
			}
		}
		docs = append(docs, d)
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat(']') {
			return docs, p.end()
		}
		return nil, errDocsJSON
	}
}

// docsCap guesses the number of documents in a JSON list, to size it
// once: the objects in it, else the elements (bare ids), at most 64.
func docsCap(str string) int {
	n := strings.Count(str, "{")
	if n == 0 {
		n = strings.Count(str, ",") + 1
	}
	return min(n, 64)
}

// jscan is a cursor over a JSON text.
type jscan struct {
	s string
	i int
}

func (p *jscan) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jscan) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *jscan) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *jscan) end() error {
	p.ws()
	if p.i != len(p.s) {
		return errDocsJSON
	}
	return nil
}

// str reads a string. Without escapes or invalid UTF-8 it is a substring
// of the input (no copy); otherwise encoding/json decodes it.
func (p *jscan) str() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	start, slow := p.i, false
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == '"':
			raw := p.s[start:p.i]
			p.i++
			if !slow || !strings.Contains(raw, "\\") && utf8.ValidString(raw) {
				return raw, true
			}
			var out string
			if json.Unmarshal([]byte(p.s[start-1:p.i]), &out) != nil {
				return "", false
			}
			return out, true
		case c == '\\':
			slow = true
			p.i += 2
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			slow = true // encoding/json replaces invalid UTF-8
			p.i++
		default:
			p.i++
		}
	}
	return "", false
}

// number reads a number token; strconv.ParseFloat validates it later.
func (p *jscan) number() (string, bool) {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i], p.i > start
}

func (p *jscan) literal(word string) bool {
	if strings.HasPrefix(p.s[p.i:], word) {
		p.i += len(word)
		return true
	}
	return false
}

func (p *jscan) id() (string, bool) {
	switch c := p.peek(); {
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		tok, _ := p.number()
		f, err := strconv.ParseFloat(tok, 64)
		if err != nil {
			return "", false
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return strconv.FormatInt(int64(f), 10), true
		}
		return tok, true
	}
	return "", p.skip(0) // null or an odd id: no id
}

func (p *jscan) score() (float64, bool, bool) {
	var tok string
	switch c := p.peek(); {
	case c == '"':
		s, ok := p.str()
		if !ok {
			return 0, false, false
		}
		tok = strings.TrimSpace(s)
	case c == '-' || c >= '0' && c <= '9':
		tok, _ = p.number()
	default:
		return 0, false, p.skip(0) // null: no score
	}
	f, err := strconv.ParseFloat(tok, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, true // present but not a number: no score
	}
	return f, true, true
}

// maxJSONDepth bounds the nesting skip follows.
const maxJSONDepth = 64

// skip passes over one value of any type.
func (p *jscan) skip(depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	switch c := p.peek(); {
	case c == '"':
		_, ok := p.str()
		return ok
	case c == '-' || c >= '0' && c <= '9':
		_, ok := p.number()
		return ok
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '[':
		p.i++
		p.ws()
		if p.eat(']') {
			return true
		}
		for {
			p.ws()
			if !p.skip(depth + 1) {
				return false
			}
			p.ws()
			if p.eat(',') {
				continue
			}
			return p.eat(']')
		}
	case c == '{':
		p.i++
		p.ws()
		if p.eat('}') {
			return true
		}
		for {
			p.ws()
			if _, ok := p.str(); !ok {
				return false
			}
			p.ws()
			if !p.eat(':') {
				return false
			}
			p.ws()
			if !p.skip(depth + 1) {
				return false
			}
			p.ws()
			if p.eat(',') {
				continue
			}
			return p.eat('}')
		}
	}
	return false
}
