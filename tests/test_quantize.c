/* test_quantize.c - `nibble quantize` below the command line: the tensor
 * types every preset gives a llama model of TinyLlama-1.1B's shape, written
 * down from llama.cpp's rules (llama_tensor_get_type); the fallbacks for
 * rows the blocks do not divide; and real files: each preset this build can
 * make, from the shared F32/F16 models, must parse with the chosen types
 * and the source's metadata, load, and give logits close to the source's. */
#include "config.h"

#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/context.h"
#include "fixtures.h"
#include "logits.h"
#include "gguf_writer.h"
#include "quant/quant.h"
#include "model/quantize.h"
#include "tap.h"
#include "base/util.h"

/* ---- the rules on TinyLlama's shape ------------------------------------- */

enum { TL_LAYERS = 22, TL_EMBD = 2048, TL_FF = 5632 };

/* TinyLlama's tensors in the order convert_hf_to_gguf writes them. */
static size_t tinyllama_tensors(struct quantize_tensor *t, char names[][48], bool with_output)
{
	static const struct {
		const char *suffix;
		int64_t ne0;
		uint32_t n_dims;
	} layer[] = {
		{ "attn_norm.weight", TL_EMBD, 1 }, { "attn_q.weight", TL_EMBD, 2 },     { "attn_k.weight", TL_EMBD, 2 },
		{ "attn_v.weight", TL_EMBD, 2 },    { "attn_output.weight", TL_EMBD, 2 }, { "ffn_norm.weight", TL_EMBD, 1 },
		{ "ffn_gate.weight", TL_EMBD, 2 },  { "ffn_up.weight", TL_EMBD, 2 },     { "ffn_down.weight", TL_FF, 2 },
	};
	size_t n = 0;
#define ADD(nm, ne, dims)                                                                            \
	(snprintf(names[n], 48, "%s", nm),                                                             \
	 t[n] = (struct quantize_tensor){ .name = names[n], .n_dims = dims, .ne0 = ne, .src_type = GGML_TYPE_F16 }, \
	 n++)
	ADD("token_embd.weight", TL_EMBD, 2);
	for (int l = 0; l < TL_LAYERS; l++)
		for (size_t i = 0; i < ARRAY_LEN(layer); i++) {
			char nm[48];
			snprintf(nm, sizeof nm, "blk.%d.%s", l, layer[i].suffix);
			ADD(nm, layer[i].ne0, layer[i].n_dims);
		}
	ADD("output_norm.weight", TL_EMBD, 1);
	if (with_output)
		ADD("output.weight", TL_EMBD, 2);
#undef ADD
	for (size_t i = 0; i < n; i++)
		if (t[i].n_dims == 1)
			t[i].src_type = GGML_TYPE_F32;
	return n;
}

/* What llama.cpp's rules give for 22 layers, 32 heads and 4 KV heads (GQA
 * 8), one letter per layer for attn_v, ffn_down and attn_output:
 * 2..6 = Q2_K..Q6_K, d = the preset's own type.  Layers 0, 1, 4, 7, 10,
 * 13, 16, 19, 20, 21 are the ones use_more_bits picks for 22 layers (the
 * first and last eighth and every third between).  token_embd, attn_q,
 * attn_k, ffn_gate and ffn_up always get the preset's own type here. */
