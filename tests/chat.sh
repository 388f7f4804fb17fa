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

# ---- the interactive REPL in a real terminal ------------------------------
if ! command -v tmux >/dev/null 2>&1; then
	echo "ok $((tap_n + 1)) # SKIP tmux is not installed"
	tap_n=$((tap_n + 1))
	tap_done
	exit $?
fi
T="tmux -L nibble-test-$$"
screen() { $T capture-pane -p -t chat; }
# wait_for PATTERN: up to 20 s for the screen to show it
wait_for() {
	i=0
	while [ $i -lt 100 ]; do
		screen | grep -q -- "$1" && return 0
		sleep 0.2
		i=$((i + 1))
	done
	screen | sed 's/^/# /'
	return 1
}
$T new-session -d -s chat -x 100 -y 40 \
	"XDG_STATE_HOME='$TMP/state' '$NIBBLE' chat -m '$M/llama-2-tiny-random.gguf' -c 16384 --temp 1; echo NIBBLE-EXITED \$?; sleep 30"
ok $(wait_for 'chatting with'; echo $?) "the REPL starts in a terminal"
$T send-keys -t chat 'half a line' C-c
sleep 0.5
$T send-keys -t chat '/help' Enter
ok $(wait_for '/clear  '; echo $?) "Ctrl-C at the prompt drops the line; the REPL goes on"
$T send-keys -t chat 'Tell me everything' Enter
sleep 1
$T send-keys -t chat C-c
ok $(wait_for 'reply stopped'; echo $?) "Ctrl-C stops a reply"
$T send-keys -t chat '/stats' Enter
ok $(wait_for 'last reply: [0-9]* tokens'; echo $?) "the REPL answers after a stopped reply"
$T send-keys -t chat C-d
ok $(wait_for 'NIBBLE-EXITED 0'; echo $?) "Ctrl-D leaves with status 0"
ok $(grep -q 'Tell me everything' "$TMP/state/nibble/history"; echo $?) "input history is saved"
$T kill-server 2>/dev/null
tap_done
