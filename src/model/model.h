/* model.h - a model loaded from GGUF: hyperparameters, the architecture
 * entry, and weight views into the mapped file (nothing is copied). */
#ifndef NIBBLE_MODEL_H
#define NIBBLE_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "model/arch.h"
#include "backend/backend.h"
#include "gguf/gguf.h"
#include "text/tokenizer.h"

struct hparams {
	uint32_t n_vocab;     /* rows of token_embd */
	uint32_t n_ctx_train; /* context_length */
	uint32_t n_embd;
	uint32_t n_layer;
	uint32_t n_ff;
	uint32_t n_head;
	uint32_t n_head_kv;
	uint32_t head_dim;
	uint32_t n_rot;
	float rms_eps;
	float rope_freq_base;
	float rope_freq_scale;
};

struct layer {
	const float *attn_norm;  /* [n_embd] */
	struct weight wq;        /* [n_embd, n_head * head_dim] */
	struct weight wk;        /* [n_embd, n_head_kv * head_dim] */
	struct weight wv;        /* [n_embd, n_head_kv * head_dim] */
	struct weight wo;        /* [n_head * head_dim, n_embd] */
	const float *ffn_norm;   /* [n_embd] */
	struct weight ffn_gate;  /* [n_embd, n_ff] */
	struct weight ffn_up;    /* [n_embd, n_ff] */
	struct weight ffn_down;  /* [n_ff, n_embd] */
};

struct model {
	struct gguf *gguf;
	const struct arch *arch;
	char *name;                 /* general.name, or the file name */
	struct hparams hp;
	struct tokenizer *tokenizer;
	struct weight tok_embd;     /* [n_embd, n_vocab] */
	const float *output_norm;   /* [n_embd] */
	struct weight output;       /* [n_embd, n_vocab]; token_embd when tied */
	bool tied_output;
	const float *rope_freqs;    /* [n_rot / 2] or NULL */
	struct layer *layers;       /* [n_layer] */
	uint64_t weight_bytes;      /* bytes of all tensors */
	float **f32_copies;         /* norm vectors copied out of unaligned files */
	int n_f32_copies;
	bool inspect_only;          /* loaded with MODEL_LOAD_INSPECT */
	char *unsupported;          /* INSPECT: why it cannot run, or NULL */
};

enum model_load_what {
	MODEL_LOAD_VOCAB,   /* metadata and tokenizer only (vocab-only files work) */
	MODEL_LOAD_INSPECT, /* also hyperparameters and weights, of any tensor type */
	MODEL_LOAD_FULL,    /* everything, with tensor types the CPU computes with */
};

/* Opens PATH and loads what is asked.  NULL with error() on failure; the
 * message names the problem, not the path. */
struct model *model_load(const char *path, enum model_load_what what);
void model_free(struct model *m);

/* Reads the weights into memory ahead of use, so the first reply does not
 * stall on the disk, calling progress(arg, fraction done) as it goes. */
void model_prefetch(const struct model *m, void (*progress)(void *arg, double fraction), void *arg);

/* Bytes of KV cache needed for n_ctx positions (F16 K and V). */
uint64_t model_kv_bytes(const struct model *m, uint32_t n_ctx);
/* The default context: the training context, capped at 4096. */
uint32_t model_default_ctx(const struct model *m);

#endif
