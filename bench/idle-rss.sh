#!/usr/bin/env bash
# idle-rss.sh: resident memory of an idle `agentd agent -dev` (issue 4
# target: under 40 MB). Starts the agent, waits (polling) until it has a
# leader and answers a KV read, then samples VmRSS from /proc/PID/status
# every 0.5 s for IDLE_SECS (default 5) and prints every sample, the
# maximum and VmHWM.
set -euo pipefail
cd "$(dirname "$0")"
source ./lib.sh

BASE=${BASE_PORT:-25100}
IDLE_SECS=${IDLE_SECS:-5}
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/agentd-rss.XXXXXX")
trap 'cleanup_all; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
build_tools "$WORK"
log "uptime: $(uptime)"
"$WORK/agentd" agent -dev -client 127.0.0.1 -bind 127.0.0.1 -http-port $((BASE + 1)) \
	-serf-lan-port $((BASE + 2)) -server-port $((BASE + 3)) -log-level warn >"$WORK/agent.log" 2>&1 &
PID=$!
PIDS+=("$PID")
wait_until 30 curl -sf "http://127.0.0.1:$((BASE + 1))/v1/status/leader"
curl -sf "http://127.0.0.1:$((BASE + 1))/v1/kv/none" >/dev/null || true
kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$PID/status"; }
max=0
samples=()
for _ in $(seq $((IDLE_SECS * 2))); do
	sleep 0.5 # sampling interval while idle, not a synchronisation
	v=$(kb VmRSS)
	samples+=("$v")
	((v > max)) && max=$v
done
echo "idle agentd -dev (pid $PID) VmRSS samples (kB): ${samples[*]}"
awk -v m="$max" -v h="$(kb VmHWM)" 'BEGIN { printf "VmRSS max %.1f MB, VmHWM %.1f MB (target < 40 MB: %s)\n", m/1024, h/1024, (m/1024 < 40 ? "met" : "MISSED") }'
echo "RESULT system=agentd op=idle-rss rss_max_mb=$(awk -v m="$max" 'BEGIN{printf "%.1f", m/1024}')"
