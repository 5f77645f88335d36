#!/usr/bin/env bash
# autopilot.sh: dead-server cleanup (issue 4, leader duties) on real
# processes. Run 1, 3 servers with defaults: SIGKILL a follower; the leader
# removes it from `operator raft list-peers` no sooner than 10 s after the
# kill (Consul's autopilot pass) and within 40 s; restarted from its data
# dir it rejoins as a new server (new node ID) and becomes a voter; killed
# again, it is removed again; then SIGKILL the other follower: with two
# voters, (2-1)/2 = 0 may go, so both stay listed.
# Run 2, autopilot.min_quorum=3: a killed follower is never removed.
# Exit 1 on any failure.
set -u
source "$(dirname "$0")/lib.sh"
build
fail=0
check() { # check NAME CONDITION-EXIT-CODE DETAIL
	if [ "$2" -eq 0 ]; then echo "PASS $1${3:+: $3}"; else echo "FAIL $1${3:+: $3}"; fail=1; fi
}
peers() { "$BIN/agentd" operator raft list-peers -stale -http-addr="$1" 2>&1; }
npeers() { peers "$1" | grep -cE "(leader|follower)"; }
kill9() { # kill9 I: SIGKILL server I and reap it
	kill -KILL "${PIDS[$1]}"
	{ wait "${PIDS[$1]}"; } 2>/dev/null
	PIDS[$1]=""
}
start3() { # start3 DIR EXTRA: three servers, a leader, all voters listed
	write_configs "$1" 3 "$2"
	for i in 0 1 2; do start_server "$1" "$i"; done
	wait_leader "${HTTP[0]}" 30 || exit 1
	lead=$("$BIN/clustertool" leader -http "$(join_by , "${HTTP[@]}")") || exit 1
	f=$(((lead + 1) % 3))
	other=$(((lead + 2) % 3))
	for _ in $(seq 100); do [ "$(peers "${HTTP[lead]}" | grep -c ' true ')" = 3 ] && break; sleep 0.1; done
}

# Run 1: defaults (cleanup_dead_servers=true, min_quorum=0).
dir="$WORK/run1"
mkdir -p "$dir"
start3 "$dir" '"performance": {"raft_multiplier": 1}'
check "three voters at start" "$([ "$(npeers "${HTTP[lead]}")" = 3 ]; echo $?)"
kill9 "$f"
killed=$SECONDS
gone=1
while ((SECONDS < killed + 40)); do
	if ! peers "${HTTP[lead]}" | grep -q "^s$f "; then gone=0; break; fi
	sleep 0.2
done
took=$((SECONDS - killed))
peers "${HTTP[lead]}" | sed 's/^/    /'
check "killed s$f removed from list-peers" $gone "after ${took}s"
check "not removed before 10 s" "$([ $took -ge 10 ]; echo $?)" "${took}s"
check "the leader counted it" "$(curl -sf "http://${HTTP[lead]}/v1/agent/self" | grep -q '"autopilot_removed":"1"'; echo $?)"
# Restarted from its data dir, the removed server rejoins as a new server
# (a new node ID: Raft IDs are never reused), a voter once caught up.
old_id=$(grep -o '[0-9a-f-]\{36\}' "$dir/s$f/data/node-id")
start_server "$dir" "$f"
back=1
for _ in $(seq 300); do
	peers "${HTTP[lead]}" | grep -qE "^s$f .* true " && { back=0; break; }
	sleep 0.1
done
peers "${HTTP[lead]}" | sed 's/^/    /'
check "restarted s$f is a voter again" $back "node id $old_id -> $(cat "$dir/s$f/data/node-id")"
kill9 "$f"
gone=1
for _ in $(seq 400); do
	peers "${HTTP[lead]}" | grep -q "^s$f " || { gone=0; break; }
	sleep 0.1
done
check "killed again, s$f is removed again" $gone
# The leader may have changed; any survivor answers ?stale.
kill9 "$other"
sleep 20 # twice the removal delay: nothing may be removed now
out=$(peers "${HTTP[lead]}")
echo "$out" | sed 's/^/    /'
echo "$out" | grep -q "^s$other " && [ "$(echo "$out" | grep -cE '(leader|follower)')" = 2 ]
check "with two voters the second dead server stays" $?
stop_all

# Run 2: min_quorum=3 keeps a dead voter of three.
dir="$WORK/run2"
mkdir -p "$dir"
start3 "$dir" '"performance": {"raft_multiplier": 1}, "autopilot": {"min_quorum": 3}'
kill9 "$f"
sleep 20
out=$(peers "${HTTP[lead]}")
echo "$out" | sed 's/^/    /'
echo "$out" | grep -q "^s$f "
check "min_quorum=3: dead s$f stays after 20 s" $?
{ stop_all; } 2>/dev/null
if [ $fail = 0 ]; then echo "autopilot: PASS"; else echo "autopilot: FAIL"; fi
exit $fail