static const struct expected {
	const char *preset, *own, *output;
	const char *attn_v, *ffn_down, *attn_output;
} expected[] = {
	{ "Q8_0", "Q8_0", "Q8_0", "dddddddddddddddddddddd", "dddddddddddddddddddddd", "dddddddddddddddddddddd" },
	{ "Q4_0", "Q4_0", "Q6_K", "dddddddddddddddddddddd", "dddddddddddddddddddddd", "dddddddddddddddddddddd" },
	{ "Q4_1", "Q4_1", "Q6_K", "dddddddddddddddddddddd", "dddddddddddddddddddddd", "dddddddddddddddddddddd" },
	{ "Q5_0", "Q5_0", "Q6_K", "dddddddddddddddddddddd", "dddddddddddddddddddddd", "dddddddddddddddddddddd" },
	{ "Q5_1", "Q5_1", "Q6_K", "dddddddddddddddddddddd", "dddddddddddddddddddddd", "dddddddddddddddddddddd" },
	/* GQA >= 4: attn_v Q4_K; ffn_down and attn_output Q3_K */
	{ "Q2_K", "Q2_K", "Q6_K", "4444444444444444444444", "3333333333333333333333", "3333333333333333333333" },
	{ "Q3_K_S", "Q3_K", "Q6_K", "dddddddddddddddddddddd", "dddddddddddddddddddddd", "dddddddddddddddddddddd" },
	/* attn_v: the first two Q5_K; ffn_down: layers below 22/16 Q5_K; attn_output Q4_K */
	{ "Q3_K_M", "Q3_K", "Q6_K", "5544444444444444444444", "5444444444444444444444", "4444444444444444444444" },
	/* attn_v: the first four Q5_K; ffn_down: layers below 22/8 Q5_K */
	{ "Q4_K_S", "Q4_K", "Q6_K", "5555dddddddddddddddddd", "55dddddddddddddddddddd", "dddddddddddddddddddddd" },
	{ "Q4_K_M", "Q4_K", "Q6_K", "66dd6dd6dd6dd6dd6dd666", "66dd6dd6dd6dd6dd6dd666", "dddddddddddddddddddddd" },
	{ "Q5_K_S", "Q5_K", "Q6_K", "dddddddddddddddddddddd", "dddddddddddddddddddddd", "dddddddddddddddddddddd" },
	{ "Q5_K_M", "Q5_K", "Q6_K", "66dd6dd6dd6dd6dd6dd666", "66dd6dd6dd6dd6dd6dd666", "dddddddddddddddddddddd" },
	{ "Q6_K", "Q6_K", "Q6_K", "dddddddddddddddddddddd", "dddddddddddddddddddddd", "dddddddddddddddddddddd" },
	/* GQA >= 4: attn_v Q5_K; without an importance matrix ffn_down below 22/8 Q5_K */
	{ "IQ4_NL", "IQ4_NL", "Q6_K", "5555555555555555555555", "55dddddddddddddddddddd", "dddddddddddddddddddddd" },
	{ "IQ4_XS", "IQ4_XS", "Q6_K", "5555555555555555555555", "55dddddddddddddddddddd", "dddddddddddddddddddddd" },
};

static uint32_t type_named(const char *name)
{
	for (uint32_t t = 0; t < GGML_TYPE_COUNT; t++)
		if (quant_traits(t) && !strcmp(quant_traits(t)->name, name))
			return t;
	return GGML_TYPE_COUNT;
}

static uint32_t type_of_code(char c, uint32_t own)
{
	static const uint32_t k[] = { GGML_TYPE_Q2_K, GGML_TYPE_Q3_K, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K };
	return c == 'd' ? own : k[c - '2'];
}

/* The type the table expects for tensor name. */
static uint32_t expected_type(const struct expected *e, const char *name)
{
	uint32_t own = type_named(e->own);
	int layer;
	char part[40];
	if (!strcmp(name, "output.weight"))
		return type_named(e->output);
	if (strstr(name, "_norm.weight"))
		return GGML_TYPE_F32;
	if (sscanf(name, "blk.%d.%39s", &layer, part) != 2)
		return own; /* token_embd */
	if (!strcmp(part, "attn_v.weight"))
		return type_of_code(e->attn_v[layer], own);
	if (!strcmp(part, "ffn_down.weight"))
		return type_of_code(e->ffn_down[layer], own);
	if (!strcmp(part, "attn_output.weight"))
		return type_of_code(e->attn_output[layer], own);
	return own;
}

