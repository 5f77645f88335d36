package raft

import "errors"

// Errors returned by Propose, ProposeConfChange, ReadIndex and
// TransferLeadership. They fail fast: nothing is queued without bound.
var (
	ErrNotLeader          = errors.New("raft: not the leader")
	ErrTransferInProgress = errors.New("raft: leadership transfer in progress")
	ErrTooLarge           = errors.New("raft: entry too large")
	ErrTooMuchUncommitted = errors.New("raft: too much uncommitted data")
	ErrConfChangePending  = errors.New("raft: a configuration change is already pending")
	ErrNotReady           = errors.New("raft: leader has not yet committed an entry of its term")
	ErrInvalidConfChange  = errors.New("raft: invalid configuration change")
	ErrStepBadMessage     = errors.New("raft: bad message")
)
