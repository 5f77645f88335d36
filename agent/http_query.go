package agent

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Blocking-query limits, as Consul's defaults.
const (
	defaultQueryTime = 5 * time.Minute  // default_query_time: ?index without ?wait
	maxQueryTime     = 10 * time.Minute // max_query_time: ?wait is clamped to this
	// rpcHoldTimeout bounds how long a request waits for a leader (or for a
	// new leader's barrier) before 500 "No cluster leader".
	rpcHoldTimeout = 7 * time.Second
)

// Consistency is a read's consistency mode; its String is the query
// parameter's name, as X-Consul-Effective-Consistency reports it.
type Consistency uint8

const (
	// ConsistencyLeader (the default): the leader answers from its state
	// once it has committed an entry of its own term.
	ConsistencyLeader Consistency = iota
	// ConsistencyStale: any server answers from its local state.
	ConsistencyStale
	// ConsistencyConsistent: a ReadIndex round confirms leadership and the
	// answer reflects every write acknowledged before the request.
	ConsistencyConsistent
)

func (c Consistency) String() string {
	switch c {
	case ConsistencyLeader:
		return "leader"
	case ConsistencyStale:
		return "stale"
	case ConsistencyConsistent:
		return "consistent"
	}
	return fmt.Sprintf("Consistency(%d)", uint8(c))
}

// queryOptions are the common read parameters.
type queryOptions struct {
	// minIndex (?index): block until the result's index exceeds it; 0 does
	// not block.
	minIndex uint64
	// wait is the blocking timeout, defaulted and clamped (jitter is added
	// by blockingTimeout).
	wait        time.Duration
	consistency Consistency
	// maxStale (?max_stale, which implies stale): the catalog and health
	// reads re-run a stale answer as a default read when this server last
	// heard from the leader longer ago (boundedStaleRead); 0 is no bound.
	maxStale time.Duration
}

// errBadRequest marks a 400 whose message is the error text.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

func errBadRequestf(format string, args ...any) error {
	return badRequest{msg: fmt.Sprintf(format, args...)}
}

// isBadRequest reports a badRequest error.
func isBadRequest(err error) bool {
	var b badRequest
	return errors.As(err, &b)
}

// present reports a flag parameter. As Consul, presence is all that
// counts: `?stale`, `?stale=`, `?recurse=1` and `?recurse=false` are all set.
func present(q url.Values, name string) bool {
	_, ok := q[name]
	return ok
}

// parseQueryOptions reads ?stale, ?consistent, ?leader, ?max_stale, the
// Cache-Control header, ?wait and ?index, in the order of Consul's parse
// (parseConsistency, parseCacheControl, parseWait), so a request with
// several bad ones gets Consul's first complaint. Errors are 400s with
// Consul's messages. h may be nil (no header to look at).
func parseQueryOptions(q url.Values, h http.Header) (queryOptions, error) {
	var o queryOptions
	stale := present(q, "stale")
	if s := q.Get("max_stale"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return o, errBadRequestf("Invalid max_stale value %q", s)
		}
		stale = stale || d > 0
		o.maxStale = max(d, 0)
	}
	consistent := present(q, "consistent")
	switch {
	case stale && consistent:
		return o, errBadRequestf("Cannot specify ?stale with ?consistent, conflicting semantics.")
	case stale:
		o.consistency = ConsistencyStale
	case consistent:
		if present(q, "cached") {
			return o, errBadRequestf("Cannot specify ?cached with ?consistent, conflicting semantics.")
		}
		o.consistency = ConsistencyConsistent
	}
	if h != nil {
		if err := checkCacheControl(h.Get("Cache-Control")); err != nil {
			return o, err
		}
	}
	o.wait = defaultQueryTime
	if s := q.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return o, errBadRequestf("Invalid wait time")
		}
		if d > 0 {
			o.wait = min(d, maxQueryTime)
		}
	}
	if s := q.Get("index"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return o, errBadRequestf("Invalid index")
		}
		o.minIndex = n
	}
	return o, nil
}

// checkCacheControl refuses a Cache-Control header whose max-age or
// stale-if-error is not a whole number of seconds, as Consul's
// parseCacheControl does for every read. agentd has no agent cache, so
// the values are not used (as Consul ignores them on uncached reads).
func checkCacheControl(raw string) error {
	if raw == "" {
		return nil
	}
	for _, d := range strings.Split(strings.ToLower(raw), ",") {
		d = strings.TrimSpace(d)
		for _, prefix := range []string{"max-age=", "stale-if-error="} {
			if v, ok := strings.CutPrefix(d, prefix); ok {
				if _, err := strconv.Atoi(v); err != nil {
					return errBadRequestf("Invalid Cache-Control header.")
				}
			}
		}
	}
	return nil
}

// blockingTimeout is wait plus Consul's jitter, uniform in [0, wait/16), so
// that watchers started together do not all return together.
func blockingTimeout(wait time.Duration) time.Duration {
	if j := int64(wait / 16); j > 0 {
		return wait + time.Duration(rand.Int64N(j))
	}
	return wait
}

// queryMeta is what a read reports in its headers.
type queryMeta struct {
	index       uint64
	knownLeader bool
	lastContact time.Duration
	consistency Consistency
}

// setMeta writes Consul's read headers. X-Consul-Index is never 0: the
// first Raft entry is always internal, so 1 never names a user write.
func setMeta(w http.ResponseWriter, m queryMeta) {
	h := w.Header()
	idx := max(m.index, 1)
	h.Set("X-Consul-Index", strconv.FormatUint(idx, 10))
	h.Set("X-Consul-KnownLeader", strconv.FormatBool(m.knownLeader))
	h.Set("X-Consul-LastContact", strconv.FormatInt(max(m.lastContact.Milliseconds(), 0), 10))
	h.Set("X-Consul-Effective-Consistency", m.consistency.String())
	h.Set(aclPolicyHeader, "allow") // wrap's, again for a parked answer
}
