/* test_vulkan.c - the Vulkan backend's ops against references on random
 * inputs: matmul and get_rows for every weight type against the reference
 * dequantization (computed in double), the other ops against the CPU
 * backend, and the block layouts in shaders/quant.glsl against quant.h.
 * Runs on any Vulkan device, lavapipe included. */
#include "config.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backends.h"
#include "quant/quant.h"
#include "tap.h"
#include "base/util.h"

static uint64_t rng_state = 7;

static float frand(void) /* [-1, 1) */
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (float)((double)(rng_state >> 11) / (double)(1ull << 53) * 2 - 1);
}

static void fill(float *x, size_t n, float scale)
{
	for (size_t i = 0; i < n; i++)
		x[i] = frand() * scale;
}

/* max |a - b| over max |b|. */
static double rel_max(const float *a, const float *b, size_t n)
{
	double err = 0, big = 1e-30;
	for (size_t i = 0; i < n; i++) {
		err = fmax(err, fabs((double)a[i] - b[i]));
		big = fmax(big, fabs((double)b[i]));
	}
	return err / big;
}

/* ---- the block layouts the shaders mirror -------------------------------- */

/* The value of `#define NAME value` in text, or -1. */
static long glsl_define(const char *text, const char *name)
{
	char pat[64];
	snprintf(pat, sizeof pat, "#define %s ", name);
	const char *p = strstr(text, pat);
	return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

static void check_layouts(void)
{
	const char *srcdir = getenv("NIBBLE_SRCDIR");
	char path[4096];
	snprintf(path, sizeof path, "%s/shaders/quant.glsl", srcdir ? srcdir : ".");
	size_t len;
	char *text = read_file(path, &len);
	if (!ok(text != NULL, "shaders/quant.glsl readable")) {
		diag("%s", error_message());
		return;
	}
	static const struct {
		const char *name;
		long c_value;
	} fields[] = {
		{ "Q4_0_BYTES", sizeof(struct block_q4_0) },	{ "Q4_0_QS", offsetof(struct block_q4_0, qs) },
		{ "Q4_1_BYTES", sizeof(struct block_q4_1) },	{ "Q4_1_M", offsetof(struct block_q4_1, m) },
		{ "Q4_1_QS", offsetof(struct block_q4_1, qs) }, { "Q5_0_BYTES", sizeof(struct block_q5_0) },
		{ "Q5_0_QH", offsetof(struct block_q5_0, qh) }, { "Q5_0_QS", offsetof(struct block_q5_0, qs) },
		{ "Q5_1_BYTES", sizeof(struct block_q5_1) },	{ "Q5_1_M", offsetof(struct block_q5_1, m) },
		{ "Q5_1_QH", offsetof(struct block_q5_1, qh) }, { "Q5_1_QS", offsetof(struct block_q5_1, qs) },
		{ "Q8_0_BYTES", sizeof(struct block_q8_0) },	{ "Q8_0_QS", offsetof(struct block_q8_0, qs) },
		{ "IQ4_NL_BYTES", sizeof(struct block_iq4_nl) }, { "IQ4_NL_QS", offsetof(struct block_iq4_nl, qs) },
		{ "Q2_K_BYTES", sizeof(struct block_q2_k) },	{ "Q2_K_SCALES", offsetof(struct block_q2_k, scales) },
		{ "Q2_K_QS", offsetof(struct block_q2_k, qs) }, { "Q2_K_D", offsetof(struct block_q2_k, d) },
		{ "Q2_K_DMIN", offsetof(struct block_q2_k, dmin) }, { "Q3_K_BYTES", sizeof(struct block_q3_k) },
		{ "Q3_K_HMASK", offsetof(struct block_q3_k, hmask) }, { "Q3_K_QS", offsetof(struct block_q3_k, qs) },
		{ "Q3_K_SCALES", offsetof(struct block_q3_k, scales) }, { "Q3_K_D", offsetof(struct block_q3_k, d) },
		{ "Q4_K_BYTES", sizeof(struct block_q4_k) },	{ "Q4_K_DMIN", offsetof(struct block_q4_k, dmin) },
		{ "Q4_K_SCALES", offsetof(struct block_q4_k, scales) }, { "Q4_K_QS", offsetof(struct block_q4_k, qs) },
		{ "Q5_K_BYTES", sizeof(struct block_q5_k) },	{ "Q5_K_DMIN", offsetof(struct block_q5_k, dmin) },
		{ "Q5_K_SCALES", offsetof(struct block_q5_k, scales) }, { "Q5_K_QH", offsetof(struct block_q5_k, qh) },
		{ "Q5_K_QS", offsetof(struct block_q5_k, qs) }, { "Q6_K_BYTES", sizeof(struct block_q6_k) },
		{ "Q6_K_QL", offsetof(struct block_q6_k, ql) }, { "Q6_K_QH", offsetof(struct block_q6_k, qh) },
		{ "Q6_K_SCALES", offsetof(struct block_q6_k, scales) }, { "Q6_K_D", offsetof(struct block_q6_k, d) },
		{ "IQ4_XS_BYTES", sizeof(struct block_iq4_xs) }, { "IQ4_XS_SCALES_H", offsetof(struct block_iq4_xs, scales_h) },
		{ "IQ4_XS_SCALES_L", offsetof(struct block_iq4_xs, scales_l) }, { "IQ4_XS_QS", offsetof(struct block_iq4_xs, qs) },
	};
	int bad = 0;
	for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
		long v = glsl_define(text, fields[i].name);
		if (v != fields[i].c_value) {
			diag("%s: %ld in quant.glsl, %ld in quant.h", fields[i].name, v, fields[i].c_value);
			bad++;
		}
	}
	ok(bad == 0, "quant.glsl's %zu block sizes and offsets match quant.h", ARRAY_LEN(fields));
	free(text);
}

