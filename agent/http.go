package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/agentd/agentd/raft/driver"
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

// routes builds the API mux. KV keys may contain anything ("a//b", "..");
// they bypass ServeMux, which would clean such paths with a redirect.
func (a *Agent) routes() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, f handlerFunc) { mux.Handle(pattern, a.wrap(f)) }

	h("PUT /v1/txn", a.txn)
	h("POST /v1/txn", a.txn)

	h("PUT /v1/session/create", a.sessionCreate)
	h("PUT /v1/session/destroy/{id}", a.sessionDestroy)
	h("PUT /v1/session/renew/{id}", a.sessionRenew)
	h("GET /v1/session/info/{id}", a.sessionInfo)
	h("GET /v1/session/node/{node}", a.sessionNode)
	h("GET /v1/session/list", a.sessionList)

	h("GET /v1/status/leader", a.statusLeader)
	h("GET /v1/status/peers", a.statusPeers)

	h("GET /v1/agent/self", a.agentSelf)
	h("GET /v1/agent/members", a.agentMembers)
	h("PUT /v1/agent/join/{addr}", a.agentJoin)
	h("PUT /v1/agent/leave", a.agentLeave)
	h("PUT /v1/agent/force-leave/{node}", a.agentForceLeave)

	h("GET /v1/operator/raft/configuration", a.raftConfiguration)
	h("DELETE /v1/operator/raft/peer", a.raftRemovePeer)

	h("GET /v1/catalog/nodes", a.catalogNodes)
	h("GET /v1/catalog/datacenters", a.catalogDatacenters)
	h("GET /v1/health/node/{node}", a.healthNode)

	h("GET /v1/snapshot", a.snapshotSave)
	h("PUT /v1/snapshot", a.snapshotRestore)

	if a.cfg.EnableDebug {
		// enable_debug, as Consul: Go's profiler (index, cmdline, profile,
		// symbol, trace and the named profiles under the index).
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}

	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "Consul Agent")
	})

	kv := a.wrap(a.kv)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/kv/") || r.URL.Path == "/v1/kv" {
			kv.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// wrap maps a handler's error to Consul's status codes and plain-text
// bodies, and turns a panic into a 500 rather than a dropped connection
// (the fuzz target checks that none happens).
func (a *Agent) wrap(f handlerFunc) http.Handler {
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
		if err := f(w, r); err != nil {
			a.writeError(w, r, err)
		}
	})
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
// as is. Malformed JSON is a 400.
func decodeJSONBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	b, err := readBody(w, r, limit)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errBadRequestf("Request decode failed: %v", err)
	}
	return nil
}