static void test_tinyllama_rules(void)
{
	static struct quantize_tensor t[2 + 9 * TL_LAYERS + 1];
	static char names[ARRAY_LEN(t)][48];
	const struct quantize_model tl = { .arch = "llama", .n_layer = TL_LAYERS, .n_head = 32, .n_head_kv = 4 };
	for (size_t p = 0; p < ARRAY_LEN(expected); p++) {
		const struct expected *e = &expected[p];
		const struct quant_preset *preset = quantize_preset_find(e->preset);
		if (!ok(preset != NULL, "%s is a preset", e->preset))
			continue;
		size_t n = tinyllama_tensors(t, names, true);
		quantize_choose_types(&tl, preset, false, t, n);
		size_t wrong = 0;
		for (size_t i = 0; i < n; i++) {
			uint32_t want = expected_type(e, t[i].name);
			if (t[i].type != want || t[i].fallback) {
				if (wrong++ < 3)
					diag("%s: %s is %s, expected %s", e->preset, t[i].name, quant_name(t[i].type),
					     quant_name(want));
			}
		}
		ok(wrong == 0, "%s: the type of each of TinyLlama's %zu tensors is llama.cpp's", e->preset, n);
	}

	/* the order llama.cpp writes: outside the layers first, then by layer */
	size_t n = tinyllama_tensors(t, names, true);
	quantize_choose_types(&tl, quantize_preset_find("Q4_K_M"), false, t, n);
	ok(!strcmp(t[0].name, "output.weight") && !strcmp(t[2].name, "token_embd.weight") &&
		   !strcmp(t[3].name, "blk.0.attn_k.weight") && !strcmp(t[12].name, "blk.1.attn_k.weight") &&
		   !strcmp(t[n - 1].name, "blk.21.ffn_up.weight"),
	   "tensors are written in llama.cpp's order");

	/* no output.weight: token_embd is the output matrix too */
	n = tinyllama_tensors(t, names, false);
	quantize_choose_types(&tl, quantize_preset_find("Q4_K_M"), false, t, n);
	ok(!strcmp(t[1].name, "token_embd.weight") && t[1].type == GGML_TYPE_Q6_K,
	   "a tied token_embd gets the output's Q6_K");

	/* --pure: no mixture */
	n = tinyllama_tensors(t, names, true);
	quantize_choose_types(&tl, quantize_preset_find("Q4_K_M"), true, t, n);
	size_t q4k = 0;
	for (size_t i = 0; i < n; i++)
		q4k += t[i].type == GGML_TYPE_Q4_K;
	ok(q4k == 2 + 7 * TL_LAYERS, "--pure makes every matrix Q4_K");

	/* Llama 2 70B (80 layers, GQA): attn_v never below Q5_K */
	const struct quantize_model big = { .arch = "llama", .n_layer = 80, .n_head = 64, .n_head_kv = 8 };
	struct quantize_tensor v[80];
	char vn[80][48];
	for (int l = 0; l < 80; l++) {
		snprintf(vn[l], sizeof vn[l], "blk.%d.attn_v.weight", l);
		v[l] = (struct quantize_tensor){ .name = vn[l], .n_dims = 2, .ne0 = 8192, .src_type = GGML_TYPE_F16 };
	}
	quantize_choose_types(&big, quantize_preset_find("Q4_K_S"), false, v, 80);
	ok(v[0].type == GGML_TYPE_Q5_K && v[79].type == GGML_TYPE_Q5_K, "70B: attn_v Q4_K becomes Q5_K");
}

/* stories260K's shape: rows of 64 and 172 weights, which 256-weight blocks
 * do not divide, and 172 not even 32-weight ones. */
