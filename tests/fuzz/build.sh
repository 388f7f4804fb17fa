#!/bin/sh
# build.sh - what `make fuzz` runs: compiles the library sources the fuzz
# harnesses need again with clang, -fsanitize=fuzzer,address,undefined, into
# BUILDDIR (the gcc objects of src/libnibble.a are not instrumented), and
# links one libFuzzer program per harness there: fuzz_gguf, fuzz_tokenizer,
# fuzz_template, fuzz_utf8, and mkseeds, which writes the GGUF seeds.
# usage: build.sh SRCDIR TOP_BUILDDIR BUILDDIR
# environment: FUZZ_CC (clang), JSON_CFLAGS, JSON_LIBS, LIBS, FUZZ_JOBS.
set -eu
srcdir=$1 top_builddir=$2 out=$3
cc=${FUZZ_CC:?FUZZ_CC names no compiler}
jobs=${FUZZ_JOBS:-2}

# The library sources the harnesses reach (the loader, both tokenizers, the
# quant kernels, the template interpreter and the chat formats).
lib="base/strmap base/util chat/format gguf/gguf jinja/builtins jinja/eval jinja/jinja jinja/lex jinja/methods
	jinja/parse jinja/text jinja/value model/arch model/model quant/kquants quant/kquants_quantize quant/legacy
	quant/quant text/bpe text/merge_queue text/pretokenize text/tokenizer text/unicode text/unicode_tables text/utf8"
avx2="quant/avx2 quant/avx2_kquants quant/avx2_legacy"
harness="fuzz_gguf fuzz_tokenizer fuzz_template fuzz_utf8"

common="-std=c11 -g -O1 -fno-omit-frame-pointer -DNDEBUG -Wno-string-plus-int -I$out -I$top_builddir -I$srcdir/src -I$srcdir/tests/fuzz -I$srcdir/tests ${JSON_CFLAGS:-}"
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
mkdir -p "$out"

# The AVX2 kernels come along when gcc built them and this clang can too
# (clang 14 knows no __builtin_cpu_supports("f16c")); else the scalar ones.
# A config.h in $out, found first, says which.
abs_config=$(cd "$top_builddir" && pwd)/config.h
have_avx2=no
if grep -q '^#define HAVE_AVX2_KERNELS 1' "$abs_config" &&
	echo 'int f(void) { return __builtin_cpu_supports("f16c"); }' |
	$cc -x c -c -o /dev/null - 2>/dev/null; then
	have_avx2=yes
fi
{
	echo "/* config.h for the fuzz build, made by tests/fuzz/build.sh */"
	echo "#include \"$abs_config\""
	[ "$have_avx2" = yes ] || echo "#undef HAVE_AVX2_KERNELS"
} >"$out/config.h.new"
if cmp -s "$out/config.h.new" "$out/config.h"; then rm -f "$out/config.h.new"; else mv "$out/config.h.new" "$out/config.h"; fi
[ "$have_avx2" = yes ] || avx2=
# A source is compiled again when it, a header or config.h is newer than its object.
newest_header=$(ls -t "$srcdir"/src/*.h "$srcdir"/src/*/*.h "$srcdir"/tests/fuzz/*.h "$srcdir"/tests/gguf_writer.h \
	"$abs_config" "$out/config.h" | head -n 1)
jobs_file="$out/jobs"
: >"$jobs_file"
add() { # add SOURCE OBJECT FLAGS...
	src=$1 obj=$2
	shift 2
	if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$newest_header" -nt "$obj" ]; then
		echo "$cc $common $* -c $src -o $obj" >>"$jobs_file"
	fi
}
# Objects are named after the source's path: src/quant/avx2.c -> quant_avx2.o.
obj() { echo "$out/$(echo "$1" | tr / _).o"; }
for f in $lib; do add "$srcdir/src/$f.c" "$(obj "$f")" $sanitize -fsanitize=fuzzer-no-link; done
for f in $avx2; do add "$srcdir/src/$f.c" "$(obj "$f")" $sanitize -fsanitize=fuzzer-no-link -mavx2 -mfma -mf16c; done
# fuzz_tokenizer's vocabularies: ../shared/vocab next to the source tree
vocab_dir=$(cd "$srcdir" && pwd)/../shared/vocab
for f in $harness fuzz_mmap; do
	add "$srcdir/tests/fuzz/$f.c" "$out/$f.o" $sanitize -fsanitize=fuzzer-no-link "-DFUZZ_VOCAB_DIR='\"$vocab_dir\"'"
done
add "$srcdir/tests/fuzz/mkseeds.c" "$out/mkseeds.o"
if [ -s "$jobs_file" ]; then
	echo "  CC (clang, fuzz) $(wc -l <"$jobs_file") files"
	tr '\n' '\0' <"$jobs_file" | xargs -0 -n 1 -P "$jobs" sh -c 'echo "$0" | sh -e || { echo "failed: $0" >&2; exit 255; }'
fi
rm -f "$jobs_file"

objs=
for f in $lib $avx2; do objs="$objs $(obj "$f")"; done
libs="${JSON_LIBS:-} ${LIBS:-} -lm -lpthread"
for h in $harness; do
	extra=
	[ "$h" = fuzz_gguf ] && extra="$out/fuzz_mmap.o -Wl,--wrap=mmap,--wrap=munmap"
	echo "  CCLD $out/$h"
	$cc -fsanitize=fuzzer $sanitize -o "$out/$h" "$out/$h.o" $extra $objs $libs
done
# The seed writer is a plain program: it links the same sources without libFuzzer.
echo "  CCLD $out/mkseeds"
$cc $sanitize -fsanitize=fuzzer-no-link -o "$out/mkseeds" "$out/mkseeds.o" $objs $libs
