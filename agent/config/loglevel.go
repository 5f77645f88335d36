package config

import (
	"log/slog"
	"strings"
)

// LevelTrace is below slog's Debug, for Consul's "trace".
const LevelTrace = slog.LevelDebug - 4

// ParseLogLevel maps Consul's level names (case-insensitive; "warning" and
// "err" as aliases) to slog levels.
func ParseLogLevel(s string) (slog.Level, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "trace":
		return LevelTrace, true
	case "debug":
		return slog.LevelDebug, true
	case "info", "":
		return slog.LevelInfo, true
	case "warn", "warning":
		return slog.LevelWarn, true
	case "err", "error":
		return slog.LevelError, true
	}
	return 0, false
}
