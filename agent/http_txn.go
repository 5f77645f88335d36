package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/agentd/agentd/store"
)

// maxTxnOps is Consul's limit on operations per transaction.
const maxTxnOps = 128

// txnOp is one element of a /v1/txn request. Only KV operations are
// supported; Node, Service and Check operations come with the catalog.
type txnOp struct {
	KV      *txnKVOp
	Node    json.RawMessage
	Service json.RawMessage
	Check   json.RawMessage
}

type txnKVOp struct {
	Verb    string
	Key     string
	Value   []byte
	Flags   uint64
	Index   uint64
	Session string
	// Namespace and Partition are the Go client's (omitted when empty);
	// Consul CE ignores them here.
	Namespace, Partition string
}

type txnResultJSON struct {
	KV *kvPair `json:",omitempty"`
}

type txnErrorJSON struct {
	OpIndex int
	What    string
}

type txnResponse struct {
	Results []txnResultJSON
	Errors  []txnErrorJSON
}

// txn serves PUT /v1/txn: all operations apply atomically or none does
// (409 with the errors). A transaction of reads only is served locally
// with the request's consistency mode and read headers.
func (a *Agent) txn(w http.ResponseWriter, r *http.Request) error {
	const see = "See https://www.consul.io/docs/agent/config/config-files#txn_max_req_len."
	if r.ContentLength > maxTxnBytes {
		return errStatus(http.StatusRequestEntityTooLarge, "Request body(%d bytes) too large, max size: %d bytes. %s", r.ContentLength, maxTxnBytes, see)
	}
	body, err := readBody(w, r, maxTxnBytes)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errStatus(http.StatusRequestEntityTooLarge, "Request body too large, max size: %d bytes. %s", maxTxnBytes, see)
		}
		return err
	}
	var req []txnOp
	if err := decodeStrict(body, &req); err != nil {
		return errBadRequestf("Failed to parse body: %v", err)
	}
	if len(req) > maxTxnOps {
		return errStatus(http.StatusRequestEntityTooLarge, "Transaction contains too many operations (%d > %d)", len(req), maxTxnOps)
	}
	ops, pos, bad, reads, err := convertTxnOps(req)
	if err != nil {
		return err
	}
	if len(bad) > 0 && !reads {
		// Consul would run such a transaction through Raft and report
		// every op's error; agentd refuses it before proposing it, with
		// the errors found here.
		return writeTxnResult(w, &store.TxnResult{Errors: bad})
	}
	var result *store.TxnResult
	if reads {
		o, err := parseQueryOptions(r.URL.Query(), r.Header)
		if err != nil {
			return err
		}
		o.minIndex = 0 // a transaction never blocks
		meta, err := a.blockingRead(r, o, func(*store.WatchSet) (uint64, error) {
			idx, res, _ := a.store.TxnRead(ops)
			result = res
			return idx, nil
		})
		if err != nil {
			return err
		}
		if len(bad) > 0 {
			result = &store.TxnResult{Errors: mergeTxnErrors(result.Errors, pos, bad)}
		}
		// A read-only txn reports staleness, but not an index or a
		// consistency: it never blocks (as Consul's).
		h := w.Header()
		h.Set("X-Consul-KnownLeader", strconv.FormatBool(meta.knownLeader))
		h.Set("X-Consul-LastContact", strconv.FormatInt(max(meta.lastContact.Milliseconds(), 0), 10))
	} else {
		res, err := a.apply(r.Context(), &store.Txn{Ops: ops})
		if err != nil {
			return err
		}
		if res.Err != nil {
			return rejection(res.Err)
		}
		result = res.Txn
		if result == nil {
			result = &store.TxnResult{}
		}
	}
	return writeTxnResult(w, result)
}

// convertTxnOps turns the request's operations into the store's, as
// Consul's convertOps and state store see them. An element with no
// operation at all ({} or {"KV":null}) is dropped, and the operations after
// it are numbered without it, as Consul's. An unknown KV verb, or a Node,
// Service or Check operation (agentd's catalog takes none), is an error at
// its position: bad, in op order. pos[i] is ops[i]'s position among the
// kept operations. reads: no op writes (an unknown verb does not, as in
// Consul's isWrite).
func convertTxnOps(req []txnOp) (ops []store.KVOp, pos []int, bad []store.TxnError, reads bool, err error) {
	ops = make([]store.KVOp, 0, len(req))
	reads = true
	n := 0 // position among kept operations
	for _, op := range req {
		if op.KV == nil {
			if absentOp(op.Node) && absentOp(op.Service) && absentOp(op.Check) {
				continue
			}
			bad = append(bad, store.TxnError{OpIndex: n, What: "only KV operations are supported"})
			reads = false // Consul counts a catalog op other than get as a write
			n++
			continue
		}
		if len(op.KV.Value) > maxKVValueBytes {
			return nil, nil, nil, false, errStatus(http.StatusRequestEntityTooLarge, "Value for key %q is too large (%d > %d bytes)", op.KV.Key, len(op.KV.Value), maxKVValueBytes)
		}
		verb, ok := store.ParseKVVerb(op.KV.Verb)
		if !ok {
			bad = append(bad, store.TxnError{OpIndex: n, What: fmt.Sprintf("unknown KV verb %q", op.KV.Verb)})
			n++
			continue
		}
		switch verb {
		case store.KVGet, store.KVGetTree, store.KVGetOrEmpty, store.KVCheckIndex, store.KVCheckSession, store.KVCheckNotExists:
		default:
			reads = false
		}
		ops = append(ops, store.KVOp{Verb: verb, Key: op.KV.Key, Value: op.KV.Value, Flags: op.KV.Flags, Index: op.KV.Index, Session: op.KV.Session})
		pos = append(pos, n)
		n++
	}
	return ops, pos, bad, reads, nil
}

// absentOp reports whether a Node, Service or Check member is missing or
// null: Consul's convertOps skips an element with none set.
func absentOp(m json.RawMessage) bool {
	return len(m) == 0 || string(m) == "null"
}

// mergeTxnErrors renumbers the store's errors (indexes into the kept ops)
// to request positions and merges them with bad, in op order: Consul's
// state store runs every op and reports each failure.
func mergeTxnErrors(got []store.TxnError, pos []int, bad []store.TxnError) []store.TxnError {
	out := make([]store.TxnError, 0, len(got)+len(bad))
	for _, e := range got {
		if e.OpIndex >= 0 && e.OpIndex < len(pos) {
			e.OpIndex = pos[e.OpIndex]
		}
		out = append(out, e)
	}
	out = append(out, bad...)
	slices.SortStableFunc(out, func(x, y store.TxnError) int { return x.OpIndex - y.OpIndex })
	return out
}

func writeTxnResult(w http.ResponseWriter, res *store.TxnResult) error {
	var out txnResponse
	if len(res.Errors) > 0 {
		for _, e := range res.Errors {
			out.Errors = append(out.Errors, txnErrorJSON{OpIndex: e.OpIndex, What: e.What})
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		return json.NewEncoder(w).Encode(out)
	}
	for _, r := range res.Results { // none (deletes only): null, as Consul
		if r.KV != nil {
			p := toKVPair(r.KV)
			out.Results = append(out.Results, txnResultJSON{KV: &p})
		}
	}
	return writeJSON(w, out)
}
