package agent

import (
	"context"
	"sync"
	"time"

	"github.com/agentd/agentd/store"
)

// sessionTTLMultiplier: a session is invalidated 2×TTL after its last
// renew at the latest, as Consul (TTL is a lower bound).
const sessionTTLMultiplier = 2

// sessionTimers are the leader's TTL timers. They exist only while this
// server leads: on gaining leadership every session with a TTL gets a fresh
// timer at full TTL, on losing it all stop. Expiry is a SessionDestroy
// proposed through Raft, so every server invalidates the session at the
// same log position.
type sessionTimers struct {
	a *Agent

	mu sync.Mutex
	// ctx is the current leadership's context; nil while not leading.
	ctx    context.Context
	timers map[string]*time.Timer // guarded by mu
}

func newSessionTimers(a *Agent) *sessionTimers {
	return &sessionTimers{a: a, timers: make(map[string]*time.Timer)}
}

// active is the number of TTL timers running (Consul's
// consul.session_ttl.active; 0 unless leading).
func (t *sessionTimers) active() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.timers)
}

// startLeading arms a timer for every session with a TTL and stops them
// all when ctx (the leadership) ends.
func (t *sessionTimers) startLeading(ctx context.Context) {
	t.mu.Lock()
	t.ctx = ctx
	t.mu.Unlock()
	_, sessions := t.a.store.SessionList(nil)
	for _, s := range sessions {
		t.reset(s.ID, s.TTL)
	}
	context.AfterFunc(ctx, func() { t.stopFor(ctx) })
}

// stopFor stops the timers if ctx is still the current leadership.
func (t *sessionTimers) stopFor(ctx context.Context) {
	t.mu.Lock()
	cur := t.ctx
	t.mu.Unlock()
	if cur == ctx {
		t.stopAll()
	}
}

// reset (re)arms id's timer at 2×TTL from now; a session without TTL, or
// a server not leading, has none.
func (t *sessionTimers) reset(id, ttl string) {
	if ttl == "" {
		return
	}
	d, err := time.ParseDuration(ttl)
	if err != nil || d <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ctx == nil || t.ctx.Err() != nil {
		return
	}
	if old := t.timers[id]; old != nil {
		old.Stop()
	}
	ctx := t.ctx
	t.timers[id] = time.AfterFunc(d*sessionTTLMultiplier, func() { t.expire(ctx, id) })
}

// clear stops id's timer (the session was destroyed).
func (t *sessionTimers) clear(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.timers[id]; old != nil {
		old.Stop()
		delete(t.timers, id)
	}
}

// expire destroys the session through Raft, retrying while this server
// still leads.
func (t *sessionTimers) expire(ctx context.Context, id string) {
	t.clear(id)
	for ctx.Err() == nil {
		res, err := t.a.apply(ctx, &store.SessionDestroy{ID: id})
		if err == nil && res.Err == nil {
			t.a.log.Debug("session expired", "id", id)
			return
		}
		t.a.log.Warn("session expiry failed; retrying", "id", id, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// stopAll stops every timer (leadership lost, or shutdown).
func (t *sessionTimers) stopAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, tm := range t.timers {
		tm.Stop()
		delete(t.timers, id)
	}
	t.ctx = nil
}
