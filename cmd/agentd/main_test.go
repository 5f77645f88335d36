package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/agent"
	"github.com/agentd/agentd/agent/config"
)

func startAgent(t *testing.T) string {
	t.Helper()
	cfg := config.Dev()
	cfg.Ports.HTTP = 0
	cfg.NodeName = "cli-node"
	a, err := agent.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, a.Shutdown(context.Background())) })
	addr := a.HTTPAddr()
	// Wait until the node is registered (leader ready).
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, out, _ := runCmd(t, "", "members", "-http-addr", addr)
		if code == 0 && strings.Contains(out, "cli-node") {
			code, out, _ = runCmd(t, "", "operator", "raft", "list-peers", "-http-addr", addr)
			if code == 0 && strings.Contains(out, "leader") {
				return addr
			}
		}
		require.False(t, time.Now().After(deadline), "agent not ready")
		time.Sleep(5 * time.Millisecond)
	}
}

func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(&env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}, args)
	return code, out.String(), errb.String()
}

func TestCLIKV(t *testing.T) {
	addr := startAgent(t)
	h := []string{"-http-addr", addr}
	kv := func(stdin string, args ...string) (int, string, string) {
		full := append([]string{"kv", args[0]}, h...)
		return runCmd(t, stdin, append(full, args[1:]...)...)
	}
	code, out, _ := kv("", "put", "a", "hello")
	require.Equal(t, 0, code)
	require.Equal(t, "Success! Data written to: a\n", out)
	code, out, _ = kv("", "get", "a")
	require.Equal(t, 0, code)
	require.Equal(t, "hello\n", out)

	code, _, errOut := kv("", "get", "missing")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "No key exists at: missing")

	code, _, _ = kv("from stdin", "put", "-flags", "7", "dir/x", "-")
	require.Equal(t, 0, code)
	code, out, _ = kv("", "get", "-detailed", "dir/x")
	require.Equal(t, 0, code)
	require.Regexp(t, regexp.MustCompile(`(?m)^Flags\s+7$`), out)
	require.Regexp(t, regexp.MustCompile(`(?m)^Value\s+from stdin$`), out)
	require.Regexp(t, regexp.MustCompile(`(?m)^Session\s+-$`), out)
	mi := regexp.MustCompile(`(?m)^ModifyIndex\s+(\d+)$`).FindStringSubmatch(out)[1]

	file := filepath.Join(t.TempDir(), "v")
	require.NoError(t, os.WriteFile(file, []byte("from file"), 0o644))
	code, _, _ = kv("", "put", "dir/sub/y", "@"+file)
	require.Equal(t, 0, code)
	code, out, _ = kv("", "get", "-recurse", "dir/")
	require.Equal(t, 0, code)
	require.Equal(t, "dir/sub/y:from file\ndir/x:from stdin\n", out)
	code, out, _ = kv("", "get", "-keys", "dir/")
	require.Equal(t, 0, code)
	require.Equal(t, "dir/sub/\ndir/x\n", out)
	code, out, _ = kv("", "get", "-keys")
	require.Equal(t, 0, code)
	require.Equal(t, "a\ndir/\n", out)

	code, _, errOut = kv("", "put", "-cas", "-modify-index", "1", "dir/x", "new")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "CAS failed")
	code, _, _ = kv("", "put", "-cas", "-modify-index", mi, "dir/x", "new")
	require.Equal(t, 0, code)
	code, _, errOut = kv("", "delete", "-cas", "-modify-index", mi, "dir/x")
	require.Equal(t, 1, code, "stale index")
	require.Contains(t, errOut, "CAS failed")

	code, out, _ = kv("", "delete", "-recurse", "dir/")
	require.Equal(t, 0, code)
	require.Equal(t, "Success! Deleted keys with prefix: dir/\n", out)
	code, out, _ = kv("", "delete", "a")
	require.Equal(t, 0, code)
	require.Equal(t, "Success! Deleted key: a\n", out)
	code, out, _ = kv("", "get", "-recurse")
	require.Equal(t, 0, code)
	require.Empty(t, out)

	// CONSUL_HTTP_ADDR is honoured.
	t.Setenv("CONSUL_HTTP_ADDR", "http://"+addr)
	code, _, _ = runCmd(t, "", "kv", "put", "env", "1")
	require.Equal(t, 0, code)
}

