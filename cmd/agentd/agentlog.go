package main

import (
	"io"
	"log/slog"
	"strings"

	"github.com/agentd/agentd/agent/config"
)

// newAgentLogger builds the agent's logger from log_json and log_file:
// lines go to stderr and, with log_file, to the (rotated) file too. With
// log_json each line is one JSON object with hclog's keys, as Consul's
// -log-json writes them: @timestamp, @level (lowercase), @message,
// @module. The returned close func closes the log file.
func newAgentLogger(lc config.Log, level *slog.LevelVar, stderr io.Writer) (*slog.Logger, func() error, error) {
	out, closeFn := stderr, func() error { return nil }
	if lc.File != "" {
		f, err := openLogFile(lc.File, lc.RotateBytes, lc.RotateDuration, lc.RotateMaxFiles)
		if err != nil {
			return nil, nil, err
		}
		out, closeFn = io.MultiWriter(stderr, f), f.Close
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: textAttr}
	if lc.JSON {
		opts.ReplaceAttr = hclogJSONAttr
		return slog.New(slog.NewJSONHandler(out, opts)), closeFn, nil
	}
	return slog.New(slog.NewTextHandler(out, opts)), closeFn, nil
}

// levelName is hclog's name of a level.
func levelName(l slog.Level) string {
	switch {
	case l <= config.LevelTrace:
		return "trace"
	case l <= slog.LevelDebug:
		return "debug"
	case l <= slog.LevelInfo:
		return "info"
	case l <= slog.LevelWarn:
		return "warn"
	}
	return "error"
}

// textAttr names the trace level TRACE (slog would print DEBUG-4).
func textAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.LevelKey {
		if l, ok := a.Value.Any().(slog.Level); ok {
			return slog.String(a.Key, strings.ToUpper(levelName(l)))
		}
	}
	return a
}

// hclogJSONAttr renames slog's top-level keys to hclog's.
func hclogJSONAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
	case slog.LevelKey:
		if l, ok := a.Value.Any().(slog.Level); ok {
			return slog.String("@level", levelName(l))
		}
		return slog.String("@level", a.Value.String())
	case slog.MessageKey:
		return slog.String("@message", a.Value.String())
	case "module":
		return slog.String("@module", a.Value.String())
	}
	return a
}
