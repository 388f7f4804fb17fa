/* backend_cpu.c - the op interface on the CPU: activations in plain float
 * arrays, an F16 KV cache, and the heavy ops (matmul, attention) split
 * across the thread pool.  Kernels come from quant.c. */
#include "config.h"

#include <assert.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "quant/quant.h"
#include "base/threadpool.h"
#include "base/util.h"

struct backend_buffer {
	float *data;
	int64_t cols, max_rows;
};

struct cpu_backend {
	struct backend base;
	struct threadpool *pool;
	int n_ctx, kv_dim, n_layer;
	uint16_t *k_cache, *v_cache; /* [n_layer][n_ctx][kv_dim] fp16 */
	float *scratch;              /* [n_threads][n_ctx + kv_dim] attention scores, a V row */
	uint8_t *act;                /* quantized activations for matmul */
	size_t act_cap;
};

static struct cpu_backend *cpu(struct backend *be)
{
	return (struct cpu_backend *)be;
}

static void cpu_free(struct backend *be)
{
	struct cpu_backend *c = cpu(be);
	threadpool_free(c->pool);
	free(c->k_cache);
	free(c->v_cache);
	free(c->scratch);
	free(c->act);
	free(c);
}

static struct backend_buffer *cpu_buffer_new(struct backend *be, int64_t cols, int64_t max_rows, bool host_read)
{
	struct backend_buffer *b = xmalloc(sizeof *b);
	b->data = xcalloc((size_t)(cols * max_rows), sizeof(float));
	b->cols = cols;
	b->max_rows = max_rows;
	return b;
}

static void cpu_buffer_free(struct backend *be, struct backend_buffer *b)
{
	if (!b)
		return;
	free(b->data);
	free(b);
}

static int cpu_kv_init(struct backend *be, int n_layer, int n_ctx, int kv_dim, int n_head)
{
	struct cpu_backend *c = cpu(be);
	uint64_t n;
	char size[32];
	if (!mul_u64((uint64_t)n_layer * (uint64_t)n_ctx, (uint64_t)kv_dim * sizeof(uint16_t), &n) ||
	    n > SIZE_MAX / 2)
		return error("the KV cache for %d positions is too large; try a smaller --ctx-size", n_ctx);
	c->k_cache = malloc(n);
	c->v_cache = malloc(n);
	c->scratch = malloc((size_t)threadpool_size(c->pool) * ((size_t)n_ctx + (size_t)kv_dim) * sizeof(float));
	if (!c->k_cache || !c->v_cache || !c->scratch)
		return error("cannot allocate %s for the KV cache; try a smaller --ctx-size",
			     format_bytes(2 * n, size, sizeof size));
	c->n_layer = n_layer;
	c->n_ctx = n_ctx;
	c->kv_dim = kv_dim;
	return 0;
}

static void cpu_get_rows(struct backend *be, struct backend_buffer *dst, const struct weight *w,
			 const int32_t *ids, int n_rows)
{
	for (int r = 0; r < n_rows; r++)
		quant_dequantize(w->type, (const uint8_t *)w->data + (size_t)ids[r] * w->row_bytes,
				 dst->data + r * dst->cols, w->n_in);
}

static void cpu_rms_norm(struct backend *be, struct backend_buffer *dst, const struct backend_buffer *src,
			 const float *weight, float eps, int n_rows)
{
	int64_t n = src->cols;
	for (int r = 0; r < n_rows; r++) {
		const float *x = src->data + r * n;
		float *y = dst->data + r * n;
		double sum = 0;
		for (int64_t i = 0; i < n; i++)
			sum += (double)x[i] * x[i];
		float scale = (float)(1.0 / sqrt(sum / n + eps));
		for (int64_t i = 0; i < n; i++)
			y[i] = x[i] * scale * weight[i];
	}
}

/* Activation rows per matmul tile: their quantized copies stay in the L2
 * cache while every weight row passes them. */
#define MATMUL_TILE_ROWS 64

/* One matrix of a matmul job. */
struct matmul_part {
	struct backend_buffer *dst;
	const struct weight *w;
	const void *act;   /* the activations in the weight type's vec_dot_type */
	size_t act_stride; /* bytes from one activation row to the next */
	int64_t chunk;     /* weight rows per work item */
	int64_t n_chunks;  /* work items per tile of activation rows */
	int64_t first_item; /* the job's work items before this matrix's */
};

