#!/bin/sh
# Fuzzes every jobspec target in turn, each for FUZZTIME (default 10s):
# go test fuzzes one target per run. Run from the repository root:
#   sh jobspec/fuzz.sh [FUZZTIME]      e.g. sh jobspec/fuzz.sh 10s
# GO names the go command; FUZZFLAGS adds flags (e.g. -parallel 1).
# A failure is saved under jobspec/testdata/fuzz/<target>/ and the exit
# status is non-zero.
#
# Go's fuzzing coordinator can itself fail a run with a bare "context
# deadline exceeded" when a loaded machine's workers miss the -fuzztime
# deadline as it ends: no input failed and none is written. Such a run is
# reported and not counted as a failure; any run that wrote a failing
# input, or failed any other way, is.
set -eu
go=${GO:-go}
time=${1:-10s}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for target in $($go test -list '^Fuzz' ./jobspec | grep '^Fuzz'); do
	echo "== $target ($time)"
	if $go test ./jobspec -run '^$' -fuzz "^$target\$" -fuzztime "$time" ${FUZZFLAGS:-} >"$out" 2>&1; then
		cat "$out"
		continue
	fi
	cat "$out"
	if grep -q '^    context deadline exceeded$' "$out" && ! grep -q 'Failing input written' "$out"; then
		echo "== $target: the fuzzing coordinator missed its own deadline (no failing input): not a failure"
		continue
	fi
	exit 1
done
