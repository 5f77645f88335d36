#!/usr/bin/env bash
# Planted-bug check: for each jepsen/plants/*.diff, copy the repository to
# a scratch directory, apply the patch to raft/, run the simulator over up
# to SEEDS seeds (stopping at the first failure) and report whether it was
# caught and by which checker. Exits non-zero if any plant is missed (or
# no longer applies).
#
#   jepsen/plants/run.sh [SEEDS]      # default 1000
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
seeds=${1:-1000}
missed=0
for patch in "$repo"/jepsen/plants/*.diff; do
	name=$(basename "$patch" .diff)
	scratch=$(mktemp -d)
	cp -r "$repo"/. "$scratch"/
	if ! (cd "$scratch" && git apply "$patch"); then
		echo "$name: MISSED (patch no longer applies to raft/)"
		missed=1
		rm -rf "$scratch"
		continue
	fi
	out=$(cd "$scratch" && go run ./cmd/sim -seeds "$seeds" -stop-on-failure -floors=false 2>&1)
	fail=$(printf '%s\n' "$out" | grep -m1 '^FAIL seed')
	if [ -n "$fail" ]; then
		checker=$(printf '%s\n' "$fail" | sed -E 's/^FAIL seed [0-9]+: ([a-z-]+):.*/\1/')
		echo "$name: CAUGHT by $checker"
		echo "    $fail"
	else
		echo "$name: MISSED over $seeds seeds"
		printf '%s\n' "$out" | tail -3 | sed 's/^/    /'
		missed=1
	fi
	rm -rf "$scratch"
done
if [ "$missed" -ne 0 ]; then
	echo "plants: some planted bugs were missed"
	exit 1
fi
echo "plants: all caught"