static void test_fallbacks(void)
{
	const struct quantize_model m = { .arch = "llama", .n_layer = 1, .n_head = 8, .n_head_kv = 4 };
	struct quantize_tensor t[] = {
		{ .name = "output.weight", .n_dims = 2, .ne0 = 64, .src_type = GGML_TYPE_F32 },
		{ .name = "blk.0.attn_q.weight", .n_dims = 2, .ne0 = 64, .src_type = GGML_TYPE_F32 },
		{ .name = "blk.0.ffn_down.weight", .n_dims = 2, .ne0 = 172, .src_type = GGML_TYPE_F32 },
		{ .name = "blk.0.ffn_norm.weight", .n_dims = 1, .ne0 = 64, .src_type = GGML_TYPE_F32 },
	};
	quantize_choose_types(&m, quantize_preset_find("Q4_K_M"), false, t, ARRAY_LEN(t));
	/* sorted: output, blk.0.attn_q, blk.0.ffn_down, blk.0.ffn_norm */
	ok(t[0].type == GGML_TYPE_Q8_0 && !t[0].fallback, "Q4_K_M: an output of 64 columns is Q8_0");
	ok(t[1].type == GGML_TYPE_Q5_0 && t[1].fallback, "Q4_K_M: Q4_K falls back to Q5_0 for 64 columns");
	ok(t[2].type == GGML_TYPE_F16 && t[2].fallback, "Q4_K_M: 172 columns (Q6_K, then Q8_0) fall back to F16");
	ok(t[3].type == GGML_TYPE_F32 && !t[3].fallback, "a norm stays F32");
	quantize_choose_types(&m, quantize_preset_find("Q4_0"), false, t, ARRAY_LEN(t));
	ok(t[0].type == GGML_TYPE_Q8_0 && t[0].fallback, "Q4_0: Q6_K for a 64-column output falls back to Q8_0");
	ok(t[2].type == GGML_TYPE_F16 && t[2].fallback, "Q4_0: 172 columns stay F16");
	quantize_choose_types(&m, quantize_preset_find("IQ4_XS"), false, t, ARRAY_LEN(t));
	ok(t[1].type == GGML_TYPE_IQ4_NL && t[1].fallback, "IQ4_XS falls back to IQ4_NL");
}

/* A file with general.alignment 1024 keeps it: metadata, tensor offsets
 * and the data section, and the data is what was quantized. */
static void test_alignment(const char *tmp)
{
	enum { ALIGN = 1024, COLS = 64 };
	struct strbuf b = { 0 };
	gw_header(&b, 3, 2, 3);
	gw_kv_str(&b, "general.architecture", "llama");
	gw_kv_u32(&b, "llama.block_count", 1);
	gw_kv_u32(&b, "general.alignment", ALIGN);
	gw_tensor_info(&b, "blk.0.attn_q.weight", 2, (const uint64_t[]){ COLS, 2 }, GGML_TYPE_F32, 0);
	gw_tensor_info(&b, "blk.0.attn_norm.weight", 1, (const uint64_t[]){ COLS }, GGML_TYPE_F32, ALIGN);
	gw_pad(&b, 32);
	while (b.len % ALIGN)
		gw_bytes(&b, "", 1);
	float w[2 * COLS];
	for (int i = 0; i < 2 * COLS; i++) /* 127 in each block of 32: the scale is 1 */
		w[i] = i % 32 ? (float)(i % 13) - 6.0f : 127.0f;
	gw_bytes(&b, w, sizeof w);
	while (b.len % ALIGN)
		gw_bytes(&b, "", 1);
	gw_bytes(&b, w, COLS * sizeof *w);
	char in[600];
	snprintf(in, sizeof in, "%s.in", tmp);
	gw_save(&b, in);
	strbuf_free(&b);

	struct quantize_params qp = { .preset = quantize_preset_find("Q8_0"), .n_threads = 2 };
	struct quantize_result r;
	int rc = quantize_file(in, tmp, &qp, &r);
	struct gguf *g = rc == 0 ? gguf_open(tmp) : NULL;
	if (!ok(g != NULL, "a file with general.alignment %d quantizes and reads back", ALIGN)) {
		diag("%s", error_message());
	} else {
		const struct gguf_tensor *q = gguf_find_tensor(g, "blk.0.attn_q.weight");
		const struct gguf_tensor *n = gguf_find_tensor(g, "blk.0.attn_norm.weight");
		ok(g->alignment == ALIGN && g->data_offset % ALIGN == 0 && q && n && n->offset % ALIGN == 0 &&
			   q->type == GGML_TYPE_Q8_0 && n->type == GGML_TYPE_F32,
		   "its alignment is kept for the data section and every tensor");
		float back[2 * COLS];
		if (q && q->type == GGML_TYPE_Q8_0)
			quant_dequantize(GGML_TYPE_Q8_0, q->data, back, 2 * COLS);
		ok(q && q->type == GGML_TYPE_Q8_0 && !memcmp(back, w, sizeof w) && n && !memcmp(n->data, w, COLS * sizeof *w),
		   "the data reads back (integers with a scale of 1 are exact in Q8_0)");
	}
	gguf_close(g);
	unlink(in);
	unlink(tmp);
}

