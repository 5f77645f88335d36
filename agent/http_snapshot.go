package agent

import (
	"net/http"
	"strconv"

	"github.com/agentd/agentd/store"
)

// maxRestoreBytes bounds a snapshot restored through the API: the restore
// travels as one Raft entry, and an entry is at most raft MaxEntrySize.
const maxRestoreBytes = 1<<20 - 4<<10

// snapshotSave streams the store's state (agentd's own format, not
// Consul's archive) from a leader-consistent view.
func (a *Agent) snapshotSave(w http.ResponseWriter, r *http.Request) error {
	o, err := parseQueryOptions(r.URL.Query())
	if err != nil {
		return err
	}
	if err := a.srv.readBarrier(r.Context(), o.consistency); err != nil {
		return err
	}
	sn := a.store.Snapshot()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Consul-Index", strconv.FormatUint(max(sn.Index(), 1), 10))
	_, err = sn.WriteTo(w)
	return err
}

// snapshotRestore replaces the state through Raft so every server ends
// identical and indexes move forward.
func (a *Agent) snapshotRestore(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r, maxRestoreBytes)
	if err != nil {
		return err
	}
	res, err := a.apply(r.Context(), &store.RestoreState{Data: body})
	if err != nil {
		return err
	}
	if res.Err != nil {
		return errBadRequestf("%v", res.Err)
	}
	return nil
}