/* ---- weight types ----------------------------------------------------------- */

static const uint32_t weight_types[] = {
	GGML_TYPE_F32,	GGML_TYPE_F16,	GGML_TYPE_BF16, GGML_TYPE_Q4_0, GGML_TYPE_Q4_1,
	GGML_TYPE_Q5_0, GGML_TYPE_Q5_1, GGML_TYPE_Q8_0, GGML_TYPE_Q2_K, GGML_TYPE_Q3_K,
	GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K, GGML_TYPE_IQ4_NL, GGML_TYPE_IQ4_XS,
};

/* matmul for n_rows activation rows and get_rows for a few ids, on a
 * matrix of `type` with n_out rows of n_in weights; `sums` says how the
 * decode matmul adds up (for the test names).  Returns the matrix,
 * which must outlive the backend that has a copy of it. */
static uint8_t *check_type(struct backend *vk, uint32_t type, int64_t n_in, int64_t n_out, const char *sums)
{
	const struct backend_ops *op = vk->ops;
	size_t row_bytes = quant_row_bytes(type, n_in);
	float *f = xmalloc((size_t)(n_in * n_out) * sizeof *f), *deq = xmalloc((size_t)(n_in * n_out) * sizeof *deq);
	uint8_t *q = xmalloc(row_bytes * (size_t)n_out);
	fill(f, (size_t)(n_in * n_out), 1.0f);
	for (int64_t r = 0; r < n_out; r++) {
		quant_quantize(type, f + r * n_in, q + (size_t)r * row_bytes, n_in);
		quant_dequantize(type, q + (size_t)r * row_bytes, deq + r * n_in, n_in);
	}
	struct weight w = { .type = type, .n_in = n_in, .n_out = n_out, .row_bytes = row_bytes, .data = q };
	snprintf(w.name, sizeof w.name, "test %s", quant_name(type));
	if (!ok(op->upload_weight(vk, &w) == 0, "%s: %lldx%lld matrix uploads", quant_name(type), (long long)n_out,
		(long long)n_in)) {
		diag("%s", error_message());
		goto out;
	}

	enum { MAX_ROWS = 40 };
	float *x = xmalloc((size_t)(MAX_ROWS * n_in) * sizeof *x), *y = xmalloc((size_t)(MAX_ROWS * n_out) * sizeof *y);
	float *want = xmalloc((size_t)(MAX_ROWS * n_out) * sizeof *want);
	fill(x, (size_t)(MAX_ROWS * n_in), 1.0f);
	struct backend_buffer *bx = op->buffer_new(vk, n_in, MAX_ROWS, false);
	struct backend_buffer *by = op->buffer_new(vk, n_out, MAX_ROWS, true);
	op->write(vk, bx, x, MAX_ROWS);
	/* decode shaders up to 8 rows, tiles of 32 rows after */
	static const int rows[] = { 1, 3, 8, 19, MAX_ROWS };
	for (size_t k = 0; k < ARRAY_LEN(rows); k++) {
		int nr = rows[k];
		for (int r = 0; r < nr; r++)
			for (int64_t o = 0; o < n_out; o++) {
				double s = 0;
				for (int64_t i = 0; i < n_in; i++)
					s += (double)deq[o * n_in + i] * x[r * n_in + i];
				want[r * n_out + o] = (float)s;
			}
		op->matmul(vk, 1, &by, (const struct weight *[]){ &w }, bx, nr);
		int rc = op->sync(vk);
		op->read(vk, by, y, nr);
		double e = rel_max(y, want, (size_t)(nr * n_out));
		if (!ok(rc == 0 && e < 1e-5, "%s: matmul of %d rows matches the reference (%.2g, %s)", quant_name(type), nr,
			e, sums))
			diag("%s", rc ? error_message() : "");
	}

	/* embedding rows: the first, the last, one in the middle, twice */
	const int32_t ids[] = { 0, (int32_t)n_out - 1, (int32_t)n_out / 2, 0 };
	struct backend_buffer *be = op->buffer_new(vk, n_in, 4, true);
	op->get_rows(vk, be, &w, ids, 4);
	int rc = op->sync(vk);
	op->read(vk, be, x, 4);
	int wrong = 0;
	for (int r = 0; r < 4; r++)
		wrong += memcmp(x + r * n_in, deq + (size_t)ids[r] * n_in, (size_t)n_in * sizeof *x) != 0;
	ok(rc == 0 && wrong == 0, "%s: get_rows gives the dequantized rows exactly", quant_name(type));
	op->buffer_free(vk, be);
	op->buffer_free(vk, bx);
	op->buffer_free(vk, by);
	free(x);
	free(y);
	free(want);
out:
	free(f);
	free(deq);
	return q;
}

