#!/bin/sh
# tui.sh - the full-screen chat in a real terminal (tmux): streaming into
# the transcript, the status bar, Ctrl-C, resize, commands, UTF-8 widths,
# colour rules, small terminals and quitting.
. "$(dirname "$0")/tap.sh"
need_fixtures
if ! command -v tmux >/dev/null 2>&1; then
	echo "1..0 # SKIP tmux is not installed"
	exit 77
fi
M=$DATA/models
STORIES=$M/stories260K.gguf
export HOME="$TMP/home" XDG_STATE_HOME="$TMP/state" XDG_CONFIG_HOME="$TMP/config"
run_in_term() { # NAME WIDTH HEIGHT ENV... -- ARGS: nibble chat in a terminal of that size
	name=$1 w=$2 h=$3
	shift 3
	envs=
	while [ "$1" != "--" ]; do
		envs="$envs $1"
		shift
	done
	shift
	term_start "$name" "$w" "$h" "env LANG=C.UTF-8 $envs '$NIBBLE' chat $*; echo NIBBLE-EXITED \$?; sleep 60"
}
cjk=$(printf '\346\227\245%.0s' $(seq 1 60)) # 日 x 60

# ---- a conversation --------------------------------------------------------
run_in_term main 100 30 -- -m "'$STORIES'" --temp 0 -n 60
ok $(wait_for main 'llama F32 .*CPU' && wait_for main '^>'; echo $?) "the status bar names the model, quant type and backend"
wait_for main 'tok/s' >/dev/null
keys main 'Once upon a time' Enter
ok $(wait_for main '^  Anna, Anna'; echo $?) "a prompt streams story text into the transcript"
ok $(wait_for main 'gen [1-9][0-9.]* tok/s' && screen main | grep -q 'ctx [1-9][0-9]*/2048'; echo $?) \
	"the status bar shows the context used and the reply's speed"
ok $(screen main | grep -q 'RSS [1-9][0-9.]* MiB'; echo $?) "the status bar shows the resident memory"
ok $(screen main | grep -q '^You$' && screen main | grep -q '^Assistant$'; echo $?) "user and assistant are labelled"
idle() { # NAME: the reply is done
	sleep 0.3
	i=0
	while screen "$1" | grep -q 'writing' && [ $i -lt 100 ]; do
		sleep 0.2
		i=$((i + 1))
	done
}
idle main
keys main "$cjk x" Enter
idle main
ok $(wait_for main "^  $(printf '\346\227\245%.0s' $(seq 1 49))\$"; echo $?) "wide characters take two cells: 49 of them fill a 98-cell row"
keys main "/save $TMP/saved.json" Enter
wait_for main 'saved to' >/dev/null
printf '{{ messages | length }}' >"$TMP/count.jinja"
ok $([ "$("$NIBBLE" template --template-file "$TMP/count.jinja" --messages "$TMP/saved.json" 2>/dev/null)" = 4 ]; echo $?) \
	"/save writes a valid JSON conversation"
$TMUX_CMD resize-window -t main -x 40 -y 12
sleep 0.5
ok $(wait_for main '^  saved to$'; echo $?) "at 40x12 the transcript is wrapped again"
$TMUX_CMD resize-window -t main -x 15 -y 4
ok $(wait_for main 'terminal too'; echo $?) "a tiny terminal shows a notice"
$TMUX_CMD resize-window -t main -x 100 -y 30
keys main '/stats' Enter
ok $(wait_for main 'context: [0-9]+ of 2048 tokens used' && screen main | grep -q 'last prompt:'; echo $?) \
	"after resizing back the chat goes on"
keys main '/clear' Enter
ok $(wait_for main 'conversation cleared' && ! screen main | grep -q '^You$'; echo $?) "/clear empties the transcript"
keys main '/help' Enter
ok $(wait_for main '/save FILE' && screen main | grep -q 'PgUp'; echo $?) "/help lists the commands and keys in the UI"
keys main C-c
ok $(wait_for main 'press Ctrl-C again or Ctrl-D to quit'; echo $?) "Ctrl-C at an idle prompt asks before quitting"
keys main C-c
ok $(wait_for main 'NIBBLE-EXITED 0'; echo $?) "a second Ctrl-C quits with status 0 and the shell gets its terminal back"
ok $(ls "$TMP/state/nibble/sessions/"*.json >/dev/null 2>&1; echo $?) "the conversation was saved on its own"

