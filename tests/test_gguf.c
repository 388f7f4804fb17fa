/* test_gguf.c - the GGUF parser: a valid file with every value type reads
 * back; hand-made corrupt files each fail with a one-line message naming
 * the problem; every truncation fails; random corruption never crashes. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf_writer.h"
#include "model/model.h"
#include "tap.h"

static char dir[] = "/tmp/nibble-test-gguf-XXXXXX";

static const char *path_of(const char *name)
{
	static char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return p;
}

/* Opens the bytes of b as a file; returns the gguf or NULL. */
static struct gguf *open_bytes(const struct strbuf *b)
{
	const char *p = path_of("case.gguf");
	if (gw_save(b, p) < 0)
		return NULL;
	return gguf_open(p);
}

/* The file must be refused with a one-line message containing want. */
static void expect_error(const struct strbuf *b, const char *want, const char *what)
{
	struct gguf *g = open_bytes(b);
	const char *msg = error_message();
	int good = !g && strstr(msg, want) && !strchr(msg, '\n');
	if (!ok(good, "%s is refused", what))
		diag("message: '%s' (wanted '%s')", g ? "(loaded)" : msg, want);
	gguf_close(g);
}

/* A small valid file: scalar values of every type, a string array, a nested
 * array, and two tensors. */
static size_t valid_file(struct strbuf *b, uint32_t version)
{
	gw_header(b, version, 2, 16);
	static const uint32_t scalar_types[] = { GGUF_TYPE_UINT8, GGUF_TYPE_INT8, GGUF_TYPE_UINT16, GGUF_TYPE_INT16,
						 GGUF_TYPE_UINT32, GGUF_TYPE_INT32, GGUF_TYPE_FLOAT32, GGUF_TYPE_BOOL,
						 GGUF_TYPE_UINT64, GGUF_TYPE_INT64, GGUF_TYPE_FLOAT64 };
	for (size_t i = 0; i < ARRAY_LEN(scalar_types); i++) {
		char key[32];
		snprintf(key, sizeof key, "test.%s", gguf_type_name(scalar_types[i]));
		gw_str(b, key);
		gw_u32(b, scalar_types[i]);
		uint64_t raw = 0;
		switch (scalar_types[i]) {
		case GGUF_TYPE_FLOAT32: { float f = 1.5f; memcpy(&raw, &f, 4); break; }
		case GGUF_TYPE_FLOAT64: { double d = -2.25; memcpy(&raw, &d, 8); break; }
		case GGUF_TYPE_BOOL: raw = 1; break;
		case GGUF_TYPE_INT8: case GGUF_TYPE_INT16: case GGUF_TYPE_INT32: case GGUF_TYPE_INT64:
			raw = (uint64_t)-7; break;
		default: raw = 42; break;
		}
		gw_bytes(b, &raw, gguf_type_size(scalar_types[i]));
	}
	gw_kv_str(b, "general.name", "valid");
	gw_kv_u32(b, "general.alignment", 64);
	gw_str(b, "test.strings");
	gw_u32(b, GGUF_TYPE_ARRAY);
	gw_u32(b, GGUF_TYPE_STRING);
	gw_u64(b, 3);
	gw_str(b, "one");
	gw_str(b, "");
	gw_str(b, "three");
	gw_str(b, "test.nested"); /* [[1, 2], [3]] as int32 */
	gw_u32(b, GGUF_TYPE_ARRAY);
	gw_u32(b, GGUF_TYPE_ARRAY);
	gw_u64(b, 2);
	gw_u32(b, GGUF_TYPE_INT32);
	gw_u64(b, 2);
	gw_u32(b, 1);
	gw_u32(b, 2);
	gw_u32(b, GGUF_TYPE_INT32);
	gw_u64(b, 1);
	gw_u32(b, 3);
	gw_str(b, "test.empty");
	gw_u32(b, GGUF_TYPE_ARRAY);
	gw_u32(b, GGUF_TYPE_FLOAT32);
	gw_u64(b, 0);
	size_t infos = b->len;
	uint64_t ne_a[2] = { 32, 2 }, ne_b[1] = { 4 };
	gw_tensor_info(b, "a", 2, ne_a, GGML_TYPE_Q8_0, 0);
	gw_tensor_info(b, "b", 1, ne_b, GGML_TYPE_F32, 128);
	gw_pad(b, 64);
	for (int i = 0; i < 128 + 16; i++)
		gw_bytes(b, "\x01", 1);
	return infos;
}

