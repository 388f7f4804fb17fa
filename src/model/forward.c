/* forward.c - the decoder forward pass, written once over the backend op
 * interface.  Architecture differences come from the model's arch entry. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "model/context.h"
#include "base/util.h"

static void matmul1(struct backend *be, struct backend_buffer *dst, const struct weight *w,
		    const struct backend_buffer *src, int n_rows)
{
	be->ops->matmul(be, 1, &dst, &w, src, n_rows);
}

/* The layers of one stage over n_rows rows of its x. */
static void stage_layers(struct context *ctx, struct stage *st, int n_rows)
{
	const struct model *m = ctx->model;
	const struct hparams *hp = &m->hp;
	struct backend *be = st->be;
	const struct backend_ops *op = be->ops;
	struct context_buffers *b = &st->buf;
	int pos0 = (int)ctx->n_past;
	float scale = 1.0f / sqrtf((float)hp->head_dim);
	struct rope_params rope = {
		.style = m->arch->rope,
		.n_rot = (int)hp->n_rot,
		.freq_base = hp->rope_freq_base,
		.freq_scale = hp->rope_freq_scale,
		.freq_factors = m->rope_freqs,
	};
	for (uint32_t i = 0; i < st->n_layers; i++) {
		const struct layer *l = &m->layers[st->first + i];
		int kv = (int)i; /* each stage caches its own layers */

		/* attention block */
		op->rms_norm(be, b->xn, b->x, l->attn_norm, hp->rms_eps, n_rows);
		op->matmul(be, 3, (struct backend_buffer *[]){ b->q, b->k, b->v },
			   (const struct weight *[]){ &l->wq, &l->wk, &l->wv }, b->xn, n_rows);
		op->rope(be, b->q, (int)hp->head_dim, &rope, pos0, n_rows);
		op->rope(be, b->k, (int)hp->head_dim, &rope, pos0, n_rows);
		op->kv_store(be, kv, b->k, b->v, pos0, n_rows);
		op->attention(be, b->attn, b->q, kv, (int)hp->n_head, (int)hp->n_head_kv, (int)hp->head_dim, scale,
			      pos0, n_rows);
		matmul1(be, b->xn, &l->wo, b->attn, n_rows);
		op->add(be, b->x, b->xn, n_rows);

		/* feed-forward block (SwiGLU) */
		op->rms_norm(be, b->xn, b->x, l->ffn_norm, hp->rms_eps, n_rows);
		op->matmul(be, 2, (struct backend_buffer *[]){ b->gate, b->up },
			   (const struct weight *[]){ &l->ffn_gate, &l->ffn_up }, b->xn, n_rows);
		op->swiglu(be, b->gate, b->up, n_rows);
		matmul1(be, b->xn, &l->ffn_down, b->gate, n_rows);
		op->add(be, b->x, b->xn, n_rows);
	}
}

int forward(struct context *ctx, const int32_t *tokens, int n_rows, float *all_logits)
{
	const struct model *m = ctx->model;
	const struct hparams *hp = &m->hp;
	struct stage *st = &ctx->stage[0];
	st->be->ops->get_rows(st->be, st->buf.x, &m->tok_embd, tokens, n_rows);
	stage_layers(ctx, st, n_rows);
	for (int s = 1; s < ctx->n_stages; s++) {
		/* the activations cross from one backend to the next */
		struct stage *prev = st;
		st = &ctx->stage[s];
		if (prev->be->ops->sync(prev->be) < 0)
			return -1;
		prev->be->ops->read(prev->be, prev->buf.x, ctx->handoff, n_rows);
		st->be->ops->write(st->be, st->buf.x, ctx->handoff, n_rows);
		stage_layers(ctx, st, n_rows);
	}

	struct backend *be = st->be;
	const struct backend_ops *op = be->ops;
	struct context_buffers *b = &st->buf;
	if (all_logits) {
		op->rms_norm(be, b->xn, b->x, m->output_norm, hp->rms_eps, n_rows);
		matmul1(be, b->logits_all, &m->output, b->xn, n_rows);
		if (op->sync(be) < 0)
			return -1;
		op->read(be, b->logits_all, all_logits, n_rows);
		memcpy(ctx->logits, all_logits + (size_t)(n_rows - 1) * hp->n_vocab, hp->n_vocab * sizeof(float));
		return 0;
	}
	/* Generation needs only the last position's distribution. */
	op->copy_rows(be, b->last, b->x, n_rows - 1, 1);
	op->rms_norm(be, b->last, b->last, m->output_norm, hp->rms_eps, 1);
	matmul1(be, b->logits, &m->output, b->last, 1);
	if (op->sync(be) < 0)
		return -1;
	op->read(be, b->logits, ctx->logits, 1);
	return 0;
}
