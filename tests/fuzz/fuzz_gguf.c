/* fuzz_gguf.c - whole GGUF files, loaded the way `nibble info` loads them
 * (the vocabulary first, then the model with every tensor's shape, type and
 * offset checked), then as `nibble run` would (MODEL_LOAD_FULL), and with
 * the prompt their chat template makes.  What a load accepts must hold up:
 * tensor data inside the file, weights of the shapes the hyperparameters
 * promise, readable to the last byte, token ids inside the vocabulary. */
#include "config.h"

#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chat/format.h"
#include "fuzz.h"
#include "fuzz_mmap.h"
#include "model/model.h"
#include "quant/quant.h"
#include "base/util.h"

static int file_fd = -1;
static char file_path[64];

/* The input as a file that gguf_open() can open by name. */
static int write_input(const uint8_t *data, size_t size)
{
	if (file_fd < 0) {
		file_fd = memfd_create("fuzz-gguf", MFD_CLOEXEC);
		FUZZ_CHECK(file_fd >= 0, "memfd_create failed");
		snprintf(file_path, sizeof file_path, "/proc/self/fd/%d", file_fd);
		fuzz_mmap_copy_file(file_fd);
	}
	if (ftruncate(file_fd, 0) != 0)
		return -1;
	size_t done = 0;
	while (done < size) {
		ssize_t w = pwrite(file_fd, data + done, size - done, (off_t)done);
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

/* A sum over every byte, so that a tensor running past the file is read. */
static unsigned touch(const void *p, uint64_t n)
{
	const unsigned char *b = p;
	unsigned sum = 0;
	for (uint64_t i = 0; i < n; i++)
		sum += b[i];
	return sum;
}

static void check_inside(const struct gguf *g, const void *p, uint64_t n, const char *what)
{
	const uint8_t *b = p;
	FUZZ_CHECK(b >= g->map && b <= g->map + g->size && n <= (uint64_t)(g->map + g->size - b),
		   "%s lies outside the file", what);
}

static void check_tensors(const struct gguf *g)
{
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		const struct gguf_tensor *t = &g->tensors[i];
		const struct type_traits *tt = quant_traits(t->type);
		FUZZ_CHECK(tt && t->type < GGML_TYPE_COUNT, "tensor %" PRIu64 " has type %u", i, t->type);
		FUZZ_CHECK(t->n_dims >= 1 && t->n_dims <= GGUF_MAX_DIMS, "%u dims", t->n_dims);
		uint64_t n = 1;
		for (int d = 0; d < GGUF_MAX_DIMS; d++) {
			FUZZ_CHECK(t->ne[d] >= 1, "dimension %d is %" PRId64, d, t->ne[d]);
			n *= (uint64_t)t->ne[d];
		}
		FUZZ_CHECK(n == t->n_elements, "element count");
		FUZZ_CHECK(t->n_bytes == n / tt->block_size * tt->type_size, "byte count");
		FUZZ_CHECK(t->offset % g->alignment == 0, "offset not aligned");
		check_inside(g, t->data, t->n_bytes, "tensor data");
		(void)touch(t->data, t->n_bytes);
	}
}

/* Every metadata entry through the getters a model load might use. */
static void read_metadata(const struct gguf *g)
{
	for (uint64_t i = 0; i < g->n_kv; i++) {
		const struct gguf_kv *kv = &g->kvs[i];
		char key[256];
		if (kv->key.len >= sizeof key || memchr(kv->key.ptr, '\0', kv->key.len))
			continue;
		memcpy(key, kv->key.ptr, kv->key.len);
		key[kv->key.len] = '\0';
		FUZZ_CHECK(gguf_find(g, key) == kv, "key '%s' does not find its own entry", key);
		uint32_t u32;
		int64_t i64;
		float f;
		bool b;
		struct gguf_str s;
		const struct gguf_array *a;
		(void)gguf_get_u32(g, key, &u32);
		(void)gguf_get_i64(g, key, &i64);
		(void)gguf_get_f32(g, key, &f);
		(void)gguf_get_bool(g, key, &b);
		if (gguf_get_str(g, key, &s) == 1)
			check_inside(g, s.ptr, s.len, "string value");
		if (gguf_get_arr(g, key, GGUF_TYPE_COUNT, &a) == 1 && gguf_type_size(a->type)) {
			check_inside(g, a->data, a->count * gguf_type_size(a->type), "array data");
			for (uint64_t k = 0; k < a->count && k < 64; k++) {
				(void)gguf_arr_f64(a, k);
				(void)gguf_arr_i64(a, k);
			}
		}
	}
	error("none"); /* the getters may have left a message; it is not ours */
}

static void encode_decode(const struct tokenizer *t)
{
	static const char text[] = "Hello world! <s></s><|im_start|>user\n h\xc3\xa9llo \xf0\x9f\x98\x80 "
				   "\xff\xfe 12345 \t\n\n  x";
	for (unsigned flags = 0; flags < 8; flags++) {
		int32_t *ids = NULL;
		size_t n = 0, cap = 0;
		tokenizer_encode(t, text, sizeof text - 1, flags, &ids, &n, &cap);
		struct strbuf out = { 0 };
		for (size_t i = 0; i < n; i++) {
			FUZZ_CHECK(ids[i] >= 0 && (uint32_t)ids[i] < t->n_vocab, "token id %d of %u", ids[i],
				   t->n_vocab);
			tokenizer_piece(t, ids[i], i == 0, &out);
			(void)tokenizer_is_eog(t, ids[i]);
		}
		strbuf_free(&out);
		free(ids);
	}
}

/* The prompt a chat makes with the file's own template (or the built-in
 * format its vocabulary suggests), tokenized as the chat tokenizes it. */
static void chat_prompt(const struct model *m)
{
	struct chat_format f;
	if (chat_format_init(&f, m, NULL) < 0)
		return;
	json_object *messages = json_tokener_parse("[{\"role\": \"system\", \"content\": \"Be brief.\"},"
						   " {\"role\": \"user\", \"content\": \"Hi <s>\"}]");
	struct strbuf prompt = { 0 };
	chat_format_render(&f, messages, true, &prompt);
	int32_t *ids = NULL;
	size_t n = 0, cap = 0;
	if (prompt.len)
		tokenizer_encode(m->tokenizer, prompt.data, prompt.len, TOKENIZE_ADD_BOS | TOKENIZE_PARSE_SPECIAL, &ids,
				 &n, &cap);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(ids[i] >= 0 && (uint32_t)ids[i] < m->tokenizer->n_vocab, "prompt token id %d", ids[i]);
	free(ids);
	strbuf_free(&prompt);
	json_object_put(messages);
	chat_format_free(&f);
}

static void check_weight(const struct model *m, const struct weight *w, int64_t n_in, int64_t n_out)
{
	FUZZ_CHECK(w->data && w->n_in == n_in && w->n_out == n_out, "weight '%s' is [%" PRId64 ", %" PRId64
		   "], expected [%" PRId64 ", %" PRId64 "]", w->name, w->n_in, w->n_out, n_in, n_out);
	check_inside(m->gguf, w->data, (uint64_t)w->row_bytes * (uint64_t)n_out, w->name);
	if (!quant_supported(w->type))
		return;
	/* What the forward pass does with a row: decode it, and dot it with
	 * activations quantized to the type the kernels want. */
	float *row = xcalloc((size_t)n_in, sizeof *row);
	quant_dequantize(w->type, w->data, row, n_in);
	const struct type_traits *act = quant_traits(quant_traits(w->type)->vec_dot_type);
	void *q = xcalloc((size_t)n_in / act->block_size, act->type_size);
	for (int64_t i = 0; i < n_in; i++)
		row[i] = 1.0f / (float)(i + 1);
	quant_quantize(quant_traits(w->type)->vec_dot_type, row, q, n_in);
	(void)quant_vec_dot(w->type, (const char *)w->data + w->row_bytes * (size_t)(n_out - 1), q, n_in);
	free(q);
	free(row);
}

static void check_model(const struct model *m)
{
	const struct hparams *hp = &m->hp;
	int64_t q_dim = (int64_t)hp->n_head * hp->head_dim, kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
	FUZZ_CHECK(hp->n_embd && hp->n_layer && hp->n_ff && hp->n_head && hp->n_head_kv && hp->head_dim,
		   "a zero hyperparameter");
	FUZZ_CHECK(hp->n_head % hp->n_head_kv == 0 && hp->n_rot <= hp->head_dim && hp->n_rot % 2 == 0,
		   "heads or rope");
	FUZZ_CHECK(m->tokenizer->n_vocab <= hp->n_vocab, "vocabulary larger than the embeddings");
	check_weight(m, &m->tok_embd, hp->n_embd, hp->n_vocab);
	check_weight(m, &m->output, hp->n_embd, hp->n_vocab);
	for (uint32_t il = 0; il < hp->n_layer; il++) {
		const struct layer *l = &m->layers[il];
		FUZZ_CHECK(l->attn_norm && l->ffn_norm, "layer %u lacks a norm", il);
		(void)touch(l->attn_norm, hp->n_embd * sizeof(float));
		(void)touch(l->ffn_norm, hp->n_embd * sizeof(float));
		check_weight(m, &l->wq, hp->n_embd, q_dim);
		check_weight(m, &l->wk, hp->n_embd, kv_dim);
		check_weight(m, &l->wv, hp->n_embd, kv_dim);
		check_weight(m, &l->wo, q_dim, hp->n_embd);
		check_weight(m, &l->ffn_gate, hp->n_embd, hp->n_ff);
		check_weight(m, &l->ffn_up, hp->n_embd, hp->n_ff);
		check_weight(m, &l->ffn_down, hp->n_ff, hp->n_embd);
	}
	(void)touch(m->output_norm, hp->n_embd * sizeof(float));
	if (m->rope_freqs)
		(void)touch(m->rope_freqs, hp->n_rot / 2 * sizeof(float));
	/* what `nibble info` prints */
	uint64_t n_params = 0;
	for (uint64_t i = 0; i < m->gguf->n_tensors; i++)
		n_params += m->gguf->tensors[i].n_elements;
	FUZZ_CHECK(n_params > 0, "no parameters");
	(void)model_kv_bytes(m, model_default_ctx(m));
	uint32_t ftype;
	if (gguf_get_u32(m->gguf, "general.file_type", &ftype) == 1)
		(void)quant_file_type_name(ftype);
}

int FUZZ_ONE(gguf)(const uint8_t *data, size_t size)
{
	if (write_input(data, size) < 0)
		return 0;
	struct model *m = model_load(file_path, MODEL_LOAD_VOCAB);
	if (!m)
		return 0;
	FUZZ_CHECK(m->name && m->tokenizer && m->gguf, "a loaded model lacks its parts");
	check_tensors(m->gguf);
	read_metadata(m->gguf);
	encode_decode(m->tokenizer);
	chat_prompt(m);
	bool has_tensors = m->gguf->n_tensors > 0;
	model_free(m);
	if (!has_tensors)
		return 0;

	m = model_load(file_path, MODEL_LOAD_INSPECT);
	if (!m)
		return 0;
	check_model(m);
	bool runs = !m->unsupported;
	model_free(m);

	m = model_load(file_path, MODEL_LOAD_FULL);
	FUZZ_CHECK((m != NULL) == runs, "inspect says the model %s, the full load %s", runs ? "runs" : "cannot run",
		   m ? "succeeds" : "fails");
	if (m)
		check_model(m);
	model_free(m);
	return 0;
}
