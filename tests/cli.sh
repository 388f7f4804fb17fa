#!/bin/sh
# cli.sh - the nibble command line end to end: help, exit codes and one-line
# errors for bad input, and real runs on the shared models.
. "$(dirname "$0")/tap.sh"
need_fixtures
M=$DATA/models
STORIES=$M/stories260K.gguf
SPM=$DATA/vocab/ggml-vocab-llama-spm.gguf
BPE=$DATA/vocab/ggml-vocab-llama-bpe.gguf
# No user config and no model store of the user's: the test sets its own.
export HOME="$TMP/home" XDG_CONFIG_HOME="$TMP/config" XDG_DATA_HOME="$TMP/data" NIBBLE_MODELS= HF_HOME= \
	HF_HUB_CACHE= OLLAMA_MODELS=

# ---- help and usage ------------------------------------------------------
nib --help
ok $([ $rc = 0 ] && echo "$out" | grep -q 'run' && echo "$out" | grep -q 'tokenize'; echo $?) "--help lists the commands"
for cmd in run logits tokenize info; do
	nib $cmd --help
	ok $([ $rc = 0 ] && echo "$out" | grep -q "Usage: nibble $cmd"; echo $?) "$cmd --help"
done
nib --version
ok $([ $rc = 0 ] && echo "$out" | grep -q '^nibble [0-9]'; echo $?) "--version"
nib
ok $([ $rc = 2 ]; echo $?) "no command is a usage error"
nib frobnicate
ok $([ $rc = 2 ] && one_line_error; echo $?) "an unknown command: exit 2, one line"
nib run --frobnicate -m "$STORIES" -p x
ok $([ $rc = 2 ] && one_line_error && grep -q "unknown option '--frobnicate'" "$TMP/err"; echo $?) "an unknown option: exit 2, one line"
nib run -p hello
ok $([ $rc = 2 ] && one_line_error && grep -q 'No model found.*nibble list' "$TMP/err"; echo $?) "no -m and no model anywhere: exit 2, how to get one"
nib run -m "$STORIES"
ok $([ $rc = 2 ] && one_line_error && grep -q 'prompt is required' "$TMP/err"; echo $?) "a missing prompt: exit 2"
nib run -m "$STORIES" -p x -m
ok $([ $rc = 2 ] && one_line_error && grep -q 'needs a value' "$TMP/err"; echo $?) "an option without its value: exit 2"
for bad in "-n -1" "--temp -1" "--top-p 1.5" "--min-p -0.1" "-c 0" "-c 2147483648" "-t 0" "-t two" "--seed -5" "--repeat-penalty 0" "--top-k x"; do
	# shellcheck disable=SC2086
	nib run -m "$STORIES" -p x $bad
	ok $([ $rc = 2 ] && one_line_error; echo $?) "run $bad: exit 2, one line"
done

# ---- bad files -------------------------------------------------------------
nib run -m "$TMP/nope.gguf" -p x
ok $([ $rc = 1 ] && one_line_error && grep -q "nope.gguf': cannot open" "$TMP/err"; echo $?) "a missing file: exit 1, names it"
nib info -m "$TMP"
ok $([ $rc = 1 ] && one_line_error && grep -q 'is a directory' "$TMP/err"; echo $?) "a directory: exit 1"
printf 'just some text\n' >"$TMP/text.gguf"
nib info -m "$TMP/text.gguf"
ok $([ $rc = 1 ] && one_line_error && grep -q 'not a GGUF file' "$TMP/err"; echo $?) "a text file: exit 1"
head -c 5000 "$STORIES" >"$TMP/short.gguf"
nib run -m "$TMP/short.gguf" -p x
ok $([ $rc = 1 ] && one_line_error && grep -q 'truncated\|past end of file' "$TMP/err"; echo $?) "a truncated model: exit 1"
head -c 1100000 "$STORIES" >"$TMP/short2.gguf"
nib info -m "$TMP/short2.gguf"
ok $([ $rc = 1 ] && one_line_error && grep -q 'extends past end of file' "$TMP/err"; echo $?) "a model cut inside the tensor data: exit 1"
unsupported_model "$TMP/iq2.gguf"
nib run -m "$TMP/iq2.gguf" -p x
ok $([ $rc = 1 ] && one_line_error && grep -q "'blk.0.attn_q.weight' has type IQ2_XXS" "$TMP/err"; echo $?) "an unsupported quant type: exit 1, names tensor and type"

