#!/usr/bin/env bash
# sessions.sh: issue 4 acceptance item 4 (about a minute). On 3 servers
# (performance.raft_multiplier=1): 20 sessions with TTL 10 s all expire
# between 10 s and 21 s after creation; then 20 more, the leader is
# SIGKILLed 2 s later, and each expires within failover time + 21 s of the
# kill (and never before its TTL). Exit 1 on any failure.
set -u
source "$(dirname "$0")/lib.sh"
build
dir="$WORK/sessions"
mkdir -p "$dir"
write_configs "$dir" 3 '"performance": {"raft_multiplier": 1}'
for i in 0 1 2; do start_server "$dir" "$i"; done
wait_leader "${HTTP[0]}" 30 || exit 1
# The tool kills the leader: the group's stderr hides bash's "Killed"
# job notice; the tool's own errors go to stdout.
{
	"$BIN/clustertool" sessions -http "$(join_by , "${HTTP[@]}")" -pids "$(join_by , "${PIDS[@]}")" -n 20 -ttl 10s 2>&1
	rc=$?
	stop_all
} 2>/dev/null
if [ $rc -eq 0 ]; then echo "sessions: PASS"; else echo "sessions: FAIL"; fi
exit $rc
