package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"slices"
	"strings"

	"github.com/agentd/agentd/raft/driver"
	"github.com/agentd/agentd/store"
)

// Request body limits. kv_max_value_size and txn_max_req_len are Raft's
// suggested maximum entry size in Consul: 512 KiB.
const (
	maxKVValueBytes = 512 << 10
	maxTxnBytes     = 512 << 10
	maxSmallBody    = 64 << 10 // session create and similar small JSON bodies
)

// handlerFunc is an API handler: it writes its own success response and
// returns an error for the shared error mapping.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route is one endpoint as Consul registers it: the methods it allows
// (anything else is a 405 listing them, OPTIONS answers with the list) and
// whether it takes ?dc (the request is for a datacenter's servers; this
// agent knows no other datacenter).
type route struct {
	methods []string
	h       handlerFunc
	dc      bool
	// ent: Consul parses the enterprise metadata (?ns, ?partition and
	// their headers), refused by its CE build; entPartition: only the
	// partition.
	ent, entPartition bool
}

// routes builds the API mux. Patterns are Consul's: an exact path, or a
// prefix ending in "/" whose remainder is the handler's argument (empty
// included: the handler answers Consul's "Missing ..." 400). In front of
// it, as Consul's HTTP server: unprintable paths are refused and unclean
// ones redirected (http_canonical.go), KV keys included.
func (a *Agent) routes() http.Handler {
	mux := http.NewServeMux()
	get, put := []string{http.MethodGet}, []string{http.MethodPut}
	table := map[string]route{
		"/v1/txn": {methods: put, h: a.txn, dc: true},

		"/v1/session/create":   {methods: put, h: a.sessionCreate, dc: true, ent: true},
		"/v1/session/destroy/": {methods: put, h: a.sessionDestroy, dc: true, ent: true},
		"/v1/session/renew/":   {methods: put, h: a.sessionRenew, dc: true, ent: true},
		"/v1/session/info/":    {methods: get, h: a.sessionInfo, dc: true, ent: true},
		"/v1/session/node/":    {methods: get, h: a.sessionNode, dc: true, ent: true},
		"/v1/session/list":     {methods: get, h: a.sessionList, dc: true, ent: true},

		"/v1/status/leader": {methods: get, h: a.statusLeader, dc: true},
		"/v1/status/peers":  {methods: get, h: a.statusPeers, dc: true},

		"/v1/agent/self":         {methods: get, h: a.agentSelf},
		"/v1/agent/members":      {methods: get, h: a.agentMembers, entPartition: true},
		"/v1/event/fire/":        {methods: []string{http.MethodPut}, h: a.eventFire, dc: true},
		"/v1/event/list":         {methods: get, h: a.eventList},
		"/v1/agent/monitor":      {methods: get, h: a.agentMonitor},
		"/v1/agent/version":      {methods: get, h: a.agentVersion},
		"/v1/agent/reload":       {methods: []string{http.MethodPut}, h: a.agentReload},
		"/v1/agent/metrics":      {methods: get, h: a.agentMetrics},
		"/v1/agent/join/":        {methods: put, h: a.agentJoin, entPartition: true},
		"/v1/agent/leave":        {methods: put, h: a.agentLeave},
		"/v1/agent/force-leave/": {methods: put, h: a.agentForceLeave, entPartition: true},

		"/v1/operator/raft/configuration":      {methods: get, h: a.raftConfiguration, dc: true},
		"/v1/operator/raft/peer":               {methods: []string{http.MethodDelete}, h: a.raftRemovePeer, dc: true},
		"/v1/operator/autopilot/configuration": {methods: []string{http.MethodGet, http.MethodPut}, h: a.autopilotConfiguration, dc: true},
		"/v1/operator/autopilot/health":        {methods: get, h: a.autopilotHealthHTTP, dc: true},
		"/v1/operator/autopilot/state":         {methods: get, h: a.autopilotStateHTTP, dc: true},
		"/v1/operator/keyring":                 {methods: []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}, h: a.operatorKeyring},
		"/v1/operator/raft/transfer-leader":    {methods: []string{http.MethodPost}, h: a.raftTransferLeader, dc: true},

		"/v1/catalog/nodes":       {methods: get, h: a.catalogNodes, dc: true, ent: true},
		"/v1/catalog/datacenters": {methods: get, h: a.catalogDatacenters},
		"/v1/health/node/":        {methods: get, h: a.healthNode, dc: true, ent: true},

		"/v1/snapshot": {methods: []string{http.MethodGet, http.MethodPut}, h: a.snapshot, dc: true},

		"/v1/agent/connect/ca/roots":   {methods: get, h: a.agentConnectCARoots, dc: true},
		"/v1/connect/ca/roots":         {methods: get, h: a.connectCARoots, dc: true},
		"/v1/connect/ca/configuration": {methods: get, h: a.connectCAConfiguration, dc: true},
	}
	for pattern, rt := range table {
		mux.Handle(pattern, a.wrap(rt))
	}

	if a.cfg.EnableDebug {
		// enable_debug, as Consul: Go's profiler (index, cmdline, profile,
		// symbol, trace and the named profiles under the index).
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("/", index)

	mux.Handle("/v1/kv/", a.wrap(route{methods: []string{http.MethodGet, http.MethodPut, http.MethodDelete}, h: a.kv, dc: true, ent: true}))
	canon := canonicalPaths{filter: !a.cfg.DisableHTTPUnprintableCharFilter, subtrees: map[string]bool{"/v1/kv/": true}}
	for pattern := range table {
		if strings.HasSuffix(pattern, "/") {
			canon.subtrees[pattern] = true
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if canon.answered(w, r) {
			return
		}
		if a.srvPtr.Load() == nil && !a.awaitServer(w, r) {
			return // before the Raft server runs (http_early.go)
		}
		mux.ServeHTTP(w, r)
	})
}