func TestCLIOperatorAndSnapshot(t *testing.T) {
	addr := startAgent(t)
	code, out, _ := runCmd(t, "", "members", "-http-addr", addr)
	require.Equal(t, 0, code)
	require.Regexp(t, `cli-node\s+127\.0\.0\.1:8301\s+alive\s+server`, out)
	code, out, _ = runCmd(t, "", "operator", "raft", "list-peers", "-http-addr", addr)
	require.Equal(t, 0, code)
	require.Regexp(t, `cli-node\s+\S+\s+127\.0\.0\.1:8300\s+leader\s+true\s+3`, out)
	code, out, _ = runCmd(t, "", "info", "-http-addr", addr)
	require.Equal(t, 0, code)
	require.Contains(t, out, "raft:\n")
	require.Contains(t, out, "\tstate = Leader\n")

	code, _, _ = runCmd(t, "", "kv", "put", "-http-addr", addr, "snap/key", "before")
	require.Equal(t, 0, code)
	file := filepath.Join(t.TempDir(), "backup.snap")
	code, out, _ = runCmd(t, "", "snapshot", "save", "-http-addr", addr, file)
	require.Equal(t, 0, code)
	require.Contains(t, out, "Saved and verified snapshot to index")
	code, _, _ = runCmd(t, "", "kv", "put", "-http-addr", addr, "snap/key", "after")
	require.Equal(t, 0, code)
	code, out, errOut := runCmd(t, "", "snapshot", "restore", "-http-addr", addr, file)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "Restored snapshot\n", out)
	code, out, _ = runCmd(t, "", "kv", "get", "-http-addr", addr, "snap/key")
	require.Equal(t, 0, code)
	require.Equal(t, "before\n", out)
}

func TestCLIMisc(t *testing.T) {
	code, out, _ := runCmd(t, "", "version", "-format=json")
	require.Equal(t, 0, code)
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.Equal(t, agent.Version, v["Version"])
	code, out, _ = runCmd(t, "", "version")
	require.Equal(t, 0, code)
	require.Contains(t, out, "agentd v"+agent.Version)

	code, out, _ = runCmd(t, "", "keygen")
	require.Equal(t, 0, code)
	require.Regexp(t, `^[A-Za-z0-9+/]{43}=\n$`, out)

	code, _, _ = runCmd(t, "", "nonsense")
	require.Equal(t, 1, code)
	code, _, errOut := runCmd(t, "", "kv", "get", "-http-addr", "127.0.0.1:1", "a")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "Error querying")
}

// syncBuffer is a goroutine-safe buffer for a running agent's stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCLIAgentConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"performance":{"raft_multiplier":99}}`), 0o644))
	code, _, errOut := runCmd(t, "", "agent", "-dev", "-config-file", bad)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `"performance.raft_multiplier"`)

	code, _, errOut = runCmd(t, "", "agent", "-dev", "-http-port", "nope")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `"ports.http"`)

	// An unknown key warns and the agent starts; an API leave stops it.
	unknown := filepath.Join(dir, "unknown.json")
	require.NoError(t, os.WriteFile(unknown, []byte(`{"dns_config":{"allow_stale":true},"log_level":"info"}`), 0o644))
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(&env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr},
			[]string{"agent", "-dev", "-http-port", "0", "-config-file", unknown})
	}()
	addrRE := regexp.MustCompile(`http=(127\.0\.0\.1:\d+)`)
	var addr string
	deadline := time.Now().Add(5 * time.Second)
	for addr == "" {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		}
		require.False(t, time.Now().After(deadline), "agent did not start: %s", stderr.String())
		time.Sleep(5 * time.Millisecond)
	}
	require.Contains(t, stderr.String(), `unknown key \"dns_config\"`)
	leaveAndWait(t, addr, done, 10*time.Second)
}

// leaveAndWait runs `agentd leave` against the agent at addr and wants the
// agent's run (which reports on done) to end with 0 within bound.
func leaveAndWait(t *testing.T, addr string, done <-chan int, bound time.Duration) {
	t.Helper()
	code, out, _ := runCmd(t, "", "leave", "-http-addr", addr)
	require.Equal(t, 0, code)
	require.Equal(t, "Graceful leave complete\n", out)
	select {
	case code := <-done:
		require.Equal(t, 0, code)
	case <-time.After(bound):
		t.Fatal("agent did not stop after leave")
	}
}