# ---- run -----------------------------------------------------------------
expected=$(cat "$M/stories260K.expected-greedy-256.txt")
nib run -m "$STORIES" -p "" --temp 0 -n 256
ok $([ $rc = 0 ] && [ "$out" = "$expected" ]; echo $?) "greedy from BOS gives the published story"
nib run -m "$STORIES" -p "Once upon a time" --temp 0 -n 60
rest=${expected#Once upon a time}
ok $([ $rc = 0 ] && [ -n "$out" ] && case "$rest" in "$out"*) true ;; *) false ;; esac; echo $?) "run prints only the continuation"
nib run -m "$STORIES" -p "Once upon a time" --temp 0 -n 0
ok $([ $rc = 0 ] && [ -z "$out" ]; echo $?) "-n 0 prints nothing"
nib run -m "$STORIES" -p "The cat" --seed 42 -n 40 --temp 1.0
first=$out
nib run -m "$STORIES" -p "The cat" --seed 42 -n 40 --temp 1.0
ok $([ $rc = 0 ] && [ -n "$first" ] && [ "$out" = "$first" ]; echo $?) "the same seed gives the same text"
nib run -m "$STORIES" -p "The cat" --seed 43 -n 40 --temp 1.0
ok $([ $rc = 0 ] && [ "$out" != "$first" ]; echo $?) "another seed gives another text"
printf 'Once upon a time' >"$TMP/prompt.txt"
nib run -m "$STORIES" -f "$TMP/prompt.txt" --temp 0 -n 20
from_file=$out
nib run -m "$STORIES" -p "Once upon a time" --temp 0 -n 20
ok $([ $rc = 0 ] && [ "$out" = "$from_file" ]; echo $?) "-f FILE reads the prompt from a file"
"$NIBBLE" run -m "$STORIES" -f - --temp 0 -n 20 <"$TMP/prompt.txt" >"$TMP/stdin.out" 2>/dev/null
ok $([ "$(cat "$TMP/stdin.out")" = "$from_file" ]; echo $?) "-f - reads the prompt from stdin"
nib run -m "$STORIES" -p "Once upon a time" --temp 0 -n 10 -v
ok $([ $rc = 0 ] && grep -q 'loaded' "$TMP/err" && grep -q 'tok/s' "$TMP/err"; echo $?) "-v reports load time and speeds"
long=$(for i in $(seq 1 40); do printf 'Once upon a time '; done)
nib run -m "$STORIES" -p "$long" -c 32
ok $([ $rc = 1 ] && one_line_error && grep -q 'context' "$TMP/err"; echo $?) "a prompt longer than the context: exit 1"
nib run -m "$STORIES" -p "Once upon a time" -c 16 --temp 0
ok $([ $rc = 0 ] && [ -n "$out" ]; echo $?) "generation stops cleanly when the context is full"
nib run -m "$M/llama-2-tiny-random.gguf" -p "Hi" --temp 2 --top-k 0 --top-p 1 --min-p 0 -n 300 --seed 7
printf '%s' "$out" >"$TMP/random.txt"
ok $([ $rc = 0 ] && [ -s "$TMP/random.txt" ] && iconv -f UTF-8 -t UTF-8 "$TMP/random.txt" >/dev/null 2>&1; echo $?) "random bytes from a 32000-token model still print valid UTF-8"
if [ -w /dev/full ]; then
	"$NIBBLE" run -m "$STORIES" -p "Once" --temp 0 -n 20 >/dev/full 2>"$TMP/err"
	rc=$?
	ok $([ $rc = 1 ] && one_line_error && grep -q 'cannot write' "$TMP/err"; echo $?) "a full stdout: exit 1 with a message"
fi

