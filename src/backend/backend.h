/* backend.h - the op interface the forward pass is written against.  A
 * backend owns the activation buffers and the KV cache; the CPU backend runs
 * each op at once, a GPU backend may record ops and run them at sync(). */
#ifndef NIBBLE_BACKEND_H
#define NIBBLE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A weight matrix as stored in the model file: n_out rows of n_in weights,
 * each row row_bytes long in the GGUF block layout of `type`. */
struct weight {
	char name[64];     /* tensor name, for messages */
	uint32_t type;     /* enum ggml_type */
	int64_t n_in;      /* ne[0]: weights per row */
	int64_t n_out;     /* ne[1]: rows */
	size_t row_bytes;
	const void *data;  /* inside the mapped file */
};

/* An activation buffer: up to max_rows rows of `cols` floats. */
struct backend_buffer;

/* How rotary embeddings pair the dimensions of a head. */
enum rope_style {
	ROPE_ADJACENT, /* (x[2i], x[2i+1]): llama */
	ROPE_HALVES,   /* (x[i], x[i + n_rot/2]): GPT-NeoX, qwen2, phi3, gemma */
};

struct rope_params {
	enum rope_style style;
	int n_rot;              /* leading dims of each head that rotate */
	float freq_base;
	float freq_scale;       /* linear position scaling (1 = none) */
	const float *freq_factors; /* optional [n_rot/2] divisors of each frequency */
};

struct backend;

/* The most matrices one matmul call takes: q, k and v share an input. */
#define BACKEND_MATMUL_MAX 3

struct backend_ops {
	const char *name;
	void (*free)(struct backend *be);
	/* NULL with error() when the memory is not there; host_read: read()
	 * will copy it out every step (a GPU backend keeps it host-visible) */
	struct backend_buffer *(*buffer_new)(struct backend *be, int64_t cols, int64_t max_rows, bool host_read);
	void (*buffer_free)(struct backend *be, struct backend_buffer *b);
	/* KV cache for n_layer layers of n_ctx positions of kv_dim values each,
	 * for n_head query heads.  0, or -1 with error(). */
	int (*kv_init)(struct backend *be, int n_layer, int n_ctx, int kv_dim, int n_head);
	/* Optional (NULL when the backend reads host memory): copy a weight
	 * matrix or a norm vector to the backend once, before any op uses it;
	 * the host copy identifies it and must outlive the backend.  0, or -1
	 * with error(). */
	int (*upload_weight)(struct backend *be, const struct weight *w);
	int (*upload_vector)(struct backend *be, const float *v, int64_t n);

	/* dst[r] = dequantized row ids[r] of w, r < n_rows */
	void (*get_rows)(struct backend *be, struct backend_buffer *dst, const struct weight *w,
			 const int32_t *ids, int n_rows);
	/* dst[r] = src[r] / rms(src[r]) * weight (weight has cols floats) */
	void (*rms_norm)(struct backend *be, struct backend_buffer *dst, const struct backend_buffer *src,
			 const float *weight, float eps, int n_rows);
	/* dst[k][r] = w[k] * src[r] for k < n (1..BACKEND_MATMUL_MAX): the
	 * matrices that read one input come in one call, so that a backend can
	 * run them as one op */
	void (*matmul)(struct backend *be, int n, struct backend_buffer *const dst[],
		       const struct weight *const w[], const struct backend_buffer *src, int n_rows);
	/* rotates each head of x[r] by the angle of position pos0 + r */
	void (*rope)(struct backend *be, struct backend_buffer *x, int head_dim, const struct rope_params *rp,
		     int pos0, int n_rows);
	/* stores k[r], v[r] as positions pos0 + r of the layer's cache */
	void (*kv_store)(struct backend *be, int layer, const struct backend_buffer *k,
			 const struct backend_buffer *v, int pos0, int n_rows);
	/* causal attention of q[r] (position pos0 + r) over cached positions
	 * 0..pos0+r; query head h reads KV head h / (n_head / n_head_kv) */
	void (*attention)(struct backend *be, struct backend_buffer *dst, const struct backend_buffer *q,
			  int layer, int n_head, int n_head_kv, int head_dim, float scale, int pos0, int n_rows);
	/* gate[r] = silu(gate[r]) * up[r] */
	void (*swiglu)(struct backend *be, struct backend_buffer *gate, const struct backend_buffer *up,
		       int n_rows);
	/* dst[r] += src[r] */
	void (*add)(struct backend *be, struct backend_buffer *dst, const struct backend_buffer *src, int n_rows);
	/* dst[0..n_rows) = src[src_row..src_row+n_rows) */
	void (*copy_rows)(struct backend *be, struct backend_buffer *dst, const struct backend_buffer *src,
			  int src_row, int n_rows);
	/* dst[0..n_rows) = n_rows rows of host memory, after the ops issued
	 * so far (a GPU backend completes them first). */
	void (*write)(struct backend *be, struct backend_buffer *dst, const float *src, int n_rows);
	/* Completes every op issued so far.  0 or -1 with error(). */
	int (*sync)(struct backend *be);
	/* Copies n_rows rows of src to host memory (after sync). */
	void (*read)(struct backend *be, const struct backend_buffer *src, float *out, int n_rows);
	/* Optional: bytes the backend holds in device memory. */
	uint64_t (*device_memory)(struct backend *be);
};

struct backend {
	const struct backend_ops *ops;
	char description[64]; /* e.g. "CPU x2 (scalar)" */
	/* weight types whose GPU shaders failed their self-test and run on
	 * the CPU instead ("Q4_0, Q6_K"); "" when none */
	char cpu_types[128];
};

/* The CPU backend with n_threads threads.  NULL with error() on failure. */
struct backend *backend_cpu_init(int n_threads);
/* The Vulkan backend on device `device` of vk_list_devices() (builds with
 * HAVE_VULKAN only).  NULL with error() on failure. */
struct backend *backend_vk_init(int device);

static inline void backend_free(struct backend *be)
{
	if (be)
		be->ops->free(be);
}

#endif
