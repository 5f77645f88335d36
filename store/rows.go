package store

import "time"

// Row encodings, shared by commands and snapshots. Each row is written
// field by field in declaration order; new fields are only appended, with
// a new command/snapshot version when an old reader could not skip them.

func (e *encoder) kvEntry(v *KVEntry) {
	e.str(v.Key)
	e.uvarint(v.CreateIndex)
	e.uvarint(v.ModifyIndex)
	e.uvarint(v.LockIndex)
	e.uvarint(v.Flags)
	e.bytes(v.Value)
	e.str(v.Session)
}

func (d *decoder) kvEntry() *KVEntry {
	return &KVEntry{
		Key:         d.str(),
		CreateIndex: d.uvarint(),
		ModifyIndex: d.uvarint(),
		LockIndex:   d.uvarint(),
		Flags:       d.uvarint(),
		Value:       d.bytes(maxValueLen),
		Session:     d.str(),
	}
}

func (e *encoder) session(v *Session) {
	e.str(v.ID)
	e.str(v.Name)
	e.str(v.Node)
	e.optStrs(v.NodeChecks)
	e.uvarint(uint64(len(v.ServiceChecks)))
	for _, c := range v.ServiceChecks {
		e.str(c.ID)
		e.str(c.Namespace)
	}
	e.varint(int64(v.LockDelay))
	e.str(string(v.Behavior))
	e.str(v.TTL)
	e.time(v.CreateTime)
	e.uvarint(v.CreateIndex)
	e.uvarint(v.ModifyIndex)
}

func (d *decoder) session() *Session {
	v := &Session{ID: d.str(), Name: d.str(), Node: d.str(), NodeChecks: d.optStrs()}
	if n := d.length(maxListLen, 2); n > 0 {
		v.ServiceChecks = make([]ServiceCheck, n)
		for i := range v.ServiceChecks {
			v.ServiceChecks[i] = ServiceCheck{ID: d.str(), Namespace: d.str()}
		}
	}
	v.LockDelay = time.Duration(d.varint())
	v.Behavior = SessionBehavior(d.str())
	v.TTL = d.str()
	v.CreateTime = d.time()
	v.CreateIndex = d.uvarint()
	v.ModifyIndex = d.uvarint()
	return v
}

func (e *encoder) node(v *Node) {
	e.str(v.ID)
	e.str(v.Node)
	e.str(v.Address)
	e.str(v.Datacenter)
	e.strMap(v.TaggedAddresses)
	e.strMap(v.Meta)
	e.uvarint(v.CreateIndex)
	e.uvarint(v.ModifyIndex)
}

func (d *decoder) node() *Node {
	return &Node{
		ID:              d.str(),
		Node:            d.str(),
		Address:         d.str(),
		Datacenter:      d.str(),
		TaggedAddresses: d.strMap(),
		Meta:            d.strMap(),
		CreateIndex:     d.uvarint(),
		ModifyIndex:     d.uvarint(),
	}
}

func (e *encoder) service(v *Service) {
	e.str(v.Node)
	e.str(v.ID)
	e.str(v.Service)
	e.strs(v.Tags)
	e.str(v.Address)
	e.varint(int64(v.Port))
	e.strMap(v.Meta)
	e.uvarint(v.CreateIndex)
	e.uvarint(v.ModifyIndex)
}

func (d *decoder) service() *Service {
	return &Service{
		Node:        d.str(),
		ID:          d.str(),
		Service:     d.str(),
		Tags:        d.strs(),
		Address:     d.str(),
		Port:        int(d.varint()),
		Meta:        d.strMap(),
		CreateIndex: d.uvarint(),
		ModifyIndex: d.uvarint(),
	}
}

func (e *encoder) check(v *Check) {
	e.str(v.Node)
	e.str(v.CheckID)
	e.str(v.Name)
	e.str(string(v.Status))
	e.str(v.Notes)
	e.str(v.Output)
	e.str(v.ServiceID)
	e.str(v.ServiceName)
	e.str(v.Type)
	e.uvarint(v.CreateIndex)
	e.uvarint(v.ModifyIndex)
}

func (d *decoder) check() *Check {
	return &Check{
		Node:        d.str(),
		CheckID:     d.str(),
		Name:        d.str(),
		Status:      HealthStatus(d.str()),
		Notes:       d.str(),
		Output:      d.str(),
		ServiceID:   d.str(),
		ServiceName: d.str(),
		Type:        d.str(),
		CreateIndex: d.uvarint(),
		ModifyIndex: d.uvarint(),
	}
}