static void test_valid(void)
{
	for (uint32_t version = 2; version <= 3; version++) {
		struct strbuf b = { 0 };
		valid_file(&b, version);
		struct gguf *g = open_bytes(&b);
		if (!ok(g != NULL, "a valid v%u file loads", version)) {
			diag("%s", error_message());
			strbuf_free(&b);
			continue;
		}
		int64_t i;
		uint32_t u;
		float f;
		bool flag;
		struct gguf_str s;
		const struct gguf_array *a;
		ok(gguf_get_i64(g, "test.int8", &i) == 1 && i == -7 && gguf_get_i64(g, "test.int64", &i) == 1 &&
			   i == -7 && gguf_get_u32(g, "test.uint16", &u) == 1 && u == 42 &&
			   gguf_get_u32(g, "test.uint64", &u) == 1 && u == 42,
		   "integers of every width read back");
		ok(gguf_get_f32(g, "test.float32", &f) == 1 && f == 1.5f && gguf_get_f32(g, "test.float64", &f) == 1 &&
			   f == -2.25f,
		   "floats read back");
		ok(gguf_get_bool(g, "test.bool", &flag) == 1 && flag, "bool reads back");
		ok(gguf_get_str(g, "general.name", &s) == 1 && gguf_str_eq(s, "valid"), "string reads back");
		ok(gguf_get_u32(g, "test.int8", &u) == -1, "a negative value is refused as unsigned");
		ok(gguf_get_str(g, "test.uint8", &s) == -1 && gguf_get_u32(g, "absent.key", &u) == 0,
		   "type mismatch and absence are told apart");
		ok(gguf_get_arr(g, "test.strings", GGUF_TYPE_STRING, &a) == 1 && a->count == 3 &&
			   gguf_str_eq(a->strs[0], "one") && a->strs[1].len == 0 && gguf_str_eq(a->strs[2], "three"),
		   "string array reads back");
		ok(gguf_get_arr(g, "test.nested", GGUF_TYPE_ARRAY, &a) == 1 && a->count == 2 &&
			   a->items[0].arr.count == 2 && gguf_arr_i64(&a->items[0].arr, 1) == 2 &&
			   gguf_arr_i64(&a->items[1].arr, 0) == 3,
		   "nested array reads back");
		ok(gguf_get_arr(g, "test.empty", GGUF_TYPE_FLOAT32, &a) == 1 && a->count == 0, "empty array reads back");
		const struct gguf_tensor *ta = gguf_find_tensor(g, "a"), *tb = gguf_find_tensor(g, "b");
		ok(g->alignment == 64 && g->data_offset % 64 == 0 && ta && tb && ta->n_bytes == 68 && tb->n_bytes == 16 &&
			   (const uint8_t *)tb->data - g->map == (long)(g->data_offset + 128) && ta->ne[1] == 2 &&
			   tb->ne[1] == 1,
		   "tensor infos, alignment and data offsets");
		gguf_close(g);
		strbuf_free(&b);
	}
}

static void test_truncations(void)
{
	struct strbuf b = { 0 };
	valid_file(&b, 3);
	/* The last tensor ends the file exactly, so every shorter prefix must fail. */
	size_t refused = 0, one_line = 0;
	for (size_t len = 0; len < b.len; len++) {
		struct strbuf prefix = { 0 };
		gw_bytes(&prefix, b.data, len);
		if (len == 0)
			gw_bytes(&prefix, "", 0);
		struct gguf *g = len ? open_bytes(&prefix) : (gw_save(&prefix, path_of("case.gguf")), gguf_open(path_of("case.gguf")));
		refused += g == NULL;
		one_line += g == NULL && !strchr(error_message(), '\n') && error_message()[0];
		gguf_close(g);
		strbuf_free(&prefix);
	}
	ok(refused == b.len && one_line == b.len, "all %zu truncations are refused with a message (%zu refused)", b.len,
	   refused);
	strbuf_free(&b);
}

