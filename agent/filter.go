package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// ?filter: Consul's boolean expressions (the go-bexpr language) over the
// fields of each item a list endpoint returns, evaluated against the
// item's JSON form, so selectors are the JSON field names Consul's
// documentation uses:
//
//	Expr     = Or
//	Or       = And { "or" And }
//	And      = Not { "and" Not }
//	Not      = "not" Not | "(" Expr ")" | Match
//	Match    = Selector ("==" | "!=") Value
//	         | Selector ("is empty" | "is not empty")
//	         | Value ("in" | "not in") Selector
//	         | Selector ("contains" | "not contains") Value
//	         | Selector ("matches" | "not matches") Value
//	Selector = Name { "." Name | "[" Value "]" }
//	Value    = "quoted" | `raw` | an unquoted word (letters, digits, - _ . / :)
//
// Equality compares the field's value written as text (numbers and
// booleans too). "in"/"contains" test membership in a list, a key of a
// map, or a substring of a string; "is empty" a missing field or a zero
// length. A selector naming no field is empty, and equal to nothing.

// filterExpr is a compiled ?filter.
type filterExpr interface {
	eval(item any) bool
}

// compileFilter parses s; errors are Consul's 400.
func compileFilter(s string) (filterExpr, error) {
	toks, err := lexFilter(s)
	if err != nil {
		return nil, errBadRequestf("Failed to create boolean expression evaluator: %v", err)
	}
	p := &filterParser{toks: toks}
	e, err := p.or()
	if err == nil && p.pos < len(p.toks) {
		err = fmt.Errorf("unexpected %q", p.toks[p.pos].text)
	}
	if err != nil {
		return nil, errBadRequestf("Failed to create boolean expression evaluator: %v", err)
	}
	return e, nil
}

// filterItems keeps the items of list that expr selects (list is any
// slice of JSON-marshalable values).
func filterItems[T any](expr filterExpr, list []T) ([]T, error) {
	if expr == nil {
		return list, nil
	}
	out := make([]T, 0, len(list))
	for _, it := range list {
		b, err := json.Marshal(it)
		if err != nil {
			return nil, err
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, err
		}
		if expr.eval(v) {
			out = append(out, it)
		}
	}
	return out, nil
}

// listQuery reads a list endpoint's query options and its ?filter.
func listQuery(r *http.Request) (queryOptions, filterExpr, error) {
	o, err := parseQueryOptions(r.URL.Query(), r.Header)
	if err != nil {
		return o, nil, err
	}
	f, err := queryFilter(r.URL.Query())
	return o, f, err
}

// queryFilter compiles the request's ?filter (nil when absent).
func queryFilter(q map[string][]string) (filterExpr, error) {
	f := ""
	if v := q["filter"]; len(v) > 0 {
		f = v[0]
	}
	if strings.TrimSpace(f) == "" {
		return nil, nil
	}
	return compileFilter(f)
}

// ---- lexer ----

type tokKind int

const (
	tokWord tokKind = iota // an unquoted word or keyword
	tokString
	tokOp // == != ( ) [ ] .
)

type token struct {
	kind tokKind
	text string
}

