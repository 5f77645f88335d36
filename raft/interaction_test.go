package raft

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestInteraction runs the scripted scenarios in testdata/interaction/*.txt.
// Regenerate golden output with `go test ./raft -run TestInteraction -rewrite`
// and then read it: a golden file that records a bug is worse than none.
//
// Commands (ids are n1, n2, ...):
//
//	add-nodes N [prevote=B] [checkquorum=B] [autopromote=B] [maxmsgbytes=N]
//	                             bootstrap n1..nN as voters (options default
//	                             to true, true, false, 1 MiB; maxmsgbytes=1
//	                             sends one entry per MsgApp)
//	restart ID                   crash ID (unpersisted Readys are lost) and
//	                             start it again from its storage
//	add-empty ID                 a node with empty storage (to be added)
//	campaign ID | tick-election ID | tick-heartbeat ID [count]
//	propose ID DATA
//	propose-conf-change ID TYPE TARGET   TYPE: add-nonvoter promote remove add-voter
//	transfer-leadership ID TARGET
//	read-index ID CTX
//	process-ready ID...          take one Ready each, persist, print it
//	deliver-msgs [ID...]         deliver queued messages (to ID... or all)
//	drop-msgs [ID...]            drop queued messages (to ID... or all)
//	stabilize                    process and deliver until quiet
//	partition ID... | heal       cut IDs off from the rest / restore
//	compact ID INDEX             snapshot at INDEX and compact the log
//	report-snapshot ID TARGET ok|fail
//	status ID | raft-log ID
func TestInteraction(t *testing.T) {
	datadriven.Walk(t, "testdata/interaction", func(t *testing.T, path string) {
		h := &harness{t: t}
		datadriven.RunTest(t, path, h.run)
	})
}

type harness struct {
	t  *testing.T
	cl *testCluster
	b  strings.Builder
}

func (h *harness) printf(format string, args ...any) { fmt.Fprintf(&h.b, format, args...) }

func (h *harness) node(id string) *testNode {
	tn := h.cl.nodes[NodeID(id)]
	if tn == nil {
		h.t.Fatalf("no node %s", id)
	}
	return tn
}

func (h *harness) run(t *testing.T, d *datadriven.TestData) string {
	h.b.Reset()
	args := make([]string, len(d.CmdArgs))
	for i, a := range d.CmdArgs {
		args[i] = a.String()
	}
	arg := func(i int) string {
		if i >= len(args) {
			t.Fatalf("%s: missing argument %d", d.Cmd, i)
		}
		return args[i]
	}
	switch d.Cmd {
	case "add-nodes":
		k, _ := strconv.Atoi(arg(0))
		preVote, checkQuorum, autoPromote := true, true, false
		maxMsgBytes := uint64(0)
		for _, a := range d.CmdArgs[1:] {
			v := len(a.Vals) == 1 && a.Vals[0] == "true"
			switch a.Key {
			case "maxmsgbytes":
				n, _ := strconv.Atoi(a.Vals[0])
				maxMsgBytes = uint64(n)
			case "prevote":
				preVote = v
			case "checkquorum":
				checkQuorum = v
			case "autopromote":
				autoPromote = v
			default:
				t.Fatalf("add-nodes: unknown option %s", a.Key)
			}
		}
		h.cl = newTestCluster(t, nodeIDs(k), func(id NodeID) Config {
			c := testConfig(id, 1)
			c.PreVote, c.CheckQuorum, c.AutoPromote = preVote, checkQuorum, autoPromote
			if maxMsgBytes != 0 {
				c.MaxMsgBytes = maxMsgBytes
			}
			return c
		})
		for _, id := range h.cl.ids {
			h.status(h.cl.nodes[id])
		}
	case "restart":
		old := h.node(arg(0))
		h.status(h.cl.addNode(old.id, old.storage))
	case "add-empty":
		h.cl.addNode(NodeID(arg(0)), NewMemoryStorage())
		h.status(h.node(arg(0)))
	case "campaign":
		h.result(h.node(arg(0)).node.Campaign())
	case "tick-election", "tick-heartbeat":
		tn := h.node(arg(0))
		k := tn.node.cfg.HeartbeatTicks
		if d.Cmd == "tick-election" {
			k = 2 * tn.node.cfg.ElectionTicks
		}
		if len(args) > 1 {
			k, _ = strconv.Atoi(args[1])
		}
		for range k {
			tn.node.Tick()
		}
		h.status(tn)
	case "propose":
		i, term, err := h.node(arg(0)).node.Propose([]byte(arg(1)))
		h.proposal(i, term, err)
	case "propose-conf-change":
		types := map[string]ConfChangeType{"add-nonvoter": ConfAddNonvoter, "promote": ConfPromote,
			"remove": ConfRemove, "add-voter": ConfAddVoter}
		cc := ConfChange{Type: types[arg(1)], Server: Server{ID: NodeID(arg(2)), Address: arg(2)}}
		i, term, err := h.node(arg(0)).node.ProposeConfChange(cc)
		h.proposal(i, term, err)
	case "transfer-leadership":
		h.result(h.node(arg(0)).node.TransferLeadership(NodeID(arg(1))))
	case "read-index":
		h.result(h.node(arg(0)).node.ReadIndex([]byte(arg(1))))
	case "process-ready":
		for _, id := range args {
			h.processReady(h.node(id))
		}
	case "deliver-msgs", "drop-msgs":
		h.deliver(args, d.Cmd == "drop-msgs")
	case "stabilize":
		for range 1000 {
			moved := false
			for _, id := range h.cl.ids {
				if h.processReady(h.cl.nodes[id]) {
					moved = true
				}
			}
			if h.deliver(nil, false) {
				moved = true
			}
			if !moved {
				break
			}
		}
	case "partition":
		for _, a := range args {
			h.cl.isolate(NodeID(a))
		}
		h.printf("ok\n")
	case "heal":
		h.cl.heal()
		h.printf("ok\n")
	case "compact":
		tn := h.node(arg(0))
		i, _ := strconv.Atoi(arg(1))
		err := tn.storage.CreateSnapshot(Index(i), tn.node.conf.conf(), tn.node.conf.latest().index)
		if err == nil {
			err = tn.storage.Compact(Index(i))
		}
		h.result(err)
		h.raftLog(tn)
	case "report-snapshot":
		h.node(arg(0)).node.ReportSnapshot(NodeID(arg(1)), arg(2) == "ok")
		h.printf("ok\n")
	case "status":
		h.status(h.node(arg(0)))
	case "raft-log":
		h.raftLog(h.node(arg(0)))
	default:
		t.Fatalf("unknown command %s", d.Cmd)
	}
	return h.b.String()
}

func (h *harness) result(err error) {
	if err != nil {
		h.printf("error: %v\n", err)
		return
	}
	h.printf("ok\n")
}

func (h *harness) proposal(i Index, t Term, err error) {
	if err != nil {
		h.printf("error: %v\n", err)
		return
	}
	h.printf("index %d term %d\n", i, t)
}

func (h *harness) status(tn *testNode) {
	s := tn.node.Status()
	h.printf("%s: %s term=%d vote=%s lead=%s commit=%d applied=%d last=%d conf=%s\n", tn.id,
		s.SoftState.Role, s.HardState.Term, orDash(s.HardState.Vote), orDash(s.SoftState.Lead),
		s.HardState.Commit, s.Applied, s.LastIndex, fmtConf(s.Configuration))
	if s.Progress != nil {
		ids := make([]NodeID, 0, len(s.Progress))
		for id := range s.Progress {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			p := s.Progress[id]
			h.printf("  %s: %s match=%d next=%d\n", id, p.State, p.Match, p.Next)
		}
	}
}

func (h *harness) raftLog(tn *testNode) {
	l := tn.node.log
	ents, err := l.entries(l.firstIndex(), l.lastIndex()+1, 1<<30)
	if err != nil {
		h.printf("error: %v\n", err)
		return
	}
	h.printf("%s log (first %d, commit %d):\n", tn.id, l.firstIndex(), l.committed)
	for _, e := range ents {
		h.printf("  %s\n", fmtEntry(e))
	}
}

func (h *harness) processReady(tn *testNode) bool {
	if !h.cl.takeReady(tn) {
		return false
	}
	rd := tn.disk[len(tn.disk)-1]
	h.printf("> %s ready:\n", tn.id)
	if rd.SoftState != nil {
		h.printf("  Lead:%s Role:%s\n", orDash(rd.SoftState.Lead), rd.SoftState.Role)
	}
	if !rd.HardState.IsEmpty() {
		h.printf("  HardState Term:%d Vote:%s Commit:%d\n", rd.HardState.Term, orDash(rd.HardState.Vote), rd.HardState.Commit)
	}
	if rd.Snapshot != nil {
		h.printf("  Snapshot Index:%d Term:%d Conf:%s\n", rd.Snapshot.Index, rd.Snapshot.Term, fmtConf(rd.Snapshot.Configuration))
	}
	h.ents("Entries", rd.Entries)
	h.ents("CommittedEntries", rd.CommittedEntries)
	// takeReady already queued rd.Messages; print them from the net tail.
	for _, rs := range rd.ReadStates {
		h.printf("  ReadState Index:%d Context:%s\n", rs.Index, rs.Context)
	}
	for _, m := range h.sentBy(tn.id) {
		h.printf("  send %s\n", fmtMsg(m))
	}
	for _, m := range rd.MessagesAfterPersist {
		h.printf("  after-persist %s\n", fmtMsg(m))
	}
	h.cl.persistOne(tn)
	h.sentBy(tn.id) // the after-persist messages just printed
	return true
}

// sentBy returns the not yet printed messages sent by id (Ready.Messages).
func (h *harness) sentBy(id NodeID) []Message {
	var out []Message
	for i := range h.cl.net {
		m := &h.cl.net[i]
		if m.From == id && !m.printed() {
			out = append(out, *m)
			m.Context = append(m.Context[:len(m.Context):len(m.Context)], printedMark...)
		}
	}
	return out
}

func (h *harness) ents(name string, ents []Entry) {
	if len(ents) == 0 {
		return
	}
	h.printf("  %s:\n", name)
	for _, e := range ents {
		h.printf("    %s\n", fmtEntry(e))
	}
}

// deliver steps queued messages (to ids, or all) into their targets.
func (h *harness) deliver(ids []string, drop bool) bool {
	var keep, todo []Message
	for _, m := range h.cl.net {
		if len(ids) == 0 || slices.Contains(ids, string(m.To)) {
			todo = append(todo, m)
		} else {
			keep = append(keep, m)
		}
	}
	h.cl.net = keep
	for _, m := range todo {
		m.Context = m.Context[:len(m.Context)-m.printedLen()]
		if drop {
			h.printf("dropped %s\n", fmtMsg(m))
			continue
		}
		if h.cl.cut[m.From][m.To] {
			h.printf("lost %s\n", fmtMsg(m))
			continue
		}
		h.printf("%s\n", fmtMsg(m))
		if err := h.cl.nodes[m.To].node.Step(m); err != nil {
			h.printf("  error: %v\n", err)
		}
	}
	return len(todo) > 0
}

// printedMark tags messages already printed in a Ready so deliver does not
// confuse them; it is stripped before delivery.
var printedMark = []byte("\x00printed")

func (m *Message) printed() bool { return m.printedLen() > 0 }

func (m *Message) printedLen() int {
	if strings.HasSuffix(string(m.Context), string(printedMark)) {
		return len(printedMark)
	}
	return 0
}

func orDash(id NodeID) string {
	if id == None {
		return "-"
	}
	return string(id)
}

func fmtConf(c Configuration) string {
	var parts []string
	for _, s := range c.Servers {
		v := "v"
		if s.Suffrage == Nonvoter {
			v = "nv"
		}
		parts = append(parts, string(s.ID)+":"+v)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func fmtEntry(e Entry) string {
	s := fmt.Sprintf("%d/%d %s", e.Term, e.Index, e.Type)
	switch e.Type {
	case EntryNormal:
		s += " " + string(e.Data)
	case EntryConfig:
		c, err := DecodeConfiguration(e.Data)
		if err != nil {
			return s + " <bad>"
		}
		s += " " + fmtConf(c)
	}
	return s
}

func fmtMsg(m Message) string {
	s := fmt.Sprintf("%s->%s %s Term:%d", m.From, m.To, m.Type, m.Term)
	switch m.Type {
	case MsgApp, MsgHeartbeat:
		s += fmt.Sprintf(" Log:%d/%d Commit:%d", m.LogTerm, m.Index, m.Commit)
	case MsgVote, MsgPreVote:
		s += fmt.Sprintf(" Last:%d/%d", m.LogTerm, m.Index)
	case MsgAppResp, MsgHeartbeatResp, MsgReadIndexResp:
		s += fmt.Sprintf(" Index:%d", m.Index)
	}
	if m.Reject {
		s += " Rejected"
		if m.Type == MsgAppResp {
			s += fmt.Sprintf(" Hint:%d/%d", m.ConflictTerm, m.ConflictIndex)
		}
	}
	if m.Snapshot != nil {
		s += fmt.Sprintf(" Snapshot:%d/%d", m.Snapshot.Term, m.Snapshot.Index)
	}
	if ctx := m.Context[:len(m.Context)-m.printedLen()]; len(ctx) > 0 {
		if id, ok := parseRoundContext(ctx); ok && (m.Type == MsgHeartbeat || m.Type == MsgHeartbeatResp) {
			s += fmt.Sprintf(" Round:%d", id)
		} else {
			s += fmt.Sprintf(" Context:%q", ctx)
		}
	}
	if len(m.Entries) > 0 {
		var es []string
		for _, e := range m.Entries {
			es = append(es, fmtEntry(e))
		}
		s += " Entries:[" + strings.Join(es, ", ") + "]"
	}
	return s
}