# ---- stopping a reply --------------------------------------------------------
# Greedy decoding of this random model never reaches EOS in 16384 tokens, so
# a reply lasts until it is stopped.
run_in_term stop 100 30 -- -m "'$M/llama-2-tiny-random.gguf'" -c 16384 --temp 0
wait_for stop 'tok/s' >/dev/null
keys stop 'Tell me everything' Enter
sleep 1
keys stop C-c
ok $(wait_for stop '^  \[stopped\]' && wait_for stop 'prompt [0-9.]+ tok/s'; echo $?) "Ctrl-C stops a reply, which stays, marked"
keys stop 'And then?' Enter
ok $(wait_for stop 'writing' && [ "$(screen stop | grep -c '^Assistant')" -ge 1 ]; echo $?) "the next prompt is answered"
sleep 0.5
keys stop Escape
# the first reply's mark is on the screen already: wait for the writing to end
i=0
while screen stop | grep -q 'writing' && [ $i -lt 100 ]; do
	sleep 0.2
	i=$((i + 1))
done
ok $(! screen stop | grep -q 'writing' && screen stop | grep -q '^  \[stopped\]'; echo $?) "Esc stops a reply too"
keys stop PPage
ok $(wait_for stop 'scrolled|more below'; echo $?) "PgUp scrolls back and says so"
keys stop End C-d
ok $(wait_for stop 'NIBBLE-EXITED 0'; echo $?) "Ctrl-D on an empty line quits"

# ---- colour rules and terminals -----------------------------------------------
run_in_term colour 80 20 -- -m "'$STORIES'" --temp 0 -n 10
wait_for colour 'tok/s' >/dev/null
keys colour 'Hi' Enter
wait_for colour '^Assistant' >/dev/null
ok $(screen_escapes colour | grep -q "$(printf '\033')\[3[0-7]m"; echo $?) "labels are coloured"
run_in_term plain 80 20 NO_COLOR=1 -- -m "'$STORIES'" --temp 0 -n 10
wait_for plain 'tok/s' >/dev/null
keys plain 'Hi' Enter
wait_for plain '^Assistant' >/dev/null
ok $(! screen_escapes plain | grep -q "$(printf '\033')\[[0-9;]*3[0-7]m\|38;5;"; echo $?) "NO_COLOR gives no colour escapes"
run_in_term vt 80 20 TERM=vt100 -- -m "'$STORIES'" --temp 0 -n 10
wait_for vt 'tok/s' >/dev/null
keys vt 'Hi' Enter
ok $(wait_for vt '^Assistant' && ! screen_escapes vt | grep -q "$(printf '\033')\[3[0-7]m"; echo $?) "a vt100 works, without colour"
run_in_term c 80 20 LANG=C LC_ALL=C -- -m "'$STORIES'" --temp 0 -n 10
wait_for c 'tok/s' >/dev/null
keys c "caf$(printf '\303\251') $(printf '\346\227\245')!" Enter
ok $(wait_for c '^  caf\? \?!$'; echo $?) "in the C locale non-ASCII shows as '?'"
run_in_term ahead 80 20 -- -m "'$STORIES'" --temp 0 -n 10
keys ahead 'Once upon a time' Enter
ok $(wait_for ahead '^  Anna'; echo $?) "a message typed before the screen opened is sent"
unsupported_model "$TMP/iq2.gguf"
run_in_term bad 80 20 -- -m "'$TMP/iq2.gguf'"
ok $(wait_for bad 'IQ2_XXS' && wait_for bad 'no model loaded'; echo $?) "a model that cannot load shows its error in the UI"
keys bad C-d
ok $(wait_for bad 'NIBBLE-EXITED 1'; echo $?) "and the user can quit"
term_stop
tap_done
