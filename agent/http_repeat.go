package agent

import (
	"bytes"
	"net/http"
	"net/url"
	"time"
)

// Recognising a watcher's repeated request.
//
// A watcher's next request is, byte for byte, its previous one with a new
// ?index (Consul's api client, consul-template and agentd-bench all
// rebuild the same request). When a request served in place parks, its
// bytes are kept as a template; a next request equal to it except for the
// index's digits is that same query with a new ?index, so it reuses the
// parsed query instead of going through http.ReadRequest, url.ParseQuery
// and the handler again (about a third of a wake's CPU). Anything else,
// however small the difference, takes the general path.

// repeatTemplate is a parked request and its parsed query.
type repeatTemplate struct {
	raw          []byte // the request, exactly as read
	at, end      int    // raw[at:end]: the digits of its index parameter
	q            blockingQuery
	method, path string
}

// newRepeatTemplate returns the template of raw, parked as p, or nil when
// raw's request line does not carry exactly one index=<digits> parameter.
func newRepeatTemplate(raw []byte, p *parkedQuery) *repeatTemplate {
	at, end, ok := indexDigits(raw)
	if !ok || !onlyIndex(raw, at, end) {
		return nil
	}
	return &repeatTemplate{raw: raw, at: at, end: end, q: p.q, method: p.method, path: p.path}
}

// indexDigits finds the one index=<digits> parameter in raw's request
// line.
func indexDigits(raw []byte) (at, end int, ok bool) {
	line, _, crlf := bytes.Cut(raw, []byte("\r\n"))
	if !crlf {
		return 0, 0, false // a bare-LF request: the general path
	}
	q := bytes.IndexByte(line, '?')
	if q < 0 {
		return 0, 0, false
	}
	found := 0
	for i := q; i < len(line); {
		j := bytes.Index(line[i:], []byte("index="))
		if j < 0 {
			break
		}
		i += j
		if c := line[i-1]; c == '?' || c == '&' {
			found++
			at = i + len("index=")
		}
		i += len("index=")
	}
	if found != 1 {
		return 0, 0, false
	}
	end = at
	for end < len(line) && '0' <= line[end] && line[end] <= '9' {
		end++
	}
	if end == at || end-at > 20 || end == len(line) || (line[end] != '&' && line[end] != ' ') {
		return 0, 0, false
	}
	return at, end, true
}

// onlyIndex reports whether the query string parses (as the handler's
// url.ParseQuery does) to exactly one index, the digits at raw[at:end]:
// an escaped spelling of the name ("%69ndex=") would otherwise be a
// second index the handler may have used instead.
func onlyIndex(raw []byte, at, end int) bool {
	line, _, ok := bytes.Cut(raw, []byte("\r\n"))
	qm, sp := bytes.IndexByte(line, '?'), bytes.LastIndexByte(line, ' ')
	if !ok || qm < 0 || sp < qm {
		return false
	}
	v, err := url.ParseQuery(string(line[qm+1 : sp]))
	return err == nil && len(v["index"]) == 1 && v["index"][0] == string(raw[at:end])
}

// match reports whether b starts with the template's request with some
// other index (not 0: that one does not block), and its index and length.
func (t *repeatTemplate) match(b []byte) (index uint64, n int, ok bool) {
	if !bytes.HasPrefix(b, t.raw[:t.at]) {
		return 0, 0, false
	}
	i := t.at
	for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if index > (1<<64-1-d)/10 {
			return 0, 0, false // overflows: the handler's 400
		}
		index = index*10 + d
	}
	if i == t.at || index == 0 || !bytes.HasPrefix(b[i:], t.raw[t.end:]) {
		return 0, 0, false
	}
	return index, i + len(t.raw) - t.end, true
}

// repeat runs the template's query with ?index=index, as serveBlocking
// would: answered at once (nil, and whether the answer was written), or
// parked.
func (c *parkedConn) repeat(t *repeatTemplate, index uint64) (*parkedQuery, bool) {
	q := t.q
	q.o.minIndex = index
	p := &c.pq // the last one's answer is written: nothing refers to it
	*p = parkedQuery{q: q, deadline: time.Now().Add(blockingTimeout(q.o.wait)), method: t.method, path: t.path}
	meta, ws, err := c.a.firstRead(c.a.blocking.stopCtx, q)
	if err != nil {
		return nil, c.respond(p, func(http.ResponseWriter) error { return err })
	}
	p.meta = meta
	if ws == nil {
		return nil, c.respond(p, func(w http.ResponseWriter) error { return q.render(w, meta) })
	}
	p.ws = ws
	return p, true
}