/* Every weight type on backend vk: odd row counts (partial tiles and
 * workgroups), float rows that end inside a unit of 32.  The matrices go
 * to matrices[], to be freed after the backend, which knows them by
 * address. */
static void check_types(struct backend *vk, const char *sums, uint8_t *matrices[ARRAY_LEN(weight_types)])
{
	for (size_t i = 0; i < ARRAY_LEN(weight_types); i++) {
		uint32_t t = weight_types[i];
		matrices[i] = check_type(vk, t, quant_traits(t)->block_size == 1 ? 300 : 512, 67, sums);
	}
}

static void free_matrices(uint8_t *matrices[ARRAY_LEN(weight_types)])
{
	for (size_t i = 0; i < ARRAY_LEN(weight_types); i++)
		free(matrices[i]);
}

/* ---- the other ops, against the CPU backend ------------------------------------ */

struct pair {
	struct backend *be[2]; /* CPU, Vulkan */
};

/* A buffer on both backends with the same random contents. */
static void twin(struct pair *p, struct backend_buffer *b[2], int64_t cols, int rows, float scale)
{
	float *x = xmalloc((size_t)(cols * rows) * sizeof *x);
	fill(x, (size_t)(cols * rows), scale);
	for (int k = 0; k < 2; k++) {
		b[k] = p->be[k]->ops->buffer_new(p->be[k], cols, rows, true);
		p->be[k]->ops->write(p->be[k], b[k], x, rows);
	}
	free(x);
}