struct matmul_job {
	const struct backend_buffer *src;
	int n_rows, n_tiles, n_parts;
	struct matmul_part part[BACKEND_MATMUL_MAX];
	int64_t n_items;
	atomic_int_fast64_t next; /* the next work item to take */
	/* for quantize_worker: the input in one part's vec_dot_type */
	uint32_t act_type;
	uint8_t *act;
	size_t act_stride;
};

/* Threads take work items from a shared counter rather than fixed shares,
 * so a thread slowed by another process does not hold up the rest.  The
 * items of all the job's matrices form one sequence: one wait at the end
 * instead of one per matrix. */
static void matmul_worker(void *arg, int ith, int nth)
{
	struct matmul_job *job = arg;
	for (;;) {
		int64_t item = atomic_fetch_add(&job->next, 1);
		if (item >= job->n_items)
			break;
		const struct matmul_part *p = job->part;
		while (item >= p->first_item + p->n_chunks * job->n_tiles)
			p++;
		item -= p->first_item;
		const struct weight *w = p->w;
		int64_t first = item % p->n_chunks * p->chunk;
		int64_t last = first + p->chunk < w->n_out ? first + p->chunk : w->n_out;
		int r0 = (int)(item / p->n_chunks) * MATMUL_TILE_ROWS;
		int n = job->n_rows - r0 < MATMUL_TILE_ROWS ? job->n_rows - r0 : MATMUL_TILE_ROWS;
		const uint8_t *act = (const uint8_t *)p->act + (size_t)r0 * p->act_stride;
		float *out = p->dst->data + (size_t)r0 * p->dst->cols;
		quant_vec_dot_tile(w->type, (const uint8_t *)w->data + first * w->row_bytes, w->row_bytes,
				   (int)(last - first), act, p->act_stride, n, w->n_in, out + first,
				   (size_t)p->dst->cols);
	}
}

/* Activation rows ith, ith + nth, ... to act_type. */
static void quantize_worker(void *arg, int ith, int nth)
{
	struct matmul_job *job = arg;
	for (int r = ith; r < job->n_rows; r += nth)
		quant_quantize(job->act_type, job->src->data + (size_t)r * job->src->cols,
			       job->act + (size_t)r * job->act_stride, job->src->cols);
}

/* The input in the vec_dot_type of every part, each type quantized once. */
static void matmul_prepare_input(struct cpu_backend *c, struct matmul_job *job)
{
	int nth = threadpool_size(c->pool);
	const struct backend_buffer *src = job->src;
	uint32_t types[BACKEND_MATMUL_MAX];
	size_t offsets[BACKEND_MATMUL_MAX], size = 0;
	int n_types = 0;
	for (int k = 0; k < job->n_parts; k++) {
		uint32_t t = quant_traits(job->part[k].w->type)->vec_dot_type;
		int u = 0;
		while (u < n_types && types[u] != t)
			u++;
		if (u == n_types && t != GGML_TYPE_F32) {
			types[n_types] = t;
			offsets[n_types++] = size;
			size += (size_t)quant_row_bytes(t, src->cols) * (size_t)job->n_rows;
		}
	}
	if (size > c->act_cap) {
		free(c->act);
		c->act_cap = size;
		c->act = xmalloc(size);
	}
	for (int u = 0; u < n_types; u++) {
		job->act_type = types[u];
		job->act = c->act + offsets[u];
		job->act_stride = (size_t)quant_row_bytes(types[u], src->cols);
		if (job->n_rows >= nth && nth > 1)
			threadpool_run(c->pool, quantize_worker, job);
		else
			quantize_worker(job, 0, 1);
	}
	for (int k = 0; k < job->n_parts; k++) {
		struct matmul_part *p = &job->part[k];
		uint32_t t = quant_traits(p->w->type)->vec_dot_type;
		p->act = src->data;
		p->act_stride = (size_t)src->cols * sizeof(float);
		for (int u = 0; u < n_types; u++)
			if (types[u] == t) {
				p->act = c->act + offsets[u];
				p->act_stride = (size_t)quant_row_bytes(t, src->cols);
			}
	}
}