/* ---- real files ----------------------------------------------------------- */

/* The logits after a fixed prompt (caller frees), or NULL. */
static float *prompt_logits(const char *path, uint32_t *n_vocab)
{
	static const char prompt[] = "Once upon a time there was a little girl";
	struct model *m = model_load(path, MODEL_LOAD_FULL);
	if (!m)
		return NULL;
	int32_t *ids = NULL;
	size_t n = 0, cap = 0;
	tokenizer_encode(m->tokenizer, prompt, strlen(prompt), TOKENIZE_ADD_SPECIAL, &ids, &n, &cap);
	float *out = eval_logits(m, ids, n);
	*n_vocab = m->hp.n_vocab;
	free(ids);
	model_free(m);
	return out;
}

static bool same_value(const struct gguf_value *a, const struct gguf_value *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case GGUF_TYPE_STRING:
		return a->str.len == b->str.len && !memcmp(a->str.ptr, b->str.ptr, a->str.len);
	case GGUF_TYPE_FLOAT32:
	case GGUF_TYPE_FLOAT64:
		return a->f == b->f;
	case GGUF_TYPE_ARRAY:
		if (a->arr.type != b->arr.type || a->arr.count != b->arr.count)
			return false;
		if (a->arr.type == GGUF_TYPE_STRING) {
			for (uint64_t i = 0; i < a->arr.count; i++)
				if (a->arr.strs[i].len != b->arr.strs[i].len ||
				    memcmp(a->arr.strs[i].ptr, b->arr.strs[i].ptr, a->arr.strs[i].len))
					return false;
			return true;
		}
		return a->arr.type == GGUF_TYPE_ARRAY ||
		       !memcmp(a->arr.data, b->arr.data, a->arr.count * gguf_type_size(a->arr.type));
	default:
		return a->u == b->u;
	}
}

/* Every key of src is in out with the same value, except the two that
 * quantizing sets. */
static bool same_metadata(const struct gguf *src, const struct gguf *out, uint32_t ftype)
{
	uint32_t v;
	if (gguf_get_u32(out, "general.file_type", &v) != 1 || v != ftype ||
	    gguf_get_u32(out, "general.quantization_version", &v) != 1 || v != 2)
		return false;
	size_t extra = !gguf_find(src, "general.file_type") + !gguf_find(src, "general.quantization_version");
	if (out->n_kv != src->n_kv + extra)
		return false;
	for (uint64_t i = 0; i < src->n_kv; i++) {
		const struct gguf_kv *a = &src->kvs[i];
		char key[256];
		snprintf(key, sizeof key, "%.*s", (int)a->key.len, a->key.ptr);
		if (!strcmp(key, "general.file_type") || !strcmp(key, "general.quantization_version"))
			continue;
		const struct gguf_kv *b = gguf_find(out, key);
		if (!b || !same_value(&a->value, &b->value))
			return false;
	}
	return true;
}

/* The types and shapes the rules see in the file at path (caller frees
 * plan and names), with the model facts in m (arch in arch). */
