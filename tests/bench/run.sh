#!/bin/sh
# run.sh - nibble's speed on a model of TinyLlama-1.1B's shape, F16 and
# quantized by nibble itself, next to this machine's memory bandwidth.  Not
# part of `make check`: it writes about 4 GB and takes minutes.
#
#   tests/bench/run.sh WORKDIR
#
# WORKDIR keeps the models between runs (the F16 model is made once).
# Environment: NIBBLE (the binary, default ./src/nibble), NIBBLE_TEST_DATA
# (the shared fixtures, default ../shared), BENCH_THREADS (default 2),
# BENCH_TYPES (default "Q4_0 Q8_0 Q4_K_M"), BENCH_BACKENDS (default "cpu";
# "cpu vulkan" also runs the models on the best Vulkan device), GPU_BW (the
# GPU's memory bandwidth in GB/s, from its data sheet: the Vulkan rows'
# share of bandwidth is computed against it).
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 WORKDIR" >&2
	exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
nibble=${NIBBLE:-$root/src/nibble}
shared=${NIBBLE_TEST_DATA:-$root/../shared}
threads=${BENCH_THREADS:-2}
types=${BENCH_TYPES:-Q4_0 Q8_0 Q4_K_M}
backends=${BENCH_BACKENDS:-cpu}
gpu_bw=${GPU_BW:-0}
work=$1
mkdir -p "$work"

# make_bench_model.py needs numpy, which another python3 than the first
# on PATH may have.
py=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import numpy' 2>/dev/null; then
		py=$p
		break
	fi
done
if [ -z "$py" ]; then
	echo "run.sh: make_bench_model.py needs python3 with numpy (Debian: apt-get install python3-numpy)" >&2
	exit 1
fi

f16=$work/tl-f16.gguf
if [ ! -s "$f16" ]; then
	echo "making $f16 (TinyLlama-1.1B's shape, random F16 weights)"
	"$py" "$shared/tools/make_bench_model.py" "$shared/vocab/ggml-vocab-llama-spm.gguf" "$f16" tinyllama
fi

models="$f16"
for t in $types; do
	out=$work/tl-$(echo "$t" | tr 'A-Z' 'a-z').gguf
	if "$nibble" quantize -t "$threads" "$f16" "$out" "$t" >"$work/quantize-$t.log" 2>&1; then
		tail -n 1 "$work/quantize-$t.log"
		models="$models $out"
	else
		echo "skipped $t: $(tail -n 1 "$work/quantize-$t.log")"
	fi
done

cc -O2 -mavx2 -pthread "$shared/tools/membw.c" -o "$work/membw"
bw=$("$work/membw" "$threads" | sed -n 's/.*: \([0-9.]*\) GB\/s.*/\1/p')
echo "memory read bandwidth, $threads threads: $bw GB/s"

for be in $backends; do
	for m in $models; do
		name=$(basename "$m" .gguf)
		echo "benchmarking $name on $be ..."
		"$nibble" bench -m "$m" -p 64 -n 32 -t "$threads" --backend "$be" --json >"$work/bench-$name-$be.json"
	done
done

# The table: tg32 x size / bandwidth is the share of the memory bandwidth
# (the CPU's measured, the GPU's given) that generation uses, reading every
# weight once per token.
echo
"$py" - "$bw" "$gpu_bw" "$work" "$backends" $models <<'PY'
import json, os, sys
bandwidth = {"cpu": float(sys.argv[1]) * 1e9, "vulkan": float(sys.argv[2]) * 1e9}
work, backends = sys.argv[3], sys.argv[4].split()
print("| file | size | backend | pp64 t/s | tg32 t/s | tg32 x size / bandwidth |")
print("| --- | ---: | --- | ---: | ---: | ---: |")
for path in sys.argv[5:]:
    name = os.path.basename(path)[:-len(".gguf")]
    for be in backends:
        tests = json.load(open(os.path.join(work, "bench-%s-%s.json" % (name, be))))
        pp = next(t for t in tests if t["n_prompt"] > 0)
        tg = next(t for t in tests if t["n_gen"] > 0)
        size = tg["model_size"]
        shown = "%.2f GiB" % (size / 2**30) if size >= 2**30 else "%.0f MiB" % (size / 2**20)
        bw = bandwidth.get(be, 0)
        share = "%.0f%%" % (100 * tg["avg_ts"] * size / bw) if bw else "-"
        print("| %s | %s | %s | %.1f ± %.1f | %.1f ± %.1f | %s |" % (
            name, shown, tests[0].get("backends", be), pp["avg_ts"], pp["stddev_ts"],
            tg["avg_ts"], tg["stddev_ts"], share))
PY
