package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/agent/config"
)

// TestAgentLogJSON: -log-json lines are JSON objects with hclog's keys.
func TestAgentLogJSON(t *testing.T) {
	for _, tc := range []struct {
		level slog.Level
		want  string
	}{
		{config.LevelTrace, "trace"}, {slog.LevelDebug, "debug"}, {slog.LevelInfo, "info"},
		{slog.LevelWarn, "warn"}, {slog.LevelError, "error"},
	} {
		var buf bytes.Buffer
		lv := new(slog.LevelVar)
		lv.Set(config.LevelTrace)
		log, closeLog, err := newAgentLogger(config.Log{JSON: true}, lv, &buf)
		require.NoError(t, err)
		log.With("module", "raft").Log(t.Context(), tc.level, "hello", "term", 2)
		require.NoError(t, closeLog())
		var m map[string]any
		require.NoError(t, json.Unmarshal(buf.Bytes(), &m), buf.String())
		require.Equal(t, tc.want, m["@level"])
		require.Equal(t, "hello", m["@message"])
		require.Equal(t, "raft", m["@module"])
		require.EqualValues(t, 2, m["term"])
		_, err = time.Parse(time.RFC3339Nano, m["@timestamp"].(string))
		require.NoError(t, err)
	}
}

// TestAgentLogFile: -log-file writes every line to the file as well as
// stderr; a directory gets consul.log, a name without extension .log.
func TestAgentLogFile(t *testing.T) {
	for _, tc := range []struct{ arg, file string }{
		{"logs/", "logs/consul.log"}, {"agentd", "agentd.log"}, {"x/agent.txt", "x/agent.txt"},
	} {
		dir := t.TempDir()
		var stderr bytes.Buffer
		log, closeLog, err := newAgentLogger(config.Log{File: dir + "/" + tc.arg}, new(slog.LevelVar), &stderr)
		require.NoError(t, err)
		log.Info("to both")
		require.NoError(t, closeLog())
		b, err := os.ReadFile(filepath.Join(dir, tc.file))
		require.NoError(t, err, tc.arg)
		require.Contains(t, string(b), "to both")
		require.Equal(t, stderr.String(), string(b))
	}
}

// TestLogFileRotation: past log_rotate_bytes or log_rotate_duration the
// file is archived as <name>-<nanos><ext>; log_rotate_max_files bounds
// the archives (-1 keeps none).
func TestLogFileRotation(t *testing.T) {
	for _, tc := range []struct {
		name     string
		bytes    int
		age      time.Duration
		maxFiles int
		writes   int
		archives int
	}{
		{"bytes", 25, 0, 0, 5, 4},
		{"bytes kept 2", 25, 0, 2, 5, 2},
		{"bytes none kept", 25, 0, -1, 5, 0},
		{"duration", 0, time.Hour, 0, 3, 2},
		{"no limit", 0, 0, 0, 5, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l, err := openLogFile(filepath.Join(dir, "a.log"), tc.bytes, tc.age, tc.maxFiles)
			require.NoError(t, err)
			now := time.Unix(1000, 0)
			l.now = func() time.Time { return now }
			l.openedAt = now
			for i := range tc.writes {
				_, err := l.Write([]byte(strings.Repeat("x", 19) + "\n"))
				require.NoError(t, err, "write %d", i)
				now = now.Add(time.Hour)
			}
			require.NoError(t, l.Close())
			archives, _ := filepath.Glob(filepath.Join(dir, "a-*.log"))
			require.Len(t, archives, tc.archives)
			b, err := os.ReadFile(filepath.Join(dir, "a.log"))
			require.NoError(t, err)
			if tc.archives > 0 || tc.maxFiles == -1 && tc.bytes > 0 {
				require.Len(t, b, 20, "the active file holds the last line only")
			}
		})
	}
}
