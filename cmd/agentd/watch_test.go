package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCLIWatch: without a handler a watch prints the view once (a key, a
// missing key as null, a prefix); with one it runs the handler with the
// view on stdin and CONSUL_INDEX, again when the key changes, and stops
// with exit 1 when the handler fails (Consul's behaviour), here on its
// second run.
func TestCLIWatch(t *testing.T) {
	addr := startAgent(t)
	h := []string{"-http-addr", addr}
	watch := func(args ...string) (int, string, string) {
		return runCmd(t, "", append(append([]string{"watch"}, h...), args...)...)
	}
	code, _, _ := runCmd(t, "", append([]string{"kv", "put"}, append(h, "w/a", "one")...)...)
	require.Equal(t, 0, code)

	code, out, errOut := watch("-type", "key", "-key", "w/a")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, `"Key": "w/a"`)
	require.Contains(t, out, `"Value": "b25l"`) // "one"
	code, out, _ = watch("-type", "key", "-key", "w/missing")
	require.Equal(t, 0, code)
	require.Equal(t, "null\n", out)
	code, out, _ = watch("-type", "keyprefix", "-prefix", "w/")
	require.Equal(t, 0, code)
	require.True(t, strings.HasPrefix(out, "[\n    {\n"), out)

	dir := t.TempDir()
	seen := filepath.Join(dir, "seen")
	handler := `test -e ` + seen + ` && { cat > ` + seen + `.2; exit 3; }; echo "$CONSUL_INDEX" > ` + seen + `; cat >> ` + seen
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		code, _, errOut = watch("-type", "key", "-key", "w/a", handler)
	}()
	waitUntil(t, func() bool { b, _ := os.ReadFile(seen); return strings.Contains(string(b), "w/a") }, "the first handler run")
	code2, _, _ := runCmd(t, "", append([]string{"kv", "put"}, append(h, "w/a", "two")...)...)
	require.Equal(t, 0, code2)
	wg.Wait()
	require.Equal(t, 1, code, "the failing handler stops the watch: %s", errOut)
	second, err := os.ReadFile(seen + ".2")
	require.NoError(t, err)
	require.Contains(t, string(second), `"Value":"dHdv"`) // "two"
	first, err := os.ReadFile(seen)
	require.NoError(t, err)
	require.Regexp(t, `^[1-9][0-9]*\n`, string(first), "CONSUL_INDEX")

	code, _, errOut = runCmd(t, "", append([]string{"event"}, append(h, "-name", "deploy", "v3")...)...)
	require.Equal(t, 0, code, errOut)
	code, out, _ = watch("-type", "event", "-name", "deploy")
	require.Equal(t, 0, code)
	require.Contains(t, out, `"Name": "deploy"`)
	require.Contains(t, out, `"Payload": "djM="`) // "v3"

	for _, bad := range [][]string{{}, {"-type", "key"}, {"-type", "keyprefix"}, {"-type", "services"}} {
		code, _, _ := watch(bad...)
		require.Equal(t, 1, code, bad)
	}
}
