#!/bin/sh
# run.sh - runs every fuzz harness that `make fuzz` built for SECONDS each,
# on a copy of its seed corpus and its regression inputs (new inputs go to a
# temporary directory, never into the source tree), and prints one line per
# harness.  Exits non-zero when any harness finds a crash, a leak, a
# sanitizer report, a timeout (-timeout, seconds per input) or runs out of
# memory (-rss_limit_mb); the input that did it is kept in the artifacts
# directory, named on that line.
# usage: tests/fuzz/run.sh SECONDS [HARNESS...]      (from the build tree)
# environment: FUZZ_BUILD_DIR (default tests/fuzz/build, then the one next
# to this script), FUZZ_ARTIFACTS (default a new directory under /tmp),
# FUZZ_TIMEOUT (10), FUZZ_RSS_MB (2048), FUZZ_FLAGS (more libFuzzer flags).
set -u
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-}
case $seconds in
'' | *[!0-9]*) echo "usage: $0 SECONDS [HARNESS...]" >&2; exit 2 ;;
esac
shift
harnesses=${*:-gguf tokenizer template utf8}
build=${FUZZ_BUILD_DIR:-}
if [ -z "$build" ]; then
	build=tests/fuzz/build
	[ -x "$build/fuzz_utf8" ] || build=$here/build
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/nibble-fuzz.XXXXXX")
artifacts=${FUZZ_ARTIFACTS:-$work/artifacts}
mkdir -p "$artifacts"
status=0
for h in $harnesses; do
	bin=$build/fuzz_$h
	if [ ! -x "$bin" ]; then
		echo "fuzz_$h: not built (run 'make fuzz')"
		status=1
		continue
	fi
	mkdir -p "$work/corpus/$h"
	cp "$here/corpus/$h/"* "$work/corpus/$h/" 2>/dev/null
	regressions=
	[ -d "$here/regressions/$h" ] && regressions=$here/regressions/$h
	log=$work/$h.log
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
		-print_final_stats=1 -artifact_prefix="$artifacts/$h-" ${FUZZ_FLAGS:-} \
		"$work/corpus/$h" $regressions >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		echo "fuzz_$h: ${execs:-?} executions in ${seconds} s, corpus $(ls "$work/corpus/$h" | wc -l) inputs: ok"
	else
		what=$(grep -m 1 -E '^==[0-9]+==ERROR|^SUMMARY|runtime error|invariant failed|ALARM|out-of-memory|leak' "$log")
		echo "fuzz_$h: ${execs:-?} executions: FAILED (exit $rc): ${what:-see the log}"
		echo "fuzz_$h: log $log; inputs: $(ls "$artifacts" | sed -n "s|^$h-|$artifacts/$h-|p" | tr '\n' ' ')"
		status=1
	fi
done
[ "$status" -eq 0 ] && [ -z "${FUZZ_ARTIFACTS:-}" ] && rm -rf "$work"
exit "$status"
