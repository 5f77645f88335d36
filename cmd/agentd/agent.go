package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/agentd/agentd/agent"
	"github.com/agentd/agentd/agent/config"
)

// cmdAgent runs an agent until a signal or an API leave. Signals as
// Consul: a server does not leave on SIGINT or SIGTERM by default
// (leaving shrinks the quorum); SIGHUP reloads the log level.
func cmdAgent(env *env, args []string) int {
	fs := newFlagSet(env, "agent")
	flags := config.Register(fs)
	if fs.Parse(args) != nil {
		return 1
	}
	if fs.NArg() > 0 {
		return env.fail("agent: unexpected arguments %q", fs.Args())
	}
	cfg, warnings, err := flags.Load()
	if err != nil {
		for _, w := range warnings {
			fmt.Fprintln(env.stderr, "warning:", w)
		}
		return env.fail("%v", err)
	}
	level := new(slog.LevelVar)
	lv, _ := config.ParseLogLevel(cfg.LogLevel)
	level.Set(lv)
	log, closeLog, err := newAgentLogger(cfg.Log, level, env.stderr)
	if err != nil {
		return env.fail("agent: %v", err)
	}
	defer closeLog()
	for _, w := range warnings {
		log.Warn(w)
	}
	if cfg.PidFile != "" {
		// Before New, which waits for bootstrap_expect peers: as Consul,
		// the PID is there while the agent starts.
		if err := os.WriteFile(cfg.PidFile, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			return env.fail("agent: pid_file: %v", err)
		}
		defer os.Remove(cfg.PidFile)
	}
	printBanner(env.stdout, cfg)
	running := &runningLine{w: env.stdout}
	starting := make(chan struct{})
	running.watchHTTP(cfg, starting)
	a, err := agent.New(cfg, log)
	close(starting)
	if err != nil {
		return env.fail("%v", err)
	}
	running.print()
	a.SetReloader(func() error { return reloadLogLevel(flags, level, log) })
	sigc := make(chan os.Signal, 4)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigc)
	for {
		select {
		case err := <-a.FatalCh():
			log.Error("server failed; exiting", "error", err)
			shutdown(a, log)
			return 1
		case <-a.LeaveCh():
			log.Info("leave requested through the API")
			return shutdown(a, log)
		case sig := <-sigc:
			switch sig {
			case syscall.SIGHUP:
				reloadLogLevel(flags, level, log) // a failure is logged; nothing changes
				continue
			case syscall.SIGINT:
				leave := !cfg.SkipsLeaveOnInterrupt()
				log.Info("caught signal", "signal", sig, "leave", leave)
				if leave {
					gracefulLeave(a, log)
				}
			case syscall.SIGTERM:
				leave := cfg.LeavesOnTerminate()
				log.Info("caught signal", "signal", sig, "leave", leave)
				if leave {
					gracefulLeave(a, log)
				}
			}
			return shutdown(a, log)
		}
	}
}

// gracefulLeave leaves the cluster before shutting down.
func gracefulLeave(a *agent.Agent, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.Leave(ctx); err != nil {
		log.Error("graceful leave failed", "error", err)
	}
}

// shutdown stops the agent, bounded so a stuck component cannot hang
// the process forever.
func shutdown(a *agent.Agent, log *slog.Logger) int {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		log.Error("shutdown", "error", err)
		return 1
	}
	return 0
}

// reloadLogLevel re-reads the configuration and applies what can change
// without a restart (the log level).
func reloadLogLevel(flags *config.Flags, level *slog.LevelVar, log *slog.Logger) error {
	cfg, warnings, err := flags.Load()
	if err != nil {
		log.Error("reload failed; keeping the running configuration", "error", err)
		return err
	}
	for _, w := range warnings {
		log.Warn(w)
	}
	lv, _ := config.ParseLogLevel(cfg.LogLevel)
	level.Set(lv)
	log.Info("configuration reloaded", "log_level", cfg.LogLevel)
	return nil
}
