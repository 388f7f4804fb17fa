/* test_model.c - model loading refuses inconsistent files with a message
 * naming the problem, and the forward pass is consistent with itself:
 * batched prefill equals token-by-token decoding, the logits of every
 * position equal the last-row logits of each prefix, a full context refuses
 * more tokens. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/context.h"
#include "gguf_writer.h"
#include "base/sysmem.h"
#include "tap.h"

static char path[] = "/tmp/nibble-test-model-XXXXXX";

static struct model *load_spec(const struct tiny_spec *spec, enum model_load_what what)
{
	struct strbuf b = { 0 };
	tiny_model(&b, spec);
	gw_save(&b, path);
	strbuf_free(&b);
	return model_load(path, what);
}

static void expect_refused(const struct tiny_spec *spec, const char *want, const char *what)
{
	struct model *m = load_spec(spec, MODEL_LOAD_FULL);
	if (!ok(!m && strstr(error_message(), want), "%s is refused", what))
		diag("message: '%s' (wanted '%s')", m ? "(loaded)" : error_message(), want);
	model_free(m);
}

static void test_refusals(void)
{
	expect_refused(&(struct tiny_spec){ .arch = "gpt-j" }, "unsupported architecture 'gpt-j'", "an unknown architecture");
	expect_refused(&(struct tiny_spec){ .tokenizer = "gpt2" }, "tokenizer.ggml.merges is missing", "a BPE vocabulary without merges");
	expect_refused(&(struct tiny_spec){ .tokenizer = "wordpiece" }, "unsupported tokenizer 'wordpiece'", "an unknown tokenizer");
	expect_refused(&(struct tiny_spec){ .n_head = 3 }, "head_count 3 is not a multiple of head_count_kv 2", "a bad GQA ratio");
	expect_refused(&(struct tiny_spec){ .n_head = 4, .n_head_kv = 8 }, "not a multiple", "more KV heads than heads");
	expect_refused(&(struct tiny_spec){ .n_head = 5, .n_head_kv = 5 }, "embedding_length 32 is not a multiple of head_count 5", "an uneven head size");
	expect_refused(&(struct tiny_spec){ .skip_tensor = "blk.1.ffn_up.weight" }, "missing tensor 'blk.1.ffn_up.weight'", "a missing tensor");
	expect_refused(&(struct tiny_spec){ .bad_shape = "blk.0.attn_k.weight" }, "tensor 'blk.0.attn_k.weight' has shape [64, 16, 1, 1], expected [32, 16]", "a wrong shape");
	expect_refused(&(struct tiny_spec){ .mxfp4_tensor = "blk.0.attn_q.weight" }, "tensor 'blk.0.attn_q.weight' has type MXFP4", "an unsupported tensor type");
	expect_refused(&(struct tiny_spec){ .bos_id = 5000 }, "bos_token_id 5000 is out of range", "a BOS id outside the vocabulary");
	expect_refused(&(struct tiny_spec){ .scores_short = 1 }, "tokenizer.ggml.scores has 267 entries for 268 tokens", "a short score array");
	expect_refused(&(struct tiny_spec){ .tokens_as_int = 1 }, "tokenizer.ggml.tokens is an array of int32", "tokens of the wrong type");
	expect_refused(&(struct tiny_spec){ .block_count = 3 }, "missing tensor 'blk.2.attn_norm.weight'", "a block count beyond the tensors");
	expect_refused(&(struct tiny_spec){ .block_count = 1000000 }, "block_count 1000000 is larger than the number of tensors", "an absurd block count");

	/* info can still describe a model it cannot run. */
	struct model *m = load_spec(&(struct tiny_spec){ .mxfp4_tensor = "blk.0.attn_q.weight" }, MODEL_LOAD_INSPECT);
	ok(m && m->unsupported && strstr(m->unsupported, "MXFP4"), "inspecting a model notes the unsupported type");
	model_free(m);
}

/* A model far larger than any test machine's RAM and swap (8 layers of
 * 15 GiB: a sparse file that takes no disk space) loads, but making a
 * context for it is refused, with the estimate, before anything is read
 * or allocated; --force lets it through the check. */
static void test_memory(void)
{
	uint64_t available = sysmem_available();
	if (!available || getenv("NIBBLE_UNDER_VALGRIND")) {
		/* valgrind cannot map 120 GiB */
		skip(available ? "under valgrind" : "the memory available is unknown here");
		return;
	}
	struct tiny_spec spec = { .layers = 8, .embd = 16384, .ff = 65536, .sparse = 1 };
	struct strbuf b = { 0 };
	uint64_t data = tiny_model(&b, &spec);
	int saved = gw_save(&b, path) == 0 && truncate(path, (off_t)(b.len + data)) == 0;
	strbuf_free(&b);
	if (!ok(saved && b.len + data > 2 * available, "a sparse model of %.0f GiB is written",
		(double)(b.len + data) / (1 << 30)))
		return;
	struct model *m = model_load(path, MODEL_LOAD_FULL);
	if (!ok(m != NULL, "the sparse model loads")) {
		diag("%s", error_message());
		return;
	}
	struct context_params p = { .backend = "cpu" };
	struct context *ctx = context_init(m, &p);
	const char *msg = ctx ? "(made)" : error_message();
	if (!ok(!ctx && strstr(msg, "the model needs") && strstr(msg, "available; try a smaller quant"),
		"a context for a model larger than the memory available is refused"))
		diag("message: '%s'", msg);
	context_free(ctx);
	p.force = true;
	ok(context_memory_check(&p, m, 128) == 0, "--force lets a model larger than the memory through the check");
	model_free(m);
	truncate(path, 0);
}

