package agent

import "net/http"

// Version is agentd's release. It is reported by `agentd version`, in
// /v1/agent/self (Config.Version) and in the vsn gossip tag's neighbour
// build tag.
const Version = "0.1.0"

// Revision is the VCS revision, set at build time with
// -ldflags "-X github.com/agentd/agentd/agent.Revision=...".
var Revision = ""

// agentVersion serves GET /v1/agent/version as Consul's (1.15+).
func (a *Agent) agentVersion(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, map[string]string{"SHA": Revision, "BuildDate": buildDate, "HumanVersion": Version, "FIPS": ""})
}
