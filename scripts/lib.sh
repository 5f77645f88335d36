# Shared by the acceptance scripts: build once, start servers on loopback
# with temp data dirs, stop only the PIDs we started.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/agentd-accept.XXXXXX")
BIN="$WORK/bin"
declare -a PIDS=()   # PIDS[i]: server i's process, "" when not running
declare -a HTTP=() SERF=() RPC=()

cleanup() {
	local pid
	for pid in "${PIDS[@]}" ${EXTRA_PIDS:-}; do
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

build() {
	mkdir -p "$BIN"
	(cd "$ROOT" && go build -o "$BIN/agentd" ./cmd/agentd && go build -o "$BIN/clustertool" ./scripts/clustertool) || exit 1
}

# write_configs DIR N [extra JSON members]: N server configs on fresh ports.
write_configs() {
	local dir=$1 n=$2 extra=${3:-} i j ports join
	read -r -a ports <<<"$("$BIN/clustertool" freeports $((3 * n)))"
	for ((i = 0; i < n; i++)); do
		HTTP[i]=127.0.0.1:${ports[3 * i]}
		SERF[i]=${ports[3 * i + 1]}
		RPC[i]=${ports[3 * i + 2]}
	done
	for ((i = 0; i < n; i++)); do
		join=""
		for ((j = 0; j < n; j++)); do
			[ "$j" = "$i" ] && continue
			join+="${join:+,}\"127.0.0.1:${SERF[j]}\""
		done
		mkdir -p "$dir/s$i/data"
		cat >"$dir/s$i/config.json" <<JSON
{
  "node_name": "s$i", "server": true, "bootstrap_expect": $n,
  "data_dir": "$dir/s$i/data", "bind_addr": "127.0.0.1", "client_addr": "127.0.0.1",
  "ports": {"http": ${HTTP[i]#*:}, "serf_lan": ${SERF[i]}, "server": ${RPC[i]}, "dns": -1, "serf_wan": -1},
  "retry_join": [$join],
  "log_level": "info",
  "raft_logstore": {"wal": {"segment_size_mb": 4}}${extra:+,
  $extra}
}
JSON
	done
}

# start_server DIR I: (re)start server I; its log goes to DIR/sI/log.
start_server() {
	local dir=$1 i=$2
	"$BIN/agentd" agent -config-file "$dir/s$i/config.json" >>"$dir/s$i/log" 2>&1 &
	PIDS[i]=$!
}

stop_all() {
	local i
	for i in "${!PIDS[@]}"; do
		if [ -n "${PIDS[i]}" ]; then
			kill -KILL "${PIDS[i]}" 2>/dev/null
			{ wait "${PIDS[i]}"; } 2>/dev/null # no "Killed" job notice
			PIDS[i]=""
		fi
	done
}

# wait_http ADDR SECONDS: until ADDR answers /v1/status/leader with a leader.
wait_leader() {
	local addr=$1 secs=$2 end=$((SECONDS + $2))
	while ((SECONDS < end)); do
		if curl -sf "http://$addr/v1/status/leader" 2>/dev/null | grep -q ':'; then
			return 0
		fi
		sleep 0.1
	done
	echo "no leader seen at $addr within ${secs}s" >&2
	return 1
}

join_by() {
	local IFS=$1
	shift
	echo "$*"
}
