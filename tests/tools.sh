#!/bin/sh
# tools.sh - nibble quantize, perplexity and bench end to end on the shared
# models: real runs, what they print, and one-line errors for bad input.
. "$(dirname "$0")/tap.sh"
need_fixtures
M=$DATA/models
STORIES=$M/stories260K.gguf
export HOME="$TMP/home" XDG_CONFIG_HOME="$TMP/config" XDG_DATA_HOME="$TMP/data" NIBBLE_MODELS= HF_HOME= \
	HF_HUB_CACHE= OLLAMA_MODELS=

# nothing named OUT* is left in $TMP (no output, no temporary file)
nothing_left() {
	! ls "$TMP/$1"* >/dev/null 2>&1
}

nib --help
ok $([ $rc = 0 ] && echo "$out" | grep -q 'bench' && echo "$out" | grep -q 'quantize' &&
	echo "$out" | grep -q 'perplexity'; echo $?) "--help lists bench, quantize and perplexity"
for cmd in bench quantize perplexity; do
	nib $cmd --help
	ok $([ $rc = 0 ] && echo "$out" | grep -q "Usage: nibble $cmd"; echo $?) "$cmd --help"
done

# ---- quantize ----------------------------------------------------------------
nib quantize "$STORIES" "$TMP/s-q8.gguf" Q8_0 -t 2
ok $([ $rc = 0 ] && [ -s "$TMP/s-q8.gguf" ] && echo "$out" | grep -q "s-q8.gguf: Q8_0, 48 tensors (37 quantized)" &&
	grep -q '^\[1/48\] .*output.weight F32 -> Q8_0$' "$TMP/err" && grep -q '^\[48/48\]' "$TMP/err" &&
	nothing_left s-q8.gguf.tmp; echo $?) "quantize to Q8_0: a summary, one progress line per tensor off a terminal"
ok $(grep -q "warning: 5 tensors have rows that Q8_0 blocks do not divide" "$TMP/err"; echo $?) \
	"stories260K's 172-column ffn_down tensors are reported as falling back"
nib info -m "$TMP/s-q8.gguf"
ok $([ $rc = 0 ] && echo "$out" | grep -q 'tensor types: *F32 x11, F16 x5, Q8_0 x32' &&
	echo "$out" | grep -q 'file type: *Q8_0'; echo $?) "info shows the quantized file's types"
nib run -m "$STORIES" -p "Once upon a time" --temp 0 -n 24
f32_text=$out
nib run -m "$TMP/s-q8.gguf" -p "Once upon a time" --temp 0 -n 24
ok $([ $rc = 0 ] && [ "$out" = "$f32_text" ]; echo $?) "the Q8_0 model tells the F32 model's greedy story"
nib quantize "$STORIES" "$TMP/s-q4.gguf" Q4_0
nib run -m "$TMP/s-q4.gguf" -p "Once upon a time" --temp 0 -n 24
ok $([ $rc = 0 ] && [ -n "$out" ]; echo $?) "a Q4_0 model made by nibble runs"

nib quantize "$M/tiny256-F32.gguf" "$TMP/t-q8.gguf" Q8_0
ok $([ $rc = 0 ] && cmp -s "$TMP/t-q8.gguf" "$M/tiny256-Q8_0.gguf"; echo $?) \
	"tiny256 F32 -> Q8_0 is byte for byte the file llama-quantize made"
nib quantize "$M/tiny256-F16.gguf" "$TMP/t-q8.gguf" Q8_0
ok $([ $rc = 0 ] && cmp -s "$TMP/t-q8.gguf" "$M/tiny256-Q8_0.gguf"; echo $?) "so is tiny256 F16 -> Q8_0, over an existing file"
nib quantize --pure "$M/tiny256-F16.gguf" "$TMP/t-q4.gguf" Q4_0
nib info -m "$TMP/t-q4.gguf"
ok $([ $rc = 0 ] && echo "$out" | grep -q 'tensor types: *F32 x5, Q4_0 x16'; echo $?) "--pure makes every matrix Q4_0"
nib quantize "$M/tiny256-F32.gguf" "$TMP/t-q4km.gguf" Q4_K_M
if [ $rc = 0 ]; then
	nib info -m "$TMP/t-q4km.gguf"
	ok $([ $rc = 0 ] && echo "$out" | grep -q 'file type: *Q4_K_M'; echo $?) "Q4_K_M quantizes"
else
	ok $([ $rc = 1 ] && one_line_error && grep -q "this build cannot make Q[0-9]_K tensors yet" "$TMP/err" &&
		nothing_left t-q4km.gguf; echo $?) "Q4_K_M without its quantizers: exit 1, one line, no file"
