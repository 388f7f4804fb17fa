/* test_golden.c - the model against llama.cpp's reference outputs in
 * ../shared/golden: prompt tokens, next-token logits within the documented
 * tolerances, greedy continuations, and stories260K's published text. */
#include "config.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "model/context.h"
#include "fixtures.h"
#include "logits.h"
#include "model/model.h"
#include "quant/quant.h"
#include "tap.h"
#include "base/util.h"

struct golden {
	char *prompt;
	int32_t prompt_tokens[512], generated[512];
	size_t n_prompt, n_generated;
	uint32_t n_vocab;
	float *logits;
};

static size_t read_ids(json_object *arr, int32_t *out, size_t max)
{
	size_t n = json_object_array_length(arr);
	for (size_t i = 0; i < n && i < max; i++)
		out[i] = json_object_get_int(json_object_array_get_idx(arr, i));
	return n < max ? n : max;
}

static int load_golden(const char *name, struct golden *g)
{
	char rel[256];
	snprintf(rel, sizeof rel, "golden/%s.json", name);
	json_object *root = json_object_from_file(fixture(rel)), *v;
	if (!root)
		return -1;
	memset(g, 0, sizeof *g);
	json_object_object_get_ex(root, "prompt", &v);
	g->prompt = xstrdup(json_object_get_string(v));
	json_object_object_get_ex(root, "prompt_tokens", &v);
	g->n_prompt = read_ids(v, g->prompt_tokens, 512);
	json_object_object_get_ex(root, "generated_tokens", &v);
	g->n_generated = read_ids(v, g->generated, 512);
	json_object_object_get_ex(root, "n_vocab", &v);
	g->n_vocab = (uint32_t)json_object_get_int(v);
	json_object_put(root);

	snprintf(rel, sizeof rel, "golden/%s.logits.f32", name);
	size_t len;
	g->logits = (float *)read_file(fixture(rel), &len);
	if (!g->logits || len != g->n_vocab * sizeof(float))
		return -1;
	return 0;
}

static int32_t argmax(const float *x, uint32_t n)
{
	int32_t best = 0;
	for (uint32_t i = 1; i < n; i++)
		if (x[i] > x[best])
			best = (int32_t)i;
	return best;
}

/* Checks one golden case; n_greedy > 0 also compares that many greedy tokens. */
static void check_case(const char *model_file, const char *file_name, double tolerance, size_t n_greedy)
{
	struct golden g;
	char rel[256], name[96];
	snprintf(name, sizeof name, "%s [%s]", file_name, test_backend);
	if (load_golden(file_name, &g) < 0) {
		ok(0, "%s: golden files readable", name);
		return;
	}
	snprintf(rel, sizeof rel, "models/%s", model_file);
	struct model *m = model_load(fixture(rel), MODEL_LOAD_FULL);
	if (!ok(m != NULL, "%s: model loads", name)) {
		diag("%s", error_message());
		goto out;
	}
	int32_t *ids = NULL;
	size_t n = 0, cap = 0;
	tokenizer_encode(m->tokenizer, g.prompt, strlen(g.prompt), TOKENIZE_ADD_SPECIAL | TOKENIZE_PARSE_SPECIAL,
			 &ids, &n, &cap);
	ok(n == g.n_prompt && memcmp(ids, g.prompt_tokens, n * sizeof *ids) == 0, "%s: prompt tokens match", name);

	struct context_params cp = { .n_ctx = 512, .n_threads = 2, .backend = test_backend };
	struct context *ctx = context_init(m, &cp);
	if (!ok(ctx && m->hp.n_vocab == g.n_vocab && context_eval(ctx, g.prompt_tokens, g.n_prompt) == 0,
		"%s: prompt evaluates", name)) {
		diag("%s", error_message());
		goto free;
	}
	double r = rel_rms(ctx->logits, g.logits, g.n_vocab);
	ok(r <= tolerance, "%s: logits rel_rms %.5f <= %.3f", name, r, tolerance);

	if (n_greedy) {
		size_t same = 0;
		for (; same < n_greedy && same < g.n_generated; same++) {
			int32_t id = argmax(ctx->logits, g.n_vocab);
			if (id != g.generated[same] || context_eval(ctx, &id, 1) < 0)
				break;
		}
		ok(same == n_greedy, "%s: first %zu greedy tokens match (%zu matched)", name, n_greedy, same);
	}
free:
	free(ids);
	context_free(ctx);
	model_free(m);
out:
	free(g.prompt);
	free(g.logits);
}

/* The weights of m as F32 copies (kept in copies[] to free). */
static void dequantize_weight(struct weight *w, float **copies, int *n_copies)
{
	float *f = xmalloc((size_t)w->n_in * (size_t)w->n_out * sizeof *f);
	quant_dequantize(w->type, w->data, f, w->n_in * w->n_out);
	copies[(*n_copies)++] = f;
	w->type = GGML_TYPE_F32;
	w->data = f;
	w->row_bytes = (size_t)w->n_in * sizeof *f;
}

/* tiny256 files that have no llama.cpp logits: the quantized model against
 * itself with every matrix dequantized to F32 (the F32 path has its golden).
 * The two differ only by the 8-bit activations the quantized dot products
 * use, as the goldens above do (0.02-0.03); a misread block or a wrong
 * kernel would be far off. */
