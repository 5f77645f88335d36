// Command agentd is a Consul-compatible agent and its command-line client.
// Subcommands and flags follow Consul's CLI, so scripts and test harnesses
// written for the consul binary run unchanged: `agent` accepts every flag of
// `consul agent` (agent/config), `validate` checks configuration files, and
// the client subcommands talk to an agent's HTTP API with Consul's API
// options and environment variables (httpflags.go: -http-addr or
// $CONSUL_HTTP_ADDR, tokens, TLS, ...).
package main
