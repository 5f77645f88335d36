#!/usr/bin/env bash
# signals.sh: issue 4 acceptance item 5. On 3 servers: `kill -INT` of a
# server leaves it in `agentd operator raft list-peers`; restarted, then
# `agentd leave` removes it. A bad config value exits non-zero naming the
# key; an unknown key warns and the agent starts. Exit 1 on any failure.
set -u
source "$(dirname "$0")/lib.sh"
build
dir="$WORK/signals"
mkdir -p "$dir"
fail=0
check() { # check NAME CONDITION-EXIT-CODE DETAIL
	if [ "$2" -eq 0 ]; then echo "PASS $1${3:+: $3}"; else echo "FAIL $1${3:+: $3}"; fail=1; fi
}
peers() { "$BIN/agentd" operator raft list-peers -http-addr="$1" 2>&1; }
# wait_gone PID SECONDS: until the process exited; its exit code in $exit_code.
wait_exit() {
	local end=$((SECONDS + $2))
	while kill -0 "$1" 2>/dev/null && ((SECONDS < end)); do sleep 0.1; done
	if kill -0 "$1" 2>/dev/null; then exit_code=timeout; return 1; fi
	wait "$1"
	exit_code=$?
}

write_configs "$dir" 3 '"performance": {"raft_multiplier": 1}'
for i in 0 1 2; do start_server "$dir" "$i"; done
wait_leader "${HTTP[0]}" 30 || exit 1
lead=$("$BIN/clustertool" leader -http "$(join_by , "${HTTP[@]}")") || exit 1
f=$(((lead + 1) % 3))
other=$(((lead + 2) % 3))
# The follower is a voter before we start.
for _ in $(seq 100); do peers "${HTTP[lead]}" | grep -qE "^s$f .*follower +true" && break; sleep 0.1; done

# 1. SIGINT: a server does not leave (skip_leave_on_interrupt defaults to true).
kill -INT "${PIDS[f]}"
wait_exit "${PIDS[f]}" 20
PIDS[f]=""
check "kill -INT s$f exits cleanly" "$([ "$exit_code" = 0 ]; echo $?)" "exit code $exit_code"
sleep 6 # longer than the leader's reconcile interval (5 s)
out=$(peers "${HTTP[lead]}")
echo "$out" | sed 's/^/    /'
echo "$out" | grep -q "^s$f "
check "s$f still in list-peers after SIGINT" $?

# 2. Restart it, then `agentd leave` removes it.
start_server "$dir" "$f"
ok=1
for _ in $(seq 200); do curl -sf "http://${HTTP[f]}/v1/status/leader" | grep -q : && { ok=0; break; }; sleep 0.1; done
check "s$f restarted from its data dir" $ok
leave_out=$("$BIN/agentd" leave -http-addr="${HTTP[f]}" 2>&1)
check "agentd leave" $? "$leave_out"
wait_exit "${PIDS[f]}" 30
PIDS[f]=""
check "s$f exits after leave" "$([ "$exit_code" = 0 ]; echo $?)" "exit code $exit_code"
gone=1
for _ in $(seq 100); do
	out=$(peers "${HTTP[lead]}")
	echo "$out" | grep -q "^s$f " || { gone=0; break; }
	sleep 0.1
done
echo "$out" | sed 's/^/    /'
check "s$f removed from list-peers after leave" $gone
out=$(peers "${HTTP[other]}")
echo "$out" | grep -qE "(leader|follower)" && ! echo "$out" | grep -q "^s$f "
check "the other follower agrees" $?

# 3. A bad config value: non-zero exit, the key named.
read -r -a p <<<"$("$BIN/clustertool" freeports 1)"
echo '{"performance": {"raft_multiplier": "fast"}}' >"$dir/bad.json"
out=$(timeout 20 "$BIN/agentd" agent -dev -http-port "${p[0]}" -config-file "$dir/bad.json" 2>&1)
code=$?
echo "    $out"
[ $code -ne 0 ] && echo "$out" | grep -q '"performance.raft_multiplier"'
check "bad value exits non-zero naming the key" $? "exit code $code"

# 4. An unknown key: a warning, and the agent starts.
echo '{"no_such_key": 1, "ports": {"no_such_port": 1}}' >"$dir/unknown.json"
"$BIN/agentd" agent -dev -http-port "${p[0]}" -config-file "$dir/unknown.json" >"$dir/unknown.log" 2>&1 &
dev=$!
EXTRA_PIDS=$dev
ok=1
for _ in $(seq 100); do curl -sf "http://127.0.0.1:${p[0]}/v1/status/leader" | grep -q : && { ok=0; break; }; sleep 0.1; done
grep -i 'unknown key' "$dir/unknown.log" | sed 's/^/    /'
[ $ok = 0 ] && grep -q 'unknown key .*no_such_key' "$dir/unknown.log" && grep -q 'unknown key .*ports.no_such_port' "$dir/unknown.log"
check "unknown keys warn and the agent starts" $?
kill -TERM "$dev"
wait_exit "$dev" 20
EXTRA_PIDS=""
check "dev agent stops on SIGTERM" "$([ "$exit_code" = 0 ]; echo $?)" "exit code $exit_code"

{ stop_all; } 2>/dev/null
if [ $fail = 0 ]; then echo "signals: PASS"; else echo "signals: FAIL"; fi
exit $fail
