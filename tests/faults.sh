#!/bin/sh
# faults.sh - nibble under faults: full disks, unwritable folders, signals in
# the middle of a reply, a reader that goes away, the model file deleted,
# replaced or cut short while it runs, and model text full of terminal escape sequences.
. "$(dirname "$0")/tap.sh"
need_fixtures
M=$DATA/models
STORIES=$M/stories260K.gguf
export HOME="$TMP/home" XDG_STATE_HOME="$TMP/state" XDG_CONFIG_HOME="$TMP/config"
MOUNTS=
trap 'term_stop; for m in $MOUNTS; do umount "$m" 2>/dev/null; done; chmod -R u+w "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
root=false
[ "$(id -u)" = 0 ] && root=true

# tiny_fs DIR SIZE: a tmpfs of SIZE on DIR (needs root and mount rights)
tiny_fs() {
	mkdir -p "$1" && $root && mount -t tmpfs -o "size=$2" tmpfs "$1" 2>/dev/null && MOUNTS="$1 $MOUNTS"
}
# read_only DIR: DIR and its files can no longer be written, by chmod (root
# ignores it) or a read-only bind mount
read_only() {
	if ! $root; then
		chmod -R a-w "$1"
		return
	fi
	mount --bind "$1" "$1" 2>/dev/null || return 1
	MOUNTS="$1 $MOUNTS"
	mount -o remount,bind,ro "$1" 2>/dev/null
}
skip() { # DESCRIPTION REASON
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1 # SKIP $2"
}
session() { # FILE: the roles and content lengths of a saved conversation, one per line
	tr -d '\n' <"$1" | sed 's/}, *{/}\n{/g' | sed -n 's/.*"role": *"\([a-z]*\)", *"content": *"\(.*\)".*/\1 \2/p' |
		awk '{ print $1, length($0) - length($1) - 1 }'
}

# ---- saving to a full disk or an unwritable folder -----------------------------
printf 'Hello\n/save /dev/full\n' | "$NIBBLE" chat -m "$STORIES" --plain --temp 0 -n 4 >"$TMP/out" 2>"$TMP/err"
ok $([ $? = 0 ] && grep -q "^save failed: cannot write '/dev/full': No space left on device" "$TMP/out" && [ -c /dev/full ]; echo $?) \
	"/save to /dev/full reports the error, and the device stays a device"
nib logits -m "$STORIES" -p Hi -o /dev/full
ok $([ $rc = 1 ] && one_line_error && grep -q 'No space left' "$TMP/err" && [ -c /dev/full ]; echo $?) \
	"logits -o /dev/full: exit 1 with one line"
"$NIBBLE" logits -m "$STORIES" -p Hi -o /dev/stdout >"$TMP/logits" 2>"$TMP/err"
ok $([ $? = 0 ] && [ "$(wc -c <"$TMP/logits")" = 2048 ]; echo $?) "logits -o /dev/stdout writes through the device"
nib quantize "$STORIES" /dev/null Q8_0
ok $([ $rc = 1 ] && one_line_error && grep -q 'not a regular file' "$TMP/err" && [ -c /dev/null ]; echo $?) \
	"quantize to /dev/null is refused, and /dev/null stays a device"

mkdir -p "$TMP/links"
printf 'old\n' >"$TMP/links/real.json"
chmod 600 "$TMP/links/real.json"
ln -s real.json "$TMP/links/link.json"
printf 'Hello\n/save %s\n' "$TMP/links/link.json" | "$NIBBLE" chat -m "$STORIES" --plain --temp 0 -n 4 >"$TMP/out" 2>&1
ok $([ -L "$TMP/links/link.json" ] && grep -q '"role": "user"' "$TMP/links/real.json" &&
	[ "$(stat -c %a "$TMP/links/real.json")" = 600 ]; echo $?) \
	"/save through a symbolic link replaces its target, which keeps its permissions"

