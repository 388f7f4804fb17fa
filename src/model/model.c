/* model.c - turn a GGUF file into a model: the architecture entry, its
 * hyperparameters, and every weight bound by name with its shape and type
 * checked, so the forward pass can trust what it is given. */
#include "config.h"

#include "model/model.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "quant/quant.h"
#include "base/util.h"

#define MAX_HPARAM (1u << 24) /* far beyond any real model, small enough to multiply safely */

static int hparam_u32(const struct gguf *g, const struct arch *a, const char *suffix, bool required,
		      uint32_t dflt, uint32_t *out)
{
	char key[128];
	snprintf(key, sizeof key, "%s.%s", a->name, suffix);
	int r = gguf_get_u32(g, key, out);
	if (r < 0)
		return -1;
	if (r == 0) {
		if (required)
			return error("missing hyperparameter %s", key);
		*out = dflt;
	}
	if (*out > MAX_HPARAM)
		return error("hyperparameter %s = %u is out of range", key, *out);
	return 0;
}

static int hparam_f32(const struct gguf *g, const struct arch *a, const char *suffix, float dflt, float *out)
{
	char key[128];
	snprintf(key, sizeof key, "%s.%s", a->name, suffix);
	int r = gguf_get_f32(g, key, out);
	if (r < 0)
		return -1;
	if (r == 0)
		*out = dflt;
	if (!(*out > 0 && *out < 1e30f))
		return error("hyperparameter %s = %g must be a positive number", key, *out);
	return 0;
}

static int load_rope_scaling(struct model *m)
{
	char key[128];
	struct gguf_str type;
	m->hp.rope_freq_scale = 1.0f;
	snprintf(key, sizeof key, "%s.rope.scaling.type", m->arch->name);
	int r = gguf_get_str(m->gguf, key, &type);
	if (r < 0)
		return -1;
	if (r == 0 || gguf_str_eq(type, "none"))
		return 0;
	if (!gguf_str_eq(type, "linear"))
		return error("rope scaling '%.*s' is not supported", (int)(type.len > 32 ? 32 : type.len), type.ptr);
	float factor;
	if (hparam_f32(m->gguf, m->arch, "rope.scaling.factor", 1.0f, &factor) < 0)
		return -1;
	m->hp.rope_freq_scale = 1.0f / factor;
	return 0;
}

static int load_hparams(struct model *m)
{
	const struct gguf *g = m->gguf;
	const struct arch *a = m->arch;
	struct hparams *hp = &m->hp;
	uint32_t key_len, value_len;
	if (hparam_u32(g, a, "context_length", false, 2048, &hp->n_ctx_train) < 0 ||
	    hparam_u32(g, a, "embedding_length", true, 0, &hp->n_embd) < 0 ||
	    hparam_u32(g, a, "block_count", true, 0, &hp->n_layer) < 0 ||
	    hparam_u32(g, a, "feed_forward_length", true, 0, &hp->n_ff) < 0 ||
	    hparam_u32(g, a, "attention.head_count", true, 0, &hp->n_head) < 0 ||
	    hparam_u32(g, a, "attention.head_count_kv", false, hp->n_head, &hp->n_head_kv) < 0)
		return -1;
	if (hp->n_embd == 0 || hp->n_layer == 0 || hp->n_ff == 0 || hp->n_head == 0 || hp->n_head_kv == 0)
		return error("hyperparameters must be positive (embedding_length %u, block_count %u, "
			     "feed_forward_length %u, head_count %u, head_count_kv %u)",
			     hp->n_embd, hp->n_layer, hp->n_ff, hp->n_head, hp->n_head_kv);
	if (hp->n_head % hp->n_head_kv != 0)
		return error("head_count %u is not a multiple of head_count_kv %u", hp->n_head, hp->n_head_kv);
	if (hparam_u32(g, a, "attention.key_length", false, hp->n_embd / hp->n_head, &key_len) < 0 ||
	    hparam_u32(g, a, "attention.value_length", false, key_len, &value_len) < 0)
		return -1;
	if (key_len == 0 || key_len != value_len)
		return error("attention key length %u and value length %u are not supported", key_len, value_len);
	char key[128];
	snprintf(key, sizeof key, "%s.attention.key_length", a->name);
	if (!gguf_find(g, key) && hp->n_embd % hp->n_head != 0)
		return error("embedding_length %u is not a multiple of head_count %u", hp->n_embd, hp->n_head);
	hp->head_dim = key_len;
	if (hparam_u32(g, a, "rope.dimension_count", false, hp->head_dim, &hp->n_rot) < 0)
		return -1;
	if (hp->n_rot > hp->head_dim || hp->n_rot % 2 != 0)
		return error("rope.dimension_count %u must be even and at most the head size %u", hp->n_rot,
			     hp->head_dim);
	if (hparam_f32(g, a, "attention.layer_norm_rms_epsilon", 1e-5f, &hp->rms_eps) < 0 ||
	    hparam_f32(g, a, "rope.freq_base", 10000.0f, &hp->rope_freq_base) < 0)
		return -1;
	return load_rope_scaling(m);
}

