package agent

import (
	"net/http"
	"strings"
	"time"
)

// A server in cluster mode serves HTTP before its Raft server runs, as
// Consul does: a -bootstrap-expect server waits, maybe for a long time, for
// the other servers, and harnesses (Consul's own sdk/testutil among them)
// start each server and wait for its HTTP API before starting the next.
// Until a.srvPtr is set, /v1/status/leader answers "" and
// /v1/status/peers [], and every other request waits up to
// rpc_hold_timeout for the server, then is served normally or answers
// 500 "No cluster leader" (what a server without a leader answers) —
// except the agent's own endpoints that need no Raft (localRoute): they
// are served as soon as the gossip pool runs, so that servers started
// with bootstrap_expect can be joined (`agentd join`, PUT
// /v1/agent/join: Consul's sdk/testutil JoinLAN) and listed while they
// wait for each other.

// awaitServer is the gate in front of every route while the Raft server is
// not running yet: it reports whether r may go on to its handler, having
// answered it itself otherwise.
func (a *Agent) awaitServer(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet {
		switch r.URL.Path {
		case "/v1/status/leader":
			w.Header().Set(aclPolicyHeader, "allow")
			writeJSON(w, "")
			return false
		case "/v1/status/peers":
			w.Header().Set(aclPolicyHeader, "allow")
			writeJSON(w, []string{})
			return false
		}
	}
	// The local routes wait for the gossip pool (or the server, whichever
	// comes first); the others for the server.
	ready := a.srvReady
	if localRoute(r) {
		ready = a.gossipReady
	}
	hold := time.NewTimer(rpcHoldTimeout)
	defer hold.Stop()
	select {
	case <-ready:
		return true
	case <-a.srvReady:
		return true
	case <-hold.C:
	case <-r.Context().Done():
		return false
	case <-a.stopc:
	}
	w.Header().Set(aclPolicyHeader, "allow")
	a.writeError(w, r, errNoLeader)
	return false
}

// localRoute reports whether r is served from the gossip pool and the
// agent's configuration alone.
func localRoute(r *http.Request) bool {
	switch {
	case r.Method == http.MethodGet:
		return r.URL.Path == "/v1/agent/self" || r.URL.Path == "/v1/agent/members"
	case r.Method == http.MethodPut:
		return strings.HasPrefix(r.URL.Path, "/v1/agent/join/") || strings.HasPrefix(r.URL.Path, "/v1/agent/force-leave/")
	}
	return false
}
