// Package config builds an agent's configuration the way Consul does:
// defaults, then every -config-file and -config-dir (*.json and *.hcl, a
// directory's files merged in lexical order), then command-line flags, then
// -hcl fragments, each later source overriding the earlier ones key by key
// (lists append, node_meta merges).
//
// Every flag of `consul agent` is accepted with Consul's name and syntax
// (flags.go). Keys agentd stores without acting on them (DNS, script
// checks, WAN federation, Enterprise features; compat.go) load, show in
// /v1/agent/self's DebugConfig, and give one warning each when set away
// from their defaults: a Consul command line must start an agentd agent.
// Address keys take go-sockaddr's common templates (sockaddr.go).
//
// Key names are Consul's (node_name, ports.http, performance.raft_multiplier,
// ...). A file and a flag are turned into the same form — a dotted key and a
// value — and go through one table of setters (keys.go), so a value is
// checked the same way wherever it came from, and every error names the key.
//
// Unknown keys are not errors: they are returned as warnings and the agent
// starts (a newer config file must not stop an older binary). An invalid
// value is an error naming the key; the caller exits non-zero.
//
// HCL (version 1, the syntax of Consul's documented configuration
// files) is read by a small parser of its own (hcl.go) into the same tree
// JSON decodes to: assignments, blocks (ports { http = 8500 }), labelled
// blocks, lists, the three comment styles. Heredocs and interpolation are
// refused with the line. A file is HCL when its name ends in .hcl.
package config
