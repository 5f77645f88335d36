#!/usr/bin/env bash
# watch.sh: blocking-query figures of issue 4 against `agentd agent -dev`
# with limits.http_max_conns_per_client raised (0 = unlimited). Each case
# runs on a fresh agent so its VmRSS/VmHWM belong to that case alone:
#   1. WATCHERS (10,000) watchers on one key, ROUNDS writes;
#   2. WATCHERS spread over 1,000 keys, ROUNDS rounds of one write per key;
#   3. 1,000 watchers on a/x while 10,000 PUTs go to b/*: zero wakeups
#      (client early returns and the store counter), then a control PUT
#      to a/x that must wake all of them.
#   4. the floor: case 1's shape against a server that only writes a
#      pre-rendered answer to each connection (agentd-bench -mode
#      watch-floor): what this machine's kernel and cores allow at all.
# Targets: agent RSS < 300 MB, wake p99 < 100 ms, zero wakeups in 3.
# Environment: WATCHERS (10000), ROUNDS (5), CASES ("1 2 3 4": which of the
# cases above to run, in order; repeats allowed), BASE_PORT (25000), BENCH_DIR.
set -euo pipefail
cd "$(dirname "$0")"
source ./lib.sh

WATCHERS=${WATCHERS:-10000}
ROUNDS=${ROUNDS:-5}
BASE=${BASE_PORT:-25000}
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/agentd-watch.XXXXXX")
trap 'cleanup_all; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
BIN=$WORK/bin
mkdir -p "$BIN"
build_tools "$BIN"
echo '{"limits":{"http_max_conns_per_client":0}}' >"$WORK/limits.json"
ADDR=127.0.0.1:$((BASE + 1))

# with_agent CMD...: run CMD against a fresh dev agent ($AGENT_PID set).
with_agent() {
	"$BIN/agentd" agent -dev -config-file "$WORK/limits.json" -client 127.0.0.1 -bind 127.0.0.1 \
		-http-port $((BASE + 1)) -serf-lan-port $((BASE + 2)) -server-port $((BASE + 3)) \
		-log-level warn >"$WORK/agent.log" 2>&1 &
	AGENT_PID=$!
	PIDS+=("$AGENT_PID")
	wait_until 30 curl -sf "http://$ADDR/v1/status/leader"
	log "uptime: $(uptime)"
	"$@"
	stop_pids "$AGENT_PID"
	PIDS=()
}

run_watch() { "$BIN/agentd-bench" -mode watch -addr "$ADDR" -pid "$AGENT_PID" "$@"; }
run_idle() { "$BIN/agentd-bench" -mode idle-watch -addr "$ADDR" -pid "$AGENT_PID" "$@"; }

CASES=${CASES:-1 2 3 4}
for c in $CASES; do
	case $c in
	1) with_agent run_watch -watchers "$WATCHERS" -watch-keys 1 -rounds "$ROUNDS" ;;
	2) with_agent run_watch -watchers "$WATCHERS" -watch-keys 1000 -rounds "$ROUNDS" ;;
	3) with_agent run_idle -watchers 1000 -writes 10000 -clients 32 ;;
	4) log "uptime: $(uptime)" && "$BIN/agentd-bench" -mode watch-floor -watchers "$WATCHERS" -rounds "$ROUNDS" ;;
	*) log "unknown case $c" && exit 2 ;;
	esac
done
