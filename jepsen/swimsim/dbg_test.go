package swimsim

import (
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/agentd/agentd/swim"
)

func TestDbg(t *testing.T) {
	var sb strings.Builder
	_ = &sb
	Run(Options{Seed: 37, Trace: os.Stdout, Tweak: func(c *swim.Config) {
		if c.Name == "m006" || c.Name == "m002" {
			c.Logger = slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	}})
}
