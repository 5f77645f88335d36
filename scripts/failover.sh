#!/usr/bin/env bash
# failover.sh [RUNS]: issue 4 acceptance item 3, RUNS times in a row
# (default 1). Each run: 3 servers (raft_snapshot_threshold=64,
# raft_snapshot_interval=200ms, raft_trailing_logs=64,
# performance.raft_multiplier=1) under write load;
# SIGKILL the leader; writes succeed again within 5 s; 2,000 more writes
# while it is down; restart it; it catches up through a snapshot install;
# GET /v1/kv/?recurse&stale hashes identically on all three; every
# acknowledged key is present. One summary line per run; exit 1 on any
# failure.
set -u
RUNS=${1:-1}
source "$(dirname "$0")/lib.sh"
build

fail=0
for ((run = 1; run <= RUNS; run++)); do
	dir="$WORK/run$run"
	mkdir -p "$dir"
	write_configs "$dir" 3 '"raft_snapshot_threshold": 64, "raft_snapshot_interval": "200ms", "raft_trailing_logs": 64, "performance": {"raft_multiplier": 1}'
	for i in 0 1 2; do start_server "$dir" "$i"; done
	why=""
	wait_leader "${HTTP[0]}" 30 || why="no leader at start"
	if [ -z "$why" ]; then
		"$BIN/clustertool" write -http "$(join_by , "${HTTP[@]}")" -pids "$(join_by , "${PIDS[@]}")" \
			-acked "$dir/acked" -status "$dir/status" -prefix "run$run" -down 2000 >"$dir/writer.log" 2>&1 &
		writer=$!
		EXTRA_PIDS=$writer
		end=$((SECONDS + 90))
		while ! grep -qE '^(down_done|fail)' "$dir/status" 2>/dev/null && kill -0 "$writer" 2>/dev/null && ((SECONDS < end)); do
			sleep 0.1
		done 2>/dev/null # the writer kills the leader: no "Killed" job notice
		status=$(cat "$dir/status" 2>/dev/null)
		case $status in
		down_done*)
			lead=$(sed -E 's/.*leader=([0-9]+).*/\1/' <<<"$status")
			{ wait "${PIDS[lead]}"; } 2>/dev/null # reap the killed leader
			start_server "$dir" "$lead"
			# Catch-up under load: the writer keeps going until installed.
			installed=$("$BIN/clustertool" wait-stat -http "${HTTP[lead]}" -stat snapshots_installed -min 1 -timeout 30s 2>&1) || why="no snapshot install: $installed"
			;;
		*) why="writer: ${status:-no status}" ;;
		esac
		kill -TERM "$writer" 2>/dev/null
		wait "$writer" || [ -n "$why" ] || why="writer failed: $(tail -1 "$dir/writer.log")"
		EXTRA_PIDS=""
	fi
	if [ -z "$why" ]; then
		verify=$("$BIN/clustertool" verify -http "$(join_by , "${HTTP[@]}")" -acked "$dir/acked" 2>&1) || why="verify: $verify"
	fi
	if [ -z "$why" ]; then
		echo "run $run/$RUNS: PASS ${status#down_done } $installed $verify" | tr '\n' ' '
		echo
		stop_all
		rm -rf "$dir"
	else
		echo "run $run/$RUNS: FAIL $why" | tr '\n' ' '
		echo
		stop_all
		fail=1
		cp -r "$dir" "/tmp/failover-failed-run$run-$$" 2>/dev/null && echo "  logs kept in /tmp/failover-failed-run$run-$$"
	fi
done
exit $fail
