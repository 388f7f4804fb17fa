# tap.sh - TAP helpers for the shell tests (sourced).
#
# ok COND_RC "description"      one test point from an exit status
# nib ARGS...                   runs nibble; sets $rc, $out (stdout), $err (stderr)
# one_line_error                true when stderr is exactly one "nibble: ..." line
# need_fixtures                 skips the whole test (or fails it when
#                               NIBBLE_REQUIRE_FIXTURES=1) without ../shared
# unsupported_model OUT         a copy of tiny256-Q4_K_M whose blk.0.attn_q
#                               claims type IQ2_XXS, which the CPU lacks

: "${NIBBLE:=$(pwd)/src/nibble}"
tap_n=0
tap_failed=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/nibble-test.XXXXXX")
trap 'term_stop; rm -rf "$TMP"' EXIT

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

# The tensor info is the name, n_dims (4 bytes), two dims (8 each), the type
# (4 bytes, little-endian).  IQ2_XXS blocks are smaller than Q4_K's, so the
# data still lies inside the file.
unsupported_model() {
	cp "$DATA/models/tiny256-Q4_K_M.gguf" "$1"
	chmod u+w "$1"
	name=blk.0.attn_q.weight
	at=$(grep -obUa "$name" "$1" | head -n 1 | cut -d: -f1)
	printf '\020' | dd of="$1" bs=1 seek=$((at + ${#name} + 4 + 16)) conv=notrunc 2>/dev/null
}

# ---- driving nibble in a real terminal (tmux) ------------------------------
# term_start NAME WIDTH HEIGHT COMMAND: a detached session running COMMAND
# screen NAME: what it shows; screen_escapes NAME: the same with attributes
# wait_for NAME PATTERN: up to 20 s for the screen to match (grep -E)
TMUX_CMD="tmux -L nibble-test-$$"
term_start() {
	$TMUX_CMD new-session -d -s "$1" -x "$2" -y "$3" "$4"
}
screen() {
	$TMUX_CMD capture-pane -p -t "$1"
}
screen_escapes() {
	$TMUX_CMD capture-pane -e -p -t "$1"
}
keys() {
	name=$1
	shift
	$TMUX_CMD send-keys -t "$name" "$@"
}
wait_for() {
	i=0
	while [ $i -lt 100 ]; do
		screen "$1" | grep -Eq -- "$2" && return 0
		sleep 0.2
		i=$((i + 1))
	done
	screen "$1" | sed 's/^/# /' >&2
	return 1
}
term_stop() {
	$TMUX_CMD kill-server 2>/dev/null
}

tap_done() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}
