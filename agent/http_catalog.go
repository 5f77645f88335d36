package agent

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/agentd/agentd/store"
)

// The catalog and health reads served now (the gossip members as nodes
// with their serfHealth check): /v1/catalog/nodes, /v1/catalog/datacenters
// and /v1/health/node/<node>, with ?filter and, for nodes, ?node-meta.

// nodeJSON is the catalog's node JSON.
type nodeJSON struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
	CreateIndex     uint64
	ModifyIndex     uint64
}

func (a *Agent) catalogNodes(w http.ResponseWriter, r *http.Request) error {
	o, filter, err := listQuery(r)
	if err != nil {
		return err
	}
	nodeMeta := parseNodeMeta(r.URL.Query())
	var nodes []*store.Node
	meta, err := a.boundedStaleRead(r, o, func(ws *store.WatchSet) (uint64, error) {
		idx, ns := a.store.Nodes(ws)
		nodes = ns
		return idx, nil
	})
	if err != nil {
		return err
	}
	setMeta(w, meta)
	out := make([]nodeJSON, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, nodeJSON{ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter,
			TaggedAddresses: orEmpty(n.TaggedAddresses), Meta: orEmpty(n.Meta), CreateIndex: n.CreateIndex, ModifyIndex: n.ModifyIndex})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	out = slices.DeleteFunc(out, func(n nodeJSON) bool { return !hasNodeMeta(n.Meta, nodeMeta) })
	if out, err = filterItems(filter, out); err != nil {
		return err
	}
	return writeJSON(w, out)
}

// parseNodeMeta reads ?node-meta=key:value (repeatable): a node must have
// every pair (a missing ":value" is an empty value, as Consul's).
func parseNodeMeta(q url.Values) map[string]string {
	out := map[string]string{}
	for _, kv := range q["node-meta"] {
		k, v, _ := strings.Cut(kv, ":")
		out[k] = v
	}
	return out
}

func hasNodeMeta(meta, want map[string]string) bool {
	for k, v := range want {
		if got, ok := meta[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func (a *Agent) catalogDatacenters(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, []string{a.cfg.Datacenter})
}

type healthCheckJSON struct {
	Node        string
	CheckID     string
	Name        string
	Status      string
	Notes       string
	Output      string
	ServiceID   string
	ServiceName string
	ServiceTags []string
	Type        string
	Interval    string // Consul copies these two from the definition
	Timeout     string
	ExposedPort int
	Definition  struct{}
	CreateIndex uint64
	ModifyIndex uint64
}

func (a *Agent) healthNode(w http.ResponseWriter, r *http.Request) error {
	o, filter, err := listQuery(r)
	if err != nil {
		return err
	}
	node := pathArg(r, "/v1/health/node/")
	if node == "" {
		return errBadRequestf("Missing node name")
	}
	var checks []*store.Check
	meta, err := a.boundedStaleRead(r, o, func(ws *store.WatchSet) (uint64, error) {
		idx, cs := a.store.NodeChecks(ws, node)
		checks = cs
		return idx, nil
	})
	if err != nil {
		return err
	}
	setMeta(w, meta)
	out := make([]healthCheckJSON, 0, len(checks))
	for _, c := range checks {
		out = append(out, healthCheckJSON{Node: c.Node, CheckID: c.CheckID, Name: c.Name, Status: string(c.Status),
			Notes: c.Notes, Output: c.Output, ServiceID: c.ServiceID, ServiceName: c.ServiceName, ServiceTags: []string{},
			Type: c.Type, CreateIndex: c.CreateIndex, ModifyIndex: c.ModifyIndex})
	}
	if out, err = filterItems(filter, out); err != nil {
		return err
	}
	return writeJSON(w, out)
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