# A write that fails half-way leaves the old file: a full tmpfs (root), and
# everywhere a file size limit (SIGXFSZ ignored, so write() fails with EFBIG).
old='{"the old": "conversation"}'
save_over() { # DIR [LIMIT]: /save a long conversation over DIR/conv.json, files limited to LIMIT blocks
	printf 'Once upon a time\n/save %s/conv.json\n' "$1" |
		(trap '' XFSZ; [ -z "${2-}" ] || ulimit -f "$2"; exec "$NIBBLE" chat -m "$STORIES" --plain --temp 0 -n 800 2>&1) |
		cat >"$TMP/out"
}
intact() { # DIR: the old file is there as it was, and no temporary file
	[ "$(cat "$1/conv.json")" = "$old" ] && [ "$(ls "$1" | grep -c tmp)" = 0 ]
}
if tiny_fs "$TMP/full" 16k; then
	printf '%s\n' "$old" >"$TMP/full/conv.json"
	dd if=/dev/zero of="$TMP/full/filler" bs=1k count=64 2>/dev/null
	save_over "$TMP/full"
	ok $(grep -q "^save failed: cannot write '.*conv.json': No space left on device" "$TMP/out" &&
		intact "$TMP/full"; echo $?) "/save to a full disk says so and leaves the previous file intact"
else
	skip "/save to a full disk leaves the previous file intact" "cannot mount a tmpfs here (needs root)"
fi
mkdir -p "$TMP/limit"
printf '%s\n' "$old" >"$TMP/limit/conv.json"
save_over "$TMP/limit" 1
ok $(grep -q "^save failed: cannot write '.*conv.json': File too large" "$TMP/out" && intact "$TMP/limit"; echo $?) \
	"/save that fails half-way (file size limit) leaves the previous file intact"
cp "$TMP/logits" "$TMP/limit/old.f32"
(trap '' XFSZ; ulimit -f 2; "$NIBBLE" logits -m "$M/llama-2-tiny-random.gguf" -p Hi -o "$TMP/limit/old.f32" 2>"$TMP/err")
ok $([ $? = 1 ] && one_line_error && cmp -s "$TMP/logits" "$TMP/limit/old.f32"; echo $?) \
	"logits -o that fails half-way: exit 1, the previous file intact"

mkdir -p "$TMP/ro"
printf '%s\n' "$old" >"$TMP/ro/conv.json"
if read_only "$TMP/ro"; then
	save_over "$TMP/ro"
	ok $(grep -q "^save failed: cannot create a file next to '.*conv.json'" "$TMP/out" && intact "$TMP/ro"; echo $?) \
		"/save into a read-only folder says so and leaves the previous file intact"
else
	skip "/save into a read-only folder" "cannot make a read-only folder (root without mount rights)"
fi

# ---- an unwritable state folder: one warning, the chat goes on -------------------
mkdir -p "$TMP/rostate/nibble"
if read_only "$TMP/rostate"; then
	printf 'Hello\nAgain\n' | XDG_STATE_HOME="$TMP/rostate" "$NIBBLE" chat -m "$STORIES" --plain --temp 0 -n 4 \
		>"$TMP/out" 2>"$TMP/err"
	ok $([ $? = 0 ] && one_line_error && grep -q 'will not be saved' "$TMP/err" && [ "$(grep -c . "$TMP/out")" = 2 ]; echo $?) \
		"line mode: an unwritable state folder gives one warning and both questions are answered"
	state_ro=true
else
	skip "line mode: an unwritable state folder gives one warning" "cannot make a read-only folder (root without mount rights)"
	state_ro=false
fi

# ---- a reader that goes away -------------------------------------------------------
for mode in default ignored; do
	for cmd in chat run; do
		if [ $mode = ignored ]; then
			(trap '' PIPE; "$NIBBLE" $cmd -m "$STORIES" -p 'Once upon a time' -n 400 2>"$TMP/err"; echo $? >"$TMP/rc") | head -c 10 >/dev/null
		else
			("$NIBBLE" $cmd -m "$STORIES" -p 'Once upon a time' -n 400 2>"$TMP/err"; echo $? >"$TMP/rc") | head -c 10 >/dev/null
		fi
		rc=$(cat "$TMP/rc")
		ok $([ "$rc" = 0 ] || [ "$rc" = 141 ]; [ $? = 0 ] && [ ! -s "$TMP/err" ]; echo $?) \
			"$cmd -p | head -c 10 (SIGPIPE $mode): quiet, status $rc"
	done
done

