package agent

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/agentd/agentd/raft"
)

// GET /v1/agent/metrics: this agent's metrics in Consul's JSON shape
// (go-metrics' in-memory sink: Timestamp, Gauges, Points, Counters,
// Samples), or with ?format=prometheus in Prometheus' text format, which
// Consul serves only when telemetry.prometheus_retention_time is positive
// (otherwise 415 and its message).
//
// Every figure is a gauge read at request time. Where Consul has a metric
// of the same meaning it keeps Consul's name (consul.runtime.*,
// consul.raft.applied_index, consul.raft.last_index,
// consul.server.isLeader, consul.session_ttl.active), with the host name
// inserted after "consul." as go-metrics does for Consul's gauges unless
// telemetry.disable_hostname is set (consul.<host>.runtime.alloc_bytes);
// agentd's own counters are cumulative since the process started and are
// named agentd.* (blocking-query wakeups among them: the store's
// Stats.Wakeups, also in /v1/agent/self Stats.store).

// gaugeJSON is one of go-metrics' GaugeValue.
type gaugeJSON struct {
	Name   string
	Value  float32 // go-metrics' type, which the official client decodes
	Labels map[string]string
	exact  float64 // for Prometheus: float32 rounds counters above 2^24
	help   string
}

// metricsJSON is go-metrics' MetricsSummary as Consul serves it.
type metricsJSON struct {
	Timestamp string
	Gauges    []gaugeJSON
	Points    []struct{}
	Counters  []struct{}
	Samples   []struct{}
}

// metricHelp describes each metric for Prometheus' HELP line.
var metricHelp = map[string]string{
	"consul.runtime.num_goroutines":    "Goroutines running.",
	"consul.runtime.alloc_bytes":       "Bytes of allocated heap objects.",
	"consul.runtime.sys_bytes":         "Bytes obtained from the system.",
	"consul.runtime.heap_objects":      "Allocated heap objects.",
	"consul.runtime.total_gc_runs":     "Completed GC cycles.",
	"consul.raft.applied_index":        "Last index applied to the state store.",
	"consul.raft.last_index":           "Last index in the Raft log.",
	"consul.server.isLeader":           "1 while this server leads.",
	"consul.session_ttl.active":        "Sessions with a TTL this leader is timing.",
	"agentd.raft.commit_index":         "Raft commit index.",
	"agentd.raft.term":                 "Current Raft term.",
	"agentd.raft.fsyncs":               "Log appends made durable, one fsync each.",
	"agentd.raft.snapshots_taken":      "Snapshots taken by this process.",
	"agentd.raft.snapshots_installed":  "Snapshots received from a leader and installed.",
	"agentd.store.applies":             "Commands applied to the state store.",
	"agentd.store.watch_fires":         "Watch channels closed by writes or restores.",
	"agentd.store.wakeups":             "Blocking queries woken because their watch fired.",
	"agentd.store.watches_added":       "Watch channels handed to blocking queries.",
	"agentd.autopilot.removed_servers": "Dead servers this process removed while leading.",
	"agentd.http.handler_panics":       "HTTP handler panics recovered.",
}

func (a *Agent) agentMetrics(w http.ResponseWriter, r *http.Request) error {
	gauges, err := a.metricGauges(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("format") == "prometheus" {
		if a.cfg.PrometheusRetention <= 0 {
			w.WriteHeader(http.StatusUnsupportedMediaType)
			_, err := fmt.Fprint(w, "Prometheus is not enabled since its retention time is not positive")
			return err
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, err := w.Write(prometheusText(gauges))
		return err
	}
	return writeJSON(w, metricsJSON{
		Timestamp: time.Now().Round(time.Second).UTC().String(),
		Gauges:    gauges, Points: []struct{}{}, Counters: []struct{}{}, Samples: []struct{}{},
	})
}

// metricGauges reads every metric now, sorted by name.
func (a *Agent) metricGauges(r *http.Request) ([]gaugeJSON, error) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	v := map[string]float64{
		"consul.runtime.num_goroutines":    float64(runtime.NumGoroutine()),
		"consul.runtime.alloc_bytes":       float64(ms.Alloc),
		"consul.runtime.sys_bytes":         float64(ms.Sys),
		"consul.runtime.heap_objects":      float64(ms.HeapObjects),
		"consul.runtime.total_gc_runs":     float64(ms.NumGC),
		"consul.session_ttl.active":        float64(a.sessions.active()),
		"agentd.autopilot.removed_servers": float64(a.autopilotRemoved.Load()),
		"agentd.http.handler_panics":       float64(a.panics.Load()),
	}
	st := a.store.Stats()
	v["agentd.store.applies"] = float64(st.Applies)
	v["agentd.store.watch_fires"] = float64(st.WatchFires)
	v["agentd.store.wakeups"] = float64(st.Wakeups)
	v["agentd.store.watches_added"] = float64(st.WatchesAdded)
	if a.srvPtr.Load() != nil {
		rs, err := a.raftStatus(r.Context())
		if err != nil {
			return nil, err
		}
		ds, err := a.srv.drv.Stats(r.Context())
		if err != nil {
			return nil, err
		}
		leader := 0.0
		if rs.SoftState.Role == raft.Leader {
			leader = 1
		}
		v["consul.server.isLeader"] = leader
		v["consul.raft.applied_index"] = float64(rs.Applied)
		v["consul.raft.last_index"] = float64(rs.LastIndex)
		v["agentd.raft.commit_index"] = float64(rs.HardState.Commit)
		v["agentd.raft.term"] = float64(rs.HardState.Term)
		v["agentd.raft.fsyncs"] = float64(ds.DiskJobs)
		v["agentd.raft.snapshots_taken"] = float64(ds.Snapshots)
		v["agentd.raft.snapshots_installed"] = float64(ds.Installed)
	}
	host := ""
	if !a.cfg.DisableHostname {
		host, _ = os.Hostname()
	}
	out := make([]gaugeJSON, 0, len(v))
	for name, x := range v {
		help := metricHelp[name]
		if rest, ok := strings.CutPrefix(name, "consul."); ok && host != "" {
			name = "consul." + host + "." + rest
		}
		out = append(out, gaugeJSON{Name: name, Value: float32(x), Labels: map[string]string{}, exact: x, help: help})
	}
	slices.SortFunc(out, func(x, y gaugeJSON) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

// prometheusText renders gauges in Prometheus' text exposition format,
// names with '.' (and anything else not allowed) as '_'.
func prometheusText(gauges []gaugeJSON) []byte {
	var b strings.Builder
	for _, g := range gauges {
		name := promName(g.Name)
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, g.help, name, name, promFloat(g.exact))
	}
	return []byte(b.String())
}

func promFloat(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%g", x)
}

// promName is name with every character Prometheus does not allow in a
// metric name replaced by '_', as go-metrics' Prometheus sink does.
func promName(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == ':' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, name)
}