/* A header plus one metadata entry built by fn. */
static void with_kv(struct strbuf *b, void (*fn)(struct strbuf *))
{
	gw_header(b, 3, 0, 1);
	fn(b);
}

static void kv_unknown_type(struct strbuf *b)
{
	gw_str(b, "x");
	gw_u32(b, 13);
	gw_u32(b, 0);
}

static void kv_long_string(struct strbuf *b)
{
	gw_str(b, "x");
	gw_u32(b, GGUF_TYPE_STRING);
	gw_u64(b, 1ull << 40);
	gw_bytes(b, "abc", 3);
}

static void kv_huge_array(struct strbuf *b)
{
	gw_str(b, "x");
	gw_u32(b, GGUF_TYPE_ARRAY);
	gw_u32(b, GGUF_TYPE_UINT8);
	gw_u64(b, 1ull << 40);
	gw_bytes(b, "abcdefgh", 8);
}

static void kv_huge_string_array(struct strbuf *b)
{
	gw_str(b, "x");
	gw_u32(b, GGUF_TYPE_ARRAY);
	gw_u32(b, GGUF_TYPE_STRING);
	gw_u64(b, 1ull << 62);
	gw_str(b, "a");
}

static void kv_deep_nesting(struct strbuf *b)
{
	gw_str(b, "x");
	gw_u32(b, GGUF_TYPE_ARRAY);
	for (int i = 0; i < 100; i++) {
		gw_u32(b, GGUF_TYPE_ARRAY);
		gw_u64(b, 1);
	}
	gw_u32(b, GGUF_TYPE_UINT8);
	gw_u64(b, 0);
}

static void kv_unknown_elem_type(struct strbuf *b)
{
	gw_str(b, "x");
	gw_u32(b, GGUF_TYPE_ARRAY);
	gw_u32(b, 77);
	gw_u64(b, 1);
	gw_u32(b, 0);
}

static void kv_empty_key(struct strbuf *b)
{
	gw_str(b, "");
	gw_u32(b, GGUF_TYPE_UINT8);
	gw_bytes(b, "\0", 1);
}

static void kv_alignment_3(struct strbuf *b)
{
	gw_kv_u32(b, "general.alignment", 3);
}

static void kv_alignment_string(struct strbuf *b)
{
	gw_kv_str(b, "general.alignment", "32");
}

/* A header plus one tensor info built by fn, and some data. */
static void with_tensor(struct strbuf *b, uint32_t n_tensors, void (*fn)(struct strbuf *))
{
	gw_header(b, 3, n_tensors, 0);
	fn(b);
	gw_pad(b, 32);
	for (int i = 0; i < 256; i++)
		gw_bytes(b, "\0", 1);
}

static void t_dims_overflow(struct strbuf *b)
{
	uint64_t ne[4] = { 1ull << 32, 1ull << 32, 1ull << 32, 1 };
	gw_tensor_info(b, "big", 4, ne, GGML_TYPE_F32, 0);
}

static void t_dims_five(struct strbuf *b)
{
	uint64_t ne[5] = { 1, 1, 1, 1, 1 };
	gw_tensor_info(b, "five", 5, ne, GGML_TYPE_F32, 0);
}

static void t_dim_zero(struct strbuf *b)
{
	uint64_t ne[2] = { 4, 0 };
	gw_tensor_info(b, "zero", 2, ne, GGML_TYPE_F32, 0);
}

static void t_offset_past_eof(struct strbuf *b)
{
	uint64_t ne[1] = { 16 };
	gw_tensor_info(b, "far", 1, ne, GGML_TYPE_F32, 1 << 20);
}

static void t_data_past_eof(struct strbuf *b)
{
	uint64_t ne[1] = { 1024 };
	gw_tensor_info(b, "long", 1, ne, GGML_TYPE_F32, 0);
}

