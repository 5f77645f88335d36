package agent

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/agentd/agentd/store"
)

// Session limits, as Consul's.
const (
	sessionTTLMax         = 24 * time.Hour
	defaultLockDelay      = 15 * time.Second
	lockDelayMinThreshold = 1000 // a LockDelay below 1000ns is taken as seconds
)

// sessionJSON is Consul's session JSON: LockDelay in nanoseconds, TTL as
// given, NodeChecks never null (an empty list is "no checks"), and the
// deprecated Checks omitted (Consul keeps it only for a non-default list
// given in Checks; agentd folds that into NodeChecks).
type sessionJSON struct {
	ID            string
	Name          string
	Node          string
	LockDelay     time.Duration
	Behavior      string
	TTL           string
	Checks        []string `json:",omitempty"`
	NodeChecks    []string
	ServiceChecks []serviceCheckJSON
	CreateIndex   uint64
	ModifyIndex   uint64
}

type serviceCheckJSON struct {
	ID        string
	Namespace string
}

func toSessionJSON(s *store.Session) sessionJSON {
	out := sessionJSON{
		ID: s.ID, Name: s.Name, Node: s.Node, LockDelay: s.LockDelay, Behavior: string(s.Behavior),
		TTL: s.TTL, NodeChecks: s.NodeChecks,
		CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex,
	}
	if out.NodeChecks == nil {
		out.NodeChecks = []string{}
	}
	for _, c := range s.ServiceChecks {
		out.ServiceChecks = append(out.ServiceChecks, serviceCheckJSON{ID: c.ID, Namespace: c.Namespace})
	}
	return out
}

func toSessionsJSON(ss []*store.Session) []sessionJSON {
	out := make([]sessionJSON, 0, len(ss))
	for _, s := range ss {
		out = append(out, toSessionJSON(s))
	}
	return out
}

// sessionCreateRequest is the create body. LockDelay is a duration string
// or a number of nanoseconds; either below 1000ns is taken as seconds, as
// Consul.
type sessionCreateRequest struct {
	Name string
	// Node is nil when absent or null (the default: this agent's node);
	// an empty one is refused as Consul's RPC refuses it.
	Node      *string
	LockDelay json.RawMessage
	Behavior  string
	TTL       string
	// Checks and NodeChecks are raw so that absent (the default,
	// serfHealth) and null (no checks) differ, as in Consul, which decodes
	// the body over a session holding the defaults (sessionChecks).
	Checks, NodeChecks json.RawMessage
	ServiceChecks      []serviceCheckJSON
	// Fields of Consul's session that create accepts and ignores (a read
	// session sent back); any other field is a 400, as Consul's.
	ID                       string
	CreateIndex, ModifyIndex uint64
}

// sessionChecks is the session's node checks from the create body's
// Checks (deprecated) and NodeChecks, as Consul's SessionCreate makes them:
// both start as [serfHealth], the body overwrites each it names (null
// empties it), then fixupEmptySessionChecks: an empty Checks empties
// NodeChecks; a Checks of just serfHealth defers to NodeChecks; an empty
// NodeChecks drops Checks. The session watches both lists (agentd keeps
// them as one, NodeChecks first). The result is never nil: empty means no
// checks.
func sessionChecks(rawChecks, rawNode json.RawMessage) ([]string, error) {
	checks, err := checkList(rawChecks)
	if err != nil {
		return nil, err
	}
	node, err := checkList(rawNode)
	if err != nil {
		return nil, err
	}
	switch {
	case len(checks) == 0:
		return []string{}, nil
	case len(checks) == 1 && checks[0] == store.SerfCheckID:
		checks = nil
	case len(node) == 0:
		checks = nil
	}
	return append(append([]string{}, node...), checks...), nil
}

// checkList decodes a check list member: absent is the default
// [serfHealth], null is none.
func checkList(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 {
		return []string{store.SerfCheckID}, nil
	}
	var l []string
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, errBadRequestf("Request decode failed: %v", err)
	}
	return l, nil
}

func parseLockDelay(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return defaultLockDelay, nil
	}
	var d time.Duration
	var s string
	if json.Unmarshal(raw, &s) == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return 0, errBadRequestf("Request decode failed: %v", err)
		}
		d = v
	} else {
		var n float64
		if err := json.Unmarshal(raw, &n); err != nil || n < 0 || n > float64(1<<62) {
			return 0, errBadRequestf("Request decode failed: invalid LockDelay %s", raw)
		}
		d = time.Duration(n)
	}
	if d < 0 {
		return 0, errBadRequestf("Request decode failed: negative LockDelay %v", d)
	}
	if d < lockDelayMinThreshold {
		d *= time.Second
	}
	return d, nil
}

