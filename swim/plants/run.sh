#!/usr/bin/env bash
# Planted bugs: apply each patch in this directory to a scratch copy of
# the repository, run the SWIM simulator over seeds, and report whether
# the checkers caught the bug, and which ones. Exits non-zero if any
# plant is missed (or if the unpatched tree already fails).
#
#   swim/plants/run.sh [seeds [NAME...]]  # default 100 seeds (1..N);
#                                         # NAMEs: only those plants
#
# The baseline runs every seed; each plant stops at its first failing
# seed (-failfast). For how often a plant is caught, run its patched tree
# with plain -seeds N.
set -euo pipefail

seeds=${1:-100}
shift || true
names=("$@")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# sim DIR [FLAGS...]: run the campaign in DIR; sets rc and line (the
# violations summary line).
sim() {
	local out dir=$1
	shift
	out=$(cd "$dir" && go run ./cmd/swimsim -seeds "$seeds" "$@" 2>&1) && rc=0 || rc=$?
	line=$(printf '%s\n' "$out" | grep '^violations:' || true)
	if [ -z "$line" ]; then
		printf '%s\n' "$out" | tail -20
		line="(no summary: build or run failed)"
	fi
}

# caught_by LINE: the checkers with a non-zero count.
caught_by() {
	printf '%s\n' "$1" | sed 's/(.*//' | awk '{ for (i = 2; i < NF; i += 2) if ($(i+1) > 0) { printf "%s%s", sep, $i; sep = "," } }'
}

copy() {
	rm -rf "$scratch/repo"
	mkdir -p "$scratch/repo"
	(cd "$root" && tar --exclude=./.git -cf - .) | tar -xf - -C "$scratch/repo"
}

echo "baseline (unpatched), seeds 1..$seeds:"
copy
sim "$scratch/repo"
echo "  $line"
if [ "$rc" -ne 0 ]; then
	echo "baseline fails: the plants' results would mean nothing"
	exit 2
fi

missed=0
patches=("$here"/*.patch)
if [ ${#names[@]} -gt 0 ]; then
	patches=()
	for n in "${names[@]}"; do
		patches+=("$here/$n.patch")
	done
fi
for p in "${patches[@]}"; do
	name=$(basename "$p" .patch)
	if [ ! -f "$p" ]; then
		echo "$name: no such plant"
		missed=1
		continue
	fi
	copy
	if ! (cd "$scratch/repo" && patch -s -p1 <"$p"); then
		echo "$name: patch does not apply"
		missed=1
		continue
	fi
	# -failfast: stop at the first failing seed. A plant that keeps the
	# pool from converging makes every run last its whole liveness phase
	# (one such seed took 160 s of CPU), so the full campaign would take
	# hours; the baseline above still runs every seed.
	sim "$scratch/repo" -failfast
	by=$(caught_by "$line")
	if [ "$rc" -eq 1 ] && [ -n "$by" ]; then
		echo "CAUGHT $name by $by"
	else
		echo "MISSED $name (exit $rc)"
		missed=1
	fi
	echo "  $line"
done
exit "$missed"
