#!/usr/bin/env bash
# join.sh: servers as Consul's sdk/testutil starts them. s0 has
# "bootstrap": true and elects itself alone; s1 and s2 have
# "bootstrap": false, "server": true. s1 joins through retry_join, s2
# through PUT /v1/agent/join (testutil's JoinLAN). Checks: s1 and s2 wait
# without electing themselves, then all three are Raft voters, KV works
# through each, catalog nodes carry Consul's tagged addresses and meta; a
# SIGKILLed s1 restarted from its data dir is a voter again with the
# writes it missed; a lone "bootstrap": false server answers 500
# "No cluster leader". Exit 1 on any failure.
set -u
source "$(dirname "$0")/lib.sh"
build
dir="$WORK/join"
mkdir -p "$dir"
fail=0
check() { # check NAME CONDITION-EXIT-CODE DETAIL
	if [ "$2" -eq 0 ]; then echo "PASS $1${3:+: $3}"; else echo "FAIL $1${3:+: $3}"; fail=1; fi
}

# config I BOOTSTRAP JOIN: server I's config (ports from clustertool).
read -r -a ports <<<"$("$BIN/clustertool" freeports 12)"
config() {
	local i=$1 bootstrap=$2 join=$3
	HTTP[i]=127.0.0.1:${ports[3 * i]}
	SERF[i]=${ports[3 * i + 1]}
	RPC[i]=${ports[3 * i + 2]}
	mkdir -p "$dir/s$i/data"
	cat >"$dir/s$i/config.json" <<JSON
{
  "node_name": "s$i", "server": true, "bootstrap": $bootstrap,
  "data_dir": "$dir/s$i/data", "bind_addr": "127.0.0.1", "client_addr": "127.0.0.1",
  "ports": {"http": ${HTTP[i]#*:}, "serf_lan": ${SERF[i]}, "server": ${RPC[i]}, "dns": -1, "serf_wan": -1},
  "retry_join": [$join],
  "performance": {"raft_multiplier": 1},
  "log_level": "info",
  "raft_logstore": {"wal": {"segment_size_mb": 4}}
}
JSON
}
# voters ADDR: the number of voters in the Raft configuration ADDR serves.
voters() {
	curl -sf "http://$1/v1/operator/raft/configuration" | grep -o '"Voter":true' | wc -l
}
wait_voters() { # wait_voters ADDR N SECONDS
	local end=$((SECONDS + $3))
	while ((SECONDS < end)); do
		[ "$(voters "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

config 0 true ""
config 1 false "\"127.0.0.1:${SERF[0]}\""
config 2 false ""
start_server "$dir" 0
wait_leader "${HTTP[0]}" 10
check "bootstrap server elects itself" $? "$(curl -s "http://${HTTP[0]}/v1/status/leader")"
start_server "$dir" 1
start_server "$dir" 2
for _ in $(seq 100); do curl -sf "http://${HTTP[2]}/v1/agent/self" >/dev/null && break; sleep 0.1; done
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "http://${HTTP[2]}/v1/agent/join/127.0.0.1:${SERF[0]}")
check "PUT /v1/agent/join on s2" "$([ "$code" = 200 ]; echo $?)" "HTTP $code"
wait_voters "${HTTP[0]}" 3 15
check "three voters" $? "$(voters "${HTTP[0]}")"
ok=0
for i in 0 1 2; do
	curl -sf -X PUT -d "v$i" "http://${HTTP[i]}/v1/kv/join/k$i" >/dev/null || ok=1
done
for i in 0 1 2; do
	n=$(curl -sf "http://${HTTP[i]}/v1/kv/join/?keys" | grep -o '"join/k' | wc -l)
	[ "$n" = 3 ] || ok=1
done
check "KV through every server" $ok
nodes=$(curl -sf "http://${HTTP[1]}/v1/catalog/nodes")
echo "$nodes" | grep -q '"lan_ipv4":"127.0.0.1"' && echo "$nodes" | grep -q '"consul-version":"' &&
	echo "$nodes" | grep -q '"consul-network-segment":""'
check "catalog node fields" $? "$(echo "$nodes" | head -c 300)"

{
	kill -KILL "${PIDS[1]}"
	wait "${PIDS[1]}"
} 2>/dev/null # no "Killed" job notice
PIDS[1]=""
curl -sf -X PUT -d down "http://${HTTP[0]}/v1/kv/join/while-down" >/dev/null
start_server "$dir" 1
got=""
for _ in $(seq 100); do
	got=$(curl -sf "http://${HTTP[1]}/v1/kv/join/while-down?raw")
	[ "$got" = down ] && break
	sleep 0.1
done
check "restarted s1 has the write it missed" "$([ "$got" = down ]; echo $?)" "$got"
wait_voters "${HTTP[1]}" 3 10
check "restarted s1: still three voters" $? "$(voters "${HTTP[1]}")"

# A lone join-only server: no leader of its own, 500 after rpc_hold_timeout.
config 3 false ""
start_server "$dir" 3
for _ in $(seq 100); do curl -sf "http://${HTTP[3]}/v1/agent/self" >/dev/null && break; sleep 0.1; done
body=$(curl -s -w ' HTTP %{http_code}' "http://${HTTP[3]}/v1/kv/x")
check "lone join-only server" "$([ "$body" = "No cluster leader HTTP 500" ]; echo $?)" "$body"
exit $fail
