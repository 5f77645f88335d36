package agent

import (
	"errors"
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

// kv serves /v1/kv/<key> (GET, PUT and DELETE: wrap refuses the rest).
// The key is everything after the prefix, unescaped: ServeMux has already
// redirected an unclean path and the filter refused unprintable runes
// (routes), as Consul's; any other bytes are kept.
func (a *Agent) kv(w http.ResponseWriter, r *http.Request) error {
	key := strings.TrimPrefix(r.URL.Path, "/v1/kv/")
	switch r.Method {
	case http.MethodGet:
		return a.kvGet(w, r, key)
	case http.MethodPut:
		return a.kvPut(w, r, key)
	case http.MethodDelete:
		return a.kvDelete(w, r, key)
	}
	return errStatus(http.StatusMethodNotAllowed, "method %s not allowed", r.Method)
}

func (a *Agent) kvGet(w http.ResponseWriter, r *http.Request, key string) error {
	q := r.URL.Query()
	o, err := parseQueryOptions(q, r.Header)
	if err != nil {
		return err
	}
	// The closures below outlive the handler when the query is parked
	// (http_park.go): they capture only what they need, never r or q.
	switch {
	case present(q, "keys"):
		sep := q.Get("separator")
		if !present(q, "separator") {
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
	case present(q, "recurse"):
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
	raw := present(q, "raw")
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
// whether it was given. A malformed number is Consul's 500 with the
// parser's message (Consul returns strconv's error as is).
func parseUintParam(q url.Values, name string) (v uint64, present bool, err error) {
	s, ok := q[name]
	if !ok {
		return 0, false, nil
	}
	v, err = strconv.ParseUint(firstOf(s), 10, 64)
	if err != nil {
		return 0, true, errStatus(http.StatusInternalServerError, "%v", err)
	}
	return v, true, nil
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// conflictingFlags is Consul's 400 when more than one of flags is given.
func conflictingFlags(q url.Values, flags ...string) error {
	n := 0
	for _, f := range flags {
		if present(q, f) {
			n++
		}
	}
	if n > 1 {
		return errBadRequestf("Conflicting flags: %s\n", q.Encode())
	}
	return nil
}

// kvValueTooLarge is Consul's 413 for a KV value over kv_max_value_size.
func kvValueTooLarge(length int64) error {
	const see = "See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size."
	if length < 0 { // chunked: cut while reading, the length is unknown
		return errStatus(http.StatusRequestEntityTooLarge, "Request body too large, max size: %d bytes. %s", maxKVValueBytes, see)
	}
	return errStatus(http.StatusRequestEntityTooLarge, "Request body(%d bytes) too large, max size: %d bytes. %s", length, maxKVValueBytes, see)
}

func (a *Agent) kvPut(w http.ResponseWriter, r *http.Request, key string) error {
	q := r.URL.Query()
	if _, err := parseQueryOptions(q, r.Header); err != nil {
		return err // Consul parses the read options of every KV request
	}
	if key == "" {
		return errBadRequestf("Missing key name")
	}
	if err := conflictingFlags(q, "cas", "acquire", "release"); err != nil {
		return err
	}
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
	switch {
	case hasCAS:
		op.Verb, op.Index = store.KVCAS, cas
	case present(q, "acquire"):
		op.Verb, op.Session = store.KVLock, q.Get("acquire")
	case present(q, "release"):
		op.Verb, op.Session = store.KVUnlock, q.Get("release")
	}
	if r.ContentLength > maxKVValueBytes {
		return kvValueTooLarge(r.ContentLength)
	}
	body, err := readBody(w, r, maxKVValueBytes)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return kvValueTooLarge(-1)
		}
		return err
	}
	op.Value = body
	res, err := a.apply(r.Context(), op)
	if err != nil {
		return err
	}
	if res.Err != nil {
		return rejection(res.Err)
	}
	return writeJSON(w, res.OK)
}

func (a *Agent) kvDelete(w http.ResponseWriter, r *http.Request, key string) error {
	q := r.URL.Query()
	if _, err := parseQueryOptions(q, r.Header); err != nil {
		return err
	}
	if err := conflictingFlags(q, "recurse", "cas"); err != nil {
		return err
	}
	recurse := present(q, "recurse")
	if key == "" && !recurse {
		return errBadRequestf("Missing key name")
	}
	cas, hasCAS, err := parseUintParam(q, "cas")
	if err != nil {
		return err
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
		return rejection(res.Err)
	}
	return writeJSON(w, res.OK)
}
