#!/bin/sh
# vulkan.sh - the Vulkan backend from the command line: nibble devices, a
# greedy run and a chat reply identical to the CPU's, bench, and one-line
# errors for devices that are not there.  Skips without a Vulkan device
# unless NIBBLE_REQUIRE_VULKAN=1.
. "$(dirname "$0")/tap.sh"
need_fixtures
M=$DATA/models
STORIES=$M/stories260K.gguf
export HOME="$TMP/home" XDG_CONFIG_HOME="$TMP/config" XDG_STATE_HOME="$TMP/state" XDG_CACHE_HOME="$TMP/cache"

nib devices
devices=$out
ok $([ $rc = 0 ] && echo "$out" | grep -q '^CPU: ' && echo "$out" | grep -q 'kernels: ' &&
	echo "$out" | grep -q '^--backend auto uses '; echo $?) "devices lists the CPU and what auto picks"
if ! echo "$out" | grep -q '^Vulkan device 0: '; then
	if [ "${NIBBLE_REQUIRE_VULKAN:-0}" = 1 ]; then
		ok 1 "a Vulkan device is there (NIBBLE_REQUIRE_VULKAN=1)"
	else
		echo "ok 2 # SKIP no Vulkan device"
		tap_n=2
	fi
	tap_done
	exit
fi
ok $(echo "$out" | grep -q '^     type: .*; driver: .*; Vulkan 1\.' &&
	echo "$out" | grep -q '^     memory: .*; subgroup size: [0-9]*, shuffles: \(yes\|no\); fp16: \(yes\|no\); int8: \(yes\|no\)$'
	echo $?) "devices shows each device's type, driver, memory, subgroup size and shuffles, fp16 and int8"
nib devices extra
ok $([ $rc = 2 ] && one_line_error; echo $?) "devices with an argument: exit 2, one line"

nib run -m "$STORIES" -p "Once upon a time" -n 48 --temp 0 --backend cpu
cpu_text=$out
nib run -m "$STORIES" -p "Once upon a time" -n 48 --temp 0 --backend vulkan -v
ok $([ $rc = 0 ] && [ -n "$out" ] && [ "$out" = "$cpu_text" ]; echo $?) "a greedy run on Vulkan writes the CPU's text"
ok $(grep -q '^backend: Vulkan .*(--backend vulkan)$' "$TMP/err"; echo $?) "-v names the Vulkan device and why"

# partial offload: the first layers on the device, the rest on the CPU
nib run -m "$STORIES" -p "Once upon a time" -n 48 --temp 0 --backend vulkan --gpu-layers 2 -v
ok $([ $rc = 0 ] && [ "$out" = "$cpu_text" ] &&
	grep -q '^backend: Vulkan .*; 2 of 5 layers on the GPU, the rest on the CPU)$' "$TMP/err"
	echo $?) "--gpu-layers 2: two layers on Vulkan, three on the CPU, the CPU's text"
nib run -m "$STORIES" -p "Once upon a time" -n 48 --temp 0 --backend vulkan --gpu-layers 0 -v
ok $([ $rc = 0 ] && [ "$out" = "$cpu_text" ] && grep -q '^backend: CPU .*(--gpu-layers 0)$' "$TMP/err"
	echo $?) "--gpu-layers 0 runs on the CPU and says why"
nib run -m "$STORIES" -p "Hi" -n 4 --gpu-layers -3
ok $([ $rc = 2 ] && one_line_error; echo $?) "a negative --gpu-layers: exit 2, one line"

# the first-use self-test: its results are kept per device and driver; a
# type whose shader gives a wrong result runs on the CPU, with a warning
ok $(grep -qx 'F32 passed' "$TMP"/cache/nibble/selftest-*.txt; echo $?) "the self-test's results are cached"
NIBBLE_VK_SELFTEST_BREAK=F32 nib run -m "$STORIES" -p "Once upon a time" -n 48 --temp 0 --backend vulkan
ok $([ $rc = 0 ] && [ "$out" = "$cpu_text" ] &&
	grep -q '^nibble: warning: the F32 shaders of Vulkan .* self-test .*; those matrices run on the CPU' "$TMP/err"
	echo $?) "a type that fails the self-test runs on the CPU, with a warning, and the text stays right"
ok $(grep -qx 'F32 passed' "$TMP"/cache/nibble/selftest-*.txt; echo $?) "a spoiled self-test is not cached"

# the chat screen names the device, shows its memory, and the self-test's warning
if command -v tmux >/dev/null 2>&1; then
	term_start vk 250 30 "env LANG=C.UTF-8 NIBBLE_VK_SELFTEST_BREAK=F32 '$NIBBLE' chat -m '$STORIES' --backend vulkan; sleep 60"
	ok $(wait_for vk '\| Vulkan .*\| GPU [0-9.]* [KM]iB' && wait_for vk 'F32 shaders .* self-test .* run on the CPU'
		echo $?) "the chat screen's status bar shows Vulkan and its memory, and the self-test warning"
	term_stop
fi

nib chat -m "$STORIES" -p "Hello there" --temp 0 -n 12 --backend cpu
cpu_reply=$out
nib chat -m "$STORIES" -p "Hello there" --temp 0 -n 12 --backend vulkan -v
ok $([ $rc = 0 ] && [ -n "$out" ] && [ "$out" = "$cpu_reply" ] && grep -q '^backend: Vulkan ' "$TMP/err"
	echo $?) "a one-shot chat on Vulkan gives the CPU's reply"

nib bench -m "$M/tiny256-Q4_0.gguf" -p 16 -n 8 -r 2 --backend vulkan
ok $([ $rc = 0 ] && echo "$out" | grep -q '| Vulkan  |.*| *pp16 |' && echo "$out" | grep -q '| Vulkan  |.*| *tg8 |' &&
	echo "$out" | grep -q '^backend: Vulkan '; echo $?) "bench --backend vulkan measures pp and tg on the device"
nib bench -m "$M/tiny256-Q4_0.gguf" -p 0 -n 4 -r 1 --backend vulkan --json
ok $([ $rc = 0 ] && echo "$out" | grep -q '"backends": *"Vulkan"'; echo $?) "bench --json names the Vulkan backend"

nib run -m "$STORIES" -p "Hi" -n 4 --backend vulkan --device 99
ok $([ $rc = 1 ] && one_line_error && grep -q "no Vulkan device '99'" "$TMP/err"; echo $?) \
	"--device that is not there: exit 1, one line"
nib run -m "$STORIES" -p "Hi" -n 4 --backend opencl
ok $([ $rc = 2 ] && one_line_error; echo $?) "an unknown --backend: exit 2, one line"
if ! echo "$devices" | grep -q '^     type: .*GPU'; then
	nib run -m "$STORIES" -p "Hi" -n 4 --temp 0 -v
	ok $([ $rc = 0 ] && grep -q '^backend: CPU .*(no GPU found (.* is software; --backend vulkan uses it))$' \
		"$TMP/err"; echo $?) "auto leaves a software device alone and says so"
	nib info -m "$STORIES"
	ok $([ $rc = 0 ] && echo "$out" | grep -q '^backend: *CPU (no GPU found (.* is software'; echo $?) \
		"info says where auto runs the model and why"
fi
tap_done
