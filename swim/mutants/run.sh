#!/usr/bin/env bash
# Mutation testing of the swim core against the SWIM simulator: write
# single-point mutants of swim/*.go (internal/mutate/gen.go, seeded),
# apply each to a scratch copy of the repository, build cmd/swimsim, and
# run seeds 1..S with -failfast on one worker at nice 10. A mutant is
# KILLED when the run exits non-zero (a checker failed, a run panicked)
# and SURVIVED when it passes; one that does not compile is skipped
# (NOCOMPILE); one whose run outlasts the timeout is TIMEOUT (a mutant
# that keeps pools from converging makes each run last its whole
# liveness phase: almost surely killed, but not proved so).
#
#   swim/mutants/run.sh [mutants [seeds [genseed [IDS...]]]]
#       defaults: 80 mutants, 60 seeds, generator seed 1; IDS (e.g. 007
#       031): only those mutants of the sample
#
# Environment: TIMEOUT (seconds per mutant run, default 300), KEEP (a
# directory to keep the patches and per-mutant logs in).
#
# The same (mutants, genseed) gives the same patches; for a survivor,
# the patch is KEEP/NNN.patch, and
#   patch -p1 < KEEP/NNN.patch && go run ./cmd/swimsim -seeds 300
# reruns it on a fuller campaign.
set -euo pipefail

count=${1:-80}
seeds=${2:-60}
genseed=${3:-1}
shift 3 2>/dev/null || shift $#
ids=("$@")
timeout=${TIMEOUT:-300}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
keep=${KEEP:-$scratch/keep}
mkdir -p "$keep"

# Sites are weighted per file (unlisted files 1): the probe, suspicion,
# merge, dissemination, push-pull, leave, user event and awareness logic
# is what a reviewer's planted bug would hit; small files get more per
# site, so that each gets a few mutants.
declare -A weight=(
	[probe.go]=6 [suspicion.go]=24 [state.go]=6 [broadcast.go]=5
	[pushpull.go]=6 [leave.go]=14 [userevent.go]=8 [awareness.go]=20
	[gossip.go]=10 [formulas.go]=8 [node.go]=3
)
files=()
for f in "$root"/swim/*.go; do
	f=${f#"$root"/}
	case $f in *_test.go) continue ;; esac
	files+=("$f=${weight[${f#swim/}]:-1}")
done
# The swim rule set, drawn sampler and patch output keep each generator
# seed naming the sample recorded in README.md.
(cd "$root" && go run internal/mutate/gen.go -rules swim -sampler draw -format patch \
	-seed "$genseed" -n "$count" -out "$keep" "${files[@]}")

mkdir -p "$scratch/repo"
(cd "$root" && tar --exclude=./.git -cf - .) | tar -xf - -C "$scratch/repo"
cp -a "$scratch/repo/swim" "$scratch/pristine"

# restore: put back the swim sources a patch changed.
restore() {
	rm -rf "$scratch/repo/swim"
	cp -a "$scratch/pristine" "$scratch/repo/swim"
}

# run BIN LOG: the campaign; sets rc and line (the violations summary).
run() {
	local start=$SECONDS
	(cd "$scratch/repo" && timeout "$timeout" nice -n 10 "$1" -seeds "$seeds" -workers 1 -failfast) >"$2" 2>&1 && rc=0 || rc=$?
	took=$((SECONDS - start))
	line=$(grep '^violations:' "$2" || true)
}

# caught_by LINE: the checkers with a non-zero count (as plants/run.sh).
caught_by() {
	printf '%s\n' "$1" | sed 's/(.*//' | awk '{ for (i = 2; i < NF; i += 2) if ($(i+1) > 0) { printf "%s%s", sep, $i; sep = "," } }'
}

echo "baseline (unmutated), seeds 1..$seeds:"
(cd "$scratch/repo" && nice -n 10 go build -o "$scratch/swimsim" ./cmd/swimsim)
run "$scratch/swimsim" "$keep/baseline.log"
echo "  ${line:-(no summary)} (${took}s)"
if [ "$rc" -ne 0 ]; then
	echo "baseline fails: the mutants' results would mean nothing"
	exit 2
fi

killed=0 survived=0 nocompile=0 timedout=0
patches=("$keep"/[0-9]*.patch)
if [ ${#ids[@]} -gt 0 ]; then
	patches=()
	for i in "${ids[@]}"; do
		patches+=("$keep/$i.patch")
	done
fi
for p in "${patches[@]}"; do
	id=$(basename "$p" .patch)
	what=$(head -1 "$p" | sed 's/^# //')
	restore
	if ! (cd "$scratch/repo" && patch -s -p1 <"$p") ||
		! (cd "$scratch/repo" && nice -n 10 go build -o "$scratch/mutant" ./cmd/swimsim) >"$keep/$id.build" 2>&1; then
		echo "NOCOMPILE $id $what"
		nocompile=$((nocompile + 1))
		continue
	fi
	run "$scratch/mutant" "$keep/$id.log"
	seed=$(grep -m1 '^FAIL seed' "$keep/$id.log" | awk '{print $3}' || true)
	if [ "$rc" -eq 124 ]; then
		echo "TIMEOUT $id (${took}s) $what"
		timedout=$((timedout + 1))
	elif [ "$rc" -eq 0 ]; then
		echo "SURVIVED $id (${took}s) $what"
		survived=$((survived + 1))
	else
		by=$(caught_by "$line")
		if grep -q '^panic\|goroutine .* \[running\]' "$keep/$id.log"; then
			by="${by:+$by,}panic"
		fi
		echo "KILLED $id (${took}s, seed ${seed:-?}, by ${by:-exit $rc}) $what"
		killed=$((killed + 1))
	fi
done
echo "mutants: $((killed + survived + nocompile + timedout)) generated, $((killed + survived + timedout)) compiled, $killed killed, $timedout timed out, $survived survived"