static void cpu_matmul(struct backend *be, int n, struct backend_buffer *const dst[],
		       const struct weight *const w[], const struct backend_buffer *src, int n_rows)
{
	struct cpu_backend *c = cpu(be);
	int nth = threadpool_size(c->pool);
	struct matmul_job job = { .src = src, .n_rows = n_rows, .n_parts = n };
	job.n_tiles = (n_rows + MATMUL_TILE_ROWS - 1) / MATMUL_TILE_ROWS;
	assert(n >= 1 && n <= BACKEND_BACKEND_MATMUL_MAX);
	for (int k = 0; k < n; k++) {
		struct matmul_part *p = &job.part[k];
		p->dst = dst[k];
		p->w = w[k];
		/* about 16 work items per thread: enough to even out, few enough
		 * that each streams a long stretch of weights; whole groups of 8
		 * rows, which kernels take together */
		p->chunk = ((w[k]->n_out + 16 * nth - 1) / (16 * nth) + 7) / 8 * 8;
		p->n_chunks = (w[k]->n_out + p->chunk - 1) / p->chunk;
		p->first_item = job.n_items;
		job.n_items += p->n_chunks * job.n_tiles;
	}
	atomic_init(&job.next, 0);
	matmul_prepare_input(c, &job);
	threadpool_run(c->pool, matmul_worker, &job);
}

static void cpu_rope(struct backend *be, struct backend_buffer *x, int head_dim, const struct rope_params *rp,
		     int pos0, int n_rows)
{
	int half = rp->n_rot / 2;
	int64_t n_heads = x->cols / head_dim;
	for (int r = 0; r < n_rows; r++) {
		double pos = (double)(pos0 + r) * rp->freq_scale;
		for (int i = 0; i < half; i++) {
			double theta = pos * pow(rp->freq_base, -2.0 * i / rp->n_rot);
			if (rp->freq_factors)
				theta /= rp->freq_factors[i];
			float c = (float)cos(theta), s = (float)sin(theta);
			for (int64_t h = 0; h < n_heads; h++) {
				float *v = x->data + r * x->cols + h * head_dim;
				int a = rp->style == ROPE_ADJACENT ? 2 * i : i;
				int b = rp->style == ROPE_ADJACENT ? 2 * i + 1 : i + half;
				float x0 = v[a], x1 = v[b];
				v[a] = x0 * c - x1 * s;
				v[b] = x0 * s + x1 * c;
			}
		}
	}
}

static void cpu_kv_store(struct backend *be, int layer, const struct backend_buffer *k,
			 const struct backend_buffer *v, int pos0, int n_rows)
{
	struct cpu_backend *c = cpu(be);
	size_t base = ((size_t)layer * c->n_ctx + pos0) * c->kv_dim;
	for (int r = 0; r < n_rows; r++)
		for (int i = 0; i < c->kv_dim; i++) {
			c->k_cache[base + (size_t)r * c->kv_dim + i] = f32_to_fp16(k->data[r * k->cols + i]);
			c->v_cache[base + (size_t)r * c->kv_dim + i] = f32_to_fp16(v->data[r * v->cols + i]);
		}
}

struct attention_job {
	struct cpu_backend *c;
	struct backend_buffer *dst;
	const struct backend_buffer *q;
	int layer, n_head, n_head_kv, head_dim, pos0, n_rows;
	float scale;
};

