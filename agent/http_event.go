package agent

import (
	"net/http"
	"strconv"
	"time"
)

// PUT /v1/event/fire/<name>?node=&service=&tag=: fires a user event (body:
// the payload) and answers it as Consul does, with its new ID and LTime 0
// (the Lamport time is assigned as it spreads).
func (a *Agent) eventFire(w http.ResponseWriter, r *http.Request) error {
	name := pathArg(r, "/v1/event/fire/")
	if name == "" {
		return errBadRequestf("Missing name")
	}
	q := r.URL.Query()
	e := &userEvent{ID: newUUID(), Name: name, NodeFilter: q.Get("node"), ServiceFilter: q.Get("service"),
		TagFilter: q.Get("tag"), Version: userEventVersion}
	if err := validateEvent(e); err != nil {
		return err
	}
	body, err := readBody(w, r, maxEventBody)
	if err != nil {
		return err
	}
	if len(body) > 0 {
		e.Payload = body
	}
	if err := a.fireEvent(e); err != nil {
		return errStatus(http.StatusInternalServerError, "%v", err)
	}
	return writeJSON(w, e)
}

// maxEventBody caps what is read of a fire request's body; the gossip
// layer refuses events over its 512-byte limit with a 500, as Consul's
// serf does.
const maxEventBody = 64 << 10

// GET /v1/event/list?name=&index=&wait=: the recent events this agent
// accepted, oldest first. Blocking as Consul's: the index is the last
// event's folded ID (eventIndex), and a request whose ?index equals it
// waits for the next event or ?wait (no jitter, as Consul's).
func (a *Agent) eventList(w http.ResponseWriter, r *http.Request) error {
	o, err := parseQueryOptions(r.URL.Query(), r.Header)
	if err != nil {
		return err
	}
	name := r.URL.Query().Get("name")
	var timeout <-chan time.Time
	if o.minIndex > 0 {
		t := time.NewTimer(o.wait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		events, changed := a.events.list(name)
		idx := eventIndex(events)
		if o.minIndex == 0 || idx != o.minIndex {
			setIndexHeader(w, idx)
			return writeJSON(w, events)
		}
		select {
		case <-changed:
			continue
		case <-timeout:
		case <-r.Context().Done():
			return r.Context().Err()
		case <-a.stopc:
		}
		setIndexHeader(w, idx)
		return writeJSON(w, events)
	}
}

// setIndexHeader sets X-Consul-Index alone (Consul's agent-local event
// list sets no other read header).
func setIndexHeader(w http.ResponseWriter, idx uint64) {
	w.Header().Set("X-Consul-Index", strconv.FormatUint(idx, 10))
}
