/* test_kquant_models.c - the k-quant types on llama.cpp's files of the
 * tiny256 test model: every mixture loads and gives finite logits, and our
 * reference quantizers reproduce llama.cpp's blocks from the F32 weights. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/context.h"
#include "fixtures.h"
#include "gguf/gguf.h"
#include "quant/quant.h"
#include "tap.h"
#include "base/util.h"

static const char *const files[] = { "Q2_K", "Q3_K_M", "Q4_K_S", "Q4_K_M", "Q5_K_M", "Q6_K", "IQ4_XS" };

static const char prompt[] = "Once upon a time there was a little girl";

/* The next-token logits after the prompt, or NULL (with a failed point). */
static float *prompt_logits(const char *file, uint32_t *n_vocab)
{
	char rel[128];
	snprintf(rel, sizeof rel, "models/tiny256-%s.gguf", file);
	struct model *m = model_load(fixture(rel), MODEL_LOAD_FULL);
	float *out = NULL;
	int32_t *ids = NULL;
	size_t n = 0, cap = 0;
	struct context *ctx = NULL;
	if (!m)
		goto fail;
	tokenizer_encode(m->tokenizer, prompt, strlen(prompt), TOKENIZE_ADD_SPECIAL, &ids, &n, &cap);
	struct context_params cp = { .n_ctx = 64, .n_threads = 2 };
	ctx = context_init(m, &cp);
	if (!ctx || context_eval(ctx, ids, n) < 0)
		goto fail;
	*n_vocab = m->hp.n_vocab;
	out = xmalloc(*n_vocab * sizeof *out);
	memcpy(out, ctx->logits, *n_vocab * sizeof *out);
fail:
	if (!out)
		ok(0, "tiny256-%s loads and evaluates (%s)", file, error_message());
	free(ids);
	context_free(ctx);
	model_free(m);
	return out;
}

/* Every file, including the mixtures without goldens (Q3_K_M, Q4_K_S,
 * IQ4_XS), gives finite logits that are not all alike.  (The random model
 * is chaotic: quantized files land far from the F32 logits, so only the
 * goldens of test_golden can judge closeness.) */
static void test_logits(void)
{
	for (size_t f = 0; f < ARRAY_LEN(files); f++) {
		uint32_t n;
		float *y = prompt_logits(files[f], &n);
		if (!y)
			continue;
		int finite = 1;
		float lo = INFINITY, hi = -INFINITY;
		for (uint32_t i = 0; i < n; i++) {
			finite &= isfinite(y[i]) != 0;
			lo = fminf(lo, y[i]);
			hi = fmaxf(hi, y[i]);
		}
		ok(finite && hi > lo, "tiny256-%s: finite logits, from %g to %g", files[f], lo, hi);
		free(y);
	}
}

/* Our quantizers on the F32 weights give llama.cpp's k-quant blocks
 * exactly; IQ4_XS requantizes with the stored fp16 scale where llama.cpp
 * uses the unrounded one, so there the error must be no larger. */
static void test_same_blocks(void)
{
	struct gguf *f32 = gguf_open(fixture("models/tiny256-F32.gguf"));
	if (!ok(f32 != NULL, "tiny256-F32 opens"))
		return;
	for (size_t f = 0; f < ARRAY_LEN(files); f++) {
		char rel[128];
		snprintf(rel, sizeof rel, "models/tiny256-%s.gguf", files[f]);
		struct gguf *g = gguf_open(fixture(rel));
		if (!ok(g != NULL, "tiny256-%s opens", files[f]))
			continue;
		uint64_t blocks = 0, same = 0;
		double err_ours = 0, err_theirs = 0;
		for (uint64_t t = 0; t < g->n_tensors; t++) {
			const struct gguf_tensor *q = &g->tensors[t];
			const struct type_traits *tr = quant_traits(q->type);
			if (tr->block_size == 1)
				continue;
			char name[128];
			snprintf(name, sizeof name, "%.*s", (int)q->name.len, q->name.ptr);
			const struct gguf_tensor *src = gguf_find_tensor(f32, name);
			int64_t n = (int64_t)q->n_elements;
			uint8_t *ours = xmalloc(q->n_bytes);
			float *x = xmalloc((size_t)n * sizeof *x), *y = xmalloc((size_t)n * sizeof *y);
			quant_dequantize(GGML_TYPE_F32, src->data, x, n);
			quant_quantize(q->type, x, ours, n);
			for (uint64_t b = 0; b < q->n_bytes / tr->type_size; b++, blocks++)
				same += !memcmp(ours + b * tr->type_size, (const uint8_t *)q->data + b * tr->type_size,
						tr->type_size);
			quant_dequantize(q->type, ours, y, n);
			for (int64_t i = 0; i < n; i++)
				err_ours += (double)(y[i] - x[i]) * (y[i] - x[i]);
			quant_dequantize(q->type, q->data, y, n);
			for (int64_t i = 0; i < n; i++)
				err_theirs += (double)(y[i] - x[i]) * (y[i] - x[i]);
			free(ours);
			free(x);
			free(y);
		}
		if (strcmp(files[f], "IQ4_XS"))
			ok(same == blocks, "tiny256-%s: our quantizers give llama.cpp's blocks (%llu of %llu)", files[f],
			   (unsigned long long)same, (unsigned long long)blocks);
		else
			ok(err_ours <= err_theirs, "tiny256-%s: our squared error %.6g <= llama.cpp's %.6g", files[f],
			   err_ours, err_theirs);
		gguf_close(g);
	}
	gguf_close(f32);
}

int main(void)
{
	fixtures_dir();
	test_logits();
	test_same_blocks();
	return tap_done();
}
