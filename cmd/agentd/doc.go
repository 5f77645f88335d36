// Command agentd is a Consul-compatible agent and its command-line client.
// Subcommands and flags follow Consul's CLI; the client subcommands talk to
// an agent's HTTP API (-http-addr or $CONSUL_HTTP_ADDR).
package main
