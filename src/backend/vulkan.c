/* backend_vk.c - the op interface on a Vulkan device: weights copied once
 * into device memory, activations and an F16 KV cache in device buffers,
 * every op recorded into one command buffer that sync() submits. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "quant/quant.h"
#include "base/util.h"
#include "backend/vulkan_device.h"

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
	struct vk_buffer scores;             /* attention scratch: [attn_rows][n_head][n_ctx] */
	int attn_rows;                       /* query rows one attention dispatch takes */
	struct vk_buffer rope_table;         /* [rope_cap][n_rot / 2] (cos, sin), host-visible */
	int rope_cap, rope_upto;             /* positions below rope_upto are in rope_table */
	struct rope_params rope;             /* what rope_table was computed for */
	uint8_t selftest[GGML_TYPE_COUNT];   /* SELFTEST_* of each weight type */
	bool on_cpu[GGML_TYPE_COUNT];        /* failed types named in base.cpu_types */
	char *selftest_path;                 /* where the results are kept */
};

/* A weight type's shaders on this device, driver and nibble version. */
enum { SELFTEST_UNKNOWN, SELFTEST_PASSED, SELFTEST_FAILED };

/* Activation rows one workgroup of matmul.glsl takes (its ROWS); longer
 * batches go to matmul_tiled.comp, whose tiles are TILE_OUT weight rows by
 * TILE_ROWS activation rows. */
#define MATMUL_ROWS 8
#define TILE_OUT 64
#define TILE_ROWS 32
/* Query rows whose attention scores one dispatch keeps in the scratch, at
 * most (fewer when the scratch would be larger than one binding sees). */
#define ATTN_ROWS 8
/* Bytes copied through the staging buffer at a time. */
#define STAGING_BYTES (16u << 20)

static void vkb_read(struct backend *be, const struct backend_buffer *src, float *out, int n_rows);

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
	free(b->selftest_path);
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

/* Copies n bytes at host to offset `at` of dst, through a staging buffer,
 * after what was recorded before. */
static int copy_in(struct vk_backend *b, VkBuffer dst, VkDeviceSize at, const void *host, size_t n)
{
	struct vk_buffer staging;
	if (vk_submit(&b->vk) < 0 || vk_buffer_init(&b->vk, &staging, n < STAGING_BYTES ? n : STAGING_BYTES, true) < 0)
		return -1;
	int rc = 0;
	for (size_t done = 0; done < n && rc == 0; done += STAGING_BYTES) {
		size_t chunk = n - done < STAGING_BYTES ? n - done : STAGING_BYTES;
		memcpy(staging.map, (const uint8_t *)host + done, chunk);
		vk_copy(&b->vk, staging.buf, 0, dst, at + done, chunk);
		rc = vk_submit(&b->vk);
	}
	vk_buffer_free(&b->vk, &staging);
	return rc;
}

/* n bytes at host in a new device buffer. */
static int upload_buffer(struct vk_backend *b, const void *host, size_t n, struct vk_buffer *vb)
{
	if (vk_buffer_init(&b->vk, vb, n, false) < 0)
		return -1;
	if (copy_in(b, vb->buf, 0, host, n) < 0) {
		vk_buffer_free(&b->vk, vb);
		return -1;
	}
	return 0;
}

