package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path"
	"strings"
	"syscall"
	"time"
)

// lockKillGrace is how long a child gets between SIGTERM and SIGKILL when
// the lock is lost (Consul's: a third of the default lock-delay).
const lockKillGrace = 5 * time.Second

// cmdLock is Consul's `lock [options] prefix child...`: hold a lock (or,
// with -n > 1, a semaphore slot) under prefix while child runs; if the
// hold is lost, the child is terminated. The child runs through $SHELL (or
// /bin/sh) -c unless -shell=false, with CONSUL_LOCK_HELD=true.
func cmdLock(env *env, args []string) int {
	fs, hf := env.flags("lock")
	limit := fs.Int("n", 1, "number of concurrent holders (above 1, a semaphore)")
	name := fs.String("name", "", "session name (default: built from the child command)")
	passStdin := fs.Bool("pass-stdin", false, "pass stdin to the child")
	shell := fs.Bool("shell", true, "run the child through a shell ($SHELL, else /bin/sh)")
	timeout := fs.Duration("timeout", 0, "how long to wait for the lock (0: forever)")
	fs.DurationVar(timeout, "try", 0, "deprecated: -timeout")
	retries := fs.Int("monitor-retry", 3, "5xx answers tolerated while watching the lock")
	verbose := fs.Bool("verbose", false, "say what happens")
	childCode := fs.Bool("child-exit-code", false, "exit 2 when the child failed")
	if fs.Parse(args) != nil {
		return 1
	}
	switch {
	case *limit <= 0:
		return env.fail("Lock holder limit must be positive")
	case fs.NArg() < 2:
		return env.fail("Key prefix and child command must be specified")
	case *timeout < 0:
		return env.fail("Timeout must be positive")
	case *retries < 0:
		return env.fail("Number for 'monitor-retry' must be >= 0")
	}
	prefix := strings.TrimPrefix(fs.Arg(0), "/")
	child := fs.Args()[1:]
	if *name == "" {
		*name = fmt.Sprintf("Consul lock for '%s' at '%s'", strings.Join(child, " "), prefix)
	}
	c, err := hf.client()
	if err != nil {
		return env.fail("Error connecting to Consul agent: %v", err)
	}
	if _, _, err := c.do("GET", "/v1/agent/self", nil, nil); err != nil {
		return env.fail("Error querying Consul agent: %v", err)
	}
	say := func(f string, a ...any) {
		if *verbose {
			fmt.Fprintf(env.stdout, f+"\n", a...)
		}
	}
	base := kvLockBase{c: c, retries: *retries}
	var l locker
	if *limit == 1 {
		key := path.Join(prefix, lockKeyName)
		say("Setting up lock at path: %s", key)
		l = &kvMutex{kvLockBase: base, key: key, name: *name}
	} else {
		say("Setting up semaphore (limit %d) at prefix: %s", *limit, prefix)
		l = &kvSemaphore{kvLockBase: base, prefix: prefix, name: *name, limit: *limit}
	}
	say("Attempting lock acquisition")
	lost, err := l.acquire(*timeout)
	if lost == nil {
		if err == nil {
			return env.fail("Shutdown triggered or timeout during lock acquisition")
		}
		return env.fail("Lock acquisition failed: %v", err)
	}
	code := runLocked(env, child, *shell, *passStdin, lost, say)
	if err := l.release(); err != nil {
		return env.fail("Lock release failed: %v", err)
	}
	if err := l.cleanup(); err != nil {
		if !errors.Is(err, l.inUse()) {
			return env.fail("Lock cleanup failed: %v", err)
		}
		say("Cleanup aborted, lock in use")
	} else {
		say("Cleanup succeeded")
	}
	if *childCode {
		return code
	}
	return 0
}

// runLocked runs the child until it exits (0, or 2 if it failed), the
// hold is lost or this process is told to stop (the child is terminated,
// then killed after lockKillGrace; 0).
func runLocked(env *env, args []string, shell, passStdin bool, lost <-chan struct{}, say func(string, ...any)) int {
	cmd := childCommand(args, shell)
	cmd.Env = append(os.Environ(), "CONSUL_LOCK_HELD=true")
	// The child leads its own process group, so that a shell's children
	// are signalled with it (Consul's KillCommandSubtree): a shell that
	// forked its command, or caught SIGTERM just as it exec'd, would
	// otherwise leave the command running and holding our output pipes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = time.Second
	cmd.Stdout, cmd.Stderr = env.stdout, env.stderr
	if passStdin {
		cmd.Stdin = env.stdin
	}
	say("Starting handler")
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(env.stderr, "Error starting handler: %v\n", err)
		return 2
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigc)
	select {
	case err := <-done:
		say("Child terminated, releasing lock")
		if err != nil {
			fmt.Fprintf(env.stderr, "Error running handler: %v\n", err)
			return 2
		}
		return 0
	case <-lost:
		say("Lock lost, killing child")
	case <-sigc:
		say("Shutdown triggered, killing child")
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(lockKillGrace):
		say("Child did not exit after grace period of %v", lockKillGrace)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	return 0
}
