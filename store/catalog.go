package store

import (
	"maps"
	"slices"
)

// register upserts the node, then the service, then the checks (Consul's
// ensureRegistrationTxn). Unchanged rows are not rewritten, so a
// periodic reconcile that re-registers everything wakes nobody.
func (x *tx) register(r *Register) error {
	name := r.Node.Node
	if name == "" {
		return rejected("Must provide node")
	}
	if _, found := x.t.nodes.Get(&Node{Node: name}); !found || !r.SkipNodeUpdate {
		x.ensureNode(r.Node)
	}
	if r.Service != nil {
		svc := *r.Service
		svc.Node = name
		if svc.ID == "" {
			svc.ID = svc.Service
		}
		if svc.ID == "" {
			return rejected("Must provide service name with ID")
		}
		x.ensureService(svc)
	}
	for _, c := range r.Checks {
		c.Node = name
		if err := x.ensureCheck(c); err != nil {
			return err
		}
	}
	return nil
}

func (x *tx) ensureNode(n Node) {
	old, found := x.t.nodes.Get(&Node{Node: n.Node})
	n.CreateIndex = x.index
	if found {
		if sameNode(old, &n) {
			return
		}
		n.CreateIndex = old.CreateIndex
	}
	n.ModifyIndex = x.index
	x.mut(bitNodes).nodes.Set(&n)
	x.touch(tableNodes, topicNodes, n.Node)
}

func sameNode(a, b *Node) bool {
	return a.ID == b.ID && a.Address == b.Address && a.Datacenter == b.Datacenter &&
		maps.Equal(a.TaggedAddresses, b.TaggedAddresses) && maps.Equal(a.Meta, b.Meta)
}

func (x *tx) ensureService(s Service) {
	old, found := x.t.services.Get(&s)
	s.CreateIndex = x.index
	if found {
		if old.Service == s.Service && slices.Equal(old.Tags, s.Tags) && old.Address == s.Address &&
			old.Port == s.Port && maps.Equal(old.Meta, s.Meta) {
			return
		}
		s.CreateIndex = old.CreateIndex
	}
	s.ModifyIndex = x.index
	x.mut(bitServices).services.Set(&s)
	x.touch(tableServices, topicServices, s.Node)
}

func (x *tx) ensureCheck(c Check) error {
	if c.CheckID == "" {
		c.CheckID = c.Name
	}
	if c.CheckID == "" {
		return rejected("Missing check ID")
	}
	switch c.Status {
	case "":
		c.Status = HealthCritical // Consul's default for a new check
	case HealthPassing, HealthWarning, HealthCritical:
	default:
		return rejected("Invalid check status %q", c.Status)
	}
	if c.ServiceID != "" {
		svc, found := x.t.services.Get(&Service{Node: c.Node, ID: c.ServiceID})
		if !found {
			return rejected("Missing service registration")
		}
		c.ServiceName = svc.Service
	}
	old, found := x.t.checks.Get(&c)
	c.CreateIndex = x.index
	if found {
		c.CreateIndex, c.ModifyIndex = old.CreateIndex, old.ModifyIndex
		if *old == c {
			return nil
		}
	}
	c.ModifyIndex = x.index
	x.mut(bitChecks).checks.Set(&c)
	x.touch(tableChecks, topicChecks, c.Node)
	if c.Status == HealthCritical {
		x.invalidateCheckSessions(c.Node, c.CheckID)
	}
	return nil
}

// deregister removes a check, a service with its checks, or a whole node
// (services, checks, sessions). Missing things are ignored.
func (x *tx) deregister(r *Deregister) {
	switch {
	case r.CheckID != "":
		x.deleteCheck(r.Node, r.CheckID)
	case r.ServiceID != "":
		x.deleteService(r.Node, r.ServiceID)
	default:
		x.deleteNode(r.Node)
	}
}

