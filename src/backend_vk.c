/* backend_vk.c - the op interface on a Vulkan device: weights copied once
 * into device memory, activations and an F16 KV cache in device buffers,
 * every op recorded into one command buffer that sync() submits. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "quant.h"
#include "util.h"
#include "vk.h"

struct backend_buffer {
	struct vk_buffer vb;
	int64_t cols, max_rows;
};

/* A host array (a weight matrix in the mapped file, a norm vector) and its
 * copy on the device. */
struct upload {
	const void *host;
	struct vk_buffer vb;
};

struct vk_backend {
	struct backend base;
	struct vk vk;
	struct upload *uploads;
	size_t n_uploads;
	struct vk_buffer *k_cache, *v_cache; /* [n_layer] of [n_ctx][kv_dim] F16 */
	int n_layer, n_ctx, kv_dim, n_head;
	struct vk_buffer scores;             /* attention scratch: [ATTN_ROWS][n_head][n_ctx] */
	struct vk_buffer rope_table;         /* [rope_cap][n_rot / 2] (cos, sin), host-visible */
	int rope_cap, rope_upto;             /* positions below rope_upto are in rope_table */
	struct rope_params rope;             /* what rope_table was computed for */
};

/* Query rows whose attention scores one dispatch keeps in the scratch. */
#define ATTN_ROWS 8
/* Bytes copied through the staging buffer at a time. */
#define STAGING_BYTES (16u << 20)

static struct vk_backend *vkb(struct backend *be)
{
	return (struct vk_backend *)be;
}

/* Remembers the first failure; sync() reports it. */
static void fail(struct vk_backend *b)
{
	vk_op_failed(&b->vk);
}

static void vkb_free(struct backend *be)
{
	struct vk_backend *b = vkb(be);
	if (b->vk.dev) {
		vkDeviceWaitIdle(b->vk.dev);
		for (size_t i = 0; i < b->n_uploads; i++)
			vk_buffer_free(&b->vk, &b->uploads[i].vb);
		for (int l = 0; l < b->n_layer; l++) {
			vk_buffer_free(&b->vk, &b->k_cache[l]);
			vk_buffer_free(&b->vk, &b->v_cache[l]);
		}
		vk_buffer_free(&b->vk, &b->scores);
		vk_buffer_free(&b->vk, &b->rope_table);
	}
	free(b->uploads);
	free(b->k_cache);
	free(b->v_cache);
	vk_close(&b->vk);
	free(b);
}

