package driver

import (
	"errors"
	"fmt"
	"time"

	"github.com/agentd/agentd/swim"
)

// Addr is the address peers reach this driver at.
func (d *Driver) Addr() string { return d.cfg.Swim.Addr }

// Keyring returns the encryption keyring, or nil when encryption is off
// (turning it on needs a restart with Keys, as in Consul).
func (d *Driver) Keyring() *Keyring { return d.kr }

// Join contacts addrs with a push-pull each; it returns once the requests
// are started. The core retries with backoff (Swim.JoinRetryInterval,
// JoinMaxAttempts) until one answers; Joined reports success.
func (d *Driver) Join(addrs []string) error {
	var err error
	join := func() {
		if err = d.core.Join(d.clk.Now(), addrs); err == nil {
			d.left = false // a restart after this rejoins
		}
	}
	if cerr := d.call(join); cerr != nil {
		return cerr
	}
	return err
}

// Joined reports whether a Join got an answer.
func (d *Driver) Joined() bool {
	var ok bool
	d.call(func() { ok = d.core.Joined() })
	return ok
}

// Members returns the whole member table, this node included, sorted by
// name. After Stop it returns the table as it was then.
func (d *Driver) Members() []swim.Member {
	var ms []swim.Member
	if d.call(func() { ms = d.core.Members() }) != nil {
		return d.finalMember // written before done was closed
	}
	return ms
}

// Member returns one member by name.
func (d *Driver) Member(name string) (swim.Member, bool) {
	for _, m := range d.Members() {
		if m.Name == name {
			return m, true
		}
	}
	return swim.Member{}, false
}

// LocalMember returns this node's own entry.
func (d *Driver) LocalMember() swim.Member {
	m, _ := d.Member(d.cfg.Swim.Name)
	return m
}

// SetTags replaces this node's tags and gossips them.
func (d *Driver) SetTags(tags map[string]string) error {
	var err error
	if cerr := d.call(func() { err = d.core.SetTags(d.clk.Now(), tags) }); cerr != nil {
		return cerr
	}
	return err
}

// UserEvent fires a user event to the pool (this node included).
func (d *Driver) UserEvent(name string, payload []byte, coalesce bool, filter []byte) error {
	var err error
	if cerr := d.call(func() { err = d.core.UserEvent(d.clk.Now(), name, payload, coalesce, filter) }); cerr != nil {
		return cerr
	}
	return err
}

// ForceLeave marks a failed member as left.
func (d *Driver) ForceLeave(name string) error {
	var err error
	if cerr := d.call(func() { err = d.core.ForceLeave(d.clk.Now(), name) }); cerr != nil {
		return cerr
	}
	return err
}

// ErrLeaveTimeout: the leave message had not gone out when Leave's
// timeout ran out. The peers will still find out, as a failure.
var ErrLeaveTimeout = errors.New("swim/driver: leave: timed out before the leave was gossiped")

// Leave announces a graceful departure and waits (at most timeout) until
// the message has gone out, then LeavePropagateDelay more; then call Stop. The persisted state records
// the leave, so a restart does not rejoin unless RejoinAfterLeave.
func (d *Driver) Leave(timeout time.Duration) error {
	sent := make(chan struct{})
	var err error
	cerr := d.call(func() {
		if err = d.core.Leave(d.clk.Now()); err == nil {
			d.left = true
			d.leaveWaits = append(d.leaveWaits, sent)
		}
	})
	if cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("swim/driver: leave: %w", err)
	}
	expired := make(chan struct{})
	t := d.clk.AfterFunc(timeout, func() { close(expired) })
	defer t.Stop()
	select {
	case <-sent:
	case <-expired:
		return ErrLeaveTimeout
	case <-d.done:
		return ErrStopped
	}
	if d.cfg.LeavePropagateDelay <= 0 {
		return nil
	}
	// Sent once is not received by all: keep running (acking probes,
	// retransmitting the leave) a little longer so nobody times out on
	// us and declares a failure instead.
	propagated := make(chan struct{})
	pt := d.clk.AfterFunc(d.cfg.LeavePropagateDelay, func() { close(propagated) })
	defer pt.Stop()
	select {
	case <-propagated:
	case <-expired:
	case <-d.done:
		return ErrStopped
	}
	return nil
}

// Stats returns the counters, the core's included.
func (d *Driver) Stats() Stats {
	var s Stats
	if d.call(func() { s.Core = d.core.Stats() }) != nil {
		s.Core = d.finalStats
	}
	d.c.fill(&s)
	s.EventsDelivered = d.events.delivered.Load()
	s.EventsQueued, s.EventsMaxQueued = d.events.depth()
	if d.persist != nil {
		s.PersistErrors = d.persist.failures.Load()
	}
	return s
}

// Stop shuts the driver down without a leave (peers will see a failure
// unless Leave came first): it closes the transport, ends the loop and
// every stream, writes the final state and delivers the queued events.
// It waits for all of that; OnEvent must not call Stop.
func (d *Driver) Stop() error {
	var err error
	d.stopOnce.Do(func() {
		d.lifeMu.Lock()
		d.stopping = true
		d.lifeMu.Unlock()
		err = d.tr.Close()
		if d.ctx != nil {
			d.cancel()
			<-d.done
		}
		d.streams.Wait()
		if d.persist != nil {
			d.persist.close()
		}
		d.events.close()
	})
	return err
}