static struct quantize_tensor *read_plan(const struct gguf *g, struct quantize_model *m, char *arch, size_t arch_size,
					 char (**names)[64])
{
	struct gguf_str a = { "", 0 };
	char key[96];
	gguf_get_str(g, "general.architecture", &a);
	snprintf(arch, arch_size, "%.*s", (int)a.len, a.ptr);
	*m = (struct quantize_model){ .arch = arch };
	snprintf(key, sizeof key, "%s.block_count", arch);
	gguf_get_u32(g, key, &m->n_layer);
	snprintf(key, sizeof key, "%s.attention.head_count", arch);
	gguf_get_u32(g, key, &m->n_head);
	snprintf(key, sizeof key, "%s.attention.head_count_kv", arch);
	gguf_get_u32(g, key, &m->n_head_kv);
	size_t n = (size_t)g->n_tensors;
	struct quantize_tensor *plan = xcalloc(n, sizeof *plan);
	*names = xcalloc(n, sizeof **names);
	for (size_t i = 0; i < n; i++) {
		const struct gguf_tensor *t = &g->tensors[i];
		snprintf((*names)[i], sizeof (*names)[i], "%.*s", (int)t->name.len, t->name.ptr);
		uint32_t dims = GGUF_MAX_DIMS;
		while (dims > 1 && t->ne[dims - 1] == 1)
			dims--;
		plan[i] = (struct quantize_tensor){ .name = (*names)[i], .n_dims = dims, .ne0 = t->ne[0], .src_type = t->type };
	}
	return plan;
}

/* Quantizes models/src_name to preset and checks the file against ref_name
 * (llama.cpp's quantization of the same source; NULL: the source itself):
 * the same tensor types, and logits within max_rel_rms of ref's.  Skips
 * the quantizing where the plan needs a quantizer this build lacks. */
static void check_file(const char *src_name, const char *preset_name, const char *ref_name, double max_rel_rms,
		       const char *tmp)
{
	char rel[128], arch[32];
	snprintf(rel, sizeof rel, "models/%s", src_name);
	char *src_path = xstrdup(fixture(rel));
	snprintf(rel, sizeof rel, "models/%s", ref_name ? ref_name : src_name);
	char *ref_path = xstrdup(fixture(rel));
	const struct quant_preset *preset = quantize_preset_find(preset_name);
	struct gguf *src = gguf_open(src_path), *ref = ref_name ? gguf_open(ref_path) : NULL;
	char(*names)[64] = NULL;
	struct quantize_tensor *plan = NULL;
	if (!ok(src && preset && (ref || !ref_name), "%s -> %s: source and reference open", src_name, preset_name))
		goto out;

	struct quantize_model m;
	plan = read_plan(src, &m, arch, sizeof arch, &names);
	size_t n = (size_t)src->n_tensors;
	quantize_choose_types(&m, preset, false, plan, n);
	const char *missing = NULL;
	size_t differ = 0;
	for (size_t i = 0; i < n; i++) {
		if (plan[i].type != plan[i].src_type && !quant_can_quantize(plan[i].type))
			missing = quant_name(plan[i].type);
		const struct gguf_tensor *r = ref ? gguf_find_tensor(ref, plan[i].name) : NULL;
		if (r && r->type != plan[i].type && differ++ < 3)
			diag("%s: %s is %s in llama.cpp's file, %s here", preset_name, plan[i].name, quant_name(r->type),
			     quant_name(plan[i].type));
	}
	if (ref)
		ok(differ == 0, "%s -> %s: every tensor gets the type it has in llama.cpp's %s", src_name, preset_name,
		   ref_name);
	if (missing) {
		char why[160];
		snprintf(why, sizeof why, "%s -> %s: this build cannot make %s tensors yet", src_name, preset_name,
			 missing);
		skip(why);
		goto out;
	}

	struct quantize_params qp = { .preset = preset, .n_threads = 2 };
	struct quantize_result res;
	if (!ok(quantize_file(src_path, tmp, &qp, &res) == 0, "%s -> %s: quantizes", src_name, preset_name)) {
		diag("%s", error_message());
		goto out;
	}
	struct gguf *q = gguf_open(tmp);
	bool types = q && q->n_tensors == n;
	for (size_t i = 0; types && i < n; i++)
		types = gguf_str_eq(q->tensors[i].name, plan[i].name) && q->tensors[i].type == plan[i].type &&
			q->tensors[i].offset % q->alignment == 0;
	ok(types, "%s -> %s: the file holds the planned types, in order, aligned", src_name, preset_name);
	ok(q && same_metadata(src, q, preset->ftype), "%s -> %s: metadata is the source's but for the file type",
	   src_name, preset_name);
	gguf_close(q);

	uint32_t nv_ref = 0, nv_q = 0;
	float *want = prompt_logits(ref_path, &nv_ref), *ours = prompt_logits(tmp, &nv_q);
	if (!ok(want && ours && nv_ref == nv_q, "%s -> %s: the file loads and runs", src_name, preset_name))
		diag("%s", error_message());
	else {
		double d = rel_rms(ours, want, nv_ref);
		ok(d <= max_rel_rms, "%s -> %s: logits rel_rms %.4f <= %.2f from %s's", src_name, preset_name, d,
		   max_rel_rms, ref_name ? ref_name : "the source");
	}
	free(want);
	free(ours);
out:
	free(plan);
	free(names);
	gguf_close(src);
	gguf_close(ref);
	free(src_path);
	free(ref_path);
}

