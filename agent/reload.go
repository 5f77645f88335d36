package agent

import (
	"net/http"
	"sync/atomic"
)

// PUT /v1/agent/reload runs the same reload as SIGHUP (the command
// installs it with SetReloader: re-read the configuration, apply what can
// change while running). An invalid configuration is Consul's 500 and
// changes nothing.

// reloader holds the installed reload function.
type reloader struct{ f atomic.Pointer[func() error] }

// SetReloader installs f as what PUT /v1/agent/reload runs.
func (a *Agent) SetReloader(f func() error) { a.reload.f.Store(&f) }

func (a *Agent) agentReload(w http.ResponseWriter, r *http.Request) error {
	f := a.reload.f.Load()
	if f == nil {
		return nil // nothing is reloadable in this agent
	}
	if err := (*f)(); err != nil {
		return errStatus(http.StatusInternalServerError, "Failed to reload configs: %v", err)
	}
	return nil
}