// sessionCreate creates a session with Consul's defaults: this agent's
// node, serfHealth, lock-delay 15s, behavior release, no TTL. A refused
// Behavior or TTL is Consul's 500 (its RPC's error), with its message.
func (a *Agent) sessionCreate(w http.ResponseWriter, r *http.Request) error {
	var req sessionCreateRequest
	if err := decodeJSONBody(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	s := store.Session{Name: req.Name, Node: a.cfg.NodeName, Behavior: store.SessionBehavior(req.Behavior), TTL: req.TTL}
	if req.Node != nil {
		if *req.Node == "" {
			return errStatus(http.StatusInternalServerError, "Must provide Node")
		}
		s.Node = *req.Node
	}
	checks, err := sessionChecks(req.Checks, req.NodeChecks)
	if err != nil {
		return err
	}
	d, err := parseLockDelay(req.LockDelay)
	if err != nil {
		return err
	}
	s.LockDelay = d
	switch s.Behavior {
	case "":
		s.Behavior = store.BehaviorRelease
	case store.BehaviorRelease, store.BehaviorDelete:
	default:
		return errStatus(http.StatusInternalServerError, "Invalid Behavior setting '%s'", req.Behavior)
	}
	if s.TTL != "" {
		ttl, err := time.ParseDuration(s.TTL)
		if err != nil {
			return errStatus(http.StatusInternalServerError, "Session TTL '%s' invalid: %v", s.TTL, err)
		}
		// A zero TTL ("0s", kept as given) means none: no timer.
		if ttl != 0 && (ttl < a.cfg.SessionTTLMin || ttl > sessionTTLMax) {
			return errStatus(http.StatusInternalServerError, "Invalid Session TTL '%d', must be between [%v=%v]", ttl, a.cfg.SessionTTLMin, sessionTTLMax)
		}
	}
	s.NodeChecks = checks
	for _, c := range req.ServiceChecks {
		s.ServiceChecks = append(s.ServiceChecks, store.ServiceCheck{ID: c.ID, Namespace: c.Namespace})
	}
	s.ID = newUUID()
	res, err := a.apply(r.Context(), &store.SessionCreate{Session: s})
	if err != nil {
		return err
	}
	if res.Err != nil {
		return rejection(res.Err)
	}
	a.sessions.reset(s.ID, s.TTL)
	return writeJSON(w, map[string]string{"ID": s.ID})
}

// sessionDestroy destroys a session; an unknown ID is not an error (Consul
// looks IDs up as plain strings: a malformed one is just unknown).
func (a *Agent) sessionDestroy(w http.ResponseWriter, r *http.Request) error {
	id := pathArg(r, "/v1/session/destroy/")
	if id == "" {
		return errBadRequestf("Missing session")
	}
	res, err := a.apply(r.Context(), &store.SessionDestroy{ID: id})
	if err != nil {
		return err
	}
	if res.Err != nil {
		return rejection(res.Err)
	}
	a.sessions.clear(id)
	return writeJSON(w, true)
}

// sessionRenew restarts the session's TTL timer on the leader. It is not
// a Raft write: timers are leader state, rebuilt at full TTL on failover.
func (a *Agent) sessionRenew(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQueryOptions(r.URL.Query(), r.Header); err != nil {
		return err
	}
	id := pathArg(r, "/v1/session/renew/")
	if id == "" {
		return errBadRequestf("Missing session")
	}
	if err := a.srv.readBarrier(r.Context(), ConsistencyLeader); err != nil {
		return err
	}
	if addr, lead, err := a.leaderRaftAddr(r.Context()); err != nil {
		return err
	} else if lead != a.srv.id && a.cluster != nil {
		// Timers live on the leader.
		b, err := a.cluster.tcp.Call(r.Context(), addr, rpcRenew, []byte(id))
		if err != nil {
			return err
		}
		if string(b) != "1" {
			return errStatus(http.StatusNotFound, "Session id '%s' not found", id)
		}
	}
	_, s := a.store.SessionGet(nil, id)
	if s == nil {
		return errStatus(http.StatusNotFound, "Session id '%s' not found", id)
	}
	a.sessions.reset(s.ID, s.TTL)
	return writeJSON(w, []sessionJSON{toSessionJSON(s)})
}

func (a *Agent) sessionInfo(w http.ResponseWriter, r *http.Request) error {
	id := pathArg(r, "/v1/session/info/")
	if id == "" {
		return errBadRequestf("Missing session")
	}
	return a.sessionRead(w, r, func(ws *store.WatchSet) (uint64, []*store.Session) {
		idx, s := a.store.SessionGet(ws, id)
		if s == nil {
			return idx, nil
		}
		return idx, []*store.Session{s}
	})
}

func (a *Agent) sessionNode(w http.ResponseWriter, r *http.Request) error {
	node := pathArg(r, "/v1/session/node/")
	if node == "" {
		return errBadRequestf("Missing node name")
	}
	return a.sessionRead(w, r, func(ws *store.WatchSet) (uint64, []*store.Session) {
		return a.store.NodeSessions(ws, node)
	})
}

func (a *Agent) sessionList(w http.ResponseWriter, r *http.Request) error {
	return a.sessionRead(w, r, a.store.SessionList)
}

func (a *Agent) sessionRead(w http.ResponseWriter, r *http.Request, read func(*store.WatchSet) (uint64, []*store.Session)) error {
	o, err := parseQueryOptions(r.URL.Query(), r.Header)
	if err != nil {
		return err
	}
	var out []*store.Session
	meta, err := a.blockingRead(r, o, func(ws *store.WatchSet) (uint64, error) {
		idx, ss := read(ws)
		out = ss
		return idx, nil
	})
	if err != nil {
		return err
	}
	setMeta(w, meta)
	return writeJSON(w, toSessionsJSON(out))
}
