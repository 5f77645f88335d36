package agent

import (
	"os"
	"testing"
	"time"
)

// TestMain bounds every agent's wait for its peers: a test cluster whose
// one server failed to start (a port taken between freePort and the
// listen, say) then fails with that server's error rather than hanging
// the package until its timeout.
func TestMain(m *testing.M) {
	startTimeout = 90 * time.Second
	os.Exit(m.Run())
}