static void t_misaligned(struct strbuf *b)
{
	uint64_t ne[1] = { 4 };
	gw_tensor_info(b, "odd", 1, ne, GGML_TYPE_F32, 4);
}

static void t_duplicate(struct strbuf *b)
{
	uint64_t ne[1] = { 4 };
	gw_tensor_info(b, "same", 1, ne, GGML_TYPE_F32, 0);
	gw_tensor_info(b, "same", 1, ne, GGML_TYPE_F32, 32);
}

static void t_unknown_type(struct strbuf *b)
{
	uint64_t ne[1] = { 32 };
	gw_tensor_info(b, "mystery", 1, ne, 31, 0);
}

/* A name that would clear the screen and set the window title if an error
 * message printed it as it is. */
static void t_hostile_name(struct strbuf *b)
{
	uint64_t ne[1] = { 32 };
	gw_tensor_info(b, "\x1b[2J\x1b]0;pwned\x07\xc2\x9b\x9b\n", 1, ne, 31, 0);
}

static void t_partial_block(struct strbuf *b)
{
	uint64_t ne[1] = { 40 };
	gw_tensor_info(b, "ragged", 1, ne, GGML_TYPE_Q8_0, 0);
}

static void t_name_long(struct strbuf *b)
{
	char name[400];
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	uint64_t ne[1] = { 4 };
	gw_tensor_info(b, name, 1, ne, GGML_TYPE_F32, 0);
}

static void test_corrupt(void)
{
	struct {
		const char *what, *want;
		void (*kv)(struct strbuf *);
		void (*tensor)(struct strbuf *);
		uint32_t n_tensors;
	} cases[] = {
		{ "an unknown value type", "unknown value type 13", kv_unknown_type, NULL, 0 },
		{ "a string length past EOF", "runs past end of file", kv_long_string, NULL, 0 },
		{ "an array of 2^40 elements", "array of 1099511627776 uint8 elements runs past end of file",
		  kv_huge_array, NULL, 0 },
		{ "an array of 2^62 strings", "runs past end of file", kv_huge_string_array, NULL, 0 },
		{ "arrays nested 100 deep", "nested deeper", kv_deep_nesting, NULL, 0 },
		{ "an unknown array element type", "unknown array element type 77", kv_unknown_elem_type, NULL, 0 },
		{ "an empty key", "key length 0", kv_empty_key, NULL, 0 },
		{ "alignment 3", "not a power of two", kv_alignment_3, NULL, 0 },
		{ "a string alignment", "general.alignment has type string", kv_alignment_string, NULL, 0 },
		{ "dims whose product overflows", "tensor 'big': element count overflows", NULL, t_dims_overflow, 1 },
		{ "five dimensions", "tensor 'five': 5 dimensions", NULL, t_dims_five, 1 },
		{ "a zero dimension", "tensor 'zero': dimension 1 has invalid size 0", NULL, t_dim_zero, 1 },
		{ "an offset past EOF", "tensor 'far': data (offset 1048576", NULL, t_offset_past_eof, 1 },
		{ "tensor data past EOF", "tensor 'long': data (offset 0, 4096 bytes) extends past end of file", NULL,
		  t_data_past_eof, 1 },
		{ "misaligned data", "tensor 'odd': data offset 4 is not a multiple of the alignment 32", NULL,
		  t_misaligned, 1 },
		{ "duplicate tensor names", "duplicate tensor name 'same'", NULL, t_duplicate, 2 },
		{ "an unknown tensor type", "tensor 'mystery': unknown tensor type id 31", NULL, t_unknown_type, 1 },
		{ "a name of control characters", "tensor '?[2J?]0;pwned?\?\?\?\?': unknown tensor type id 31", NULL,
		  t_hostile_name, 1 },
		{ "a row that is not whole blocks", "not a multiple of the Q8_0 block size 32", NULL, t_partial_block, 1 },
		{ "a 399-byte tensor name", "tensor name length 399", NULL, t_name_long, 1 },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct strbuf b = { 0 };
		if (cases[i].kv)
			with_kv(&b, cases[i].kv);
		else
			with_tensor(&b, cases[i].n_tensors, cases[i].tensor);
		expect_error(&b, cases[i].want, cases[i].what);
		strbuf_free(&b);
	}

	struct strbuf b = { 0 };
	gw_bytes(&b, "GGML", 4);
	gw_u32(&b, 3);
	expect_error(&b, "not a GGUF file (bad magic)", "a bad magic");
	strbuf_free(&b);
	for (uint32_t v = 0; v < 3; v++) {
		static const uint32_t versions[] = { 0, 1, 99 };
		gw_header(&b, versions[v], 0, 0);
		expect_error(&b, versions[v] == 1 ? "version 1 is obsolete" : "unsupported GGUF version", "an unsupported version");
		strbuf_free(&b);
	}
	gw_header(&b, 0x03000000u, 0, 0);
	expect_error(&b, "big-endian", "a big-endian file");
	strbuf_free(&b);
	gw_header(&b, 3, 1ull << 40, 0);
	expect_error(&b, "tensor count 1099511627776 is impossible", "a huge tensor count");
	strbuf_free(&b);
	gw_header(&b, 3, 0, 1ull << 31);
	expect_error(&b, "metadata count 2147483648", "a huge metadata count");
	strbuf_free(&b);
	gw_header(&b, 3, 0, 1000);
	expect_error(&b, "metadata count 1000 is impossible", "a metadata count larger than the file");
	strbuf_free(&b);
	gw_header(&b, 3, 0, 2);
	gw_kv_u32(&b, "dup", 1);
	gw_kv_u32(&b, "dup", 2);
	expect_error(&b, "duplicate metadata key 'dup'", "duplicate keys");
	strbuf_free(&b);

	/* Not files at all. */
	struct gguf *g = gguf_open(dir);
	ok(!g && strstr(error_message(), "is a directory"), "a directory is refused");
	g = gguf_open(path_of("does-not-exist.gguf"));
	ok(!g && strstr(error_message(), "No such file"), "a missing file is refused");
	gw_save(&b, path_of("empty.gguf"));
	g = gguf_open(path_of("empty.gguf"));
	ok(!g && strstr(error_message(), "empty file"), "an empty file is refused");
}