// index answers "/" as Consul without its UI, and any unknown path with
// Consul's 404 hint.
func index(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/":
		fmt.Fprint(w, "Consul Agent: UI disabled. To enable, set ui_config.enabled=true in the agent configuration and restart.")
	case strings.Contains(r.URL.Path, "/v1/"):
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintln(w, "Invalid URL path: not a recognized HTTP API endpoint")
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintln(w, "Invalid URL path: if attempting to use the HTTP API, ensure the path starts with '/v1/'")
	}
}

// aclPolicyHeader is Consul's X-Consul-Default-ACL-Policy, canonical.
const aclPolicyHeader = "X-Consul-Default-Acl-Policy"

// errNoDCPath is Consul's answer for a ?dc it has no route to.
var errNoDCPath = errors.New("No path to datacenter")

// wrap checks the method as Consul (OPTIONS lists the allowed methods,
// another method is a 405 listing them, HEAD included), refuses another
// datacenter, maps a handler's error to Consul's status codes and
// plain-text bodies, and turns a panic into a 500 rather than a dropped
// connection (the fuzz target checks that none happens).
func (a *Agent) wrap(rt route) http.Handler {
	allow := strings.Join(append([]string{http.MethodOptions}, rt.methods...), ",")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				a.panics.Add(1)
				a.log.Error("HTTP handler panic", "method", r.Method, "path", r.URL.Path, "panic", p)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		// Consul names its default ACL policy on every answer; without
		// ACLs it is allow.
		w.Header().Set(aclPolicyHeader, "allow")
		if r.Method == http.MethodOptions {
			w.Header().Set("Allow", allow)
			return
		}
		if !slices.Contains(rt.methods, r.Method) {
			w.Header().Set("Allow", allow)
			a.writeError(w, r, errStatus(http.StatusMethodNotAllowed, "method %s not allowed", r.Method))
			return
		}
		// (The raw query is looked at first: parsing it costs the hot KV
		// path allocations it rarely needs.)
		if rt.dc && strings.Contains(r.URL.RawQuery, "dc=") {
			if dc := r.URL.Query().Get("dc"); dc != "" && dc != a.cfg.Datacenter {
				a.writeError(w, r, errNoDCPath)
				return
			}
		}
		if rt.ent || rt.entPartition {
			if err := enterpriseOnly(r, !rt.ent); err != nil {
				a.writeError(w, r, err)
				return
			}
		}
		if strings.Contains(r.URL.RawQuery, "pretty") && present(r.URL.Query(), "pretty") {
			pw := &prettyWriter{ResponseWriter: w}
			defer pw.flush()
			w = pw // not a Hijacker: a blocking ?pretty query waits in place
		}
		if err := rt.h(w, r); err != nil {
			a.writeError(w, r, err)
		}
	})
}

// prettyWriter holds a ?pretty answer and indents its JSON as Consul's
// marshalJSON does: four spaces and a final newline.
type prettyWriter struct {
	http.ResponseWriter
	code int
	buf  bytes.Buffer
}

func (p *prettyWriter) WriteHeader(code int) {
	if p.code == 0 {
		p.code = code
	}
}

func (p *prettyWriter) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return p.buf.Write(b)
}

