package config

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// parseHCL reads the part of HCL (version 1, as Consul's configuration
// files use it) that agent configuration needs, into the same shapes
// encoding/json gives applyJSON: map[string]any, []any, string,
// json.Number, bool.
//
//	# comment, // comment, /* comment */
//	server = true
//	bootstrap_expect = 3
//	retry_join = ["10.0.0.1", "10.0.0.2",]
//	ports { http = 8500 }        # a block: the same as ports = { ... }
//	performance = { raft_multiplier = 1 }
//	"quoted key" = "value"
//	service "web" { port = 80 }  # a labelled block: service = {web = {...}}
//
// A block given twice merges (ports { http = 1 } ports { dns = 2 }); any
// other key given twice keeps the last value. Entries are separated by
// newlines or commas. Heredocs and interpolation are not supported: they
// are errors naming the line.
func parseHCL(b []byte) (map[string]any, error) {
	p := &hclParser{src: string(b), line: 1}
	obj, err := p.object(false)
	if err != nil {
		return nil, fmt.Errorf("line %d: %w", p.line, err)
	}
	return obj, nil
}

type hclParser struct {
	src  string
	pos  int
	line int
}

// skip passes over spaces, newlines and comments.
func (p *hclParser) skip() error {
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '\n':
			p.line++
			p.pos++
		case c == ' ' || c == '\t' || c == '\r':
			p.pos++
		case c == '#' || strings.HasPrefix(p.src[p.pos:], "//"):
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		case strings.HasPrefix(p.src[p.pos:], "/*"):
			end := strings.Index(p.src[p.pos+2:], "*/")
			if end < 0 {
				return fmt.Errorf("unterminated /* comment")
			}
			p.line += strings.Count(p.src[p.pos:p.pos+2+end], "\n")
			p.pos += end + 4
		default:
			return nil
		}
	}
	return nil
}

func (p *hclParser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

// object reads entries until '}' (braced) or the end of input.
func (p *hclParser) object(braced bool) (map[string]any, error) {
	obj := map[string]any{}
	for {
		if err := p.skip(); err != nil {
			return nil, err
		}
		switch c := p.peek(); {
		case c == 0:
			if braced {
				return nil, fmt.Errorf("unexpected end of input: missing '}'")
			}
			return obj, nil
		case c == '}':
			if !braced {
				return nil, fmt.Errorf("unexpected '}'")
			}
			p.pos++
			return obj, nil
		case c == ',':
			p.pos++
			continue
		}
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		v, err := p.entryValue()
		if err != nil {
			return nil, fmt.Errorf("%q: %w", key, err)
		}
		merge(obj, key, v)
	}
}

// merge sets obj[key] = v, merging two blocks given under one key.
func merge(obj map[string]any, key string, v any) {
	old, had := obj[key].(map[string]any)
	nv, isObj := v.(map[string]any)
	if !had || !isObj {
		obj[key] = v
		return
	}
	for k, x := range nv {
		merge(old, k, x)
	}
}

// entryValue reads what follows a key: "= value", "{ block }", or
// labels then a block ("service" "web" { ... }).
func (p *hclParser) entryValue() (any, error) {
	if err := p.skip(); err != nil {
		return nil, err
	}
	switch c := p.peek(); {
	case c == '=':
		p.pos++
		return p.value()
	case c == '{':
		p.pos++
		return p.object(true)
	case c == '"' || isIdentStart(rune(c)):
		label, err := p.key()
		if err != nil {
			return nil, err
		}
		inner, err := p.entryValue()
		if err != nil {
			return nil, err
		}
		if _, ok := inner.(map[string]any); !ok {
			return nil, fmt.Errorf("a label must be followed by a block")
		}
		return map[string]any{label: inner}, nil
	default:
		return nil, fmt.Errorf("expected '=' or '{', got %s", p.describe())
	}
}

// key reads an identifier or a quoted string.
func (p *hclParser) key() (string, error) {
	if p.peek() == '"' {
		return p.str()
	}
	start := p.pos
	for p.pos < len(p.src) {
		r, n := utf8.DecodeRuneInString(p.src[p.pos:])
		if !isIdentStart(r) && !unicode.IsDigit(r) && r != '-' && r != '.' {
			break
		}
		p.pos += n
	}
	if p.pos == start {
		return "", fmt.Errorf("expected a key, got %s", p.describe())
	}
	return p.src[start:p.pos], nil
}

func isIdentStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }

// value reads a string, number, bool, list or object.
func (p *hclParser) value() (any, error) {
	if err := p.skip(); err != nil {
		return nil, err
	}
	switch c := p.peek(); {
	case c == '"':
		return p.str()
	case c == '{':
		p.pos++
		return p.object(true)
	case c == '[':
		p.pos++
		return p.list()
	case c == '<':
		return nil, fmt.Errorf("heredoc strings are not supported")
	case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
		return p.number()
	case isIdentStart(rune(c)):
		word, _ := p.key()
		switch word {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("unexpected word %q (strings need quotes)", word)
	default:
		return nil, fmt.Errorf("expected a value, got %s", p.describe())
	}
}

func (p *hclParser) list() ([]any, error) {
	out := []any{}
	for {
		if err := p.skip(); err != nil {
			return nil, err
		}
		switch p.peek() {
		case ']':
			p.pos++
			return out, nil
		case 0:
			return nil, fmt.Errorf("unexpected end of input: missing ']'")
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if err := p.skip(); err != nil {
			return nil, err
		}
		switch p.peek() {
		case ',':
			p.pos++
		case ']':
		case 0:
			return nil, fmt.Errorf("unexpected end of input: missing ']'")
		default:
			return nil, fmt.Errorf("expected ',' or ']' in a list, got %s", p.describe())
		}
	}
}

func (p *hclParser) number() (json.Number, error) {
	start := p.pos
	for p.pos < len(p.src) && strings.IndexByte("+-.0123456789eExX_abcdefABCDEF", p.src[p.pos]) >= 0 {
		p.pos++
	}
	s := p.src[start:p.pos]
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		if _, ierr := strconv.ParseInt(s, 0, 64); ierr != nil {
			return "", fmt.Errorf("bad number %q", s)
		}
		n, _ := strconv.ParseInt(s, 0, 64)
		return json.Number(strconv.FormatInt(n, 10)), nil
	}
	return json.Number(s), nil
}

// str reads a double-quoted string with Go/JSON escapes; "${" is refused
// (HCL interpolation).
func (p *hclParser) str() (string, error) {
	start := p.pos
	p.pos++ // opening quote
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case '\\':
			p.pos += 2
			continue
		case '\n':
			return "", fmt.Errorf("newline in a string")
		case '"':
			p.pos++
			s, err := strconv.Unquote(p.src[start:p.pos])
			if err != nil {
				return "", fmt.Errorf("bad string %s", p.src[start:p.pos])
			}
			if strings.Contains(s, "${") {
				return "", fmt.Errorf("interpolation (${...}) is not supported")
			}
			return s, nil
		}
		p.pos++
	}
	return "", fmt.Errorf("unterminated string")
}

// describe names what is at the current position for an error message.
func (p *hclParser) describe() string {
	if p.pos >= len(p.src) {
		return "end of input"
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
	return strconv.QuoteRune(r)
}
