/* context.h - the inference state of one token sequence: a backend with its
 * KV cache, the activation buffers, and the logits after the last token. */
#ifndef NIBBLE_CONTEXT_H
#define NIBBLE_CONTEXT_H

#include <stdint.h>

#include "model/model.h"

struct context_params {
	uint32_t n_ctx;   /* positions in the KV cache; 0: the model's default */
	int n_threads;    /* CPU threads; 0: physical cores */
	int n_batch;      /* prompt tokens per forward pass; 0: default */
	const char *backend; /* "auto" (also NULL), "cpu" or "vulkan" */
	const char *device;  /* Vulkan device: index or part of its name; NULL: the best */
	int gpu_layers;      /* layers on the GPU, the rest on the CPU, or: */
	bool force;          /* load a model larger than the memory available */
};
#define GPU_LAYERS_AUTO 0  /* as many as fit in the device's memory */
#define GPU_LAYERS_NONE (-1) /* --gpu-layers 0 */

/* The buffers of one stage of the forward pass. */
struct context_buffers {
	struct backend_buffer *x, *xn, *q, *k, *v, *attn, *gate, *up, *last, *logits;
	struct backend_buffer *logits_all; /* [n_batch][n_vocab], made by the first context_eval_all */
};

/* Consecutive layers on one backend: the whole model, or with partial
 * offload the first layers on the GPU and the rest (and the output) on the
 * CPU. */
struct stage {
	struct backend *be;
	uint32_t first, n_layers; /* layers [first, first + n_layers); KV cache slots 0.. */
	struct context_buffers buf;
};

struct context {
	const struct model *model;
	struct backend *be;       /* stage[0].be: the backend the user is told about */
	struct stage stage[2];
	int n_stages;
	float *handoff;           /* [n_batch][n_embd]: activations between stages */
	char backend_reason[200]; /* why this backend: "no GPU found", ... */
	uint32_t n_ctx;
	uint32_t n_past;   /* tokens already in the KV cache */
	int n_batch;
	float *logits;     /* [n_vocab] after the last evaluated token */
};

/* Creates a context for m (which must outlive it), on the backend
 * backend_choose() picks.  NULL with error(). */
struct context *context_init(const struct model *m, const struct context_params *p);
void context_free(struct context *ctx);

/* The stages p asks for, with the model's weights on their backends (the
 * backends only), and in reason why ("no GPU found; llvmpipe is software"
 * ...).  auto takes a hardware GPU for as many layers as it holds, the CPU
 * for the rest; a Vulkan device that fails under auto leaves the CPU, and
 * says so in reason.  Returns the number of stages (1 or 2), or -1 with
 * error().  (backend_choose.c) */
int backend_choose(const struct context_params *p, const struct model *m, uint32_t n_ctx, struct stage stage[2],
		   char *reason, size_t reason_size);
/* Where backend_choose would run m: Vulkan device `device` for the first
 * gpu_layers layers, or the CPU alone (device -1). */
struct backend_plan {
	int device;
	uint32_t gpu_layers;
	char device_name[256];
	uint64_t memory;   /* the device's */
};
/* The plan for p, with reason as backend_choose gives it; nothing is
 * opened.  0, or -1 with error() when p cannot be met.  (backend_choose.c) */
int backend_plan(const struct context_params *p, const struct model *m, uint32_t n_ctx, struct backend_plan *plan,
		 char *reason, size_t reason_size);
/* Whether the RAM and swap available hold what the CPU keeps of m under
 * p (its weights and KV cache), before anything is read or allocated.  0,
 * or -1 with error() saying how much is needed, unless p->force.  (Made
 * again by context_init.)  (backend_choose.c) */
int context_memory_check(const struct context_params *p, const struct model *m, uint32_t n_ctx);
/* What the user must be told about ctx's backend (weight types whose GPU
 * shaders failed their self-test and run on the CPU), in buf; NULL when
 * nothing.  (backend_choose.c) */
const char *context_backend_warning(const struct context *ctx, char *buf, size_t size);

/* Appends n tokens to the sequence and computes the logits after the last.
 * Fails (with error()) when they do not fit in the context or a token id
 * is out of range; the sequence is then unchanged. */
int context_eval(struct context *ctx, const int32_t *tokens, size_t n);

/* context_eval that also writes the logits after each of the n tokens to
 * out ([n][n_vocab] floats), as scoring a text needs (nibble perplexity).
 * Projecting every row costs n times the last row's work, so context_eval
 * keeps doing the last row only. */
int context_eval_all(struct context *ctx, const int32_t *tokens, size_t n, float *out);

/* Forgets every token after the first n (n <= n_past): the next eval
 * continues from position n, so a shared prefix is not evaluated again. */
void context_truncate(struct context *ctx, uint32_t n);

/* The decoder forward pass over n_rows tokens at positions n_past.. ;
 * leaves the logits of the last row in ctx->logits, and when all_logits is
 * not NULL, those of every row there ([n_rows][n_vocab], which needs
 * buf.logits_all).  (forward.c) */
int forward(struct context *ctx, const int32_t *tokens, int n_rows, float *all_logits);

#endif