// kv export prints Consul's JSON array (tab-indented, base64 values);
// kv import writes it back, from a file, stdin or the argument, under
// -prefix, and refuses bad input without writing.
func TestCLIKVExportImport(t *testing.T) {
	addr := startAgent(t)
	h := []string{"-http-addr", addr}
	kv := func(stdin string, args ...string) (int, string, string) {
		full := append([]string{"kv", args[0]}, h...)
		return runCmd(t, stdin, append(full, args[1:]...)...)
	}
	code, out, _ := kv("", "export", "app")
	require.Equal(t, 0, code)
	require.Equal(t, "[]\n", out, "nothing under the prefix")

	for _, c := range [][]string{{"put", "app/a", "one"}, {"put", "-flags", "42", "app/b/c", "two"}, {"put", "app/dir/", ""}, {"put", "other", "x"}} {
		code, _, errOut := kv("", c...)
		require.Equal(t, 0, code, errOut)
	}
	code, out, _ = kv("", "export", "/app")
	require.Equal(t, 0, code)
	want := "[\n" +
		"\t{\n\t\t\"key\": \"app/a\",\n\t\t\"flags\": 0,\n\t\t\"value\": \"b25l\"\n\t},\n" +
		"\t{\n\t\t\"key\": \"app/b/c\",\n\t\t\"flags\": 42,\n\t\t\"value\": \"dHdv\"\n\t},\n" +
		"\t{\n\t\t\"key\": \"app/dir/\",\n\t\t\"flags\": 0,\n\t\t\"value\": \"\"\n\t}\n" +
		"]\n"
	require.Equal(t, want, out)
	code, all, _ := kv("", "export")
	require.Equal(t, 0, code)
	require.Contains(t, all, `"key": "other"`)

	// From a file, under a prefix: keys joined, the directory key keeps
	// its slash, flags and values kept.
	file := filepath.Join(t.TempDir(), "kv.json")
	require.NoError(t, os.WriteFile(file, []byte(out), 0o600))
	code, got, errOut := kv("", "import", "-prefix", "copy", "@"+file)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "Imported: copy/app/a\nImported: copy/app/b/c\nImported: copy/app/dir/\n", got)
	code, got, _ = kv("", "get", "-detailed", "copy/app/b/c")
	require.Equal(t, 0, code)
	require.Regexp(t, regexp.MustCompile(`(?m)^Flags\s+42$`), got)
	require.Regexp(t, regexp.MustCompile(`(?m)^Value\s+two$`), got)
	code, got, _ = kv("", "export", "copy/")
	require.Equal(t, 0, code)
	require.Equal(t, strings.ReplaceAll(want, `"app/`, `"copy/app/`), got)

	// From stdin, and inline.
	code, _, errOut = kv(`[{"key":"in/stdin","flags":1,"value":"aGk="}]`, "import", "-")
	require.Equal(t, 0, code, errOut)
	code, _, errOut = kv("", "import", `[{"key":"in/arg","flags":0,"value":"eW8="}]`)
	require.Equal(t, 0, code, errOut)
	code, got, _ = kv("", "get", "-recurse", "in/")
	require.Equal(t, 0, code)
	require.Equal(t, "in/arg:yo\nin/stdin:hi\n", got)

	for _, tc := range []struct{ name, data, err string }{
		{"not JSON", "{", "Cannot unmarshal data"},
		{"bad base64", `[{"key":"in/bad","value":"!!"}]`, "Error base 64 decoding value for key in/bad"},
		{"missing", "", "Missing DATA argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"import"}
			if tc.data != "" {
				args = append(args, tc.data)
			}
			code, _, errOut := kv("", args...)
			require.Equal(t, 1, code)
			require.Contains(t, errOut, tc.err)
		})
	}
	code, _, _ = kv("", "get", "in/bad")
	require.Equal(t, 1, code, "nothing written")
}

func TestCLIEvent(t *testing.T) {
	addr := startAgent(t)
	code, out, errOut := runCmd(t, "", "event", "-http-addr", addr, "-name", "deploy", "v2")
	require.Equal(t, 0, code, errOut)
	require.True(t, strings.HasPrefix(out, "Event ID: "), out)
	id := strings.TrimSpace(strings.TrimPrefix(out, "Event ID: "))
	resp, err := http.Get("http://" + addr + "/v1/event/list?name=deploy")
	require.NoError(t, err)
	defer resp.Body.Close()
	var events []struct {
		ID      string
		Payload []byte
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&events))
	require.Len(t, events, 1)
	require.Equal(t, id, events[0].ID)
	require.Equal(t, "v2", string(events[0].Payload))

	for _, bad := range [][]string{{"-name", ""}, {"-name", "_x"}, {"-name", "x", "-tag", "t"}, {"-name", "x", "a", "b"}} {
		code, _, _ := runCmd(t, "", append([]string{"event", "-http-addr", addr}, bad...)...)
		require.Equal(t, 1, code, bad)
	}
}

func TestCLIReload(t *testing.T) {
	addr := startAgent(t)
	code, out, errOut := runCmd(t, "", "reload", "-http-addr", addr)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "Configuration reload triggered\n", out)
}

func TestCLIMembersDetailedStatus(t *testing.T) {
	addr := startAgent(t)
	code, out, errOut := runCmd(t, "", "members", "-http-addr", addr, "-detailed")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Tags")
	require.Regexp(t, `alive +acls=0,.*role=consul`, out)
	code, _, _ = runCmd(t, "", "members", "-http-addr", addr, "-status", "^failed$")
	require.Equal(t, 2, code, "no member matched")
	code, out, _ = runCmd(t, "", "members", "-http-addr", addr, "-status", "alive")
	require.Equal(t, 0, code)
	require.Contains(t, out, "alive")
	code, _, _ = runCmd(t, "", "members", "-http-addr", addr, "-status", "(")
	require.Equal(t, 1, code)
}