/* Both backends' buffers b after their ops: within tol of each other. */
static void compare(struct pair *p, struct backend_buffer *b[2], int64_t cols, int rows, double tol, const char *what)
{
	float *out[2];
	int rc = 0;
	for (int k = 0; k < 2; k++) {
		out[k] = xmalloc((size_t)(cols * rows) * sizeof(float));
		rc |= p->be[k]->ops->sync(p->be[k]);
		p->be[k]->ops->read(p->be[k], b[k], out[k], rows);
	}
	double e = rel_max(out[1], out[0], (size_t)(cols * rows));
	if (!ok(rc == 0 && e <= tol, "%s: Vulkan matches the CPU (%.2g <= %.0g)", what, e, tol) && rc)
		diag("%s", error_message());
	free(out[0]);
	free(out[1]);
}

static void release(struct pair *p, struct backend_buffer *b[2])
{
	for (int k = 0; k < 2; k++)
		p->be[k]->ops->buffer_free(p->be[k], b[k]);
}

static void check_ops(struct pair *p)
{
	enum { ROWS = 5, EMBD = 96, HEAD_DIM = 16, N_HEAD = 6 };
	struct backend_buffer *x[2], *y[2], *q[2];

	float norm[EMBD];
	fill(norm, EMBD, 2.0f);
	twin(p, x, EMBD, ROWS, 3.0f);
	twin(p, y, EMBD, ROWS, 1.0f);
	for (int b = 0; b < 2; b++) {
		if (p->be[b]->ops->upload_vector)
			p->be[b]->ops->upload_vector(p->be[b], norm, EMBD);
		p->be[b]->ops->rms_norm(p->be[b], y[b], x[b], norm, 1e-5f, ROWS);
	}
	compare(p, y, EMBD, ROWS, 1e-5, "rms_norm");
	for (int b = 0; b < 2; b++)
		p->be[b]->ops->rms_norm(p->be[b], x[b], x[b], norm, 1e-5f, ROWS);
	compare(p, x, EMBD, ROWS, 1e-5, "rms_norm in place");

	for (int b = 0; b < 2; b++)
		p->be[b]->ops->add(p->be[b], y[b], x[b], ROWS);
	compare(p, y, EMBD, ROWS, 1e-6, "add");
	for (int b = 0; b < 2; b++)
		p->be[b]->ops->swiglu(p->be[b], y[b], x[b], ROWS);
	compare(p, y, EMBD, ROWS, 1e-5, "swiglu");
	release(p, y);
	twin(p, y, EMBD, ROWS, 1.0f);
	for (int b = 0; b < 2; b++)
		p->be[b]->ops->copy_rows(p->be[b], y[b], x[b], 2, 3);
	compare(p, y, EMBD, ROWS, 1e-6, "copy_rows");
	release(p, x);
	release(p, y);

	/* rope: both pairings, with and without frequency factors */
	float factors[HEAD_DIM / 2];
	for (int i = 0; i < HEAD_DIM / 2; i++)
		factors[i] = 1.0f + (float)i / 3;
	for (int style = 0; style < 2; style++)
		for (int f = 0; f < 2; f++) {
			struct rope_params rp = { .style = style ? ROPE_HALVES : ROPE_ADJACENT, .n_rot = HEAD_DIM,
						  .freq_base = 10000, .freq_scale = 1, .freq_factors = f ? factors : NULL };
			char what[64];
			snprintf(what, sizeof what, "rope (%s pairs%s)", style ? "half-split" : "adjacent",
				 f ? ", frequency factors" : "");
			twin(p, q, HEAD_DIM * N_HEAD, ROWS, 1.0f);
			for (int b = 0; b < 2; b++)
				p->be[b]->ops->rope(p->be[b], q[b], HEAD_DIM, &rp, 7 + 3 * f, ROWS);
			compare(p, q, HEAD_DIM * N_HEAD, ROWS, 1e-5, what);
			release(p, q);
		}

}

