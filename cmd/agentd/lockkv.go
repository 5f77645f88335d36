package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The lock and semaphore protocols of Consul's Go client (api.Lock,
// api.Semaphore), spoken over the KV and session API so that `agentd lock`
// interoperates with any client using them on the same prefix:
//
//   - a lock is the key PREFIX/.lock held (?acquire) by a session, with
//     flags lockFlag;
//   - a semaphore is one contender key PREFIX/<session> per contender,
//     held by its session, and PREFIX/.lock holding the JSON
//     {"Limit": n, "Holders": {"<session>": true, ...}} with flags
//     semaphoreFlag, changed only by check-and-set.
//
// Both use one session (TTL 15 s, renewed every half TTL) and watch the
// keys with blocking queries.
const (
	lockFlag       uint64 = 0x2ddccbc058a50c18
	semaphoreFlag  uint64 = 0xe0f69a2baa414de0
	lockKeyName           = ".lock"
	lockSessionTTL        = 15 * time.Second
	lockWait              = 15 * time.Second // blocking wait while contending
	lockRetry             = 5 * time.Second  // after a refused acquire (lock-delay)
)

var (
	errLockConflict = errors.New("Existing key does not match lock use")
	errLockInUse    = errors.New("Lock in use")
	errSemInUse     = errors.New("Semaphore in use")
)

// locker is a held-or-not lock or semaphore.
type locker interface {
	// acquire blocks until held (then returns a channel closed when the
	// hold is lost), until timeout (>0; nil, nil), or an error.
	acquire(timeout time.Duration) (<-chan struct{}, error)
	release() error
	// cleanup deletes the coordination key if nobody holds it.
	cleanup() error
	inUse() error
}

// kvLockBase is what both share: the client, the session and its renewal.
type kvLockBase struct {
	c       *client
	session string
	stop    chan struct{} // closes the renewal
	retries int           // 5xx answers tolerated while monitoring
}

func (b *kvLockBase) startSession(name string) error {
	body, _ := json.Marshal(map[string]string{"Name": name, "TTL": lockSessionTTL.String()})
	out, _, err := b.c.do(http.MethodPut, "/v1/session/create", nil, strings.NewReader(string(body)))
	if err != nil {
		return fmt.Errorf("failed to create session: %w", err)
	}
	var s struct{ ID string }
	if err := json.Unmarshal(out, &s); err != nil {
		return err
	}
	b.session, b.stop = s.ID, make(chan struct{})
	c, session, stop := b.c, b.session, b.stop // the goroutine's own copies
	go func() {
		t := time.NewTicker(lockSessionTTL / 2)
		defer t.Stop()
		for {
			select {
			case <-stop:
				c.do(http.MethodPut, "/v1/session/destroy/"+session, nil, nil)
				return
			case <-t.C:
				c.do(http.MethodPut, "/v1/session/renew/"+session, nil, nil)
			}
		}
	}()
	return nil
}

func (b *kvLockBase) endSession() {
	if b.stop != nil {
		close(b.stop)
		b.stop = nil
	}
}

// get reads key (or with recurse the prefix) blocking on index; a missing
// key is no pair.
func (b *kvLockBase) get(key string, recurse bool, index uint64, wait time.Duration) ([]kvPair, uint64, error) {
	q := url.Values{}
	if recurse {
		q.Set("recurse", "")
	}
	if index > 0 {
		q.Set("index", strconv.FormatUint(index, 10))
		q.Set("wait", wait.String())
	}
	body, h, err := b.c.do(http.MethodGet, keyPath(key), q, nil)
	idx, _ := strconv.ParseUint(h.Get("X-Consul-Index"), 10, 64)
	if isNotFound(err) {
		return nil, idx, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var pairs []kvPair
	return pairs, idx, json.Unmarshal(body, &pairs)
}

// put writes key with query q (acquire, release, cas, flags).
func (b *kvLockBase) put(key string, q url.Values, value []byte) (bool, error) {
	body, _, err := b.c.do(http.MethodPut, keyPath(key), q, strings.NewReader(string(value)))
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(string(body)) == "true", nil
}

// watch closes lost when still(pairs) turns false, after retries 5xx
// answers in a row, or when stop closes.
func (b *kvLockBase) watch(key string, recurse bool, still func([]kvPair) bool) <-chan struct{} {
	lost := make(chan struct{})
	stop := b.stop // endSession clears the field; the goroutine keeps this
	go func() {
		defer close(lost)
		var index uint64
		fails := 0
		for {
			pairs, idx, err := b.get(key, recurse, index, 5*time.Minute)
			var ae *apiError
			switch {
			case err != nil && errors.As(err, &ae) && ae.status >= 500 && fails < b.retries:
				fails++
				time.Sleep(time.Second) // Consul's monitor retry interval
				continue
			case err != nil || !still(pairs):
				return
			}
			fails, index = 0, idx
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	return lost
}

func flagQuery(extra url.Values, flag uint64) url.Values {
	extra.Set("flags", strconv.FormatUint(flag, 10))
	return extra
}

// deadline is the end of a -timeout (zero: none).
func deadline(timeout time.Duration) time.Time {
	if timeout <= 0 {
		return time.Time{}
	}
	return time.Now().Add(timeout)
}

// nextWait is how long the next blocking read may wait before the
// deadline, and whether there is time left.
func nextWait(end time.Time) (time.Duration, bool) {
	if end.IsZero() {
		return lockWait, true
	}
	left := time.Until(end)
	return min(left, lockWait), left > 0
}
