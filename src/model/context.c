/* context.c - set up a backend and buffers for a model, and feed it tokens
 * in batches. */
#include "config.h"

#include "model/context.h"

#include <stdlib.h>

#include "base/util.h"

#define DEFAULT_BATCH 64
#define MAX_CTX (1u << 24)

/* The stage's KV cache slots and activation buffers. */
static int stage_init(struct context *ctx, struct stage *st)
{
	const struct hparams *hp = &ctx->model->hp;
	struct backend *be = st->be;
	int64_t q_dim = (int64_t)hp->n_head * hp->head_dim, kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
	if (be->ops->kv_init(be, (int)st->n_layers, (int)ctx->n_ctx, (int)kv_dim, (int)hp->n_head) < 0)
		return -1;
	struct backend_buffer *(*new)(struct backend *, int64_t, int64_t, bool) = be->ops->buffer_new;
	int64_t rows = ctx->n_batch;
	struct context_buffers *b = &st->buf;
	if (!(b->x = new(be, hp->n_embd, rows, false)) || !(b->xn = new(be, hp->n_embd, rows, false)) ||
	    !(b->q = new(be, q_dim, rows, false)) || !(b->k = new(be, kv_dim, rows, false)) ||
	    !(b->v = new(be, kv_dim, rows, false)) || !(b->attn = new(be, q_dim, rows, false)) ||
	    !(b->gate = new(be, hp->n_ff, rows, false)) || !(b->up = new(be, hp->n_ff, rows, false)) ||
	    !(b->last = new(be, hp->n_embd, 1, false)) || !(b->logits = new(be, hp->n_vocab, 1, true)))
		return -1;
	return 0;
}

struct context *context_init(const struct model *m, const struct context_params *p)
{
	const struct hparams *hp = &m->hp;
	struct context *ctx = xcalloc(1, sizeof *ctx);
	ctx->model = m;
	ctx->n_ctx = p->n_ctx ? p->n_ctx : model_default_ctx(m);
	ctx->n_batch = p->n_batch > 0 ? p->n_batch : DEFAULT_BATCH;
	if (ctx->n_ctx > MAX_CTX) {
		error("a context of %u tokens is too large (at most %u)", ctx->n_ctx, MAX_CTX);
		goto fail;
	}
	ctx->n_stages = backend_choose(p, m, ctx->n_ctx, ctx->stage, ctx->backend_reason, sizeof ctx->backend_reason);
	if (ctx->n_stages < 0) {
		ctx->n_stages = 0;
		goto fail;
	}
	ctx->be = ctx->stage[0].be;
	for (int s = 0; s < ctx->n_stages; s++)
		if (stage_init(ctx, &ctx->stage[s]) < 0)
			goto fail;
	if (ctx->n_stages > 1)
		ctx->handoff = xmalloc((size_t)ctx->n_batch * hp->n_embd * sizeof *ctx->handoff);
	ctx->logits = xcalloc(hp->n_vocab, sizeof *ctx->logits);
	return ctx;
fail:
	context_free(ctx);
	return NULL;
}

void context_free(struct context *ctx)
{
	if (!ctx)
		return;
	for (int s = 0; s < ctx->n_stages; s++) {
		struct backend *be = ctx->stage[s].be;
		struct context_buffers *b = &ctx->stage[s].buf;
		struct backend_buffer *all[] = { b->x, b->xn, b->q, b->k, b->v, b->attn, b->gate, b->up,
						  b->last, b->logits, b->logits_all };
		for (size_t i = 0; i < ARRAY_LEN(all); i++)
			be->ops->buffer_free(be, all[i]);
		backend_free(be);
	}
	free(ctx->handoff);
	free(ctx->logits);
	free(ctx);
}

/* Evaluates n tokens in batches; all_logits as in forward(), advanced by
 * each batch. */
static int eval_batches(struct context *ctx, const int32_t *tokens, size_t n, float *all_logits)
{
	if (n == 0)
		return error("nothing to evaluate");
	if (n > ctx->n_ctx - ctx->n_past)
		return error("%zu tokens do not fit in the context (%u of %u positions used)", n, ctx->n_past,
			     ctx->n_ctx);
	for (size_t i = 0; i < n; i++)
		if (tokens[i] < 0 || (uint32_t)tokens[i] >= ctx->model->hp.n_vocab)
			return error("token id %d is out of range (vocabulary of %u)", tokens[i],
				     ctx->model->hp.n_vocab);
	for (size_t done = 0; done < n;) {
		int chunk = (int)(n - done < (size_t)ctx->n_batch ? n - done : (size_t)ctx->n_batch);
		float *rows = all_logits ? all_logits + done * ctx->model->hp.n_vocab : NULL;
		if (forward(ctx, tokens + done, chunk, rows) < 0)
			return -1;
		ctx->n_past += (uint32_t)chunk;
		done += (size_t)chunk;
	}
	return 0;
}

int context_eval(struct context *ctx, const int32_t *tokens, size_t n)
{
	return eval_batches(ctx, tokens, n, NULL);
}

int context_eval_all(struct context *ctx, const int32_t *tokens, size_t n, float *out)
{
	struct stage *last = &ctx->stage[ctx->n_stages - 1];
	if (!last->buf.logits_all &&
	    !(last->buf.logits_all = last->be->ops->buffer_new(last->be, ctx->model->hp.n_vocab, ctx->n_batch, true)))
		return -1;
	return eval_batches(ctx, tokens, n, out);
}

void context_truncate(struct context *ctx, uint32_t n)
{
	if (n < ctx->n_past)
		ctx->n_past = n; /* later positions are overwritten as they are evaluated */
}