# ---- tokenize --------------------------------------------------------------
nib tokenize -m "$SPM" "Hello world"
ok $([ $rc = 0 ] && [ "$out" = "1 15043 3186" ]; echo $?) "tokenize adds BOS as the vocabulary asks"
nib tokenize -m "$SPM" --no-bos " Hello world"
ok $([ $rc = 0 ] && [ "$out" = "29871 15043 3186" ]; echo $?) "tokenize --no-bos"
nib tokenize -m "$SPM" --no-bos "<s>"
ok $([ $rc = 0 ] && [ "$out" != "1" ] && [ -n "$out" ]; echo $?) "special-token text stays text"
printf 'Hello\nworld' >"$TMP/tok.txt"
nib tokenize -m "$SPM" --no-bos -f "$TMP/tok.txt"
ok $([ $rc = 0 ] && [ "$out" = "15043 13 11526" ]; echo $?) "tokenize -f FILE"
nib tokenize -m "$SPM"
ok $([ $rc = 2 ] && one_line_error; echo $?) "tokenize without text: exit 2"
nib tokenize -m "$BPE" --no-bos "Hello world"
ok $([ $rc = 0 ] && [ "$out" = "9906 1917" ] && [ -z "$err" ]; echo $?) "tokenize on a byte-level BPE vocabulary"
nib tokenize -m "$BPE" "Hello world<|eot_id|>"
ok $([ $rc = 0 ] && [ "$out" = "128000 9906 1917 27 91 68 354 851 91 29" ]; echo $?) "tokenize adds Llama 3's BOS; special-token text stays text"
# The GPT-2 vocabulary with its pre-tokenizer renamed (general.name changes too).
LC_ALL=C sed 's/gpt-2/gpt-9/g' "$DATA/vocab/ggml-vocab-gpt-2.gguf" >"$TMP/gpt9.gguf"
nib tokenize -m "$TMP/gpt9.gguf" "Hello world"
ok $([ $rc = 0 ] && [ "$out" = "15496 995" ] && one_line_error &&
	grep -q "warning: .*unknown pre-tokenizer 'gpt-9'" "$TMP/err"; echo $?) "an unknown pre-tokenizer: one warning, GPT-2's splitting"

# ---- logits ----------------------------------------------------------------
nib logits -m "$STORIES" -p "Once upon a time" -o "$TMP/a.f32"
ok $([ $rc = 0 ] && [ "$(wc -c <"$TMP/a.f32")" -eq 2048 ]; echo $?) "logits writes n_vocab float32 values"
nib logits -m "$STORIES" -p "Once upon a time" -o "$TMP/b.f32" -t 1
ok $(cmp -s "$TMP/a.f32" "$TMP/b.f32"; echo $?) "logits are the same with 1 and 2 threads"
nib logits -m "$STORIES" -p "Once upon a time" -o "$TMP/no/such/dir.f32"
ok $([ $rc = 1 ] && one_line_error; echo $?) "an unwritable output: exit 1"
nib logits -m "$STORIES" -p "x"
ok $([ $rc = 2 ] && one_line_error && grep -q '\-o' "$TMP/err"; echo $?) "logits without -o: exit 2"

# ---- info ------------------------------------------------------------------
nib info -m "$STORIES"
ok $([ $rc = 0 ] && echo "$out" | grep -q 'architecture: *llama' && echo "$out" | grep -q 'layers: *5' &&
	echo "$out" | grep -q 'heads: *8 query, 4 key/value' && echo "$out" | grep -q 'tensor types: *F32 x48' &&
	echo "$out" | grep -q 'memory:.*KV cache'; echo $?) "info describes stories260K"
nib info -m "$SPM"
ok $([ $rc = 0 ] && echo "$out" | grep -q 'vocabulary only' && echo "$out" | grep -q '32000 tokens'; echo $?) "info on a vocabulary-only file"
nib info -m "$BPE"
ok $([ $rc = 0 ] && echo "$out" | grep -q 'byte-level BPE (pre: llama-bpe), 128256 tokens, BOS 128000 (added), EOS 128009'; echo $?) "info on a byte-level BPE vocabulary"
nib info -m "$TMP/iq2.gguf"
ok $([ $rc = 0 ] && echo "$out" | grep -q 'Q4_K x12, Q6_K x3, IQ2_XXS x1' && echo "$out" | grep -q 'runs on CPU: *no'; echo $?) "info describes a model it cannot run yet"

# A 120 GiB model (a sparse file) is refused before anything is read.
"$NIBBLE_BUILDDIR/tests/mkmodel" --huge "$TMP/huge.gguf"
nib run -m "$TMP/huge.gguf" -p x
ok $([ $rc = 1 ] && one_line_error && grep -q 'needs 120.* GiB of memory.* available; try a smaller quant or --ctx-size, or --force' "$TMP/err"
	echo $?) "a model larger than the memory available: exit 1 with the estimate"