/* The device copy of n bytes at host, made once. */
static int upload(struct vk_backend *b, const void *host, size_t n)
{
	if (find_upload(b, host))
		return 0;
	struct upload u = { .host = host };
	if (upload_buffer(b, host, n, &u.vb) < 0)
		return -1;
	b->uploads = xrealloc(b->uploads, (b->n_uploads + 1) * sizeof *b->uploads);
	b->uploads[b->n_uploads++] = u;
	return 0;
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
	uint64_t row_scores = (uint64_t)n_head * (uint64_t)n_ctx * sizeof(float);
	uint64_t fit = b->vk.info.max_buffer_range / row_scores;
	b->attn_rows = fit < ATTN_ROWS ? (int)fit : ATTN_ROWS;
	if (b->attn_rows < 1)
		return error("Vulkan: the attention scores of %d positions are larger than this device binds; "
			     "try a smaller --ctx-size", n_ctx);
	if (vk_buffer_init(&b->vk, &b->scores, (VkDeviceSize)b->attn_rows * row_scores, false) < 0)
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

/* dst[r] = row ids[r] of w, whose device copy is wb. */
static void record_get_rows(struct vk_backend *b, struct backend_buffer *dst, const struct weight *w,
			    const struct vk_buffer *wb, const int32_t *ids, int n_rows)
{
	VkPipeline p = vk_pipeline(&b->vk, VK_SHADER_GET_ROWS, w->type);
	if (!p)
		return fail(b);
	for (int r = 0; r < n_rows; r++) {
		/* bind the stretch that holds the row: one binding may see less
		 * than the whole matrix */
		VkDeviceSize at = (VkDeviceSize)ids[r] * w->row_bytes, start = at / b->vk.offset_align * b->vk.offset_align;
		VkDeviceSize range = (at - start + w->row_bytes + 3) / 4 * 4;
		struct vk_binding bind[VK_BINDINGS] = { [0] = { wb->buf, start, range }, [2] = of(dst) };
		struct {
			uint32_t n_in, row_offset, y_offset;
		} push = { (uint32_t)w->n_in, (uint32_t)(at - start), (uint32_t)(r * dst->cols) };
		uint32_t parts = (uint32_t)((w->n_in + 31) / 32 * 4); /* one thread each */
		vk_dispatch(&b->vk, p, bind, &push, sizeof push, (parts + b->vk.wg - 1) / b->vk.wg, 1, 1);
	}
}

static void vkb_get_rows(struct backend *be, struct backend_buffer *dst, const struct weight *w,
			 const int32_t *ids, int n_rows)
{
	struct vk_backend *b = vkb(be);
	if (b->selftest[w->type] == SELFTEST_FAILED) {
		/* dequantized here, copied there */
		float *rows = xmalloc((size_t)(n_rows * dst->cols) * sizeof *rows);
		for (int r = 0; r < n_rows; r++)
			quant_dequantize(w->type, (const uint8_t *)w->data + (size_t)ids[r] * w->row_bytes,
					 rows + (size_t)r * dst->cols, w->n_in);
		if (copy_in(b, dst->vb.buf, 0, rows, (size_t)(n_rows * dst->cols) * sizeof *rows) < 0)
			fail(b);
		free(rows);
		return;
	}
	const struct upload *u = uploaded(b, w->data);
	if (u)
		record_get_rows(b, dst, w, &u->vb, ids, n_rows);
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

/* dst = w * src with w's device copy in wb. */
static void record_matmul(struct vk_backend *b, struct backend_buffer *dst, const struct weight *w,
			  const struct vk_buffer *wb, const struct backend_buffer *src, int n_rows)
{
	bool tiled = n_rows > MATMUL_ROWS;
	VkPipeline p = vk_pipeline(&b->vk,
				   tiled		 ? VK_SHADER_MATMUL_TILED :
				   b->vk.subgroup_sum ? VK_SHADER_MATMUL_SUBGROUP :
							VK_SHADER_MATMUL,
				   w->type);
	if (!p)
		return fail(b);
	/* rows per dispatch: as many as one binding sees, starting at offsets
	 * the device can bind */
	VkDeviceSize rb = w->row_bytes, align = b->vk.offset_align, step = 1;
	while (step * rb % align)
		step++;
	int64_t per = (int64_t)(b->vk.info.max_buffer_range / rb / step * step);
	if (per < 1) {
		error("%s: a row is larger than this device binds", w->name);
		return fail(b);
	}
	for (int64_t first = 0; first < w->n_out; first += per) {
		int64_t rows = w->n_out - first < per ? w->n_out - first : per;
		struct vk_binding bind[VK_BINDINGS] = {
			[0] = { wb->buf, (VkDeviceSize)first * rb, ((VkDeviceSize)rows * rb + 3) / 4 * 4 },
			[1] = of(src),
			[2] = of(dst),
		};
		struct {
			uint32_t n_in, n_out, n_rows, row_bytes, x_stride, y_stride, y_col;
		} push = { (uint32_t)w->n_in, (uint32_t)rows, (uint32_t)n_rows, (uint32_t)rb, (uint32_t)src->cols,
			   (uint32_t)dst->cols, (uint32_t)first };
		/* the decode shaders give each weight row per_row threads */
		uint32_t gx, gy, per_group = tiled ? TILE_OUT : b->vk.wg / b->vk.per_row;
		uint32_t per_z = tiled ? TILE_ROWS : MATMUL_ROWS;
		fold(b, (uint32_t)((rows + per_group - 1) / per_group), &gx, &gy);
		vk_dispatch(&b->vk, p, bind, &push, sizeof push, gx, gy, (uint32_t)(n_rows + per_z - 1) / per_z);
	}
}

/* Rows of a buffer in host memory, after everything recorded has run. */
static float *download(struct vk_backend *b, const struct backend_buffer *buf, int n_rows)
{
	float *out = xmalloc((size_t)(n_rows * buf->cols) * sizeof *out);
	if (vk_submit(&b->vk) < 0)
		fail(b);
	vkb_read(&b->base, buf, out, n_rows);
	return out;
}

/* dst = w * src on the CPU, for a type whose shader failed the self-test. */
static void cpu_matmul(struct vk_backend *b, struct backend_buffer *dst, const struct weight *w,
		       const struct backend_buffer *src, int n_rows)
{
	float *x = download(b, src, n_rows), *y = xmalloc((size_t)(n_rows * w->n_out) * sizeof *y);
	uint32_t at = quant_traits(w->type)->vec_dot_type;
	size_t act_row = at == GGML_TYPE_F32 ? (size_t)src->cols * sizeof(float) : quant_row_bytes(at, w->n_in);
	uint8_t *act = xmalloc(act_row * (size_t)n_rows);
	for (int r = 0; r < n_rows; r++) {
		if (at == GGML_TYPE_F32)
			memcpy(act + r * act_row, x + (size_t)r * src->cols, act_row);
		else
			quant_quantize(at, x + (size_t)r * src->cols, act + r * act_row, w->n_in);
	}
	quant_vec_dot_tile(w->type, w->data, w->row_bytes, (int)w->n_out, act, act_row, n_rows, w->n_in, y,
			   (size_t)w->n_out);
	if (copy_in(b, dst->vb.buf, 0, y, (size_t)(n_rows * w->n_out) * sizeof *y) < 0)
		fail(b);
	free(x);
	free(y);
	free(act);
}

static void vkb_matmul(struct backend *be, int n, struct backend_buffer *const dst[],
		       const struct weight *const w[], const struct backend_buffer *src, int n_rows)
{
	struct vk_backend *b = vkb(be);
	for (int k = 0; k < n; k++) {
		const struct upload *u = uploaded(b, w[k]->data);
		if (!u)
			return;
		if (b->selftest[w[k]->type] == SELFTEST_FAILED)
			cpu_matmul(b, dst[k], w[k], src, n_rows);
		else
			record_matmul(b, dst[k], w[k], &u->vb, src, n_rows);
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
	for (int r0 = 0; r0 < n_rows; r0 += b->attn_rows) {
		struct {
			uint32_t n_head, n_head_kv, head_dim, kv_dim;
			uint32_t pos0, q_stride, o_stride, n_ctx, r0;
			float scale;
		} push = { (uint32_t)n_head, (uint32_t)n_head_kv, (uint32_t)head_dim, (uint32_t)b->kv_dim,
			   (uint32_t)pos0, (uint32_t)q->cols, (uint32_t)dst->cols, (uint32_t)b->n_ctx, (uint32_t)r0,
			   scale };
		int rows = n_rows - r0 < b->attn_rows ? n_rows - r0 : b->attn_rows;
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
	if (copy_in(vkb(be), dst->vb.buf, 0, src, (size_t)(n_rows * dst->cols) * sizeof(float)) < 0)
		fail(vkb(be));
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

/* ---- the first-use self-test ------------------------------------------------- */

/* The results of earlier self-tests on this device, driver and nibble
 * version, and of the same matmul sums ("Q4_0 passed" lines in the cache
 * directory). */
static void selftest_load(struct vk_backend *b)
{
	char name[128];
	snprintf(name, sizeof name, "selftest-%04x-%04x-%08x-%s%s.txt", b->vk.info.vendor_id, b->vk.info.device_id,
		 b->vk.info.driver_version, PACKAGE_VERSION, b->vk.subgroup_sum ? "" : "-shared");
	b->selftest_path = xdg_path("XDG_CACHE_HOME", ".cache", name, true);
	size_t len;
	char *text = b->selftest_path ? read_file(b->selftest_path, &len) : NULL;
	for (char *save, *line = text ? strtok_r(text, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		char type[16], result[16];
		if (sscanf(line, "%15s %15s", type, result) != 2)
			continue;
		for (uint32_t t = 0; t < GGML_TYPE_COUNT; t++)
			if (quant_traits(t) && !strcmp(quant_name(t), type))
				b->selftest[t] = strcmp(result, "passed") ? SELFTEST_FAILED : SELFTEST_PASSED;
	}
	free(text);
}

/* NIBBLE_VK_SELFTEST_BREAK=TYPE spoils that type's self-test result, to
 * exercise the fallback (tests/vulkan.sh). */
static bool selftest_spoiled(uint32_t type)
{
	const char *e = getenv("NIBBLE_VK_SELFTEST_BREAK");
	return e && !strcmp(e, quant_name(type));
}

static void selftest_save(struct vk_backend *b)
{
	struct strbuf text = { 0 };
	for (uint32_t t = 0; t < GGML_TYPE_COUNT; t++)
		if (b->selftest[t] != SELFTEST_UNKNOWN && !selftest_spoiled(t))
			strbuf_printf(&text, "%s %s\n", quant_name(t),
				      b->selftest[t] == SELFTEST_PASSED ? "passed" : "failed");
	/* a cache that cannot be written only means testing again next time */
	if (b->selftest_path && text.len)
		(void)write_file_atomic(b->selftest_path, text.data, text.len);
	strbuf_free(&text);
}

/* Whether type's matmuls (decode and tiled) and get_rows give the CPU
 * reference's results on known weights. */
static bool selftest_run(struct vk_backend *b, uint32_t type)
{
	/* 3 rows take the decode shader, 12 the tiled one */
	enum { N_IN = 512, N_OUT = 6, FEW = 3, MANY = 12 };
	size_t rb = quant_row_bytes(type, N_IN);
	float *f = xmalloc(N_IN * N_OUT * sizeof *f), *deq = xmalloc(N_IN * N_OUT * sizeof *deq);
	float *x = xmalloc(N_IN * MANY * sizeof *x), *y = xmalloc(N_OUT * (FEW + MANY) * sizeof *y);
	float *rows = xmalloc(2 * N_IN * sizeof *rows);
	uint8_t *q = xmalloc(rb * N_OUT);
	for (int i = 0; i < N_IN * N_OUT; i++)
		f[i] = sinf(0.37f * (float)i) + 0.3f * cosf(1.7f * (float)i);
	for (int i = 0; i < N_IN * MANY; i++)
		x[i] = cosf(0.61f * (float)i);
	for (int r = 0; r < N_OUT; r++) {
		quant_quantize(type, f + r * N_IN, q + r * rb, N_IN);
		quant_dequantize(type, q + r * rb, deq + r * N_IN, N_IN);
	}
	struct weight w = { .type = type, .n_in = N_IN, .n_out = N_OUT, .row_bytes = rb, .data = q };
	struct vk_buffer wb = { 0 };
	struct backend_buffer *bx = vkb_buffer_new(&b->base, N_IN, MANY, false);
	struct backend_buffer *few = vkb_buffer_new(&b->base, N_OUT, FEW, true);
	struct backend_buffer *many = vkb_buffer_new(&b->base, N_OUT, MANY, true);
	struct backend_buffer *be = vkb_buffer_new(&b->base, N_IN, 2, true);
	static const int32_t ids[2] = { N_OUT - 1, 1 };
	bool passed = false;
	if (bx && few && many && be && upload_buffer(b, q, rb * N_OUT, &wb) == 0) {
		vkb_write(&b->base, bx, x, MANY);
		record_matmul(b, few, &w, &wb, bx, FEW);
		record_matmul(b, many, &w, &wb, bx, MANY);
		record_get_rows(b, be, &w, &wb, ids, 2);
		if (vk_submit(&b->vk) == 0) {
			vkb_read(&b->base, few, y, FEW);
			vkb_read(&b->base, many, y + N_OUT * FEW, MANY);
			vkb_read(&b->base, be, rows, 2);
			if (selftest_spoiled(type))
				y[0] += 1.0f;
			/* y holds FEW rows, then MANY rows, of the same x */
			double err = 0, big = 1e-30;
			for (int r = 0; r < FEW + MANY; r++)
				for (int o = 0; o < N_OUT; o++) {
					const float *xr = x + (r < FEW ? r : r - FEW) * N_IN;
					double ref = 0;
					for (int i = 0; i < N_IN; i++)
						ref += (double)deq[o * N_IN + i] * xr[i];
					err = fmax(err, fabs(y[r * N_OUT + o] - ref));
					big = fmax(big, fabs(ref));
				}
			passed = err <= 1e-4 * big && !memcmp(rows, deq + ids[0] * N_IN, N_IN * sizeof *rows) &&
				 !memcmp(rows + N_IN, deq + ids[1] * N_IN, N_IN * sizeof *rows);
		}
	}
	vk_buffer_free(&b->vk, &wb);
	vkb_buffer_free(&b->base, bx);
	vkb_buffer_free(&b->base, few);
	vkb_buffer_free(&b->base, many);
	vkb_buffer_free(&b->base, be);
	free(f);
	free(deq);
	free(x);
	free(y);
	free(rows);
	free(q);
	return passed;
}

/* Uploads w, first self-testing its type's shaders on this device (once
 * per driver and nibble version): a type that fails runs on the CPU, and
 * the backend's warning says so. */
static int vkb_upload_weight(struct backend *be, const struct weight *w)
{
	struct vk_backend *b = vkb(be);
	const struct type_traits *qt = quant_traits(w->type);
	if (!qt || (w->n_in % 32 && qt->block_size != 1))
		return error("%s: %s rows of %lld weights have no Vulkan shader", w->name,
			     qt ? quant_name(w->type) : "this type", (long long)w->n_in);
	if (b->selftest[w->type] == SELFTEST_UNKNOWN || selftest_spoiled(w->type)) {
		b->selftest[w->type] = selftest_run(b, w->type) ? SELFTEST_PASSED : SELFTEST_FAILED;
		selftest_save(b);
	}
	if (b->selftest[w->type] == SELFTEST_FAILED && !b->on_cpu[w->type]) {
		size_t len = strlen(be->cpu_types);
		snprintf(be->cpu_types + len, sizeof be->cpu_types - len, "%s%s", len ? ", " : "", quant_name(w->type));
		b->on_cpu[w->type] = true;
	}
	return upload(b, w->data, w->row_bytes * (size_t)w->n_out);
}

static uint64_t vkb_device_memory(struct backend *be)
{
	return vkb(be)->vk.device_bytes;
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
	.device_memory = vkb_device_memory,
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
	selftest_load(b);
	return &b->base;
}