func (x *tx) deleteCheck(node, id string) {
	if _, found := x.mut(bitChecks).checks.Delete(&Check{Node: node, CheckID: id}); !found {
		return
	}
	x.touch(tableChecks, topicChecks, node)
	x.invalidateCheckSessions(node, id)
}

func (x *tx) deleteService(node, id string) {
	if _, found := x.mut(bitServices).services.Delete(&Service{Node: node, ID: id}); !found {
		return
	}
	x.touch(tableServices, topicServices, node)
	for _, c := range x.t.nodeChecks(node) {
		if c.ServiceID == id {
			x.deleteCheck(node, c.CheckID)
		}
	}
}

func (x *tx) deleteNode(node string) {
	if _, found := x.t.nodes.Get(&Node{Node: node}); !found {
		return
	}
	for _, id := range x.t.nodeSessionIDs(node) {
		x.sessionDestroy(id)
	}
	for _, c := range x.t.nodeChecks(node) {
		x.deleteCheck(node, c.CheckID)
	}
	for _, s := range x.t.nodeServices(node) {
		x.mut(bitServices).services.Delete(s)
		x.touch(tableServices, topicServices, node)
	}
	x.mut(bitNodes).nodes.Delete(&Node{Node: node})
	x.touch(tableNodes, topicNodes, node)
}

func (t *tables) nodeChecks(node string) []*Check {
	var out []*Check
	t.checks.Ascend(&Check{Node: node}, func(c *Check) bool {
		if c.Node != node {
			return false
		}
		out = append(out, c)
		return true
	})
	return out
}

func (t *tables) nodeServices(node string) []*Service {
	var out []*Service
	t.services.Ascend(&Service{Node: node}, func(s *Service) bool {
		if s.Node != node {
			return false
		}
		out = append(out, s)
		return true
	})
	return out
}

// Nodes returns every node in name order; the index is the nodes table
// index (>= 1); ws watches the table.
func (s *Store) Nodes(ws *WatchSet) (uint64, []*Node) {
	t := s.view(ws, topicNodes, "", true)
	var out []*Node
	t.nodes.Scan(func(n *Node) bool {
		cp := *n
		out = append(out, &cp)
		return true
	})
	return atLeastOne(t.index[tableNodes]), out
}

// Node returns the node named name, or nil; ws watches that node only.
func (s *Store) Node(ws *WatchSet, name string) (uint64, *Node) {
	t := s.view(ws, topicNodes, name, false)
	idx := atLeastOne(t.index[tableNodes])
	n, found := t.nodes.Get(&Node{Node: name})
	if !found {
		return idx, nil
	}
	cp := *n
	return idx, &cp
}

// NodeChecks returns node's checks in CheckID order; the index is the
// checks table index (>= 1); ws watches that node's checks only.
func (s *Store) NodeChecks(ws *WatchSet, node string) (uint64, []*Check) {
	t := s.view(ws, topicChecks, node, false)
	var out []*Check
	for _, c := range t.nodeChecks(node) {
		cp := *c
		out = append(out, &cp)
	}
	return atLeastOne(t.index[tableChecks]), out
}

// NodeServices returns node's services in ID order; the index is the
// services table index (>= 1); ws watches that node's services only.
func (s *Store) NodeServices(ws *WatchSet, node string) (uint64, []*Service) {
	t := s.view(ws, topicServices, node, false)
	var out []*Service
	for _, v := range t.nodeServices(node) {
		cp := *v
		out = append(out, &cp)
	}
	return atLeastOne(t.index[tableServices]), out
}

// Checks returns every check in (Node, CheckID) order; ws watches the table.
func (s *Store) Checks(ws *WatchSet) (uint64, []*Check) {
	t := s.view(ws, topicChecks, "", true)
	var out []*Check
	t.checks.Scan(func(c *Check) bool {
		cp := *c
		out = append(out, &cp)
		return true
	})
	return atLeastOne(t.index[tableChecks]), out
}