fi

nib quantize "$STORIES" "$TMP/x.gguf" Q4_K_X
ok $([ $rc = 2 ] && one_line_error && grep -q "unknown type 'Q4_K_X' (one of Q8_0, Q4_0" "$TMP/err" &&
	nothing_left x.gguf; echo $?) "an unknown type: exit 2, the types listed"
nib quantize "$STORIES" "$TMP/x.gguf"
ok $([ $rc = 2 ] && one_line_error; echo $?) "a missing type: exit 2"
nib quantize "$STORIES" "$TMP/x.gguf" Q8_0 -t 0
ok $([ $rc = 2 ] && one_line_error; echo $?) "-t 0: exit 2"
nib quantize --pure "$M/tiny256-Q8_0.gguf" "$TMP/x.gguf" Q4_0
ok $([ $rc = 1 ] && one_line_error && grep -q "is Q8_0; nibble quantizes F32, F16 and BF16 models only" "$TMP/err" &&
	nothing_left x.gguf; echo $?) "a quantized input: exit 1, one line, no file"
nib quantize "$TMP/nope.gguf" "$TMP/x.gguf" Q8_0
ok $([ $rc = 1 ] && one_line_error && grep -q "nope.gguf': cannot open" "$TMP/err"; echo $?) "a missing input: exit 1"
nib quantize "$DATA/vocab/ggml-vocab-llama-spm.gguf" "$TMP/x.gguf" Q8_0
ok $([ $rc = 1 ] && one_line_error && grep -q "no tensors" "$TMP/err" && nothing_left x.gguf; echo $?) \
	"a vocabulary-only file: exit 1"
nib quantize "$STORIES" "$TMP/no/such/dir/x.gguf" Q8_0
ok $([ $rc = 1 ] && one_line_error && grep -q "cannot create a file next to" "$TMP/err"; echo $?) \
	"an output in a missing directory: exit 1"

# ---- perplexity --------------------------------------------------------------
"$NIBBLE" run -m "$STORIES" -p "" --temp 0 -n 400 >"$TMP/own.txt" 2>/dev/null
# the same words in a scrambled order (a fixed one: awk's rand() from srand(1))
tr -s ' \n' '\n\n' <"$TMP/own.txt" | awk 'BEGIN { srand(1) } { print rand() "\t" $0 }' | sort -n | cut -f2 |
	tr '\n' ' ' >"$TMP/shuffled.txt"
final() { sed -n 's/^Final estimate: PPL = \([0-9.]*\) .*/\1/p' "$TMP/out"; }
nib perplexity -m "$STORIES" -f "$TMP/own.txt" -c 128
own=$(final)
ok $([ $rc = 0 ] && grep -q '^3 windows of 128 tokens, scoring the last 63 of each' "$TMP/out" &&
	grep -q '^\[1\] [0-9.]*$' "$TMP/out" && grep -q '^\[3\] ' "$TMP/out" &&
	awk -v p="$own" 'BEGIN { exit !(p > 1 && p < 3) }'; echo $?) "perplexity of the model's own greedy text is low ($own)"
nib perplexity -m "$STORIES" -f "$TMP/shuffled.txt" -c 128
shuffled=$(final)
ok $([ $rc = 0 ] && awk -v p="$shuffled" -v o="$own" 'BEGIN { exit !(p > 10 * o) }'; echo $?) \
	"on the same words shuffled it is much higher ($shuffled)"
nib perplexity -m "$STORIES" -f "$TMP/own.txt" -c 128 -b 7 -t 1
ok $([ $rc = 0 ] && [ "$(final)" = "$own" ]; echo $?) "batches of 7 and one thread give the same perplexity"
nib perplexity -m "$STORIES" -f "$TMP/own.txt" -c 128 --kl-base "$STORIES"
ok $([ $rc = 0 ] && grep -q '^Mean KL divergence (base || model): 0.000000 ' "$TMP/out" &&
	grep -q '^Top-1 agreement: 100.00 ' "$TMP/out"; echo $?) "--kl-base with the model itself: KL 0, 100% agreement"
nib perplexity -m "$TMP/s-q8.gguf" -f "$TMP/own.txt" -c 128 --kl-base "$STORIES"
kl=$(sed -n 's/^Mean KL divergence (base || model): \([0-9.]*\) .*/\1/p' "$TMP/out")
top=$(sed -n 's/^Top-1 agreement: \([0-9.]*\) .*/\1/p' "$TMP/out")
ok $([ $rc = 0 ] && grep -q '^Base model: *PPL = ' "$TMP/out" &&
	awk -v k="$kl" -v t="$top" 'BEGIN { exit !(k > 0 && k < 0.01 && t >= 95) }'; echo $?) \
	"the Q8_0 copy: small KL ($kl) and high agreement ($top%)"
