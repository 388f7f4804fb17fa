#!/bin/sh
# soak.sh - 200 chat turns in one line-mode session on stories260K with a
# 64-token context, so that the oldest turns are dropped over and over: no
# error, and nibble's resident memory stays flat (growth under 5 MiB from
# turn 20 to turn 200).  On the CPU, and on Vulkan when a device is there.
. "$(dirname "$0")/tap.sh"
need_fixtures
STORIES=$DATA/models/stories260K.gguf
export HOME="$TMP/home" XDG_CONFIG_HOME="$TMP/config" XDG_STATE_HOME="$TMP/state" XDG_CACHE_HOME="$TMP/cache"

turns=200
i=1
while [ $i -le $turns ]; do
	echo "Tell me about the cat number $i."
	[ $i = 20 ] || [ $i = $turns ] && echo "/stats"
	i=$((i + 1))
done >"$TMP/in"

# resident KiB from the Nth "resident:" line of /stats
resident_kib() {
	sed -n 's/^resident: \([0-9.]*\) \([KMG]\)iB .*/\1 \2/p' "$TMP/out" | sed -n "${1}p" |
		awk '{ f = $2 == "K" ? 1 : $2 == "M" ? 1024 : 1048576; printf "%d\n", $1 * f }'
}

soak() { # backend
	nib chat --plain -m "$STORIES" -c 64 -n 12 -s 7 --backend "$1" <"$TMP/in"
	first=$(resident_kib 1)
	last=$(resident_kib 2)
	dropped=$(grep -c 'the context was full' "$TMP/err")
	others=$(grep -vc 'the context was full' "$TMP/err")
	ok $([ $rc = 0 ] && [ "$others" = 0 ]; echo $?) "$1: $turns turns without an error"
	ok $([ "$dropped" -ge 20 ]; echo $?) "$1: the context policy dropped old turns $dropped times"
	ok $([ -n "$first" ] && [ -n "$last" ] && [ $((last - first)) -lt 5120 ]; echo $?) \
		"$1: resident memory from turn 20 to $turns: ${first:-?} KiB to ${last:-?} KiB (under 5 MiB growth)"
}

soak cpu
nib devices
if echo "$out" | grep -q '^Vulkan device 0: ' || [ "${NIBBLE_REQUIRE_VULKAN:-0}" = 1 ]; then
	soak vulkan
else
	echo "ok 4 # SKIP no Vulkan device"
	echo "ok 5 # SKIP no Vulkan device"
	echo "ok 6 # SKIP no Vulkan device"
	tap_n=6
fi
tap_done