static double max_diff(const float *a, const float *b, size_t n)
{
	double d = 0;
	for (size_t i = 0; i < n; i++)
		d = fmax(d, fabs((double)a[i] - b[i]));
	return d;
}

static void test_forward(void)
{
	struct model *m = load_spec(&(struct tiny_spec){ 0 }, MODEL_LOAD_FULL);
	if (!ok(m != NULL, "the tiny model loads")) {
		diag("%s", error_message());
		return;
	}
	ok(m->hp.n_vocab == 268 && m->hp.n_layer == 2 && m->hp.head_dim == 8 && m->hp.n_head_kv == 2 &&
		   m->hp.n_rot == 8 && !m->tied_output,
	   "hyperparameters are read and derived");
	int32_t toks[12] = { 1, 260, 261, 262, 263, 264, 265, 260, 262, 40, 41, 42 };
	uint32_t nv = m->hp.n_vocab;

	/* one batch of 12, batches of 5, and one token at a time must agree */
	float *ref = xmalloc(nv * sizeof *ref);
	struct context_params cp = { .n_ctx = 16, .n_threads = 2 };
	struct context *a = context_init(m, &cp);
	ok(a && context_eval(a, toks, 12) == 0 && a->n_past == 12, "a 12-token prompt evaluates in one batch");
	memcpy(ref, a->logits, nv * sizeof *ref);
	bool finite = true;
	for (uint32_t i = 0; i < nv; i++)
		finite &= isfinite(ref[i]);
	ok(finite, "logits are finite");

	struct context_params cp5 = { .n_ctx = 16, .n_threads = 1, .n_batch = 5 };
	struct context *b = context_init(m, &cp5);
	context_eval(b, toks, 12);
	double d5 = max_diff(ref, b->logits, nv);
	ok(d5 < 1e-4, "batches of 5 give the same logits (max diff %.2g)", d5);

	struct context *c = context_init(m, &cp);
	for (int i = 0; i < 12; i++)
		context_eval(c, &toks[i], 1);
	double d1 = max_diff(ref, c->logits, nv);
	ok(d1 < 1e-4, "token-by-token decoding gives the same logits (max diff %.2g)", d1);

	/* Every row's logits, across batches of 5, equal the prefix's last row. */
	struct context *d = context_init(m, &cp5);
	float *all = xmalloc(12 * nv * sizeof *all);
	ok(context_eval_all(d, toks, 12, all) == 0 && d->n_past == 12 && max_diff(ref, d->logits, nv) < 1e-4,
	   "context_eval_all evaluates and leaves the last row's logits");
	double worst = 0;
	for (int i = 0; i < 12; i++) {
		struct context *e = context_init(m, &cp);
		context_eval(e, toks, (size_t)i + 1);
		worst = fmax(worst, max_diff(e->logits, all + (size_t)i * nv, nv));
		context_free(e);
	}
	ok(worst < 1e-4, "context_eval_all gives every position's logits (max diff %.2g)", worst);
	free(all);
	context_free(d);

	/* A full context refuses more and keeps its state. */
	ok(context_eval(a, toks, 5) < 0 && strstr(error_message(), "do not fit") && a->n_past == 12,
	   "tokens past the context are refused");
	ok(context_eval(a, toks, 4) == 0 && a->n_past == 16, "the context fills to the last position");
	int32_t bad = (int32_t)nv;
	ok(context_eval(c, &bad, 1) < 0 && strstr(error_message(), "out of range"), "an out-of-range token id is refused");

	/* Special tokens in text: user-defined always, control only when asked. */
	int32_t *ids = NULL;
	size_t n = 0, cap = 0;
	tokenizer_encode(m->tokenizer, "a<|u|>b<ctl>", 12, 0, &ids, &n, &cap);
	bool user = false, ctl = false;
	for (size_t i = 0; i < n; i++) {
		user |= ids[i] == 266;
		ctl |= ids[i] == 267;
	}
	ok(user && !ctl, "user-defined token text is always one token, control text stays text");
	n = 0;
	tokenizer_encode(m->tokenizer, "a<|u|>b<ctl>", 12, TOKENIZE_PARSE_SPECIAL, &ids, &n, &cap);
	ok(n == 4 && ids[0] == 260 && ids[1] == 266 && ids[2] == 261 && ids[3] == 267,
	   "with special parsing both become tokens, text after them gets the space prefix");
	free(ids);

	context_free(a);
	context_free(b);
	context_free(c);
	free(ref);
	model_free(m);
}

int main(void)
{
	int fd = mkstemp(path);
	if (fd < 0) {
		printf("Bail out! cannot create a temporary file\n");
		return 1;
	}
	close(fd);
	test_refusals();
	test_memory();
	test_forward();
	unlink(path);
	return tap_done();
}
