# tap.sh - TAP helpers for the shell tests (sourced).
#
# ok COND_RC "description"      one test point from an exit status
# nib ARGS...                   runs nibble; sets $rc, $out (stdout), $err (stderr)
# one_line_error                true when stderr is exactly one "nibble: ..." line
# need_fixtures                 skips the whole test (or fails it when
#                               NIBBLE_REQUIRE_FIXTURES=1) without ../shared

: "${NIBBLE:=$(pwd)/src/nibble}"
tap_n=0
tap_failed=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/nibble-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

ok() {
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
		[ -n "${err-}" ] && printf '# stderr: %s\n' "$(head -c 300 "$TMP/err" 2>/dev/null)"
	fi
}

nib() {
	"$NIBBLE" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	out=$(cat "$TMP/out")
	err=$(cat "$TMP/err")
}

one_line_error() {
	[ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q '^nibble: ' "$TMP/err"
}

need_fixtures() {
	DATA=${NIBBLE_TEST_DATA:-}
	if [ -z "$DATA" ] || [ ! -d "$DATA/models" ]; then
		if [ "${NIBBLE_REQUIRE_FIXTURES:-0}" = 1 ]; then
			echo "Bail out! fixtures not found at '${DATA}' and NIBBLE_REQUIRE_FIXTURES=1"
			exit 1
		fi
		echo "1..0 # SKIP fixtures not found (set NIBBLE_TEST_DATA)"
		exit 77
	fi
}

tap_done() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}