static const struct gguf_tensor *find_tensor(struct model *m, const char *name, int n_dims,
					     int64_t ne0, int64_t ne1, bool required)
{
	const struct gguf_tensor *t = gguf_find_tensor(m->gguf, name);
	if (!t) {
		if (required)
			error("missing tensor '%s'", name);
		return NULL;
	}
	bool ok = t->ne[0] == ne0 && t->ne[1] == ne1 && t->ne[2] == 1 && t->ne[3] == 1;
	if (!ok) {
		if (n_dims == 1)
			error("tensor '%s' has shape [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
			      "], expected [%" PRId64 "]", name, t->ne[0], t->ne[1], t->ne[2], t->ne[3], ne0);
		else
			error("tensor '%s' has shape [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
			      "], expected [%" PRId64 ", %" PRId64 "]", name, t->ne[0], t->ne[1], t->ne[2], t->ne[3],
			      ne0, ne1);
		return NULL;
	}
	if (!quant_supported(t->type)) {
		error("tensor '%s' has type %s, which nibble cannot compute with yet (supported: %s)", name,
		      quant_name(t->type), quant_supported_list());
		if (!m->inspect_only)
			return NULL;
		if (!m->unsupported)
			m->unsupported = xstrdup(error_message());
	}
	return t;
}

/* Binds a matrix [n_in, n_out].  Returns 1 bound, 0 absent (optional), -1 error. */
static int bind_weight(struct model *m, struct weight *w, const char *name, int64_t n_in, int64_t n_out,
		       bool required)
{
	const struct gguf_tensor *t = find_tensor(m, name, 2, n_in, n_out, required);
	if (!t)
		return gguf_find_tensor(m->gguf, name) || required ? -1 : 0;
	size_t align = t->type == GGML_TYPE_F32 ? 4 : 2;
	if ((uintptr_t)t->data % align != 0)
		return error("tensor '%s' is not aligned for %s data", name, quant_name(t->type));
	snprintf(w->name, sizeof w->name, "%s", name);
	w->type = t->type;
	w->n_in = n_in;
	w->n_out = n_out;
	w->row_bytes = (size_t)(t->n_bytes / (uint64_t)n_out);
	w->data = t->data;
	return 1;
}

/* Binds a vector of n floats, converting or copying it when the file's
 * layout cannot be read as float directly. */
static int bind_vector(struct model *m, const float **out, const char *name, int64_t n, bool required)
{
	const struct gguf_tensor *t = find_tensor(m, name, 1, n, 1, required);
	if (!t)
		return gguf_find_tensor(m->gguf, name) || required ? -1 : 0;
	if (t->type == GGML_TYPE_F32 && (uintptr_t)t->data % sizeof(float) == 0) {
		*out = t->data;
		return 1;
	}
	float *copy = xcalloc((size_t)n, sizeof *copy);
	if (quant_supported(t->type))
		quant_dequantize(t->type, t->data, copy, n);
	m->f32_copies = xrealloc(m->f32_copies, (size_t)(m->n_f32_copies + 1) * sizeof *m->f32_copies);
	m->f32_copies[m->n_f32_copies++] = copy;
	*out = copy;
	return 1;
}

static int bind_layer(struct model *m, int il)
{
	const struct hparams *hp = &m->hp;
	struct layer *l = &m->layers[il];
	int64_t q_dim = (int64_t)hp->n_head * hp->head_dim, kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
	char name[64];
#define NAME(suffix) (snprintf(name, sizeof name, "blk.%d." suffix ".weight", il), name)
	if (bind_vector(m, &l->attn_norm, NAME("attn_norm"), hp->n_embd, true) < 0 ||
	    bind_weight(m, &l->wq, NAME("attn_q"), hp->n_embd, q_dim, true) < 0 ||
	    bind_weight(m, &l->wk, NAME("attn_k"), hp->n_embd, kv_dim, true) < 0 ||
	    bind_weight(m, &l->wv, NAME("attn_v"), hp->n_embd, kv_dim, true) < 0 ||
	    bind_weight(m, &l->wo, NAME("attn_output"), q_dim, hp->n_embd, true) < 0 ||
	    bind_vector(m, &l->ffn_norm, NAME("ffn_norm"), hp->n_embd, true) < 0 ||
	    bind_weight(m, &l->ffn_gate, NAME("ffn_gate"), hp->n_embd, hp->n_ff, true) < 0 ||
	    bind_weight(m, &l->ffn_up, NAME("ffn_up"), hp->n_embd, hp->n_ff, true) < 0 ||
	    bind_weight(m, &l->ffn_down, NAME("ffn_down"), hp->n_ff, hp->n_embd, true) < 0)
		return -1;
#undef NAME
	return 0;
}