func lexFilter(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(s[i:], "==") || strings.HasPrefix(s[i:], "!="):
			toks = append(toks, token{tokOp, s[i : i+2]})
			i += 2
		case strings.ContainsRune("()[].", rune(c)):
			toks = append(toks, token{tokOp, string(c)})
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			v, err := strconv.Unquote(s[i : j+1])
			if err != nil {
				return nil, fmt.Errorf("bad string %s", s[i:j+1])
			}
			toks = append(toks, token{tokString, v})
			i = j + 1
		case c == '`':
			j := strings.IndexByte(s[i+1:], '`')
			if j < 0 {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			toks = append(toks, token{tokString, s[i+1 : i+1+j]})
			i += j + 2
		case isWordRune(rune(c)):
			j := i
			for j < len(s) && isWordRune(rune(s[j])) {
				j++
			}
			toks = append(toks, token{tokWord, s[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q at %d", c, i)
		}
	}
	return toks, nil
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_/:", r)
}

// ---- parser ----

type filterParser struct {
	toks []token
	pos  int
}

func (p *filterParser) peekWord(w string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == tokWord && p.toks[p.pos].text == w
}

func (p *filterParser) peekOp(op string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == tokOp && p.toks[p.pos].text == op
}

type orExpr struct{ l, r filterExpr }
type andExpr struct{ l, r filterExpr }
type notExpr struct{ e filterExpr }

func (e orExpr) eval(v any) bool  { return e.l.eval(v) || e.r.eval(v) }
func (e andExpr) eval(v any) bool { return e.l.eval(v) && e.r.eval(v) }
func (e notExpr) eval(v any) bool { return !e.e.eval(v) }

func (p *filterParser) or() (filterExpr, error) {
	l, err := p.and()
	for err == nil && p.peekWord("or") {
		p.pos++
		var r filterExpr
		if r, err = p.and(); err == nil {
			l = orExpr{l, r}
		}
	}
	return l, err
}

func (p *filterParser) and() (filterExpr, error) {
	l, err := p.not()
	for err == nil && p.peekWord("and") {
		p.pos++
		var r filterExpr
		if r, err = p.not(); err == nil {
			l = andExpr{l, r}
		}
	}
	return l, err
}

func (p *filterParser) not() (filterExpr, error) {
	switch {
	case p.peekWord("not"):
		p.pos++
		e, err := p.not()
		return notExpr{e}, err
	case p.peekOp("("):
		p.pos++
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.peekOp(")") {
			return nil, fmt.Errorf("missing ')'")
		}
		p.pos++
		return e, nil
	}
	return p.match()
}

// match parses one comparison. A value first means "in"/"not in".
func (p *filterParser) match() (filterExpr, error) {
	if p.pos >= len(p.toks) {
		return nil, fmt.Errorf("unexpected end of expression")
	}
	if p.toks[p.pos].kind == tokString || (p.toks[p.pos].kind == tokWord && p.isInNext()) {
		val := p.toks[p.pos].text
		p.pos++
		neg := p.peekWord("not")
		if neg {
			p.pos++
		}
		if !p.peekWord("in") {
			return nil, fmt.Errorf("expected 'in' after the value %q", val)
		}
		p.pos++
		sel, err := p.selector()
		if err != nil {
			return nil, err
		}
		return matchExpr{sel: sel, op: "in", val: val, neg: neg}, nil
	}
	sel, err := p.selector()
	if err != nil {
		return nil, err
	}
	switch {
	case p.peekOp("==") || p.peekOp("!="):
		op := p.toks[p.pos].text
		p.pos++
		val, err := p.value()
		return matchExpr{sel: sel, op: "==", val: val, neg: op == "!="}, err
	case p.peekWord("is"):
		p.pos++
		neg := p.peekWord("not")
		if neg {
			p.pos++
		}
		if !p.peekWord("empty") {
			return nil, fmt.Errorf("expected 'empty' after 'is'")
		}
		p.pos++
		return matchExpr{sel: sel, op: "empty", neg: neg}, nil
	}
	neg := p.peekWord("not")
	if neg {
		p.pos++
	}
	for _, op := range []string{"contains", "matches"} {
		if p.peekWord(op) {
			p.pos++
			val, err := p.value()
			if err != nil {
				return nil, err
			}
			m := matchExpr{sel: sel, op: op, val: val, neg: neg}
			if op == "matches" {
				if m.re, err = regexp.Compile(val); err != nil {
					return nil, err
				}
			}
			return m, nil
		}
	}
	return nil, fmt.Errorf("expected an operator after the selector %s", strings.Join(sel, "."))
}

// isInNext reports whether the token after the current word is "in" (or
// "not in"): the word is then a value, not a selector.
func (p *filterParser) isInNext() bool {
	n := p.pos + 1
	if n < len(p.toks) && p.toks[n].kind == tokWord && p.toks[n].text == "not" {
		n++
	}
	return n < len(p.toks) && p.toks[n].kind == tokWord && p.toks[n].text == "in"
}

func (p *filterParser) value() (string, error) {
	if p.pos >= len(p.toks) || p.toks[p.pos].kind == tokOp {
		return "", fmt.Errorf("expected a value")
	}
	v := p.toks[p.pos].text
	p.pos++
	// An unquoted value may carry dots (1.2.3, a.b): join them back.
	for p.peekOp(".") && p.pos+1 < len(p.toks) && p.toks[p.pos+1].kind == tokWord {
		v += "." + p.toks[p.pos+1].text
		p.pos += 2
	}
	return v, nil
}

func (p *filterParser) selector() ([]string, error) {
	if p.pos >= len(p.toks) || p.toks[p.pos].kind != tokWord {
		return nil, fmt.Errorf("expected a selector")
	}
	sel := []string{p.toks[p.pos].text}
	p.pos++
	for {
		switch {
		case p.peekOp("."):
			p.pos++
			if p.pos >= len(p.toks) || p.toks[p.pos].kind != tokWord {
				return nil, fmt.Errorf("expected a name after '.'")
			}
			sel = append(sel, p.toks[p.pos].text)
			p.pos++
		case p.peekOp("["):
			p.pos++
			if p.pos >= len(p.toks) || p.toks[p.pos].kind == tokOp {
				return nil, fmt.Errorf("expected a key in '[ ]'")
			}
			sel = append(sel, p.toks[p.pos].text)
			p.pos++
			if !p.peekOp("]") {
				return nil, fmt.Errorf("missing ']'")
			}
			p.pos++
		default:
			return sel, nil
		}
	}
}

// ---- evaluation ----

type matchExpr struct {
	sel []string
	op  string // "==", "empty", "in", "contains", "matches"
	val string
	neg bool
	re  *regexp.Regexp
}

func (m matchExpr) eval(item any) bool {
	v, found := resolve(item, m.sel)
	var ok bool
	switch m.op {
	case "==":
		ok = found && scalarText(v) == m.val
	case "empty":
		ok = !found || isEmpty(v)
	case "in", "contains":
		ok = found && holds(v, m.val)
	case "matches":
		s, isStr := v.(string)
		ok = found && isStr && m.re.MatchString(s)
	}
	return ok != m.neg
}

// resolve walks sel through maps (JSON objects); a field name also
// matches case-insensitively, as go-bexpr's selectors do.
func resolve(v any, sel []string) (any, bool) {
	for _, name := range sel {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		x, ok := m[name]
		if !ok {
			for k, y := range m {
				if strings.EqualFold(k, name) {
					x, ok = y, true
					break
				}
			}
		}
		if !ok {
			return nil, false
		}
		v = x
	}
	return v, true
}

func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func holds(v any, val string) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, val)
	case []any:
		for _, e := range x {
			if scalarText(e) == val {
				return true
			}
		}
	case map[string]any:
		_, ok := x[val]
		return ok
	}
	return false
}
