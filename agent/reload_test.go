package agent

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAgentReload: PUT /v1/agent/reload runs the installed reloader; its
// error is Consul's 500; without one there is nothing to do (200).
func TestAgentReload(t *testing.T) {
	t.Parallel()
	a := startAgent(t)
	code, _, _ := do(t, http.MethodPut, a.url("/v1/agent/reload"), nil)
	require.Equal(t, http.StatusOK, code)
	calls := 0
	var fail error
	a.SetReloader(func() error { calls++; return fail })
	require.NoError(t, apiClient(t, a).Agent().Reload())
	require.Equal(t, 1, calls)
	fail = errors.New(`config: invalid value for "log_level"`)
	code, _, body := do(t, http.MethodPut, a.url("/v1/agent/reload"), nil)
	require.Equal(t, http.StatusInternalServerError, code)
	require.Equal(t, `Failed to reload configs: config: invalid value for "log_level"`, strings.TrimSpace(body))
	code, _, _ = do(t, http.MethodGet, a.url("/v1/agent/reload"), nil)
	require.Equal(t, http.StatusMethodNotAllowed, code)
}

func TestAgentVersion(t *testing.T) {
	t.Parallel()
	a := startAgent(t)
	v, err := apiClient(t, a).Agent().Version()
	require.NoError(t, err)
	require.Equal(t, Version, v["HumanVersion"])
	require.Contains(t, v, "SHA")
	require.Contains(t, v, "BuildDate")
}