nib perplexity -m "$STORIES" -f "$TMP/own.txt"
ok $([ $rc = 1 ] && one_line_error && grep -q "is [0-9]* tokens; windows of 512 need at least 1024" "$TMP/err"; echo $?) \
	"a text shorter than two windows: exit 1, one line"
nib perplexity -m "$STORIES" -f "$TMP/own.txt" -c 128 --kl-base "$M/llama-2-tiny-random.gguf"
ok $([ $rc = 1 ] && one_line_error && grep -q "has another vocabulary" "$TMP/err"; echo $?) \
	"a base with another vocabulary: exit 1, one line"
nib perplexity -m "$STORIES" -f "$TMP/none.txt" -c 128
ok $([ $rc = 1 ] && one_line_error; echo $?) "a missing text: exit 1, one line"
nib perplexity -m "$STORIES"
ok $([ $rc = 2 ] && one_line_error && grep -q 'text is required' "$TMP/err"; echo $?) "no text: exit 2"
nib perplexity -m "$STORIES" -f "$TMP/own.txt" -c 4
ok $([ $rc = 2 ] && one_line_error; echo $?) "-c 4: exit 2"

# ---- bench -------------------------------------------------------------------
nib bench -m "$STORIES" -p 8 -n 4 -r 2 -t 2
ok $([ $rc = 0 ] && echo "$out" | grep -q '^| stories260K.gguf *| *1.12 MiB | F32 (guessed) *| CPU *| *2 | *pp8 | *[0-9.]* ± [0-9.]* |$' &&
	echo "$out" | grep -q '| *tg4 | *[0-9.]* ± [0-9.]* |$' && echo "$out" | grep -q '^peak RSS: [0-9.]* [KMG]iB$'; echo $?) \
	"bench prints pp and tg rows and the peak RSS"
nib bench -m "$TMP/s-q8.gguf" -p 8 -n 4 -r 3 --json
printf '%s\n' "$out" >"$TMP/bench.json"
if command -v python3 >/dev/null 2>&1; then
	python3 - "$TMP/bench.json" <<'PY' >"$TMP/check" 2>&1
import json, sys
t = json.load(open(sys.argv[1]))
assert len(t) == 2, t
assert (t[0]["n_prompt"], t[0]["n_gen"], t[1]["n_prompt"], t[1]["n_gen"]) == (8, 0, 0, 4)
for o in t:
    assert o["model_type"] == "llama ?B Q8_0" and o["backends"] == "CPU" and o["n_threads"] > 0
    assert o["model_filename"].endswith("/s-q8.gguf") and o["model_size"] > 300000
    assert o["avg_ts"] > 0 and o["stddev_ts"] >= 0 and len(o["samples_ts"]) == 3
PY
	ok $([ $rc = 0 ] && [ ! -s "$TMP/check" ]; echo $?) "--json is llama-bench's array of tests"
else
	ok $([ $rc = 0 ] && grep -q '"avg_ts": [0-9]' "$TMP/bench.json" && grep -q '"model_type": "llama ?B Q8_0"' "$TMP/bench.json"; echo $?) \
		"--json is llama-bench's array of tests"
fi
nib bench -m "$STORIES" -p 0 -n 2 -r 1
ok $([ $rc = 0 ] && ! echo "$out" | grep -q 'pp' && echo "$out" | grep -q 'tg2'; echo $?) "-p 0 skips prompt processing"
nib bench -m "$STORIES" -p 4 -n 0 -r 1
ok $([ $rc = 0 ] && echo "$out" | grep -q 'pp4' && ! echo "$out" | grep -q '| *tg'; echo $?) "-n 0 skips generation"
nib bench -m "$STORIES" -p 0 -n 0
ok $([ $rc = 2 ] && one_line_error; echo $?) "-p 0 -n 0: exit 2"
nib bench -m "$STORIES" --backend metal
ok $([ $rc = 2 ] && one_line_error; echo $?) "an unknown backend: exit 2"
nib bench -m "$STORIES" -r 0
ok $([ $rc = 2 ] && one_line_error; echo $?) "-r 0: exit 2"
nib bench -m "$TMP/nope.gguf"
ok $([ $rc = 1 ] && one_line_error; echo $?) "a missing model: exit 1"

tap_done
