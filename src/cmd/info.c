/* cmd_info.c - `nibble info`: what a model file holds and what it needs. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "model/find.h"
#include "quant/quant.h"
#include "base/sysmem.h"
#include "ui/termsafe.h"
#include "base/util.h"

static const char info_usage[] =
	"Usage: nibble info -m MODEL [-c CTX]\n"
	"Describe a GGUF model: architecture, hyperparameters, tensor types, file\n"
	"size, the memory it needs (weights + KV cache), and where --backend auto\n"
	"would run it.\n"
	"\n"
	"  -m, --model FILE     GGUF model file\n"
	"  -c, --ctx-size N     context for the KV cache estimate (default: the\n"
	"                       model's, at most 4096)\n"
	"  -h, --help           show this help\n";

static void print_tensor_types(const struct gguf *g)
{
	uint64_t counts[GGML_TYPE_COUNT] = { 0 };
	for (uint64_t i = 0; i < g->n_tensors; i++)
		counts[g->tensors[i].type]++;
	printf("%-15s", "tensor types:");
	const char *sep = "";
	for (int t = 0; t < GGML_TYPE_COUNT; t++)
		if (counts[t]) {
			printf("%s%s x%" PRIu64, sep, quant_name((uint32_t)t), counts[t]);
			sep = ", ";
		}
	printf("%s\n", *sep ? "" : "none");
}

static void print_vocab(const struct tokenizer *t)
{
	printf("%-15s", "vocabulary:");
	if (t->kind == TOKENIZER_BPE) {
		struct strbuf pre = { 0 };
		printf("byte-level BPE (pre: %s%s)", termsafe_str(&pre, t->pre_name),
		       t->pre_unknown ? ", unknown: split as GPT-2" : "");
		strbuf_free(&pre);
	}
	else {
		printf("SentencePiece BPE");
	}
	printf(", %u tokens", t->n_vocab);
	if (t->bos >= 0)
		printf(", BOS %d%s", t->bos, t->add_bos ? " (added)" : "");
	if (t->eos >= 0)
		printf(", EOS %d", t->eos);
	putchar('\n');
}

/* Where --backend auto would run the model, and why. */
static void print_backend(const struct model *m, uint32_t n_ctx)
{
	struct context_params cp = { .n_ctx = n_ctx };
	struct backend_plan plan;
	char reason[200], mem[32];
	if (backend_plan(&cp, m, n_ctx, &plan, reason, sizeof reason) < 0)
		return;
	if (plan.device < 0)
		printf("%-15sCPU (%s)\n", "backend:", reason);
	else if (plan.gpu_layers == m->hp.n_layer)
		printf("%-15sVulkan %s (%s): all %u layers\n", "backend:", plan.device_name,
		       format_bytes(plan.memory, mem, sizeof mem), plan.gpu_layers);
	else
		printf("%-15sVulkan %s (%s): the first %u of %u layers, the rest on the CPU\n", "backend:",
		       plan.device_name, format_bytes(plan.memory, mem, sizeof mem), plan.gpu_layers, m->hp.n_layer);
}