/* Random byte corruption of a whole model: load it, tokenize, run a token.
 * Any outcome but a crash or hang is fine; the test dies otherwise. */
static void test_random_corruption(void)
{
	struct strbuf model = { 0 };
	struct tiny_spec spec = { 0 };
	tiny_model(&model, &spec);
	uint64_t state = 7;
	int loaded = 0, refused = 0, n_variants = 300;
	for (int v = 0; v < n_variants; v++) {
		struct strbuf b = { 0 };
		gw_bytes(&b, model.data, model.len);
		/* Most damage goes to the header and metadata, where the parser works. */
		int n_flips = 1 + v % 4;
		for (int k = 0; k < n_flips; k++) {
			state = state * 6364136223846793005ull + 1442695040888963407ull;
			size_t limit = v % 3 ? 6000 : b.len;
			size_t pos = (state >> 33) % limit;
			b.data[pos] = (char)(state >> 17);
		}
		const char *p = path_of("fuzz.gguf");
		gw_save(&b, p);
		struct model *m = model_load(p, MODEL_LOAD_FULL);
		if (m) {
			loaded++;
			int32_t *ids = NULL;
			size_t n = 0, cap = 0;
			tokenizer_encode(m->tokenizer, "ab a b", 6, TOKENIZE_ADD_SPECIAL, &ids, &n, &cap);
			free(ids);
		} else {
			refused++;
		}
		model_free(m);
		strbuf_free(&b);
	}
	ok(loaded + refused == n_variants && refused > 0, "%d corrupted models: %d loaded, %d refused, no crash",
	   n_variants, loaded, refused);
	strbuf_free(&model);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		printf("Bail out! cannot create a temporary directory\n");
		return 1;
	}
	test_valid();
	test_truncations();
	test_corrupt();
	test_random_corruption();
	unlink(path_of("case.gguf"));
	unlink(path_of("empty.gguf"));
	unlink(path_of("fuzz.gguf"));
	rmdir(dir);
	return tap_done();
}
