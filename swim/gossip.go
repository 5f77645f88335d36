package swim

// compoundOverhead bounds a compound's header: type, version and a count
// of up to 255 parts.
const compoundOverhead = 4

func (n *Node) retransmitLimit() int {
	return retransmitLimit(n.cfg.RetransmitMult, n.estNumNodes())
}

// sendPiggybacked sends msgs to addr in one datagram, filling the room
// left up to PacketSize with queued updates (SWIM §4.1, infection-style
// dissemination).
func (n *Node) sendPiggybacked(to string, msgs ...message) {
	parts := make([][]byte, 0, len(msgs)+4)
	used := compoundOverhead
	for _, m := range msgs {
		b := encode(m)
		parts = append(parts, b)
		used += len(b) + uvarintLen(uint64(len(b)))
	}
	parts = append(parts, n.bq.take(n.cfg.PacketSize-used, n.retransmitLimit())...)
	if len(parts) == 1 {
		n.send(to, parts[0])
		return
	}
	n.send(to, encode(&compound{Parts: parts}))
}

// gossip sends queued updates to GossipNodes random members: live ones,
// and ones dead or left for less than GossipToTheDeadTime so that a
// member wrongly declared dead hears it and refutes (partition healing).
func (n *Node) gossip() {
	targets := n.kRandom(n.cfg.GossipNodes, func(m *member) bool {
		return !m.state.deadOrLeft() || n.now.Sub(m.stateChange) < n.cfg.GossipToTheDeadTime
	})
	for _, m := range targets {
		parts := n.bq.take(n.cfg.PacketSize-compoundOverhead, n.retransmitLimit())
		switch len(parts) {
		case 0:
			return
		case 1:
			n.send(m.addr, parts[0])
		default:
			n.send(m.addr, encode(&compound{Parts: parts}))
		}
	}
}