nib chat -m "$TMP/huge.gguf" -p x
ok $([ $rc = 1 ] && one_line_error && grep -q 'needs 120' "$TMP/err"; echo $?) "chat refuses it too"
nib info -m "$TMP/huge.gguf"
ok $([ $rc = 0 ] && echo "$out" | grep -q 'memory: .* = 120.* GiB; .* available'; echo $?) "info shows the memory needed and available"
rm -f "$TMP/huge.gguf"
nib info -m "$M/tiny256-Q8_0.gguf" -c 100
ok $([ $rc = 0 ] && echo "$out" | grep -q '100 tokens'; echo $?) "info -c sizes the KV cache"

# ---- models by name, and the config file -----------------------------------
mkdir -p "$TMP/data/nibble/models/sub" "$TMP/hf/hub/models--Org--Repo/snapshots/0a1b" \
	"$TMP/ollama/manifests/registry.ollama.ai/library/tiny" "$TMP/ollama/blobs"
ln -s "$STORIES" "$TMP/data/nibble/models/stories.gguf"
ln -s "$M/tiny256-Q8_0.gguf" "$TMP/data/nibble/models/sub/t8.gguf"
ln -s "$M/tiny256-Q4_K_M.gguf" "$TMP/hf/hub/models--Org--Repo/snapshots/0a1b/repo-q4km.gguf"
ln -s "$M/tiny256-Q4_0.gguf" "$TMP/ollama/blobs/sha256-00ff"
printf '{"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:00ff"}]}' \
	>"$TMP/ollama/manifests/registry.ollama.ai/library/tiny/1b"
export HF_HOME="$TMP/hf" OLLAMA_MODELS="$TMP/ollama"
nib list
ok $([ $rc = 0 ] && echo "$out" | grep -q '^stories .*F32 .*nibble$' && echo "$out" | grep -q '^sub/t8 .*Q8_0' &&
	echo "$out" | grep -q '^Org/Repo/repo-q4km .*Q4_K_M .*huggingface$' && echo "$out" | grep -q '^tiny:1b .*Q4_0 .*ollama$'; echo $?) \
	"list finds nibble's folder, the Hugging Face cache and Ollama's store"
nib run -m stories -p "Once upon a time" --temp 0 -n 8
by_name=$out
nib run -m "$STORIES" -p "Once upon a time" --temp 0 -n 8
ok $([ $rc = 0 ] && [ "$by_name" = "$out" ]; echo $?) "-m NAME runs a listed model"
nib info -m tiny:1b
ok $([ $rc = 0 ] && echo "$out" | grep -q 'Q4_0'; echo $?) "-m finds an Ollama model by name and tag"
nib run -m nothing-like-this -p x
ok $([ $rc = 1 ] && one_line_error && grep -q "no model named 'nothing-like-this'" "$TMP/err"; echo $?) "an unknown name: exit 1"
nib run -p x
ok $([ $rc = 2 ] && one_line_error && grep -q 'model is required.*shows 4' "$TMP/err"; echo $?) "no -m while models exist: exit 2"
mkdir -p "$TMP/config/nibble"
printf '# defaults\nmodel = stories\ntemp = 0\n\nctx = 256\n' >"$TMP/config/nibble/config"
nib run -p "Once upon a time" -n 8 -v
ok $([ $rc = 0 ] && [ "$out" = "$by_name" ] && grep -q 'context 256' "$TMP/err"; echo $?) "the config file supplies model, sampling and context"
nib run -p "Once upon a time" -n 8 -c 300 -v
ok $([ $rc = 0 ] && grep -q 'context 300' "$TMP/err"; echo $?) "the command line overrides the config"
printf 'temp = hot\n' >"$TMP/config/nibble/config"
nib run -m stories -p x
ok $([ $rc = 2 ] && one_line_error && grep -q 'config/nibble/config:1: temp' "$TMP/err"; echo $?) "a bad config value: exit 2, names file and line"
printf 'colour = blue\n' >"$TMP/config/nibble/config"
nib run -m stories -p x
ok $([ $rc = 2 ] && one_line_error && grep -q ':1: colour' "$TMP/err"; echo $?) "a bad choice in the config: exit 2"
printf 'modle = x\n' >"$TMP/config/nibble/config"
nib run -m stories -p x
ok $([ $rc = 2 ] && one_line_error && grep -q 'unknown key' "$TMP/err"; echo $?) "an unknown config key: exit 2"
rm -f "$TMP/config/nibble/config"

tap_done