int cmd_info(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "ctx-size", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = NULL;
	int64_t n_ctx = 0;
	int opt;
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":m:c:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			path = optarg;
			break;
		case 'c':
			if (cli_int("info", "--ctx-size", optarg, 1, 1 << 24, &n_ctx))
				return EXIT_USAGE;
			break;
		case 'h':
			fputs(info_usage, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option("info", argv, optopt, opt == ':');
		}
	}
	if (optind < argc)
		return cli_usage("info", "unexpected argument '%s'", argv[optind]);
	if (!path)
		return cli_usage("info", "a model is required (-m FILE)");

	char *file = model_find_path(path);
	if (!file)
		return cli_fail("%s", error_message());
	path = file;
	/* A vocabulary-only file is described as such rather than refused. */
	struct model *m = cli_load_model(path, MODEL_LOAD_VOCAB);
	if (!m) {
		free(file);
		return EXIT_RUNTIME;
	}
	bool vocab_only = m->gguf->n_tensors == 0;
	if (!vocab_only) {
		model_free(m);
		/* model_load, not cli_load_model: any warning was printed already */
		if (!(m = model_load(path, MODEL_LOAD_INSPECT))) {
			cli_fail("'%s': %s", path, error_message());
			free(file);
			return EXIT_RUNTIME;
		}
	}
	const struct gguf *g = m->gguf;
	char size[32];
	struct strbuf shown = { 0 }; /* text from the file, which may hold control characters */
	printf("%-15s%s\n", "file:", termsafe_str(&shown, path));
	printf("%-15s%s, GGUF v%u, %" PRIu64 " tensors, %" PRIu64 " metadata entries\n", "format:",
	       format_bytes(g->size, size, sizeof size), g->version, g->n_tensors, g->n_kv);
	printf("%-15s%s\n", "name:", termsafe_str(&shown, m->name));
	print_vocab(m->tokenizer);
	if (vocab_only) {
		printf("%-15s%s\n", "contents:", "vocabulary only (no weights)");
		strbuf_free(&shown);
		model_free(m);
		free(file);
		return EXIT_OK;
	}

	const struct hparams *hp = &m->hp;
	uint64_t n_params = 0;
	for (uint64_t i = 0; i < g->n_tensors; i++)
		n_params += g->tensors[i].n_elements;
	printf("%-15s%s\n", "architecture:", m->arch->name);
	printf("%-15s%.2fM (%.2f bits per weight)\n", "parameters:", n_params / 1e6,
	       8.0 * m->weight_bytes / (double)n_params);
	printf("%-15s%u\n", "context:", hp->n_ctx_train);
	printf("%-15s%u\n", "embedding:", hp->n_embd);
	printf("%-15s%u\n", "layers:", hp->n_layer);
	printf("%-15s%u query, %u key/value (head size %u)\n", "heads:", hp->n_head, hp->n_head_kv, hp->head_dim);
	printf("%-15s%u\n", "feed-forward:", hp->n_ff);
	printf("%-15s%u dims, base %g%s%s\n", "rope:", hp->n_rot, hp->rope_freq_base,
	       hp->rope_freq_scale != 1.0f ? ", linear scaling" : "", m->rope_freqs ? ", frequency factors" : "");
	printf("%-15s%g\n", "rms epsilon:", hp->rms_eps);
	printf("%-15s%s\n", "output:", m->tied_output ? "tied to the token embeddings" : "own matrix");
	print_tensor_types(g);
	uint32_t ftype;
	if (gguf_get_u32(g, "general.file_type", &ftype) == 1)
		printf("%-15s%s\n", "file type:", quant_file_type_name(ftype) ? quant_file_type_name(ftype) : "unknown");

	uint32_t ctx = n_ctx ? (uint32_t)n_ctx : model_default_ctx(m);
	uint64_t kv = model_kv_bytes(m, ctx);
	char w[32], k[32], t[32], a[32];
	uint64_t available = sysmem_available();
	printf("%-15s%s weights + %s KV cache (F16, %u tokens) = %s", "memory:",
	       format_bytes(m->weight_bytes, w, sizeof w), format_bytes(kv, k, sizeof k), ctx,
	       format_bytes(m->weight_bytes + kv, t, sizeof t));
	if (available)
		printf("; %s available", format_bytes(available, a, sizeof a));
	printf("\n");
	printf("%-15s%s\n", "runs on CPU:", m->unsupported ? "no" : "yes");
	if (m->unsupported)
		printf("%-15s%s\n", "", termsafe_str(&shown, m->unsupported));
	else
		print_backend(m, ctx);
	strbuf_free(&shown);
	model_free(m);
	free(file);
	return EXIT_OK;
}