# ---- the model file deleted or replaced while a chat runs --------------------------
cp "$STORIES" "$TMP/model.gguf"
mkfifo "$TMP/in"
"$NIBBLE" chat -m "$TMP/model.gguf" --plain --temp 0 -n 6 <"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
pid=$!
exec 3>"$TMP/in"
replies() { # N: wait up to 10 s for N lines of replies
	i=0
	while [ "$(grep -c . "$TMP/out")" -lt "$1" ] && [ $i -lt 50 ]; do
		sleep 0.2
		i=$((i + 1))
	done
}
echo 'Hello' >&3
replies 1
head -c 4096 "$M/tiny256-Q4_0.gguf" >"$TMP/new.gguf"
mv "$TMP/new.gguf" "$TMP/model.gguf"
echo 'Once upon a time' >&3
replies 2
rm "$TMP/model.gguf"
echo 'Hello again' >&3
replies 3
exec 3>&-
wait $pid
ok $([ $? = 0 ] && [ "$(grep -c . "$TMP/out")" = 3 ] && [ ! -s "$TMP/err" ]; echo $?) \
	"a chat goes on answering after its model file is replaced (renamed over) and then deleted"

# ---- model text with escape sequences --------------------------------------------
# A copy of stories260K whose token 376 ("_little", 9 bytes, in the greedy
# reply to "Hello") reads ESC [2J, a C1 CSI (U+009B) and BEL instead.
cp "$STORIES" "$TMP/esc.gguf"
chmod u+w "$TMP/esc.gguf"
at=$(LC_ALL=C grep -obUaP '\x09\x00{7}\xe2\x96\x81little' "$TMP/esc.gguf" | head -n 1 | cut -d: -f1)
printf '\033[2J\302\2331m\007' | dd of="$TMP/esc.gguf" bs=1 seek=$((at + 8)) conv=notrunc 2>/dev/null
"$NIBBLE" chat -m "$TMP/esc.gguf" -p Hello --temp 0 -n 12 >"$TMP/out"
ok $([ $? = 0 ] && grep -q "a$(printf '\033')\[2J$(printf '\302\233')1m$(printf '\007') b" "$TMP/out"; echo $?) \
	"into a pipe, chat -p keeps the model's bytes exactly (ESC included)"

if ! command -v tmux >/dev/null 2>&1; then
	skip "terminal tests" "tmux is not installed"
	tap_done
	exit $?
fi
shown='a\^\[\[2J\?\?1m\^G b'
term_start esc 100 20 "printf 'TOP\n'; '$NIBBLE' chat -m '$TMP/esc.gguf' -p Hello --temp 0 -n 12; printf 'Hello\n/quit\n' | '$NIBBLE' chat --plain -m '$TMP/esc.gguf' --temp 0 -n 12 >/dev/tty; echo DONE; sleep 30"
ok $(wait_for esc DONE && [ "$(screen esc | grep -Ec "$shown")" = 2 ] && screen esc | grep -q '^TOP$'; echo $?) \
	"on a terminal, chat -p and the line mode show ESC, C1 and BEL as ^[, ?? and ^G (the screen is not cleared)"
term_start tui 100 20 "env LANG=C.UTF-8 '$NIBBLE' chat -m '$TMP/esc.gguf' --temp 0 -n 12; echo NIBBLE-EXITED \$?; sleep 30"
wait_for tui 'tok/s' >/dev/null
keys tui Hello Enter
ok $(wait_for tui "^  Anna, I am $shown" && screen tui | grep -q '^You$'; echo $?) \
	"the chat screen shows the model's escape sequence as ^[[2J??1m^G and keeps the transcript"
printf '[{"role": "user", "content": "evil \\u001b]0;title\\u0007 \\u009b31m and \\r\\b"}]\n' >"$TMP/evil.json"
keys tui "/load $TMP/evil.json" Enter
ok $(wait_for tui '^  evil \^\[\]0;title\^G \?\?31m and \^M\^H$'; echo $?) "a loaded user message shows its controls too"
keys tui C-d
wait_for tui NIBBLE-EXITED >/dev/null

# ---- SIGTERM and SIGHUP in the middle of a reply -------------------------------------
# The random model never ends its reply, so a signal always lands inside one.
# The terminal must be sane afterwards: stty shows icanon and echo again.
sane='STTY icanon echo$'
stty="echo STTY \$(stty -a | grep -o -- '-\\?icanon\\|-\\?echo\\b')"
for mode in screen plain; do
	for sig in TERM HUP; do
		name=$mode$sig
		opt=
		[ $mode = plain ] && opt=--plain
		cat >"$TMP/$name.sh" <<EOF
