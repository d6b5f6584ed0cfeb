#!/bin/sh
# Fuzzes every jobspec target in turn, each for FUZZTIME (default 10s):
# go test fuzzes one target per run. Run from the repository root:
#   sh jobspec/fuzz.sh [FUZZTIME]      e.g. sh jobspec/fuzz.sh 10s
# GO names the go command; FUZZFLAGS adds flags (e.g. -parallel 1).
# A failure is saved under jobspec/testdata/fuzz/<target>/ and the exit
# status is non-zero.
set -eu
go=${GO:-go}
time=${1:-10s}
for target in $($go test -list '^Fuzz' ./jobspec | grep '^Fuzz'); do
	echo "== $target ($time)"
	$go test ./jobspec -run '^$' -fuzz "^$target\$" -fuzztime "$time" ${FUZZFLAGS:-}
done
