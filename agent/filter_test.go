package agent

import (
	"net/http"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/stretchr/testify/require"
)

func TestFilterExpressions(t *testing.T) {
	item := map[string]any{
		"Node": "web-1", "Address": "10.0.0.5", "Port": float64(8301), "Leader": true,
		"Tags": map[string]any{"dc": "dc2", "role": "consul"},
		"List": []any{"a", "b"}, "Meta": map[string]any{}, "Empty": "",
		"Nested": map[string]any{"Inner": map[string]any{"X": "y"}},
	}
	tests := []struct {
		expr string
		want bool
		err  string
	}{
		{expr: `Node == "web-1"`, want: true},
		{expr: `Node == web-1`, want: true},
		{expr: `Node != "web-1"`, want: false},
		{expr: `node == "web-1"`, want: true}, // selectors match case-insensitively
		{expr: `Tags["dc"] == dc2`, want: true},
		{expr: `Tags.dc == "dc1"`, want: false},
		{expr: `Tags.missing == ""`, want: false},
		{expr: `Port == 8301`, want: true},
		{expr: `Leader == true`, want: true},
		{expr: `Address == 10.0.0.5`, want: true},
		{expr: `"dc" in Tags`, want: true},
		{expr: `dc in Tags`, want: true},
		{expr: `"zz" not in Tags`, want: true},
		{expr: `"a" in List`, want: true},
		{expr: `List contains "c"`, want: false},
		{expr: `List not contains "c"`, want: true},
		{expr: `"web" in Node`, want: true},
		{expr: `Meta is empty`, want: true},
		{expr: `Tags is not empty`, want: true},
		{expr: `Missing is empty`, want: true},
		{expr: `Empty is empty and Node matches "^web-[0-9]+$"`, want: true},
		{expr: `Node not matches "^db"`, want: true},
		{expr: `Nested.Inner.X == y`, want: true},
		{expr: `Node == "db" or Tags.role == consul`, want: true},
		{expr: `not (Node == "db" or Port == 1)`, want: true},
		{expr: `Node == "web-1" and not Leader == true`, want: false},
		{expr: "Node == `web-1`", want: true},
		{expr: `Node ==`, err: "expected a value"},
		{expr: `Node "x"`, err: "expected an operator"},
		{expr: `(Node == x`, err: "missing ')'"},
		{expr: `Node == "x" junk`, err: "unexpected"},
		{expr: `Node matches "("`, err: "Failed to create boolean expression evaluator"},
		{expr: `Node == "unterminated`, err: "unterminated string"},
		{expr: `Tags[ == x`, err: "expected a key"},
		{expr: `x in`, err: "expected a selector"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := compileFilter(tt.expr)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, e.eval(item))
		})
	}
}

// FuzzFilter: no expression panics the parser or the evaluator.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{`Node == "a"`, `"x" in Tags and not (A.B[c] matches "^d")`, "Meta is not empty or `v` not in L"} {
		f.Add(s)
	}
	item := map[string]any{"Node": "a", "Tags": []any{"x"}, "A": map[string]any{"B": map[string]any{"c": "d"}}}
	f.Fuzz(func(t *testing.T, s string) {
		if e, err := compileFilter(s); err == nil {
			e.eval(item)
		}
	})
}

// TestFilterEndpoints: ?filter on the members, catalog nodes and health
// node lists, ?node-meta on catalog nodes, and a bad filter's 400.
func TestFilterEndpoints(t *testing.T) {
	t.Parallel()
	a := startAgent(t)
	c := apiClient(t, a)
	name := a.cfg.NodeName

	ms, err := c.Agent().MembersOpts(api.MembersOpts{Filter: `Name == "` + name + `" and Tags.role == consul`})
	require.NoError(t, err)
	require.Len(t, ms, 1)
	ms, err = c.Agent().MembersOpts(api.MembersOpts{Filter: `Tags.role != consul`})
	require.NoError(t, err)
	require.Empty(t, ms)

	nodes, _, err := c.Catalog().Nodes(&api.QueryOptions{Filter: `Meta["consul-version"] is not empty`})
	require.NoError(t, err)
	require.Len(t, nodes, 1)
	nodes, _, err = c.Catalog().Nodes(&api.QueryOptions{Filter: `Node matches "^nope"`})
	require.NoError(t, err)
	require.Empty(t, nodes)
	nodes, _, err = c.Catalog().Nodes(&api.QueryOptions{NodeMeta: map[string]string{"consul-version": Version}})
	require.NoError(t, err)
	require.Len(t, nodes, 1)
	nodes, _, err = c.Catalog().Nodes(&api.QueryOptions{NodeMeta: map[string]string{"nope": "nope"}})
	require.NoError(t, err)
	require.Empty(t, nodes)

	checks, _, err := c.Health().Node(name, &api.QueryOptions{Filter: `CheckID == serfHealth`})
	require.NoError(t, err)
	require.Len(t, checks, 1)
	checks, _, err = c.Health().Node(name, &api.QueryOptions{Filter: `Status == critical`})
	require.NoError(t, err)
	require.Empty(t, checks)

	code, _, body := do(t, http.MethodGet, a.url("/v1/catalog/nodes?filter=Node%20%3D%3D"), nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "Failed to create boolean expression evaluator")
}
