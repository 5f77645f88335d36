package agent

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/raft/driver"
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

// TestWriteErrorLeadershipLost: a write whose outcome is unknown answers
// hashicorp/raft's text, a read Consul's "No cluster leader".
func TestWriteErrorLeadershipLost(t *testing.T) {
	a := &Agent{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, tc := range []struct{ method, want string }{
		{http.MethodPut, "leadership lost while committing log"},
		{http.MethodDelete, "leadership lost while committing log"},
		{http.MethodGet, "No cluster leader"},
	} {
		rec := httptest.NewRecorder()
		a.writeError(rec, httptest.NewRequest(tc.method, "/v1/kv/x", nil), fmt.Errorf("apply: %w", driver.ErrLeadershipLost))
		require.Equal(t, http.StatusInternalServerError, rec.Code, tc.method)
		require.Equal(t, tc.want, rec.Body.String(), tc.method)
	}
}
