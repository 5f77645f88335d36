package agent

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/agentd/agentd/store"
)

// Session limits, as Consul's.
const (
	sessionTTLMax        = 24 * time.Hour
	defaultLockDelay     = 15 * time.Second
	maxLockDelay         = 60 * time.Second
	lockDelayMinThresold = 1000 // a bare LockDelay number below this is seconds
)

// sessionJSON is Consul's session JSON: LockDelay in nanoseconds, TTL as
// given; Checks repeats NodeChecks for older clients.
type sessionJSON struct {
	ID            string
	Name          string
	Node          string
	LockDelay     time.Duration
	Behavior      string
	TTL           string
	Checks        []string
	NodeChecks    []string
	ServiceChecks []serviceCheckJSON
	CreateIndex   uint64
	ModifyIndex   uint64
}

type serviceCheckJSON struct {
	ID        string
	Namespace string `json:",omitempty"`
}

func toSessionJSON(s *store.Session) sessionJSON {
	out := sessionJSON{
		ID: s.ID, Name: s.Name, Node: s.Node, LockDelay: s.LockDelay, Behavior: string(s.Behavior),
		TTL: s.TTL, Checks: s.NodeChecks, NodeChecks: s.NodeChecks,
		CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex,
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
// or a number (nanoseconds, or seconds when below 1000, as Consul).
type sessionCreateRequest struct {
	Name          string
	Node          string
	LockDelay     json.RawMessage
	Behavior      string
	TTL           string
	Checks        []string
	NodeChecks    []string
	ServiceChecks []serviceCheckJSON
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
			return 0, errBadRequestf("Request decode failed: invalid LockDelay %q", s)
		}
		d = v
	} else {
		var n float64
		if err := json.Unmarshal(raw, &n); err != nil || n < 0 || n > float64(1<<62) {
			return 0, errBadRequestf("Request decode failed: invalid LockDelay %s", raw)
		}
		d = time.Duration(n)
		if d < lockDelayMinThresold {
			d *= time.Second
		}
	}
	if d < 0 || d > maxLockDelay {
		return 0, errBadRequestf("Invalid LockDelay %v: must be between 0s and %v", d, maxLockDelay)
	}
	return d, nil
}

func (a *Agent) sessionCreate(w http.ResponseWriter, r *http.Request) error {
	var req sessionCreateRequest
	if err := decodeJSONBody(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	s := store.Session{Name: req.Name, Node: req.Node, Behavior: store.SessionBehavior(req.Behavior), TTL: req.TTL}
	if s.Node == "" {
		s.Node = a.cfg.NodeName
	}
	switch s.Behavior {
	case "":
		s.Behavior = store.BehaviorRelease
	case store.BehaviorRelease, store.BehaviorDelete:
	default:
		return errBadRequestf("Invalid Behavior setting '%s'", req.Behavior)
	}
	d, err := parseLockDelay(req.LockDelay)
	if err != nil {
		return err
	}
	s.LockDelay = d
	if s.TTL != "" {
		ttl, err := time.ParseDuration(s.TTL)
		if err != nil {
			return errBadRequestf("Request decode failed: invalid TTL %q", s.TTL)
		}
		if ttl != 0 && (ttl < a.cfg.SessionTTLMin || ttl > sessionTTLMax) {
			return errBadRequestf("Invalid Session TTL '%s', must be between [%v=%v]", s.TTL, a.cfg.SessionTTLMin, sessionTTLMax)
		}
		if ttl == 0 {
			s.TTL = ""
		}
	}
	// Checks is the deprecated spelling of NodeChecks; nil in both means
	// the default (serfHealth), an empty list means none.
	switch {
	case req.NodeChecks != nil:
		s.NodeChecks = req.NodeChecks
	case req.Checks != nil:
		s.NodeChecks = req.Checks
	}
	for _, c := range req.ServiceChecks {
		s.ServiceChecks = append(s.ServiceChecks, store.ServiceCheck{ID: c.ID, Namespace: c.Namespace})
	}
	s.ID = newUUID()
	res, err := a.apply(r.Context(), &store.SessionCreate{Session: s})
	if err != nil {
		return err
	}
	if res.Err != nil {
		return errStatus(http.StatusInternalServerError, "%v", res.Err)
	}
	a.sessions.reset(s.ID, s.TTL)
	return writeJSON(w, map[string]string{"ID": s.ID})
}

// validSessionID accepts what a UUID looks like; anything else is a 400
// (Consul: a malformed UUID is an error, an unknown one is not).
func validSessionID(id string) error {
	if len(id) != 36 || strings.Count(id, "-") != 4 {
		return errBadRequestf("Session ID must be a valid UUID, got %q", id)
	}
	return nil
}

func (a *Agent) sessionDestroy(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := validSessionID(id); err != nil {
		return err
	}
	res, err := a.apply(r.Context(), &store.SessionDestroy{ID: id})
	if err != nil {
		return err
	}
	if res.Err != nil {
		return errStatus(http.StatusInternalServerError, "%v", res.Err)
	}
	a.sessions.clear(id)
	return writeJSON(w, true)
}

// sessionRenew restarts the session's TTL timer on the leader. It is not
// a Raft write: timers are leader state, rebuilt at full TTL on failover.
func (a *Agent) sessionRenew(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := validSessionID(id); err != nil {
		return err
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
	id := r.PathValue("id")
	return a.sessionRead(w, r, func(ws *store.WatchSet) (uint64, []*store.Session) {
		idx, s := a.store.SessionGet(ws, id)
		if s == nil {
			return idx, nil
		}
		return idx, []*store.Session{s}
	})
}

func (a *Agent) sessionNode(w http.ResponseWriter, r *http.Request) error {
	node := r.PathValue("node")
	return a.sessionRead(w, r, func(ws *store.WatchSet) (uint64, []*store.Session) {
		return a.store.NodeSessions(ws, node)
	})
}

func (a *Agent) sessionList(w http.ResponseWriter, r *http.Request) error {
	return a.sessionRead(w, r, a.store.SessionList)
}

func (a *Agent) sessionRead(w http.ResponseWriter, r *http.Request, read func(*store.WatchSet) (uint64, []*store.Session)) error {
	o, err := parseQueryOptions(r.URL.Query())
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
