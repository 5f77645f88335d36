package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"time"
)

// kvMutex is api.Lock's protocol on PREFIX/.lock (lockkv.go).
type kvMutex struct {
	kvLockBase
	key, name string
}

func (m *kvMutex) acquire(timeout time.Duration) (<-chan struct{}, error) {
	if err := m.startSession(m.name); err != nil {
		return nil, err
	}
	end := deadline(timeout)
	var index uint64
	for {
		wait, ok := nextWait(end)
		if !ok {
			m.endSession()
			return nil, nil
		}
		pairs, idx, err := m.get(m.key, false, index, wait)
		if err != nil {
			m.endSession()
			return nil, fmt.Errorf("failed to read lock: %w", err)
		}
		if len(pairs) == 1 && pairs[0].Flags != lockFlag {
			m.endSession()
			return nil, errLockConflict
		}
		if len(pairs) == 1 && pairs[0].Session != "" && pairs[0].Session != m.session {
			index = idx // held by another: wait for a change
			continue
		}
		ok, err = m.put(m.key, flagQuery(url.Values{"acquire": {m.session}}, lockFlag), nil)
		if err != nil {
			m.endSession()
			return nil, fmt.Errorf("failed to acquire lock: %w", err)
		}
		if ok {
			return m.watch(m.key, false, func(p []kvPair) bool {
				return len(p) == 1 && p[0].Session == m.session
			}), nil
		}
		// Refused while free: a lock-delay. Try again a little later
		// (not past the deadline).
		index = 0
		pause := lockRetry
		if !end.IsZero() {
			pause = min(pause, max(time.Until(end), 0))
		}
		time.Sleep(pause)
	}
}

func (m *kvMutex) release() error {
	defer m.endSession()
	_, err := m.put(m.key, flagQuery(url.Values{"release": {m.session}}, lockFlag), nil)
	return err
}

func (m *kvMutex) cleanup() error {
	pairs, _, err := m.get(m.key, false, 0, 0)
	if err != nil || len(pairs) == 0 {
		return err
	}
	switch p := pairs[0]; {
	case p.Flags != lockFlag:
		return errLockConflict
	case p.Session != "":
		return errLockInUse
	default:
		_, _, err := m.c.do(http.MethodDelete, keyPath(m.key), url.Values{"cas": {strconv.FormatUint(p.ModifyIndex, 10)}}, nil)
		return err
	}
}

func (m *kvMutex) inUse() error { return errLockInUse }

// kvSemaphore is api.Semaphore's protocol under PREFIX/ (lockkv.go).
type kvSemaphore struct {
	kvLockBase
	prefix, name string
	limit        int
}

// semaphoreLock is the JSON value of PREFIX/.lock.
type semaphoreLock struct {
	Limit   int
	Holders map[string]bool
}

func (s *kvSemaphore) lockKey() string      { return path.Join(s.prefix, lockKeyName) }
func (s *kvSemaphore) contenderKey() string { return path.Join(s.prefix, s.session) }

// state finds the lock record among pairs and drops holders whose
// contender key no longer has a live session.
func (s *kvSemaphore) state(pairs []kvPair) (semaphoreLock, *kvPair, error) {
	lock := semaphoreLock{Limit: s.limit, Holders: map[string]bool{}}
	var lockPair *kvPair
	alive := map[string]bool{}
	for i, p := range pairs {
		if p.Key == s.lockKey() {
			lockPair = &pairs[i]
			continue
		}
		if p.Flags == semaphoreFlag && p.Session != "" {
			alive[p.Session] = true
		}
	}
	if lockPair != nil {
		if lockPair.Flags != semaphoreFlag {
			return lock, nil, errLockConflict
		}
		if err := json.Unmarshal(lockPair.Value, &lock); err != nil {
			return lock, nil, fmt.Errorf("failed to decode semaphore lock: %w", err)
		}
		if lock.Limit != s.limit {
			return lock, nil, fmt.Errorf("semaphore limit conflict (lock: %d, local: %d)", lock.Limit, s.limit)
		}
		if lock.Holders == nil {
			lock.Holders = map[string]bool{}
		}
	}
	for h := range lock.Holders {
		if !alive[h] {
			delete(lock.Holders, h)
		}
	}
	return lock, lockPair, nil
}

