package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestValidate is `agentd validate` as `consul validate`.
func TestValidate(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"good.json":      `{"data_dir": "/tmp/a", "server": true, "bootstrap_expect": 3}`,
		"good.hcl":       "data_dir = \"/tmp/a\"\nports { http = 8501 }\n",
		"dir/a.json":     `{"data_dir": "/tmp/a"}`,
		"dir/b.hcl":      `node_meta { rack = "r1" }`,
		"badport.json":   `{"data_dir": "/tmp/a", "ports": {"http": "x"}}`,
		"badexpect.hcl":  "data_dir = \"/tmp/a\"\nbootstrap_expect = 3\n",
		"nodatadir.json": `{"server": true}`,
		"syntax.json":    `{"data_dir": `,
		"hcl.conf":       `data_dir = "/tmp/a"`,
		"unknown.json":   `{"data_dir": "/tmp/a", "no_such_key": 1}`,
		"dns.json":       `{"data_dir": "/tmp/a", "domain": "example."}`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	at := func(name string) string { return filepath.Join(dir, name) }
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr []string // substrings
	}{
		{"json", []string{at("good.json")}, 0, "Configuration is valid!\n", nil},
		{"hcl", []string{at("good.hcl")}, 0, "Configuration is valid!\n", nil},
		{"dir", []string{at("dir")}, 0, "Configuration is valid!\n", nil},
		{"several", []string{at("good.json"), at("dir")}, 0, "Configuration is valid!\n", nil},
		{"quiet", []string{"-quiet", at("good.json")}, 0, "", nil},
		{"config-format", []string{"-config-format", "hcl", at("hcl.conf")}, 0, "Configuration is valid!\n", nil},
		{"unknown key warns", []string{at("unknown.json")}, 0, "Configuration is valid!\n", []string{"no_such_key"}},
		{"no-effect key warns", []string{at("dns.json")}, 0, "Configuration is valid!\n", []string{`"domain"`, "no effect"}},
		{"bad value names the key", []string{at("badport.json")}, 1, "", []string{"Config validation failed", "ports.http"}},
		{"bad combination names the key", []string{at("badexpect.hcl")}, 1, "", []string{"bootstrap_expect", "server mode"}},
		{"data_dir required", []string{at("nodatadir.json")}, 1, "", []string{"data_dir"}},
		{"syntax", []string{at("syntax.json")}, 1, "", []string{"invalid JSON"}},
		{"missing file", []string{at("nope.json")}, 1, "", []string{"nope.json"}},
		{"no args", nil, 1, "", []string{"Must specify at least one config file or directory"}},
		{"bad format", []string{"-config-format", "yaml", at("good.json")}, 1, "", []string{"-config-format must be either 'hcl' or 'json'"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, "", append([]string{"validate"}, tc.args...)...)
			require.Equal(t, tc.code, code, errOut)
			require.Equal(t, tc.stdout, out)
			for _, s := range tc.stderr {
				require.Contains(t, errOut, s)
			}
			if tc.stderr == nil {
				require.Empty(t, errOut)
			}
		})
	}
}
