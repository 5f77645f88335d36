package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/agentd/agentd/agent/config"
)

// GET /v1/agent/monitor?loglevel=L[&logjson]: this agent's log, streamed
// line by line from the request on, as Consul's (`agentd monitor`). The
// agent logs through a monitorHandler: it hands every record to the
// process's handler as before and, formatted on its own, to each
// monitor whose level admits it. A monitor that does not keep up loses
// lines (counted in monitor.dropped); it never slows the agent.

// monitorBuffer is how many lines a slow monitor may have pending.
const monitorBuffer = 512

type monitor struct {
	level slog.Level
	json  bool
	lines chan []byte
	// dropped counts lines lost because lines was full.
	dropped int
}

// monitors is the set of open monitors, shared by every handler derived
// from the agent's (With, WithGroup).
type monitors struct {
	mu  sync.Mutex
	set map[*monitor]struct{}
}

func (m *monitors) add(mon *monitor) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.set == nil {
		m.set = map[*monitor]struct{}{}
	}
	m.set[mon] = struct{}{}
}

func (m *monitors) remove(mon *monitor) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.set, mon)
}

// monitorHandler is a slog.Handler: base, plus the monitors.
type monitorHandler struct {
	base  slog.Handler
	mons  *monitors
	attrs []slog.Attr
	group string
}

func newMonitorHandler(base slog.Handler) *monitorHandler {
	return &monitorHandler{base: base, mons: &monitors{}}
}

func (h *monitorHandler) Enabled(ctx context.Context, l slog.Level) bool {
	if h.base.Enabled(ctx, l) {
		return true
	}
	h.mons.mu.Lock()
	defer h.mons.mu.Unlock()
	for m := range h.mons.set {
		if l >= m.level {
			return true
		}
	}
	return false
}

func (h *monitorHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.base.Enabled(ctx, r.Level) {
		err = h.base.Handle(ctx, r)
	}
	h.mons.mu.Lock()
	defer h.mons.mu.Unlock()
	for m := range h.mons.set {
		if r.Level < m.level {
			continue
		}
		select {
		case m.lines <- h.format(r, m.json):
		default:
			m.dropped++
		}
	}
	return err
}

// format writes r as Consul's logger (hclog) does, so that what reads
// `consul monitor` reads this:
//
//	2026-11-27T12:10:53.080Z [INFO]  agent.raft: message: key=value
//	{"@level":"info","@message":"message","@module":"agent.raft","@timestamp":"…","key":"value"}
//
// The module is the record's "module" attribute under "agent".
func (h *monitorHandler) format(r slog.Record, asJSON bool) []byte {
	module := "agent"
	kv := [][2]string{}
	add := func(a slog.Attr) bool {
		if a.Key == "module" {
			module = "agent." + a.Value.String()
			return true
		}
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		kv = append(kv, [2]string{key, a.Value.String()})
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	ts := r.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	level := strings.ToLower(r.Level.String())
	if asJSON {
		out := map[string]string{"@level": level, "@message": r.Message, "@module": module, "@timestamp": ts}
		for _, p := range kv {
			out[p[0]] = p[1]
		}
		b, _ := json.Marshal(out)
		return append(b, '\n')
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %-8s%s: %s", ts, "["+strings.ToUpper(level)+"]", module, r.Message)
	for i, p := range kv {
		sep := " "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s=%s", sep, p[0], strconv.Quote(p[1]))
	}
	b.WriteByte('\n')
	return b.Bytes()
}

func (h *monitorHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &monitorHandler{base: h.base.WithAttrs(as), mons: h.mons, attrs: append(append([]slog.Attr{}, h.attrs...), as...), group: h.group}
}

func (h *monitorHandler) WithGroup(name string) slog.Handler {
	g := name
	if h.group != "" {
		g = h.group + "." + name
	}
	return &monitorHandler{base: h.base.WithGroup(name), mons: h.mons, attrs: h.attrs, group: g}
}

func (a *Agent) agentMonitor(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	level := slog.LevelInfo
	if s := q.Get("loglevel"); s != "" {
		l, ok := config.ParseLogLevel(s)
		if !ok {
			return errBadRequestf("Unknown log level: %s", s)
		}
		level = l
	}
	mon := &monitor{level: level, json: present(q, "logjson"), lines: make(chan []byte, monitorBuffer)}
	a.monitors.add(mon)
	defer a.monitors.remove(mon)
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush()
	}
	for {
		select {
		case line := <-mon.lines:
			if _, err := w.Write(line); err != nil {
				return nil
			}
			if flusher != nil {
				flusher.Flush()
			}
		case <-r.Context().Done():
			return nil
		case <-a.stopc:
			return nil
		}
	}
}