// writeLock check-and-sets the lock record.
func (s *kvSemaphore) writeLock(lock semaphoreLock, lockPair *kvPair) (bool, error) {
	b, err := json.Marshal(lock)
	if err != nil {
		return false, err
	}
	var cas uint64
	if lockPair != nil {
		cas = lockPair.ModifyIndex
	}
	return s.put(s.lockKey(), flagQuery(url.Values{"cas": {strconv.FormatUint(cas, 10)}}, semaphoreFlag), b)
}

func (s *kvSemaphore) acquire(timeout time.Duration) (<-chan struct{}, error) {
	if err := s.startSession(s.name); err != nil {
		return nil, err
	}
	ok, err := s.put(s.contenderKey(), flagQuery(url.Values{"acquire": {s.session}}, semaphoreFlag), nil)
	if err != nil || !ok {
		s.endSession()
		return nil, fmt.Errorf("failed to make contender entry: %v", err)
	}
	end := deadline(timeout)
	var index uint64
	for {
		wait, ok := nextWait(end)
		if !ok {
			s.abandon()
			return nil, nil
		}
		pairs, idx, err := s.get(s.prefix+"/", true, index, wait)
		if err != nil {
			s.abandon()
			return nil, fmt.Errorf("failed to read prefix: %w", err)
		}
		lock, lockPair, err := s.state(pairs)
		if err != nil {
			s.abandon()
			return nil, err
		}
		if len(lock.Holders) >= s.limit {
			index = idx
			continue
		}
		lock.Holders[s.session] = true
		ok, err = s.writeLock(lock, lockPair)
		if err != nil {
			s.abandon()
			return nil, fmt.Errorf("failed to update lock: %w", err)
		}
		if !ok {
			index = 0 // lost a check-and-set race: read again at once
			continue
		}
		return s.watch(s.prefix+"/", true, func(p []kvPair) bool {
			l, _, err := s.state(p)
			return err == nil && l.Holders[s.session]
		}), nil
	}
}

// abandon withdraws a contender that never held a slot.
func (s *kvSemaphore) abandon() {
	s.c.do(http.MethodDelete, keyPath(s.contenderKey()), nil, nil)
	s.endSession()
}

func (s *kvSemaphore) release() error {
	defer s.abandon()
	for range 10 {
		pairs, _, err := s.get(s.prefix+"/", true, 0, 0)
		if err != nil {
			return err
		}
		lock, lockPair, err := s.state(pairs)
		if err != nil || lockPair == nil || !lock.Holders[s.session] {
			return err
		}
		delete(lock.Holders, s.session)
		if ok, err := s.writeLock(lock, lockPair); ok || err != nil {
			return err
		}
	}
	return fmt.Errorf("failed to release: the lock kept changing")
}

func (s *kvSemaphore) cleanup() error {
	pairs, _, err := s.get(s.prefix+"/", true, 0, 0)
	if err != nil {
		return err
	}
	lock, lockPair, err := s.state(pairs)
	if err != nil || lockPair == nil {
		return err
	}
	if len(lock.Holders) > 0 || slices.ContainsFunc(pairs, func(p kvPair) bool { return p.Key != s.lockKey() && p.Session != "" }) {
		return errSemInUse
	}
	_, _, err = s.c.do(http.MethodDelete, keyPath(s.lockKey()), url.Values{"cas": {strconv.FormatUint(lockPair.ModifyIndex, 10)}}, nil)
	return err
}

func (s *kvSemaphore) inUse() error { return errSemInUse }