static void attention_worker(void *arg, int ith, int nth)
{
	const struct attention_job *job = arg;
	struct cpu_backend *c = job->c;
	float *scores = c->scratch + (size_t)ith * (size_t)(c->n_ctx + c->kv_dim);
	float *v_row = scores + c->n_ctx;
	int group = job->n_head / job->n_head_kv;
	const uint16_t *k_layer = c->k_cache + (size_t)job->layer * c->n_ctx * c->kv_dim;
	const uint16_t *v_layer = c->v_cache + (size_t)job->layer * c->n_ctx * c->kv_dim;
	for (int task = ith; task < job->n_rows * job->n_head; task += nth) {
		int r = task / job->n_head, h = task % job->n_head;
		int n_pos = job->pos0 + r + 1; /* causal: itself and everything before */
		const float *q = job->q->data + r * job->q->cols + h * job->head_dim;
		size_t kv_off = (size_t)(h / group) * job->head_dim;
		float max = -INFINITY;
		for (int t = 0; t < n_pos; t++) {
			const uint16_t *k = k_layer + (size_t)t * c->kv_dim + kv_off;
			scores[t] = quant_vec_dot(GGML_TYPE_F16, k, q, job->head_dim) * job->scale;
			if (scores[t] > max)
				max = scores[t];
		}
		double sum = 0;
		for (int t = 0; t < n_pos; t++) {
			scores[t] = expf(scores[t] - max);
			sum += scores[t];
		}
		float *out = job->dst->data + r * job->dst->cols + h * job->head_dim;
		memset(out, 0, (size_t)job->head_dim * sizeof *out);
		for (int t = 0; t < n_pos; t++) {
			quant_dequantize(GGML_TYPE_F16, v_layer + (size_t)t * c->kv_dim + kv_off, v_row, job->head_dim);
			float p = (float)(scores[t] / sum);
			for (int i = 0; i < job->head_dim; i++)
				out[i] += p * v_row[i];
		}
	}
}

static void cpu_attention(struct backend *be, struct backend_buffer *dst, const struct backend_buffer *q,
			  int layer, int n_head, int n_head_kv, int head_dim, float scale, int pos0, int n_rows)
{
	struct attention_job job = { cpu(be), dst, q, layer, n_head, n_head_kv, head_dim, pos0, n_rows, scale };
	threadpool_run(cpu(be)->pool, attention_worker, &job);
}

static void cpu_swiglu(struct backend *be, struct backend_buffer *gate, const struct backend_buffer *up,
		       int n_rows)
{
	int64_t n = gate->cols * n_rows;
	for (int64_t i = 0; i < n; i++) {
		float g = gate->data[i];
		gate->data[i] = g / (1.0f + expf(-g)) * up->data[i];
	}
}

static void cpu_add(struct backend *be, struct backend_buffer *dst, const struct backend_buffer *src, int n_rows)
{
	int64_t n = dst->cols * n_rows;
	for (int64_t i = 0; i < n; i++)
		dst->data[i] += src->data[i];
}

static void cpu_copy_rows(struct backend *be, struct backend_buffer *dst, const struct backend_buffer *src,
			  int src_row, int n_rows)
{
	memcpy(dst->data, src->data + src_row * src->cols, (size_t)(n_rows * src->cols) * sizeof(float));
}

static void cpu_write(struct backend *be, struct backend_buffer *dst, const float *src, int n_rows)
{
	memcpy(dst->data, src, (size_t)(n_rows * dst->cols) * sizeof(float));
}

static int cpu_sync(struct backend *be)
{
	return 0; /* every op has already run */
}

static void cpu_read(struct backend *be, const struct backend_buffer *src, float *out, int n_rows)
{
	memcpy(out, src->data, (size_t)(n_rows * src->cols) * sizeof(float));
}

static const struct backend_ops cpu_ops = {
	.name = "cpu",
	.free = cpu_free,
	.buffer_new = cpu_buffer_new,
	.buffer_free = cpu_buffer_free,
	.kv_init = cpu_kv_init,
	.get_rows = cpu_get_rows,
	.rms_norm = cpu_rms_norm,
	.matmul = cpu_matmul,
	.rope = cpu_rope,
	.kv_store = cpu_kv_store,
	.attention = cpu_attention,
	.swiglu = cpu_swiglu,
	.add = cpu_add,
	.copy_rows = cpu_copy_rows,
	.write = cpu_write,
	.sync = cpu_sync,
	.read = cpu_read,
};

struct backend *backend_cpu_init(int n_threads)
{
	struct cpu_backend *c = xcalloc(1, sizeof *c);
	c->base.ops = &cpu_ops;
	c->pool = threadpool_init(n_threads);
	if (!c->pool) {
		free(c);
		return NULL;
	}
	snprintf(c->base.description, sizeof c->base.description, "CPU %s x%d", quant_kernels_name(), n_threads);
	return &c->base;
}
