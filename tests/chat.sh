#!/bin/sh
# chat.sh - `nibble chat` end to end: one-shot answers for scripts, the REPL
# driven through a pipe, and the interactive REPL in a real terminal (tmux).
. "$(dirname "$0")/tap.sh"
need_fixtures
M=$DATA/models
STORIES=$M/stories260K.gguf
export HOME="$TMP/home" XDG_STATE_HOME="$TMP/state" XDG_CONFIG_HOME="$TMP/config"

# ---- one-shot --------------------------------------------------------------
nib chat -m "$STORIES" -p "Hello there" --temp 0 -n 12
first=$out
ok $([ $rc = 0 ] && [ -n "$out" ] && [ "$(printf '%s\n' "$out" | wc -l)" -le 2 ]; echo $?) "chat -p prints only the reply"
printf 'Hello there\n' | "$NIBBLE" chat -m "$STORIES" --temp 0 -n 12 >"$TMP/out" 2>"$TMP/err"
ok $([ $? = 0 ] && [ "$(cat "$TMP/out")" = "$first" ]; echo $?) "a question piped on stdin gets the same reply"
nib chat -m "$STORIES" -p "Hello there" --temp 0 -n 12 -v
ok $([ $rc = 0 ] && grep -q 'chat format: built-in plain' "$TMP/err" && grep -q 'tok/s' "$TMP/err"; echo $?) "-v names the chat format and the speed"
nib chat -m "$STORIES" -p "Once upon a time" --temp 0 -n 40 --stop "e"
ok $([ $rc = 0 ] && ! printf '%s' "$out" | grep -q 'e'; echo $?) "--stop ends the reply before the stop text"
nib chat -m "$STORIES" -p "Hi" --temp 0 -n 5 --chat-template chatml -v
ok $([ $rc = 0 ] && grep -q 'built-in chatml (--chat-template)' "$TMP/err"; echo $?) "--chat-template NAME picks a built-in format"
nib chat -m "$STORIES" -p "Hi" --chat-template "$TMP/none.jinja"
ok $([ $rc = 1 ] && one_line_error && grep -q 'neither a format' "$TMP/err"; echo $?) "--chat-template with a bad name: exit 1"
nib chat -m "$STORIES" -p "Hi" --temp -1
ok $([ $rc = 2 ] && one_line_error; echo $?) "a bad sampling value: exit 2"
nib chat -p "Hi"
ok $([ $rc = 2 ] && one_line_error; echo $?) "no model: exit 2"
nib chat -m "$STORIES" -p "Hi" --system "a" --system-file "$TMP/x"
ok $([ $rc = 2 ] && one_line_error; echo $?) "--system and --system-file together: exit 2"
nib chat -m "$STORIES" -p "$(head -c 9000 /dev/zero | tr '\0' 'a')" -c 64
ok $([ $rc = 1 ] && one_line_error && grep -q 'too long' "$TMP/err"; echo $?) "a question larger than the context: exit 1"

# ---- nibble template and the model's own template ------------------------------
printf '[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi \\"you\\""}]' >"$TMP/msgs.json"
printf '{{ bos_token }}{%% for m in messages %%}[{{ m.role }}]{{ m.content }}{{ eos_token }}{%% endfor %%}{%% if add_generation_prompt %%}[assistant]{%% endif %%}' >"$TMP/t.jinja"
"$NIBBLE" template --template-file "$TMP/t.jinja" --messages "$TMP/msgs.json" --bos-token '<s>' --eos-token '</s>' >"$TMP/out"
ok $([ $? = 0 ] && [ "$(cat "$TMP/out"; echo x)" = '<s>[system]Be brief.</s>[user]Hi "you"</s>[assistant]x' ]; echo $?) \
	"template renders a template file exactly, with no newline added"
"$NIBBLE" template --template-file "$TMP/t.jinja" --messages - --no-generation-prompt <"$TMP/msgs.json" >"$TMP/out"
ok $([ "$(cat "$TMP/out")" = '[system]Be brief.[user]Hi "you"' ]; echo $?) "--no-generation-prompt, messages from stdin"
nib template -m "$DATA/vocab/ggml-vocab-qwen2.gguf" --messages "$TMP/msgs.json"
ok $([ $rc = 0 ] && [ "$(printf '%s' "$out" | head -1)" = '<|im_start|>system' ] && printf '%s' "$out" | tail -1 | grep -qx '<|im_start|>assistant'; echo $?) \
	"template -m renders the model's own template"
printf '{{ raise_exception("no system role here") }}' >"$TMP/raise.jinja"
nib template --template-file "$TMP/raise.jinja" --messages "$TMP/msgs.json"
ok $([ $rc = 1 ] && one_line_error && grep -q 'no system role here' "$TMP/err"; echo $?) "a template that raises: exit 1 with its message"
nib template -m "$STORIES" --messages "$TMP/msgs.json"
ok $([ $rc = 1 ] && one_line_error && grep -q 'no chat template' "$TMP/err"; echo $?) "a model without a template: exit 1"
nib template --messages "$TMP/msgs.json"
ok $([ $rc = 2 ] && one_line_error; echo $?) "template without -m or --template-file: exit 2"
printf '{"role": "user"}' >"$TMP/bad.json"
nib template --template-file "$TMP/t.jinja" --messages "$TMP/bad.json"
ok $([ $rc = 1 ] && one_line_error && grep -q 'list of messages' "$TMP/err"; echo $?) "messages that are not a list: exit 1"