static void test_files(const char *tmp)
{
	/* llama.cpp's quantizations of tiny256-F32 are in the fixtures: the
	 * same types, and logits within the shared README's bound for
	 * quantized types (0.08). */
	static const char *const with_ref[] = { "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_M",
						"Q4_K_S", "Q4_K_M", "Q5_K_M", "Q6_K", "IQ4_NL", "IQ4_XS" };
	char ref[64];
	for (size_t i = 0; i < ARRAY_LEN(with_ref); i++) {
		snprintf(ref, sizeof ref, "tiny256-%s.gguf", with_ref[i]);
		check_file("tiny256-F32.gguf", with_ref[i], ref, 0.08, tmp);
	}
	/* The random tiny256 model amplifies any change (Q8_0 alone moves its
	 * logits 0.033, llama.cpp's Q4_0 0.38): against the source, only a
	 * loose bound. */
	check_file("tiny256-F32.gguf", "Q3_K_S", NULL, 1.0, tmp);
	check_file("tiny256-F32.gguf", "Q5_K_S", NULL, 0.5, tmp);
	check_file("tiny256-F16.gguf", "Q8_0", "tiny256-Q8_0.gguf", 0.08, tmp);
	check_file("tiny256-F16.gguf", "Q4_0", "tiny256-Q4_0.gguf", 0.08, tmp);
	/* stories260K is a real model: close to its F32 source. */
	check_file("stories260K.gguf", "Q8_0", NULL, 0.02, tmp);
	check_file("stories260K.gguf", "Q4_0", NULL, 0.08, tmp);

	/* A cancelled run leaves no file, not even the temporary one. */
	unlink(tmp);
	volatile sig_atomic_t cancel = 1;
	struct quantize_params qp = { .preset = quantize_preset_find("Q8_0"), .n_threads = 1, .cancel = &cancel };
	struct quantize_result r;
	int rc = quantize_file(fixture("models/stories260K.gguf"), tmp, &qp, &r);
	char pattern[512];
	snprintf(pattern, sizeof pattern, "%s*", tmp);
	glob_t gl;
	bool leftover = glob(pattern, 0, NULL, &gl) == 0;
	if (leftover)
		globfree(&gl);
	ok(rc < 0 && strstr(error_message(), "interrupted") && !leftover, "a cancelled run fails and leaves no file");
}

int main(void)
{
	test_tinyllama_rules();
	test_fallbacks();
	char tmp[] = "/tmp/nibble-test-quantize-XXXXXX";
	int fd = mkstemp(tmp);
	if (fd < 0) {
		printf("Bail out! cannot create a temporary file\n");
		return 1;
	}
	close(fd);
	unlink(tmp); /* only the name is wanted */
	test_alignment(tmp);
	const char *data = getenv("NIBBLE_TEST_DATA");
	if (data && access(data, F_OK) == 0)
		test_files(tmp);
	else if (!ok(!getenv("NIBBLE_REQUIRE_FIXTURES") || strcmp(getenv("NIBBLE_REQUIRE_FIXTURES"), "1") != 0,
		     "the shared models are there (NIBBLE_REQUIRE_FIXTURES=1)"))
		;
	else
		skip("the shared models are not there (set NIBBLE_TEST_DATA)");
	unlink(tmp);
	return tap_done();
}
