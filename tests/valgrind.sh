#!/bin/sh
# valgrind.sh - the unit tests and real runs under valgrind memcheck: no
# invalid access, no uninitialised read, no definite leak.
. "$(dirname "$0")/tap.sh"
need_fixtures
if [ "${NIBBLE_SANITIZED:-0}" = 1 ]; then
	echo "1..0 # SKIP sanitizer builds do not run under valgrind"
	exit 77
fi
if ! command -v valgrind >/dev/null 2>&1; then
	echo "1..0 # SKIP valgrind is not installed"
	exit 77
fi
B=${NIBBLE_BUILDDIR:-$(pwd)}
M=$DATA/models
export HOME="$TMP/home" XDG_CONFIG_HOME="$TMP/config" XDG_STATE_HOME="$TMP/state"

vg() {
	NIBBLE_UNDER_VALGRIND=1 valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--show-leak-kinds=definite --suppressions="$(dirname "$0")/valgrind.supp" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	err=$(cat "$TMP/err")
}

for t in test_gguf test_model test_tokenizer test_quant test_quantize test_sampler test_utf8 test_unicode test_chat test_template test_transcript \
	test_threadpool; do
	vg "$B/tests/$t"
	ok $([ $rc = 0 ]; echo $?) "$t is clean under valgrind"
done
vg "$NIBBLE" run -m "$M/stories260K.gguf" -p "Once upon a time" -n 24 --temp 0.8 --seed 1
ok $([ $rc = 0 ]; echo $?) "nibble run is clean under valgrind"
vg "$NIBBLE" run -m "$M/tiny256-Q4_0.gguf" -p "Hello" -n 4 --temp 0
ok $([ $rc = 0 ]; echo $?) "nibble run on Q4_0/Q6_K weights is clean under valgrind"
if "$NIBBLE" devices 2>/dev/null | grep -q '^Vulkan device 0: '; then
	XDG_CACHE_HOME="$TMP/cache" vg "$NIBBLE" run -m "$M/stories260K.gguf" -p "Once upon a time" -n 8 --temp 0 \
		--backend vulkan
	ok $([ $rc = 0 ]; echo $?) "nibble run on the Vulkan backend is clean under valgrind"
fi
printf 'Hi\n/stats\nHow are you?\n/quit\n' >"$TMP/in.txt"
vg "$NIBBLE" chat -m "$M/stories260K.gguf" --plain -n 8 <"$TMP/in.txt"
ok $([ $rc = 0 ]; echo $?) "nibble chat is clean under valgrind"
vg "$NIBBLE" info -m "$M/tiny256-Q4_K_M.gguf"
ok $([ $rc = 0 ]; echo $?) "nibble info is clean under valgrind"
vg "$NIBBLE" tokenize -m "$DATA/vocab/ggml-vocab-llama-spm.gguf" "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～"
ok $([ $rc = 0 ]; echo $?) "nibble tokenize is clean under valgrind"
vg "$NIBBLE" tokenize -m "$DATA/vocab/ggml-vocab-qwen2.gguf" "Hello, y'all!  How are you 😁 ?我想在apple工作1314151天～ \n\n"
ok $([ $rc = 0 ]; echo $?) "nibble tokenize on a byte-level BPE vocabulary is clean under valgrind"
vg "$NIBBLE" quantize "$M/stories260K.gguf" "$TMP/q8.gguf" Q8_0 -t 2
ok $([ $rc = 0 ]; echo $?) "nibble quantize is clean under valgrind"
"$NIBBLE" run -m "$M/stories260K.gguf" -p "" --temp 0 -n 80 >"$TMP/text.txt" 2>/dev/null
vg "$NIBBLE" perplexity -m "$TMP/q8.gguf" -f "$TMP/text.txt" -c 32 -b 8 --kl-base "$M/stories260K.gguf"
ok $([ $rc = 0 ]; echo $?) "nibble perplexity --kl-base is clean under valgrind"
vg "$NIBBLE" bench -m "$M/stories260K.gguf" -p 4 -n 2 -r 1 --json
ok $([ $rc = 0 ]; echo $?) "nibble bench is clean under valgrind"
head -c 3000 "$M/stories260K.gguf" >"$TMP/cut.gguf"
vg "$NIBBLE" run -m "$TMP/cut.gguf" -p x
ok $([ $rc = 1 ]; echo $?) "a refused file is clean under valgrind (exit 1, not 99)"
tap_done