echo \$\$ >"$TMP/$name.pid"
exec env LANG=C.UTF-8 XDG_STATE_HOME="$TMP/$name" "$NIBBLE" chat $opt -m "$M/llama-2-tiny-random.gguf" -c 16384 --temp 0
EOF
		term_start "$name" 100 30 "sh '$TMP/$name.sh'; echo NIBBLE-EXITED \$?; $stty; sleep 30"
		if [ $mode = plain ]; then wait_for "$name" 'chatting with' >/dev/null; else wait_for "$name" 'tok/s' >/dev/null; fi
		keys "$name" 'Tell me everything' Enter
		sleep 1.5
		kill -$sig "$(cat "$TMP/$name.pid")"
		ok $(wait_for "$name" 'NIBBLE-EXITED 0' && wait_for "$name" "$sane" &&
			saved=$(ls "$TMP/$name/nibble/sessions/"*.json 2>/dev/null | head -n 1) && [ -n "$saved" ] &&
			session "$saved" | grep -qx 'user 18' && session "$saved" | grep -q '^assistant [1-9][0-9]*$'; echo $?) \
			"$mode: SIG$sig mid-reply saves both turns and gives the terminal back"
	done
done
# Cut short in place (not renamed over), the file loses the pages nibble
# has mapped: reading the weights raises SIGBUS, which must end the chat
# with a message and status 1 and give the terminal back, not crash.
for mode in screen plain; do
	name=cut$mode
	opt=
	[ $mode = plain ] && opt=--plain
	cp "$STORIES" "$TMP/$name.gguf"
	chmod u+w "$TMP/$name.gguf"
	term_start "$name" 100 30 "env LANG=C.UTF-8 XDG_STATE_HOME='$TMP/$name' '$NIBBLE' chat $opt -m '$TMP/$name.gguf' --temp 0 -n 6; echo NIBBLE-EXITED \$?; $stty; sleep 30"
	if [ $mode = plain ]; then wait_for "$name" 'chatting with' >/dev/null; else wait_for "$name" 'tok/s' >/dev/null; fi
	keys "$name" 'Hello' Enter
	sleep 1
	: >"$TMP/$name.gguf"
	keys "$name" 'Once upon a time' Enter
	ok $(wait_for "$name" 'NIBBLE-EXITED 1' && wait_for "$name" 'nibble: the model file was changed or cut short on disk' &&
		wait_for "$name" "$sane"; echo $?) "$mode: a model file cut short on disk ends the chat with a message"
done
# At the line-mode prompt, readline holds the terminal: SIGTERM must give it back.
cat >"$TMP/prompt.sh" <<EOF
echo \$\$ >"$TMP/prompt.pid"
exec "$NIBBLE" chat --plain -m "$STORIES" --temp 0 -n 4
EOF
term_start prompt 100 30 "sh '$TMP/prompt.sh'; echo NIBBLE-EXITED \$?; $stty; sleep 30"
wait_for prompt 'chatting with' >/dev/null
keys prompt 'Hello' Enter
sleep 1
keys prompt 'half typed'
sleep 0.3
kill -TERM "$(cat "$TMP/prompt.pid")"
ok $(wait_for prompt 'NIBBLE-EXITED 0' && wait_for prompt "$sane" && grep -qx 'Hello' "$TMP/state/nibble/history"; echo $?) \
	"plain: SIGTERM at the prompt saves the history and gives the terminal back"

if $state_ro; then
	term_start rostate 200 20 "env LANG=C.UTF-8 XDG_STATE_HOME='$TMP/rostate' '$NIBBLE' chat -m '$STORIES' --temp 0 -n 4; echo NIBBLE-EXITED \$?; sleep 30"
	wait_for rostate 'tok/s' >/dev/null
	keys rostate Hello Enter
	sleep 0.5
	keys rostate Again Enter
	ok $(wait_for rostate 'will not be saved' && wait_for rostate '^  Again' && sleep 0.5 &&
		[ "$(screen rostate | grep -c '^Assistant')" = 2 ] && [ "$(screen rostate | grep -c 'saved')" = 1 ]; echo $?) \
		"the chat screen: an unwritable state folder gives one notice and the chat goes on"
	keys rostate C-d
	ok $(wait_for rostate 'NIBBLE-EXITED 0'; echo $?) "and it quits cleanly"
else
	skip "the chat screen: an unwritable state folder" "cannot make a read-only folder (root without mount rights)"
fi
term_stop
tap_done