static int bind_weights(struct model *m)
{
	struct hparams *hp = &m->hp;
	const struct gguf_tensor *emb = gguf_find_tensor(m->gguf, "token_embd.weight");
	if (!emb)
		return error("missing tensor 'token_embd.weight'");
	if (emb->ne[1] > INT32_MAX)
		return error("tensor 'token_embd.weight' has %" PRId64 " rows; too many", emb->ne[1]);
	hp->n_vocab = (uint32_t)emb->ne[1];
	if (m->tokenizer->n_vocab > hp->n_vocab)
		return error("the vocabulary has %u tokens but token_embd.weight only %u rows",
			     m->tokenizer->n_vocab, hp->n_vocab);
	/* Every layer must exist before anything is sized by block_count. */
	if (hp->n_layer > m->gguf->n_tensors)
		return error("block_count %u is larger than the number of tensors", hp->n_layer);
	if (bind_weight(m, &m->tok_embd, "token_embd.weight", hp->n_embd, hp->n_vocab, true) < 0 ||
	    bind_vector(m, &m->output_norm, "output_norm.weight", hp->n_embd, true) < 0)
		return -1;
	int r = bind_weight(m, &m->output, "output.weight", hp->n_embd, hp->n_vocab, false);
	if (r < 0)
		return -1;
	if (r == 0) {
		m->output = m->tok_embd;
		m->tied_output = true;
	}
	if (bind_vector(m, &m->rope_freqs, "rope_freqs.weight", hp->n_rot / 2, false) < 0)
		return -1;
	m->layers = xcalloc(hp->n_layer, sizeof *m->layers);
	for (uint32_t il = 0; il < hp->n_layer; il++)
		if (bind_layer(m, (int)il) < 0)
			return -1;
	for (uint64_t i = 0; i < m->gguf->n_tensors; i++)
		m->weight_bytes += m->gguf->tensors[i].n_bytes;
	return 0;
}

static char *model_name(const struct gguf *g, const char *path)
{
	struct gguf_str name;
	if (gguf_get_str(g, "general.name", &name) == 1 && name.len > 0 && name.len < 256)
		return xstrndup(name.ptr, name.len);
	const char *slash = strrchr(path, '/');
	return xstrdup(slash ? slash + 1 : path);
}

struct model *model_load(const char *path, enum model_load_what what)
{
	struct model *m = xcalloc(1, sizeof *m);
	m->inspect_only = what == MODEL_LOAD_INSPECT;
	m->gguf = gguf_open(path);
	if (!m->gguf)
		goto fail;
	m->name = model_name(m->gguf, path);
	m->tokenizer = tokenizer_load(m->gguf);
	if (!m->tokenizer)
		goto fail;
	if (what == MODEL_LOAD_VOCAB)
		return m;

	struct gguf_str arch;
	int r = gguf_get_str(m->gguf, "general.architecture", &arch);
	if (r <= 0) {
		if (r == 0)
			error("general.architecture is missing");
		goto fail;
	}
	m->arch = arch_find(arch.ptr, arch.len);
	if (!m->arch) {
		error("unsupported architecture '%.*s' (supported: %s)", (int)(arch.len > 32 ? 32 : arch.len),
		      arch.ptr, arch_list());
		goto fail;
	}
	if (m->gguf->n_tensors == 0) {
		error("the file holds no tensors (a vocabulary-only file?)");
		goto fail;
	}
	if (load_hparams(m) < 0 || bind_weights(m) < 0)
		goto fail;
	return m;
fail:
	model_free(m);
	return NULL;
}

void model_free(struct model *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->n_f32_copies; i++)
		free(m->f32_copies[i]);
	free(m->f32_copies);
	free(m->layers);
	tokenizer_free(m->tokenizer);
	gguf_close(m->gguf);
	free(m->name);
	free(m->unsupported);
	free(m);
}

void model_prefetch(const struct model *m, void (*progress)(void *arg, double fraction), void *arg)
{
	const struct gguf *g = m->gguf;
	const size_t chunk = 16u << 20, page = (size_t)sysconf(_SC_PAGESIZE);
	size_t start = (size_t)(g->data_offset < g->size ? g->data_offset : g->size) / page * page;
	volatile unsigned char sink = 0;
	for (size_t off = start; off < g->size; off += chunk) {
		size_t n = g->size - off < chunk ? g->size - off : chunk;
		madvise((void *)(g->map + off), n, MADV_WILLNEED);
		for (size_t i = 0; i < n; i += page)
			sink ^= g->map[off + i]; /* fault the page in */
		if (progress)
			progress(arg, (double)(off + n - start) / (double)(g->size - start));
	}
	(void)sink;
}

uint64_t model_kv_bytes(const struct model *m, uint32_t n_ctx)
{
	const struct hparams *hp = &m->hp;
	return 2ull * hp->n_layer * n_ctx * hp->n_head_kv * hp->head_dim * sizeof(uint16_t);
}

uint32_t model_default_ctx(const struct model *m)
{
	uint32_t n = m->hp.n_ctx_train ? m->hp.n_ctx_train : 2048;
	return n < 4096 ? n : 4096;
}