static struct backend_buffer *vkb_buffer_new(struct backend *be, int64_t cols, int64_t max_rows, bool host_read)
{
	struct vk_backend *b = vkb(be);
	struct backend_buffer *buf = xcalloc(1, sizeof *buf);
	buf->cols = cols;
	buf->max_rows = max_rows;
	if (vk_buffer_init(&b->vk, &buf->vb, (VkDeviceSize)(cols * max_rows) * sizeof(float), host_read) < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void vkb_buffer_free(struct backend *be, struct backend_buffer *buf)
{
	if (!buf)
		return;
	vkDeviceWaitIdle(vkb(be)->vk.dev);
	vk_buffer_free(&vkb(be)->vk, &buf->vb);
	free(buf);
}

static struct vk_binding whole(const struct vk_buffer *vb)
{
	return (struct vk_binding){ vb->buf, 0, vb->size };
}

static struct vk_binding of(const struct backend_buffer *buf)
{
	return whole(&buf->vb);
}

/* ---- uploads --------------------------------------------------------------- */

static const struct upload *find_upload(const struct vk_backend *b, const void *host)
{
	for (size_t i = 0; i < b->n_uploads; i++)
		if (b->uploads[i].host == host)
			return &b->uploads[i];
	return NULL;
}

/* Copies n bytes at host into a new device buffer, through a staging
 * buffer. */
static int upload(struct vk_backend *b, const void *host, size_t n)
{
	if (find_upload(b, host))
		return 0;
	struct upload u = { .host = host };
	if (vk_buffer_init(&b->vk, &u.vb, n, false) < 0)
		return -1;
	struct vk_buffer staging;
	if (vk_buffer_init(&b->vk, &staging, n < STAGING_BYTES ? n : STAGING_BYTES, true) < 0) {
		vk_buffer_free(&b->vk, &u.vb);
		return -1;
	}
	for (size_t done = 0; done < n;) {
		size_t chunk = n - done < STAGING_BYTES ? n - done : STAGING_BYTES;
		memcpy(staging.map, (const uint8_t *)host + done, chunk);
		vk_copy(&b->vk, staging.buf, 0, u.vb.buf, done, (chunk + 3) / 4 * 4);
		if (vk_submit(&b->vk) < 0) {
			vk_buffer_free(&b->vk, &staging);
			vk_buffer_free(&b->vk, &u.vb);
			return -1;
		}
		done += chunk;
	}
	vk_buffer_free(&b->vk, &staging);
	b->uploads = xrealloc(b->uploads, (b->n_uploads + 1) * sizeof *b->uploads);
	b->uploads[b->n_uploads++] = u;
	return 0;
}

static int vkb_upload_weight(struct backend *be, const struct weight *w)
{
	const struct type_traits *qt = quant_traits(w->type);
	if (!qt || (w->n_in % 32 && qt->block_size != 1))
		return error("%s: %s rows of %lld weights have no Vulkan shader", w->name,
			     qt ? quant_name(w->type) : "this type", (long long)w->n_in);
	if (!vk_pipeline(&vkb(be)->vk, VK_SHADER_MATMUL, w->type) ||
	    !vk_pipeline(&vkb(be)->vk, VK_SHADER_GET_ROWS, w->type))
		return -1;
	return upload(vkb(be), w->data, w->row_bytes * (size_t)w->n_out);
}

static int vkb_upload_vector(struct backend *be, const float *v, int64_t n)
{
	return upload(vkb(be), v, (size_t)n * sizeof *v);
}

static const struct upload *uploaded(struct vk_backend *b, const void *host)
{
	const struct upload *u = find_upload(b, host);
	if (!u) {
		error("Vulkan: a weight was not uploaded");
		fail(b);
	}
	return u;
}

/* ---- KV cache ------------------------------------------------------------------ */

static int vkb_kv_init(struct backend *be, int n_layer, int n_ctx, int kv_dim, int n_head)
{
	struct vk_backend *b = vkb(be);
	uint64_t layer_bytes = (uint64_t)n_ctx * (uint64_t)kv_dim * 2;
	if (layer_bytes > b->vk.info.max_buffer_range)
		return error("Vulkan: a KV cache layer of %d positions is larger than this device binds; "
			     "try a smaller --ctx-size", n_ctx);
	b->k_cache = xcalloc((size_t)n_layer, sizeof *b->k_cache);
	b->v_cache = xcalloc((size_t)n_layer, sizeof *b->v_cache);
	b->n_layer = n_layer;
	for (int l = 0; l < n_layer; l++)
		if (vk_buffer_init(&b->vk, &b->k_cache[l], layer_bytes, false) < 0 ||
		    vk_buffer_init(&b->vk, &b->v_cache[l], layer_bytes, false) < 0)
			return error_prefix("the KV cache: ");
	if (vk_buffer_init(&b->vk, &b->scores, (VkDeviceSize)ATTN_ROWS * n_head * n_ctx * sizeof(float), false) < 0)
		return error_prefix("attention scratch: ");
	b->n_ctx = n_ctx;
	b->kv_dim = kv_dim;
	b->n_head = n_head;
	return 0;
}

/* ---- ops -------------------------------------------------------------------------- */

/* Splits n workgroups into x and y within the device's limit on x. */
static void fold(const struct vk_backend *b, uint32_t n, uint32_t *gx, uint32_t *gy)
{
	uint32_t max = b->vk.max_groups[0];
	*gx = n < max ? n : max;
	*gy = (n + *gx - 1) / *gx;
}

static void vkb_get_rows(struct backend *be, struct backend_buffer *dst, const struct weight *w,
			 const int32_t *ids, int n_rows)
{
	struct vk_backend *b = vkb(be);
	const struct upload *u = uploaded(b, w->data);
	VkPipeline p = vk_pipeline(&b->vk, VK_SHADER_GET_ROWS, w->type);
	if (!u || !p)
		return fail(b);
	for (int r = 0; r < n_rows; r++) {
		/* bind the stretch that holds the row: one binding may see less
		 * than the whole matrix */
		VkDeviceSize at = (VkDeviceSize)ids[r] * w->row_bytes, start = at / b->vk.offset_align * b->vk.offset_align;
		VkDeviceSize range = (at - start + w->row_bytes + 3) / 4 * 4;
		struct vk_binding bind[VK_BINDINGS] = { [0] = { u->vb.buf, start, range }, [2] = of(dst) };
		struct {
			uint32_t n_in, row_offset, y_offset;
		} push = { (uint32_t)w->n_in, (uint32_t)(at - start), (uint32_t)(r * dst->cols) };
		uint32_t units = (uint32_t)((w->n_in + 31) / 32);
		vk_dispatch(&b->vk, p, bind, &push, sizeof push, (units + b->vk.wg - 1) / b->vk.wg, 1, 1);
	}
}

static void vkb_rms_norm(struct backend *be, struct backend_buffer *dst, const struct backend_buffer *src,
			 const float *weight, float eps, int n_rows)
{
	struct vk_backend *b = vkb(be);
	const struct upload *u = uploaded(b, weight);
	if (!u)
		return;
	struct vk_binding bind[VK_BINDINGS] = { [1] = of(src), [2] = of(dst), [3] = whole(&u->vb) };
	struct {
		uint32_t n, x_offset, y_offset, w_offset;
		float eps;
	} push = { (uint32_t)src->cols, 0, 0, 0, eps };
	vk_dispatch(&b->vk, vk_pipeline(&b->vk, VK_SHADER_RMS_NORM, 0), bind, &push, sizeof push, (uint32_t)n_rows,
		    1, 1);
}

static void vkb_matmul(struct backend *be, int n, struct backend_buffer *const dst[],
		       const struct weight *const w[], const struct backend_buffer *src, int n_rows)
{
	struct vk_backend *b = vkb(be);
	for (int k = 0; k < n; k++) {
		const struct upload *u = uploaded(b, w[k]->data);
		VkPipeline p = vk_pipeline(&b->vk, VK_SHADER_MATMUL, w[k]->type);
		if (!u || !p)
			return fail(b);
		/* rows per dispatch: as many as one binding sees, starting at
		 * offsets the device can bind */
		VkDeviceSize rb = w[k]->row_bytes, align = b->vk.offset_align, step = 1;
		while (step * rb % align)
			step++;
		int64_t per = (int64_t)(b->vk.info.max_buffer_range / rb / step * step);
		if (per < 1) {
			error("%s: a row is larger than this device binds", w[k]->name);
			return fail(b);
		}
		for (int64_t first = 0; first < w[k]->n_out; first += per) {
			int64_t rows = w[k]->n_out - first < per ? w[k]->n_out - first : per;
			struct vk_binding bind[VK_BINDINGS] = {
				[0] = { u->vb.buf, (VkDeviceSize)first * rb, ((VkDeviceSize)rows * rb + 3) / 4 * 4 },
				[1] = of(src),
				[2] = of(dst[k]),
			};
			struct {
				uint32_t n_in, n_out, n_rows, row_bytes, x_stride, y_stride, y_col;
			} push = { (uint32_t)w[k]->n_in, (uint32_t)rows, (uint32_t)n_rows, (uint32_t)rb,
				   (uint32_t)src->cols, (uint32_t)dst[k]->cols, (uint32_t)first };
			uint32_t gx, gy;
			fold(b, (uint32_t)rows, &gx, &gy);
			vk_dispatch(&b->vk, p, bind, &push, sizeof push, gx, gy, (uint32_t)(n_rows + 7) / 8);
		}
	}
}

static bool same_rope(const struct rope_params *a, const struct rope_params *b)
{
	return a->style == b->style && a->n_rot == b->n_rot && a->freq_base == b->freq_base &&
	       a->freq_scale == b->freq_scale && a->freq_factors == b->freq_factors;
}

/* The cosines and sines of positions up to `upto`, computed in double as
 * the CPU backend does, into the host-visible table. */
static int rope_table_fill(struct vk_backend *b, const struct rope_params *rp, int upto)
{
	int half = rp->n_rot / 2;
	if (!b->rope_table.buf || !same_rope(rp, &b->rope) || upto > b->rope_cap) {
		/* a new table: what was recorded may still read the old one */
		if (vk_submit(&b->vk) < 0)
			return -1;
		vk_buffer_free(&b->vk, &b->rope_table);
		b->rope = *rp;
		b->rope_cap = b->rope_upto = 0;
		int cap = upto > b->n_ctx ? upto : b->n_ctx;
		if (vk_buffer_init(&b->vk, &b->rope_table, (VkDeviceSize)cap * half * 2 * sizeof(float), true) < 0)
			return -1;
		b->rope_cap = cap;
	}
	float *t = b->rope_table.map;
	for (int pos = b->rope_upto; pos < upto; pos++) {
		double p = (double)pos * rp->freq_scale;
		for (int i = 0; i < half; i++) {
			double theta = p * pow(rp->freq_base, -2.0 * i / rp->n_rot);
			if (rp->freq_factors)
				theta /= rp->freq_factors[i];
			t[2 * ((size_t)pos * half + i)] = (float)cos(theta);
			t[2 * ((size_t)pos * half + i) + 1] = (float)sin(theta);
		}
	}
	if (upto > b->rope_upto)
		b->rope_upto = upto;
	return 0;
}

static void vkb_rope(struct backend *be, struct backend_buffer *x, int head_dim, const struct rope_params *rp,
		     int pos0, int n_rows)
{
	struct vk_backend *b = vkb(be);
	if (rope_table_fill(b, rp, pos0 + n_rows) < 0)
		return fail(b);
	int half = rp->n_rot / 2;
	struct vk_binding bind[VK_BINDINGS] = {
		[2] = of(x),
		[3] = { b->rope_table.buf, 0, VK_WHOLE_SIZE },
	};
	struct {
		uint32_t cols, head_dim, n_rot, halves, n_rows, pos0;
	} push = { (uint32_t)x->cols, (uint32_t)head_dim, (uint32_t)rp->n_rot, rp->style == ROPE_HALVES,
		   (uint32_t)n_rows, (uint32_t)pos0 };
	uint32_t pairs = (uint32_t)(x->cols / head_dim * half);
	vk_dispatch(&b->vk, vk_pipeline(&b->vk, VK_SHADER_ROPE, 0), bind, &push, sizeof push,
		    (pairs + b->vk.wg - 1) / b->vk.wg, (uint32_t)n_rows, 1);
}

static void vkb_kv_store(struct backend *be, int layer, const struct backend_buffer *k,
			 const struct backend_buffer *v, int pos0, int n_rows)
{
	struct vk_backend *b = vkb(be);
	struct vk_binding bind[VK_BINDINGS] = {
		[0] = whole(&b->k_cache[layer]),
		[1] = of(k),
		[2] = of(v),
		[3] = whole(&b->v_cache[layer]),
	};
	struct {
		uint32_t kv_dim, pos0, n_rows, k_stride, v_stride;
	} push = { (uint32_t)b->kv_dim, (uint32_t)pos0, (uint32_t)n_rows, (uint32_t)k->cols, (uint32_t)v->cols };
	uint32_t words = (uint32_t)b->kv_dim / 2;
	vk_dispatch(&b->vk, vk_pipeline(&b->vk, VK_SHADER_KV_STORE, 0), bind, &push, sizeof push,
		    (words + b->vk.wg - 1) / b->vk.wg, (uint32_t)n_rows, 1);
}

static void vkb_attention(struct backend *be, struct backend_buffer *dst, const struct backend_buffer *q,
			  int layer, int n_head, int n_head_kv, int head_dim, float scale, int pos0, int n_rows)
{
	struct vk_backend *b = vkb(be);
	VkPipeline p = vk_pipeline(&b->vk, VK_SHADER_ATTENTION, 0);
	struct vk_binding bind[VK_BINDINGS] = {
		whole(&b->k_cache[layer]), of(q), of(dst), whole(&b->v_cache[layer]), whole(&b->scores),
	};
	for (int r0 = 0; r0 < n_rows; r0 += ATTN_ROWS) {
		struct {
			uint32_t n_head, n_head_kv, head_dim, kv_dim;
			uint32_t pos0, q_stride, o_stride, n_ctx, r0;
			float scale;
		} push = { (uint32_t)n_head, (uint32_t)n_head_kv, (uint32_t)head_dim, (uint32_t)b->kv_dim,
			   (uint32_t)pos0, (uint32_t)q->cols, (uint32_t)dst->cols, (uint32_t)b->n_ctx, (uint32_t)r0,
			   scale };
		int rows = n_rows - r0 < ATTN_ROWS ? n_rows - r0 : ATTN_ROWS;
		vk_dispatch(&b->vk, p, bind, &push, sizeof push, (uint32_t)n_head, (uint32_t)rows, 1);
	}
}

static void elementwise(struct vk_backend *b, enum vk_shader s, struct backend_buffer *y,
			const struct backend_buffer *x, int n_rows)
{
	struct vk_binding bind[VK_BINDINGS] = { [1] = of(x), [2] = of(y) };
	uint32_t n = (uint32_t)(y->cols * n_rows), gx, gy;
	fold(b, (n + b->vk.wg - 1) / b->vk.wg, &gx, &gy);
	vk_dispatch(&b->vk, vk_pipeline(&b->vk, s, 0), bind, &n, sizeof n, gx, gy, 1);
}

static void vkb_swiglu(struct backend *be, struct backend_buffer *gate, const struct backend_buffer *up,
		       int n_rows)
{
	elementwise(vkb(be), VK_SHADER_SWIGLU, gate, up, n_rows);
}

static void vkb_add(struct backend *be, struct backend_buffer *dst, const struct backend_buffer *src, int n_rows)
{
	elementwise(vkb(be), VK_SHADER_ADD, dst, src, n_rows);
}

static void vkb_copy_rows(struct backend *be, struct backend_buffer *dst, const struct backend_buffer *src,
			  int src_row, int n_rows)
{
	VkDeviceSize row = (VkDeviceSize)src->cols * sizeof(float);
	vk_copy(&vkb(be)->vk, src->vb.buf, src_row * row, dst->vb.buf, 0, n_rows * row);
}

static void vkb_write(struct backend *be, struct backend_buffer *dst, const float *src, int n_rows)
{
	struct vk_backend *b = vkb(be);
	size_t n = (size_t)(n_rows * dst->cols) * sizeof(float);
	struct vk_buffer host;
	if (vk_submit(&b->vk) < 0 || vk_buffer_init(&b->vk, &host, n, true) < 0)
		return fail(b);
	memcpy(host.map, src, n);
	vk_copy(&b->vk, host.buf, 0, dst->vb.buf, 0, (n + 3) / 4 * 4);
	if (vk_submit(&b->vk) < 0)
		fail(b);
	vk_buffer_free(&b->vk, &host);
}

static int vkb_sync(struct backend *be)
{
	return vk_submit(&vkb(be)->vk);
}

static void vkb_read(struct backend *be, const struct backend_buffer *src, float *out, int n_rows)
{
	size_t n = (size_t)(n_rows * src->cols) * sizeof(float);
	if (src->vb.map) {
		memcpy(out, src->vb.map, n);
		return;
	}
	/* a device-only buffer: through a host-visible copy */
	struct vk_backend *b = vkb(be);
	struct vk_buffer host;
	if (vk_buffer_init(&b->vk, &host, n, true) < 0 ||
	    (vk_copy(&b->vk, src->vb.buf, 0, host.buf, 0, n), vk_submit(&b->vk)) < 0) {
		memset(out, 0, n);
		fail(b);
	} else {
		memcpy(out, host.map, n);
	}
	vk_buffer_free(&b->vk, &host);
}

static const struct backend_ops vk_ops = {
	.name = "vulkan",
	.free = vkb_free,
	.buffer_new = vkb_buffer_new,
	.buffer_free = vkb_buffer_free,
	.kv_init = vkb_kv_init,
	.upload_weight = vkb_upload_weight,
	.upload_vector = vkb_upload_vector,
	.get_rows = vkb_get_rows,
	.rms_norm = vkb_rms_norm,
	.matmul = vkb_matmul,
	.rope = vkb_rope,
	.kv_store = vkb_kv_store,
	.attention = vkb_attention,
	.swiglu = vkb_swiglu,
	.add = vkb_add,
	.copy_rows = vkb_copy_rows,
	.write = vkb_write,
	.sync = vkb_sync,
	.read = vkb_read,
};

struct backend *backend_vk_init(int device)
{
	struct vk_backend *b = xcalloc(1, sizeof *b);
	b->base.ops = &vk_ops;
	if (vk_open(&b->vk, device) < 0) {
		free(b);
		return NULL;
	}
	snprintf(b->base.description, sizeof b->base.description, "Vulkan %s", b->vk.info.name);
	return &b->base;
}
