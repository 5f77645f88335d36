package jepsen

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/agentd/agentd/jepsen/kv"
	"github.com/agentd/agentd/raft"
)

// outcome is what a node tells a client about a write.
type outcome uint8

const (
	outcomeOK      outcome = iota + 1 // committed and applied; Result holds the answer
	outcomeFailed                     // definitely not applied (not leader, rejected, overwritten)
	outcomeUnknown                    // may or may not apply (leadership lost, node crashed)
)

// client issues one operation at a time against the cluster and records
// each in the history. It talks to nodes directly (an RPC with network
// delay each way), not through the partitionable peer network, so a
// partitioned leader keeps accepting and timing out requests.
type client struct {
	c      *cluster
	id     int
	r      *rand.Rand
	target raft.NodeID // node believed to be leader
	seq    int         // bumps per operation, so late answers to old ones are ignored
	stop   bool
}

func (c *cluster) startClients() {
	for i := range c.swarm.Clients {
		cl := &client{c: c, id: i, r: c.clientRand}
		c.clients = append(c.clients, cl)
		c.w.After(time.Duration(cl.r.Int64N(int64(10*time.Millisecond))), cl.next)
	}
}

func (cl *client) rtt() time.Duration {
	n := cl.c.swarm.Net
	return n.MinDelay + time.Duration(cl.r.Int64N(int64(n.MaxDelay-n.MinDelay)+1))
}

// next issues the client's next operation after a short think time.
func (cl *client) next() {
	if cl.stop {
		return
	}
	c := cl.c
	key := fmt.Sprintf("k%d", cl.r.IntN(c.swarm.Keys))
	c.reqSeq++
	cmd := kv.Command{Key: key, ReqID: c.reqSeq}
	switch p := cl.r.IntN(100); {
	case p < 35:
		cmd.Op = kv.OpGet
	case p < 70:
		cmd.Op = kv.OpPut
		cmd.Value = fmt.Sprintf("v%d", c.reqSeq)
	case p < 92:
		cmd.Op = kv.OpCAS
		cmd.Value = fmt.Sprintf("v%d", c.reqSeq)
		cmd.Expected = c.lastValue[key]
	default:
		cmd.Op = kv.OpDelete
	}
	cl.do(cmd, func(bool) {
		c.w.After(time.Duration(cl.r.Int64N(int64(5*time.Millisecond))), cl.next)
	})
}

// do runs one operation to completion (answer or timeout), recording it,
// then calls then with whether it was acknowledged.
func (cl *client) do(cmd kv.Command, then func(acked bool)) {
	c := cl.c
	in := kv.Input{Op: cmd.Op, Key: cmd.Key, Value: cmd.Value, Expected: cmd.Expected}
	if cmd.Op != kv.OpGet {
		c.written[cmd.Key] = true
	}
	id := c.history.Invoke(cl.id, in, c.w.Now())
	cl.seq++
	seq := cl.seq
	n := c.pickTarget(cl)
	viaFollower := false
	if cmd.Op == kv.OpGet && n != nil {
		if f := c.followerFor(n); f != nil {
			n, viaFollower = f, true
		}
	}
	done := false
	finish := func(o outcome, res kv.Result) {
		if done || cl.seq != seq {
			return
		}
		done = true
		switch o {
		case outcomeOK:
			c.history.Return(id, res, c.w.Now())
			if viaFollower {
				c.stats.FollowerReads++
			}
			if res.Found || cmd.Op != kv.OpGet {
				if cmd.Op == kv.OpGet {
					c.lastValue[cmd.Key] = res.Value
				} else if cmd.Op != kv.OpDelete {
					c.lastValue[cmd.Key] = cmd.Value
				}
			}
		case outcomeFailed:
			c.history.Fail(id)
			cl.forget(viaFollower)
		default:
			c.history.Abandon(id)
			cl.forget(viaFollower)
		}
		then(o == outcomeOK)
	}
	timeout := c.w.After(c.swarm.OpTimeout, func() { finish(outcomeUnknown, kv.Result{}) })
	reply := func(o outcome, res kv.Result, hint raft.NodeID) {
		c.w.After(cl.rtt(), func() {
			if !done && cl.seq == seq {
				timeout.Cancel(c.w)
			}
			finish(o, res)
			if hint != "" && !viaFollower { // after finish, which forgets a failed target
				cl.target = hint
			}
		})
	}
	if n == nil {
		c.w.After(cl.rtt(), func() { timeout.Cancel(c.w); finish(outcomeFailed, kv.Result{}) })
		return
	}
	c.w.After(cl.rtt(), func() {
		// Arrival at the node: a down node refuses the connection and an
		// isolated one cannot be reached (the operation reached nobody); a
		// paused one answers after resuming.
		if !n.running() || n.cutOff {
			reply(outcomeFailed, kv.Result{}, "")
			return
		}
		n.host.Go(0, func() {
			if cmd.Op == kv.OpGet {
				n.read(cmd.Key, viaFollower, reply)
			} else {
				n.propose(cmd, reply)
			}
		})
	})
}

// forget drops the remembered leader after a failed operation, unless the
// operation went to a follower instead (followerread.go): its failure
// says nothing about the leader.
func (cl *client) forget(viaFollower bool) {
	if !viaFollower {
		cl.target = ""
	}
}

// pickTarget returns the node the client should ask: its remembered
// leader, else a random running node.
func (c *cluster) pickTarget(cl *client) *node {
	if n := c.byID[cl.target]; n != nil && n.running() && !n.removed {
		return n
	}
	var up []*node
	for _, n := range c.nodes {
		if n.running() && !n.removed {
			up = append(up, n)
		}
	}
	if len(up) == 0 {
		return nil
	}
	n := up[cl.r.IntN(len(up))]
	cl.target = n.id
	return n
}
