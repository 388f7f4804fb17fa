/* quantize.h - making a quantized GGUF model from an F32, F16 or BF16 one:
 * llama.cpp's file-type presets with the per-tensor type rules of its
 * llama_tensor_get_type, so a file made here holds the tensor types (and so
 * has the size) of the one llama-quantize makes. */
#ifndef NIBBLE_QUANTIZE_H
#define NIBBLE_QUANTIZE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A preset: what llama-quantize calls a file type ("Q4_K_M"). */
struct quant_preset {
	const char *name;
	uint32_t ftype; /* general.file_type (llama.cpp's llama_ftype) */
	uint32_t type;  /* enum ggml_type of most tensors */
};

/* The preset named name (as llama-quantize spells it), or NULL. */
const struct quant_preset *quantize_preset_find(const char *name);
/* Every preset's name, comma-separated (static string). */
const char *quantize_preset_names(void);

/* What the rules know of the model. */
struct quantize_model {
	const char *arch;   /* general.architecture */
	uint32_t n_layer;   /* ARCH.block_count */
	uint32_t n_head, n_head_kv;
};

/* One tensor as the rules see it. */
struct quantize_tensor {
	const char *name;
	uint32_t n_dims;   /* as ggml counts them: trailing dimensions of 1 do not count */
	int64_t ne0;       /* weights per row */
	uint32_t src_type; /* enum ggml_type in the input */
	uint32_t type;     /* chosen for the output */
	bool fallback;     /* the preset's type does not divide the rows; another was taken */
	size_t index;      /* caller's: e.g. the tensor's index in the input file */
};

/* Sorts t into the order llama.cpp visits and writes tensors (those outside
 * the layers first, then layer by layer; by name within each), which is
 * also the order its rules count attn_v tensors in, and sets each one's
 * type for preset p.  pure: every quantized tensor gets p's type, without
 * the mixture rules (llama-quantize --pure); either way a type whose blocks
 * do not divide a tensor's rows falls back to one that does. */
void quantize_choose_types(const struct quantize_model *m, const struct quant_preset *p, bool pure,
			   struct quantize_tensor *t, size_t n);

struct quantize_params {
	const struct quant_preset *preset;
	bool pure;
	int n_threads;
	/* Called before each tensor (i < n) and once at the end (i == n) with
	 * the bytes of input tensor data done so far; t is NULL at the end. */
	void (*progress)(void *arg, size_t i, size_t n, const struct quantize_tensor *t, uint64_t done,
			 uint64_t total);
	void *progress_arg;
	/* Set (by a signal handler) to stop; the run then fails cleanly. */
	volatile sig_atomic_t *cancel;
};

struct quantize_result {
	size_t n_tensors, n_quantized, n_fallback;
	uint64_t n_weights;         /* elements of every tensor */
	uint64_t in_bytes, out_bytes; /* tensor data */
};

/* Writes in_path with its tensors quantized as p says to out_path, through
 * a temporary file next to it that is renamed at the end: on failure
 * nothing is left behind.  Metadata is copied, with general.file_type and
 * general.quantization_version set; tensor data is aligned to
 * general.alignment.  Fails before writing anything when a tensor to
 * quantize is not F32, F16 or BF16, or this build lacks a quantizer the
 * preset needs.  0, or -1 with error(). */
int quantize_file(const char *in_path, const char *out_path, const struct quantize_params *p,
		  struct quantize_result *r);

#endif