/* Attention with grouped KV heads of head_dim on a fresh pair of backends:
 * two batches, the second attending over the first's cached positions
 * too.  Small heads split the positions among groups of threads; heads of
 * 128 have a thread per pair of dimensions on 64-thread workgroups. */
static void check_attention(int device, int head_dim)
{
	enum { ROWS = 5, N_HEAD = 6, N_HEAD_KV = 2, CTX = 32 };
	int kv_dim = head_dim * N_HEAD_KV;
	struct pair pair = { { backend_cpu_init(1), backend_vk_init(device) } }, *p = &pair;
	struct backend_buffer *q[2], *k[2], *v[2], *o[2];
	for (int b = 0; b < 2; b++)
		p->be[b]->ops->kv_init(p->be[b], 2, CTX, kv_dim, N_HEAD);
	for (int step = 0; step < 2; step++) {
		int pos0 = step * ROWS;
		twin(p, q, head_dim * N_HEAD, ROWS, 1.0f);
		twin(p, k, kv_dim, ROWS, 1.0f);
		twin(p, v, kv_dim, ROWS, 1.0f);
		twin(p, o, head_dim * N_HEAD, ROWS, 1.0f);
		for (int b = 0; b < 2; b++) {
			p->be[b]->ops->kv_store(p->be[b], 1, k[b], v[b], pos0, ROWS);
			p->be[b]->ops->attention(p->be[b], o[b], q[b], 1, N_HEAD, N_HEAD_KV, head_dim, 0.25f, pos0,
						 ROWS);
		}
		char what[64];
		snprintf(what, sizeof what, "attention (head_dim %d%s)", head_dim,
			 step ? ", over cached positions" : "");
		compare(p, o, head_dim * N_HEAD, ROWS, 1e-5, what);
		release(p, q);
		release(p, k);
		release(p, v);
		release(p, o);
	}
	backend_free(p->be[0]);
	backend_free(p->be[1]);
}

int main(void)
{
	check_layouts();
	if (!vulkan_testable())
		return tap_done();
#ifdef HAVE_VULKAN
	struct vk_device_info *d;
	int n = vk_list_devices(&d), best = vk_best_device(d, n);
	bool shuffles = best >= 0 && d[best].subgroup_shuffle;
	free(d);
	struct pair p = { { backend_cpu_init(1), backend_vk_init(best) } };
	if (!ok(p.be[0] && p.be[1], "CPU and Vulkan backends start")) {
		diag("%s", error_message());
		return tap_done();
	}
	diag("device: %s", p.be[1]->description);
	uint8_t *matrices[ARRAY_LEN(weight_types)];
	check_types(p.be[1], shuffles ? "subgroup shuffle sums" : "shared-memory sums", matrices);
	check_ops(&p);
	backend_free(p.be[0]);
	backend_free(p.be[1]);
	free_matrices(matrices);
	check_attention(best, 16);
	check_attention(best, 128);
	if (shuffles) {
		/* the shared-memory sums, which devices without shuffles take */
		setenv("NIBBLE_VK_NO_SUBGROUPS", "1", 1);
		struct backend *vk = backend_vk_init(best);
		if (ok(vk != NULL, "the Vulkan backend starts without subgroup shuffles")) {
			check_types(vk, "shared-memory sums", matrices);
			backend_free(vk);
			free_matrices(matrices);
		}
	}
#endif
	return tap_done();
}
