#!/bin/sh
# corrupt.sh - model files are untrusted input: several hundred corrupt
# variants of real GGUF files (truncations, random bytes, counts and
# lengths set to huge values, mostly in the metadata) given to nibble info,
# tokenize and run.  Each must end with status 0 or 1 (1 with a one-line
# error), within 20 s, and without a sanitizer report in sanitizer builds:
# never a crash, a hang or a leak.
. "$(dirname "$0")/tap.sh"
need_fixtures
export HOME="$TMP/home" XDG_CONFIG_HOME="$TMP/config" XDG_STATE_HOME="$TMP/state" XDG_CACHE_HOME="$TMP/cache"
PER_FILE=${CORRUPT_PER_FILE:-75}

# mutations SEED SIZE: PER_FILE lines "kind offset value", offsets mostly
# in the first 16 KiB where the header, metadata and tensor infos are
mutations() {
	awk -v seed="$1" -v size="$2" -v n="$PER_FILE" 'BEGIN {
		srand(seed)
		for (i = 0; i < n; i++) {
			r = rand()
			span = r < 0.6 ? 16384 : r < 0.8 ? 262144 : size
			if (span > size) span = size
			kind = int(rand() * 4)
			print kind, int(rand() * span), int(rand() * 256)
		}
	}'
}

# put_bytes FILE OFFSET COUNT BYTE: COUNT copies of BYTE (octal) at OFFSET
put_bytes() {
	i=0
	while [ $i -lt "$3" ]; do printf "\\$4"; i=$((i + 1)); done |
		dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# check WHAT: the last nib ended as promised
bad=0 refused=0 accepted=0
check() {
	[ "$rc" = 0 ] && accepted=$((accepted + 1))
	[ "$rc" = 1 ] && refused=$((refused + 1))
	if [ "$rc" -gt 1 ] || grep -q 'Sanitizer\|runtime error' "$TMP/err" ||
		{ [ "$rc" = 1 ] && ! one_line_error; }; then
		bad=$((bad + 1))
		[ $bad -le 5 ] && printf '# %s: status %s: %s\n' "$1" "$rc" "$(head -c 300 "$TMP/err")"
	fi
}

n_variants=0
corrupt() { # BASE SEED MODEL(1 if it runs)
	size=$(wc -c <"$1")
	mutations "$2" "$size" >"$TMP/list"
	while read -r kind at value; do
		cp "$1" "$TMP/f.gguf"
		chmod u+w "$TMP/f.gguf"
		case $kind in
		0) head -c "$at" "$1" >"$TMP/f.gguf" ;;                           # truncated
		1) put_bytes "$TMP/f.gguf" "$at" 1 "$(printf '%o' "$value")" ;;  # one byte
		2) put_bytes "$TMP/f.gguf" "$at" 8 377 ;;                         # a huge u64
		3) put_bytes "$TMP/f.gguf" "$at" 4 177 ;;                         # a large u32
		esac
		what="$(basename "$1") $kind@$at"
		nib_limited info -m "$TMP/f.gguf"
		check "info $what"
		nib_limited tokenize -m "$TMP/f.gguf" "Hello, world! 你好"
		check "tokenize $what"
		if [ "$3" = 1 ] && [ $((at % 3)) = 0 ]; then
			nib_limited run -m "$TMP/f.gguf" -p "Once" -n 2 --backend cpu
			check "run $what"
		fi
		n_variants=$((n_variants + 1))
	done <"$TMP/list"
}

nib_limited() {
	timeout 20 "$NIBBLE" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}

corrupt "$DATA/models/stories260K.gguf" 1 1
corrupt "$DATA/models/tiny256-Q4_K_M.gguf" 2 1
corrupt "$DATA/vocab/ggml-vocab-llama-spm.gguf" 3 0
corrupt "$DATA/vocab/ggml-vocab-gpt-2.gguf" 4 0
echo "# $refused commands refused their file, $accepted worked with it"
ok $([ $bad = 0 ] && [ $refused -gt 0 ]; echo $?) "$n_variants corrupt files: status 0 or 1 with a one-line error, no crash, hang or sanitizer report ($bad bad)"
tap_done