"$NIBBLE_BUILDDIR/tests/mkmodel" "$DATA/vocab/ggml-vocab-llama-bpe.gguf" "$TMP/llama3.gguf"
nib chat -m "$TMP/llama3.gguf" -p "Hello" -n 6 --seed 3 -v
ok $([ $rc = 0 ] && grep -q "chat format: the model's template" "$TMP/err"; echo $?) "chat uses a Llama 3 model's own template"
printf '{%% for m in messages %%}{%% if m.role == "system" %%}{{ raise_exception("System role not supported") }}{%% endif %%}<{{ m.role }}>{{ m.content }}{%% endfor %%}<assistant>' >"$TMP/nosys.jinja"
nib chat -m "$TMP/llama3.gguf" -p "Hello" --system "Be brief." -n 4 --chat-template "$TMP/nosys.jinja"
ok $([ $rc = 0 ] && grep -q 'refuses a system prompt' "$TMP/err"; echo $?) "a template that refuses a system prompt gets it folded in, and says so"
nib chat -m "$TMP/llama3.gguf" -p "Hello" -n 4 --chat-template "$TMP/raise.jinja"
ok $([ $rc = 0 ] && grep -q 'template failed (no system role here); using the built-in llama3 format' "$TMP/err"; echo $?) \
	"a failing template falls back to the family's built-in format, and says so"

# ---- the REPL through a pipe -------------------------------------------------
cat >"$TMP/session.txt" <<IN
Hello there
/stats
/set temp 0.7
/set nonsense 3
"""
first line
second line
"""
/save $TMP/conv.json
/save $TMP/no/such/dir/conv.json
/system Be kind.
/system
/clear
/load $TMP/conv.json
/bogus
/quit
never sent
IN
"$NIBBLE" chat -m "$STORIES" --plain --temp 0 -n 8 <"$TMP/session.txt" >"$TMP/out" 2>"$TMP/err"
rc=$?
out=$(cat "$TMP/out")
ok $([ $rc = 0 ]; echo $?) "the REPL runs a scripted session to /quit"
ok $(echo "$out" | grep -q '^context: [0-9]* of 2048 tokens used'; echo $?) "/stats reports the context"
ok $(echo "$out" | grep -q '^temp 0.7, ' && echo "$out" | grep -q "unknown setting 'nonsense'"; echo $?) "/set changes a setting and refuses unknown ones"
ok $([ -f "$TMP/conv.json" ] && grep -q '"content": "first line\\nsecond line"' "$TMP/conv.json"; echo $?) "a \"\"\" block is one message, saved by /save"
ok $(echo "$out" | grep -q '^save failed: cannot create' ; echo $?) "a failed /save says why and the REPL goes on"
ok $(echo "$out" | grep -q '^system prompt: Be kind.$'; echo $?) "/system sets and shows the system prompt"
ok $(echo "$out" | grep -q "^loaded '.*conv.json' (4 messages)$"; echo $?) "/load restores the saved conversation"
ok $(echo "$out" | grep -q "unknown command '/bogus'" && ! echo "$out" | grep -q 'never sent'; echo $?) "unknown commands are reported; /quit ends the session"

# ---- the line-mode REPL in a real terminal (--plain) ---------------------
if ! command -v tmux >/dev/null 2>&1; then
	echo "ok $((tap_n + 1)) # SKIP tmux is not installed"
	tap_n=$((tap_n + 1))
	tap_done
	exit $?
fi
term_start chat 100 40 \
	"XDG_STATE_HOME='$TMP/state' '$NIBBLE' chat --plain -m '$M/llama-2-tiny-random.gguf' -c 16384 --temp 0; echo NIBBLE-EXITED \$?; sleep 30"
ok $(wait_for chat 'chatting with'; echo $?) "the line-mode REPL starts in a terminal"
keys chat 'half a line' C-c
sleep 0.5
keys chat '/help' Enter
ok $(wait_for chat '/clear  '; echo $?) "Ctrl-C at the prompt drops the line; the REPL goes on"
keys chat 'Tell me everything' Enter
sleep 1
keys chat C-c
ok $(wait_for chat 'reply stopped'; echo $?) "Ctrl-C stops a reply"
keys chat '/stats' Enter
ok $(wait_for chat 'last reply: [0-9]* tokens'; echo $?) "the REPL answers after a stopped reply"
keys chat C-d
ok $(wait_for chat 'NIBBLE-EXITED 0'; echo $?) "Ctrl-D leaves with status 0"
ok $(grep -q 'Tell me everything' "$TMP/state/nibble/history"; echo $?) "input history is saved"
term_stop
tap_done
