package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// env is a command's I/O, so tests can run commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// fail prints an error line and returns exit code 1.
func (e *env) fail(format string, args ...any) int {
	fmt.Fprintf(e.stderr, format+"\n", args...)
	return 1
}

// flags returns a flag set with the HTTP client flags registered.
func (e *env) flags(name string) (*flag.FlagSet, *httpFlags) {
	fs := newFlagSet(e, name)
	hf := &httpFlags{}
	hf.register(fs)
	return fs, hf
}

type command struct {
	run      func(*env, []string) int
	synopsis string
}

var commands = map[string]command{
	"agent":       {cmdAgent, "Runs an agent"},
	"version":     {cmdVersion, "Prints the agentd version"},
	"keygen":      {cmdKeygen, "Generates a new gossip encryption key"},
	"keyring":     {cmdKeyring, "Manages gossip layer encryption keys"},
	"kv":          {cmdKV, "Reads and writes the key/value store"},
	"members":     {cmdMembers, "Lists the members of the cluster"},
	"join":        {cmdJoin, "Tells the agent to join a cluster"},
	"leave":       {cmdLeave, "Gracefully leaves the cluster and shuts down"},
	"force-leave": {cmdForceLeave, "Forces a member into the left state"},
	"operator":    {cmdOperator, "Cluster operator tools (raft list-peers, remove-peer, transfer-leader)"},
	"snapshot":    {cmdSnapshot, "Saves and restores snapshots of the server state"},
	"info":        {cmdInfo, "Prints the agent's debugging information"},
	"event":       {cmdEvent, "Fires a new user event"},
	"lock":        {cmdLock, "Executes a command holding a lock"},
	"monitor":     {cmdMonitor, "Streams logs from an agent"},
	"reload":      {cmdReload, "Triggers the agent to reload configuration files"},
	"watch":       {cmdWatch, "Watches for changes in the key/value store, events or nodes"},
	"validate":    {cmdValidate, "Validate config files/directories"},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: agentd [--version] <command> [args]\n\nAvailable commands are:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "    %-12s %s\n", n, commands[n].synopsis)
	}
}

func run(e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return 1
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		usage(e.stdout)
		return 0
	case "-v", "-version", "--version":
		name = "version"
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(e.stderr, "agentd: unknown command %q\n", strings.TrimSpace(name))
		usage(e.stderr)
		return 1
	}
	return c.run(e, args[1:])
}

func main() {
	os.Exit(run(&env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:]))
}