func (p *prettyWriter) flush() {
	body := p.buf.Bytes()
	if strings.HasPrefix(p.Header().Get("Content-Type"), "application/json") {
		var out bytes.Buffer
		if json.Indent(&out, bytes.TrimSpace(body), "", "    ") == nil {
			out.WriteByte('\n')
			body = out.Bytes()
		}
	}
	if p.code != 0 {
		p.ResponseWriter.WriteHeader(p.code)
	}
	p.ResponseWriter.Write(body)
}

// pathArg is the part of the request path after an endpoint's prefix
// (Consul's strings.TrimPrefix): a session ID, a node name, an address.
func pathArg(r *http.Request, prefix string) string {
	return strings.TrimPrefix(r.URL.Path, prefix)
}

// rejectedPrefix starts a store rejection's text; Consul's messages are
// what follows it.
var rejectedPrefix = store.ErrRejected.Error() + ": "

// rejection is the HTTP error for a command the state store refused:
// Consul answers 500 with the state store's message. The text is matched,
// not the type: a write forwarded to the leader brings its error back as
// text.
func rejection(err error) error {
	return statusError{code: http.StatusInternalServerError, msg: strings.TrimPrefix(err.Error(), rejectedPrefix)}
}

// statusError is an error with its HTTP status.
type statusError struct {
	code int
	msg  string
}

func (e statusError) Error() string { return e.msg }

func errStatus(code int, format string, args ...any) error {
	return statusError{code: code, msg: fmt.Sprintf(format, args...)}
}

func (a *Agent) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var se statusError
	var mbe *http.MaxBytesError
	code, msg := http.StatusInternalServerError, err.Error()
	switch {
	case errors.As(err, &se):
		code = se.code
	case isBadRequest(err):
		code = http.StatusBadRequest
	case errors.As(err, &mbe):
		code = http.StatusRequestEntityTooLarge
		msg = fmt.Sprintf("Request body too large, max size: %d bytes", mbe.Limit)
	case errors.Is(err, driver.ErrLeadershipLost) && r.Method != http.MethodGet:
		// A write whose outcome is unknown: hashicorp/raft's text, which
		// Consul passes on.
		msg = "leadership lost while committing log"
	case errors.Is(err, errNoLeader), errors.Is(err, driver.ErrLeadershipLost), errors.Is(err, driver.ErrReadTimeout):
		msg = errNoLeader.Error()
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return // the client went away
	}
	if code >= 500 {
		a.log.Warn("HTTP request failed", "method", r.Method, "path", r.URL.Path, "status", code, "error", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprint(w, msg)
}

// writeJSON writes v as a JSON body with status 200.
func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// readBody reads a request body of at most limit bytes. A declared
// Content-Length over the limit is refused before reading; a chunked body
// is cut at the limit (http.MaxBytesReader) and refused too.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
}

// decodeJSONBody decodes a small JSON body into v; an empty body leaves v
// as is. Malformed JSON, or a field v does not have, is a 400 (Consul's
// lib.DecodeJSON refuses unknown fields; its CE build rewords Namespace).
func decodeJSONBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	b, err := readBody(w, r, limit)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	if err := decodeStrict(b, v); err != nil {
		return errBadRequestf("Request decode failed: %v", err)
	}
	return nil
}

// decodeStrict decodes one JSON value refusing unknown fields, with
// Consul's messages.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err != nil && err.Error() == `json: unknown field "Namespace"` {
		return fmt.Errorf("%v - Namespaces are a Consul Enterprise feature", err)
	}
	return err
}

// enterpriseOnly is Consul CE's 400 for a namespace or partition asked for
// in the query or a header (partitionOnly: the route takes no namespace).
func enterpriseOnly(r *http.Request, partitionOnly bool) error {
	if !partitionOnly {
		if r.Header.Get("X-Consul-Namespace") != "" {
			return errBadRequestf(`Invalid header: "X-Consul-Namespace" - Namespaces are a Consul Enterprise feature`)
		}
		if strings.Contains(r.URL.RawQuery, "ns=") && r.URL.Query().Get("ns") != "" {
			return errBadRequestf(`Invalid query parameter: "ns" - Namespaces are a Consul Enterprise feature`)
		}
	}
	if r.Header.Get("X-Consul-Partition") != "" {
		return errBadRequestf(`Invalid header: "X-Consul-Partition" - Partitions are a Consul Enterprise feature`)
	}
	if strings.Contains(r.URL.RawQuery, "partition=") && r.URL.Query().Get("partition") != "" {
		return errBadRequestf(`Invalid query parameter: "partition" - Partitions are a Consul Enterprise feature`)
	}
	return nil
}
