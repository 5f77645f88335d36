package agent

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/agentd/agentd/store"
)

// kvPair is Consul's KV entry JSON (structs.DirEntry): Value is base64 or
// null, Session omitted when unlocked.
type kvPair struct {
	LockIndex   uint64
	Key         string
	Flags       uint64
	Value       []byte
	Session     string `json:",omitempty"`
	CreateIndex uint64
	ModifyIndex uint64
}

func toKVPair(e *store.KVEntry) kvPair {
	return kvPair{LockIndex: e.LockIndex, Key: e.Key, Flags: e.Flags, Value: e.Value,
		Session: e.Session, CreateIndex: e.CreateIndex, ModifyIndex: e.ModifyIndex}
}

// kv serves /v1/kv/<key>. The key is everything after the prefix,
// unescaped, with no cleaning: any bytes clients use are allowed.
func (a *Agent) kv(w http.ResponseWriter, r *http.Request) error {
	key := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/v1/kv"), "/")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return a.kvGet(w, r, key)
	case http.MethodPut:
		return a.kvPut(w, r, key)
	case http.MethodDelete:
		return a.kvDelete(w, r, key)
	}
	w.Header().Set("Allow", "GET, PUT, DELETE")
	return errStatus(http.StatusMethodNotAllowed, "method %s not allowed", r.Method)
}

func (a *Agent) kvGet(w http.ResponseWriter, r *http.Request, key string) error {
	q := r.URL.Query()
	o, err := parseQueryOptions(q)
	if err != nil {
		return err
	}
	// The closures below outlive the handler when the query is parked
	// (http_park.go): they capture only what they need, never r or q.
	switch {
	case flagSet(q, "keys"):
		sep := q.Get("separator")
		if _, ok := q["separator"]; !ok {
			sep = q.Get("seperator") // Consul still accepts the old spelling
		}
		var keys []string
		return a.serveBlocking(w, r, blockingQuery{o: o,
			read: func(ws *store.WatchSet) (uint64, error) {
				idx, ks := a.store.KVKeys(ws, key, sep)
				keys = ks
				return idx, nil
			},
			render: func(w http.ResponseWriter, meta queryMeta) error {
				setMeta(w, meta)
				if len(keys) == 0 {
					if key != "" {
						w.WriteHeader(http.StatusNotFound)
						return nil
					}
					keys = []string{}
				}
				return writeJSON(w, keys)
			}})
	case flagSet(q, "recurse"):
		var ents []*store.KVEntry
		return a.serveBlocking(w, r, blockingQuery{o: o,
			read: func(ws *store.WatchSet) (uint64, error) {
				idx, es := a.store.KVList(ws, key)
				ents = es
				return idx, nil
			},
			render: func(w http.ResponseWriter, meta queryMeta) error {
				setMeta(w, meta)
				if len(ents) == 0 {
					w.WriteHeader(http.StatusNotFound)
					return nil
				}
				out := make([]kvPair, len(ents))
				for i, e := range ents {
					out[i] = toKVPair(e)
				}
				return writeJSON(w, out)
			}})
	}
	if key == "" {
		return errBadRequestf("Missing key name")
	}
	raw := flagSet(q, "raw")
	var ent *store.KVEntry
	return a.serveBlocking(w, r, blockingQuery{o: o, kv: &kvGetShape{key: key, raw: raw, ent: &ent},
		read: func(ws *store.WatchSet) (uint64, error) {
			idx, e := a.store.KVGet(ws, key)
			ent = e
			return idx, nil
		},
		render: func(w http.ResponseWriter, meta queryMeta) error {
			setMeta(w, meta)
			if ent == nil {
				w.WriteHeader(http.StatusNotFound)
				return nil
			}
			if raw {
				// The value is arbitrary bytes: never let a browser
				// interpret it.
				w.Header().Set("Content-Type", "text/plain")
				w.Header().Set("X-Content-Type-Options", "nosniff")
				w.Header().Set("Content-Security-Policy", "sandbox")
				_, err := w.Write(ent.Value)
				return err
			}
			b, err := a.blocking.kvJSON.encode(ent)
			if err != nil {
				return err
			}
			w.Header().Set("Content-Type", "application/json")
			_, err = w.Write(b)
			return err
		}})
}

// parseUintParam reads an optional uint64 parameter; present reports
// whether it was given.
func parseUintParam(q url.Values, name string) (v uint64, present bool, err error) {
	s, ok := q[name]
	if !ok {
		return 0, false, nil
	}
	v, err = strconv.ParseUint(firstOf(s), 10, 64)
	if err != nil {
		return 0, true, errBadRequestf("Invalid %s value %q", name, firstOf(s))
	}
	return v, true, nil
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func (a *Agent) kvPut(w http.ResponseWriter, r *http.Request, key string) error {
	if key == "" {
		return errBadRequestf("Missing key name")
	}
	q := r.URL.Query()
	op := &store.KVOp{Verb: store.KVSet, Key: key}
	flags, _, err := parseUintParam(q, "flags")
	if err != nil {
		return err
	}
	op.Flags = flags
	cas, hasCAS, err := parseUintParam(q, "cas")
	if err != nil {
		return err
	}
	_, hasAcquire := q["acquire"]
	_, hasRelease := q["release"]
	n := 0
	for _, b := range []bool{hasCAS, hasAcquire, hasRelease} {
		if b {
			n++
		}
	}
	if n > 1 {
		return errBadRequestf("Conflicting flags: %s", r.URL.RawQuery)
	}
	switch {
	case hasCAS:
		op.Verb, op.Index = store.KVCAS, cas
	case hasAcquire:
		op.Verb, op.Session = store.KVLock, q.Get("acquire")
	case hasRelease:
		op.Verb, op.Session = store.KVUnlock, q.Get("release")
	}
	if (hasAcquire || hasRelease) && op.Session == "" {
		return errBadRequestf("Missing session ID")
	}
	body, err := readBody(w, r, maxKVValueBytes)
	if err != nil {
		return err
	}
	op.Value = body
	res, err := a.apply(r.Context(), op)
	if err != nil {
		return err
	}
	if res.Err != nil {
		return errStatus(http.StatusInternalServerError, "%v", res.Err)
	}
	return writeJSON(w, res.OK)
}

func (a *Agent) kvDelete(w http.ResponseWriter, r *http.Request, key string) error {
	q := r.URL.Query()
	recurse := flagSet(q, "recurse")
	cas, hasCAS, err := parseUintParam(q, "cas")
	if err != nil {
		return err
	}
	if recurse && hasCAS {
		return errBadRequestf("Conflicting flags: %s", r.URL.RawQuery)
	}
	if key == "" && !recurse {
		return errBadRequestf("Missing key name")
	}
	op := &store.KVOp{Verb: store.KVDelete, Key: key}
	switch {
	case recurse:
		op.Verb = store.KVDeleteTree
	case hasCAS:
		op.Verb, op.Index = store.KVDeleteCAS, cas
	}
	res, err := a.apply(r.Context(), op)
	if err != nil {
		return err
	}
	if res.Err != nil {
		return errStatus(http.StatusInternalServerError, "%v", res.Err)
	}
	return writeJSON(w, res.OK)
}