static void check_dequantized(const char *type)
{
	char rel[128], name[64];
	snprintf(rel, sizeof rel, "models/tiny256-%s.gguf", type);
	snprintf(name, sizeof name, "tiny256-%s [%s]", type, test_backend);
	struct model *m = model_load(fixture(rel), MODEL_LOAD_FULL);
	static const int32_t prompt[] = { 1, 45, 499, 173, 17, 432, 172, 97, 278, 366, 112, 289 };
	size_t n = sizeof prompt / sizeof *prompt;
	float *quantized = m ? eval_logits(m, prompt, n) : NULL, *dequantized = NULL;
	if (!ok(quantized != NULL, "%s: loads and evaluates", name)) {
		diag("%s", error_message());
		model_free(m);
		return;
	}
	float **copies = xmalloc((7 * m->hp.n_layer + 1) * sizeof *copies);
	int n_copies = 0;
	for (uint32_t l = 0; l < m->hp.n_layer; l++) {
		struct layer *L = &m->layers[l];
		struct weight *ws[] = { &L->wq, &L->wk, &L->wv, &L->wo, &L->ffn_gate, &L->ffn_up, &L->ffn_down };
		for (int k = 0; k < 7; k++)
			dequantize_weight(ws[k], copies, &n_copies);
	}
	if (!m->tied_output)
		dequantize_weight(&m->output, copies, &n_copies);
	dequantized = eval_logits(m, prompt, n);
	double r = dequantized ? rel_rms(quantized, dequantized, m->hp.n_vocab) : INFINITY;
	ok(r <= 0.06, "%s: logits within rel_rms %.5f <= 0.06 of its weights dequantized to F32", name, r);
	for (int i = 0; i < n_copies; i++)
		free(copies[i]);
	free(copies);
	free(quantized);
	free(dequantized);
	model_free(m);
}

/* 256 greedy steps from BOS alone must give the published story. */
static void check_greedy_story(void)
{
	struct model *m = model_load(fixture("models/stories260K.gguf"), MODEL_LOAD_FULL);
	size_t len;
	char *expected = read_file(fixture("models/stories260K.expected-greedy-256.txt"), &len);
	if (!ok(m && expected, "[%s] stories260K and its expected story load", test_backend))
		goto out;
	struct context_params cp = { .n_ctx = 512, .n_threads = 2, .backend = test_backend };
	struct context *ctx = context_init(m, &cp);
	if (!ok(ctx != NULL, "[%s] stories260K context", test_backend)) {
		diag("%s", error_message());
		goto out;
	}
	int32_t prev = m->tokenizer->bos;
	struct strbuf text = { 0 };
	context_eval(ctx, &prev, 1);
	for (int i = 0; i < 256; i++) {
		int32_t id = argmax(ctx->logits, m->hp.n_vocab);
		if (id == m->tokenizer->eos)
			break;
		tokenizer_piece(m->tokenizer, id, prev == m->tokenizer->bos, &text);
		prev = id;
		context_eval(ctx, &id, 1);
	}
	/* The published file ends with a newline that is not model output. */
	while (len > 0 && expected[len - 1] == '\n')
		expected[--len] = '\0';
	if (!ok(text.len == len && memcmp(text.data, expected, len) == 0, "[%s] greedy story from BOS matches the published text", test_backend)) {
		diag("got:      %s", text.data);
		diag("expected: %s", expected);
	}
	strbuf_free(&text);
	context_free(ctx);
out:
	free(expected);
	model_free(m);
}

/* Every case on the backend test_backend names. */
static void check_all(void)
{
	for (int p = 0; p < 4; p++) {
		char name[64];
		snprintf(name, sizeof name, "stories260K-p%d", p);
		check_case("stories260K.gguf", name, 0.005, 64);
	}
	check_greedy_story();
	check_case("tiny256-F32.gguf", "tiny256-F32", 0.005, 0);
	check_case("tiny256-F16.gguf", "tiny256-F16", 0.005, 0);
	check_case("tiny256-BF16.gguf", "tiny256-BF16", 0.02, 0);
	check_case("tiny256-Q8_0.gguf", "tiny256-Q8_0", 0.08, 0);
	check_case("tiny256-Q4_0.gguf", "tiny256-Q4_0", 0.08, 0);
	check_case("tiny256-Q5_0.gguf", "tiny256-Q5_0", 0.08, 0);
	check_case("tiny256-IQ4_NL.gguf", "tiny256-IQ4_NL", 0.08, 0);
	check_case("tiny256-Q2_K.gguf", "tiny256-Q2_K", 0.08, 0);
	check_case("tiny256-Q4_K_M.gguf", "tiny256-Q4_K_M", 0.08, 0);
	check_case("tiny256-Q5_K_M.gguf", "tiny256-Q5_K_M", 0.08, 0);
	check_case("tiny256-Q6_K.gguf", "tiny256-Q6_K", 0.08, 0);
	static const char *const no_golden[] = { "Q4_1", "Q5_1", "Q3_K_M", "Q4_K_S", "IQ4_XS" };
	for (size_t i = 0; i < sizeof no_golden / sizeof *no_golden; i++)
		check_dequantized(no_golden[i]);
}

int main(void)
{
	fixtures_dir();
	check_all();
	if (vulkan_testable()) {
		test_backend = "vulkan";
		check_all();
	}
	return tap_done();
}
