// Package raft is the Raft consensus core: a pure, deterministic state
// machine. It has no goroutines, never reads a clock, opens no file or
// socket and uses no global randomness; the driver (package raft/driver)
// binds it to time, disk and network, and the simulator (package jepsen)
// drives the very same driver code on simulated ones.
//
// # API (the Raft contract; see DESIGN.md)
//
//	NewNode(cfg Config, s Storage) (*Node, error)
//	(*Node).Tick()                            // one tick of logical time
//	(*Node).Step(m Message) error             // a message from the network; bad input returns an error, never panics
//	(*Node).Propose(data []byte) (Index, Term, error)
//	(*Node).ProposeConfChange(cc ConfChange) (Index, Term, error)
//	(*Node).ReadIndex(ctx []byte) error       // result arrives in Ready.ReadStates
//	(*Node).TransferLeadership(to NodeID) error
//	(*Node).Campaign() error                  // start an election now (tests, single-node bootstrap)
//	(*Node).HasReady() bool
//	(*Node).Ready() Ready                     // drains pending output; several may be outstanding
//	(*Node).Persisted(PersistMark)            // Ready's disk work is durable
//	(*Node).Applied(Index)                    // the state machine applied up to Index
//	(*Node).ReportUnreachable(NodeID)
//	(*Node).ReportSnapshot(NodeID, ok bool)   // a MsgSnap stream finished or failed
//	(*Node).Status() Status
//	BootstrapEntries(Configuration) (HardState, []Entry) // first configuration at index 1, term 1
//
// Every proposal is resolved: Propose returns the (Index, Term) it was
// appended at; the driver learns the outcome when an entry at Index is
// applied (same Term: committed; other Term: definitely failed) or when
// leadership is lost first (unknown).
//
// # Invariants
//
//	applied <= committed <= lastIndex
//	committed only advances; applied only advances (snapshots included)
//	a vote or append acknowledgement leaves only in Ready.MessagesAfterPersist
//	the leader counts itself toward commit only for entries acknowledged by Persisted
//	only entries of the current term are committed by counting replicas (§5.4.2)
//	at most one uncommitted configuration entry; configurations take effect when appended
package raft
