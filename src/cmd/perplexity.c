/* cmd_perplexity.c - `nibble perplexity`: how well a model predicts a text,
 * measured as llama.cpp's perplexity tool does, and with --kl-base how far
 * its next-token distributions are from another model's on the same text. */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model/context.h"
#include "base/util.h"

static const char perplexity_usage[] =
	"Usage: nibble perplexity -m MODEL -f TEXT [OPTIONS]\n"
	"Measure how well MODEL predicts TEXT: the text is cut into windows of CTX\n"
	"tokens, each starting with BOS, and the second half of each window is\n"
	"scored (as llama.cpp's perplexity does).  Prints the running perplexity\n"
	"after each window and the final estimate with its standard error.\n"
	"\n"
	"  -m, --model FILE      GGUF model file\n"
	"  -f, --file TEXT       the text ('-' for stdin); at least 2 windows long\n"
	"  -c, --ctx-size CTX    tokens per window (default 512)\n"
	"  -b, --batch-size N    tokens per forward pass (default 64)\n"
	"  -t, --threads N       CPU threads (default: physical cores)\n"
	"      --backend B       auto, cpu or vulkan (default auto)\n"
	"      --device D        the Vulkan device: number or part of its name\n"
	"      --gpu-layers N    the first N layers on the GPU (default: all that fit)\n"
	"      --force           load a model larger than the memory available\n"
	"      --kl-base BASE    also run BASE (a model with the same vocabulary,\n"
	"                        e.g. the unquantized original) on the same windows\n"
	"                        and report the mean KL divergence KL(BASE || MODEL)\n"
	"                        and how often both rank the same token first\n"
	"  -h, --help            show this help\n";

enum { OPT_KL_BASE = OPT_COMMAND_FIRST };

struct ppl_args {
	const char *model, *base, *text;
	struct context_params run; /* -t --backend --device --gpu-layers --force */
	int n_ctx, n_batch;
};

/* Sums over the scored positions, as llama.cpp keeps them. */
struct ppl_stats {
	double nll, nll2;           /* -log p(actual next token) of the model */
	double base_nll, base_nll2; /* the same for the base model */
	double kl, kl2;             /* KL(base || model) per position */
	size_t same_top, count;
};

/* The mean of count values and the standard error of that mean. */
static void mean_err(double sum, double sum2, size_t count, double *mean, double *err)
{
	*mean = sum / count;
	double var = sum2 / count - *mean * *mean;
	*err = var > 0 && count > 1 ? sqrt(var / (count - 1)) : 0;
}

/* log(sum(exp(logits))) over n values, and the index of the largest. */
static double log_sum_exp(const float *logits, uint32_t n, uint32_t *argmax)
{
	uint32_t best = 0;
	for (uint32_t i = 1; i < n; i++)
		if (logits[i] > logits[best])
			best = i;
	double sum = 0;
	for (uint32_t i = 0; i < n; i++)
		sum += exp((double)logits[i] - logits[best]);
	*argmax = best;
	return logits[best] + log(sum);
}

/* Adds the scored positions of one window: row j of logits (and of base,
 * when given) is the distribution of next[j]. */
static void score_window(const float *logits, const float *base, const int32_t *next, int n_rows, uint32_t n_vocab,
			 struct ppl_stats *s)
{
	for (int j = 0; j < n_rows; j++) {
		const float *lm = logits + (size_t)j * n_vocab;
		uint32_t top;
		double lse = log_sum_exp(lm, n_vocab, &top);
		double nll = lse - lm[next[j]];
		s->nll += nll;
		s->nll2 += nll * nll;
		s->count++;
		if (!base)
			continue;
		const float *lb = base + (size_t)j * n_vocab;
		uint32_t base_top;
		double base_lse = log_sum_exp(lb, n_vocab, &base_top);
		double base_nll = base_lse - lb[next[j]];
		s->base_nll += base_nll;
		s->base_nll2 += base_nll * base_nll;
		double kl = 0;
		for (uint32_t i = 0; i < n_vocab; i++) {
			double log_pb = lb[i] - base_lse, log_pm = lm[i] - lse;
			kl += exp(log_pb) * (log_pb - log_pm);
		}
		s->kl += kl;
		s->kl2 += kl * kl;
		s->same_top += top == base_top;
	}
}

/* Evaluates one window from an empty context: the first half for context
 * alone, then the scored half with every row's logits into out.  The last
 * token is never evaluated: nothing after it is scored. */
static int eval_window(struct context *ctx, const int32_t *window, int first, int n_scored, float *out)
{
	context_truncate(ctx, 0);
	if (context_eval(ctx, window, (size_t)first) < 0 ||
	    context_eval_all(ctx, window + first, (size_t)n_scored, out) < 0)
		return cli_fail("%s", error_message());
	return EXIT_OK;
}

/* Refuses a base model whose token ids mean other text. */
static int check_same_vocab(const struct model *m, const struct model *base, const char *base_path)
{
	const struct tokenizer *a = m->tokenizer, *b = base->tokenizer;
	if (a->n_vocab != b->n_vocab || m->hp.n_vocab != base->hp.n_vocab)
		return cli_fail("'%s' has another vocabulary (%u tokens, the model has %u)", base_path, b->n_vocab,
				a->n_vocab);
	for (uint32_t i = 0; i < a->n_vocab; i++)
		if (a->text[i].len != b->text[i].len || memcmp(a->text[i].ptr, b->text[i].ptr, a->text[i].len) != 0)
			return cli_fail("'%s' has another vocabulary (token %u differs)", base_path, i);
	return EXIT_OK;
}

/* The text's tokens, BOS first as the model asks (caller frees). */
static int32_t *text_tokens(const char *path, const struct model *m, size_t *n)
{
	size_t len;
	char *text = read_file(path, &len);
	if (!text) {
		cli_fail("%s", error_message());
		return NULL;
	}
	int32_t *ids = NULL;
	size_t cap = 0;
	*n = 0;
	tokenizer_encode(m->tokenizer, text, len, TOKENIZE_ADD_BOS, &ids, n, &cap);
	free(text);
	return ids;
}

static void print_final(const struct ppl_stats *s, bool with_base)
{
	double mean, err;
	mean_err(s->nll, s->nll2, s->count, &mean, &err);
	printf("Final estimate: PPL = %.4f +/- %.5f\n", exp(mean), err * exp(mean));
	if (!with_base)
		return;
	mean_err(s->base_nll, s->base_nll2, s->count, &mean, &err);
	printf("Base model:     PPL = %.4f +/- %.5f\n", exp(mean), err * exp(mean));
	mean_err(s->kl, s->kl2, s->count, &mean, &err);
	printf("Mean KL divergence (base || model): %.6f +/- %.6f\n", mean, err);
	double p = (double)s->same_top / s->count;
	printf("Top-1 agreement: %.2f +/- %.2f %%\n", 100 * p, 100 * sqrt(p * (1 - p) / (s->count - 1)));
}

static int perplexity(const struct ppl_args *a)
{
	struct model *m = NULL, *base = NULL;
	struct context *ctx = NULL, *base_ctx = NULL;
	int32_t *tokens = NULL, *window = NULL;
	float *logits = NULL, *base_logits = NULL;
	int rc = EXIT_RUNTIME;

	if (!(m = cli_load_model(a->model, MODEL_LOAD_FULL)))
		goto done;
	if (a->base && (!(base = cli_load_model(a->base, MODEL_LOAD_FULL)) || check_same_vocab(m, base, a->base)))
		goto done;
	size_t n_tokens;
	if (!(tokens = text_tokens(a->text, m, &n_tokens)))
		goto done;
	size_t n_ctx = (size_t)a->n_ctx;
	if (n_tokens < 2 * n_ctx) {
		cli_fail("'%s' is %zu tokens; windows of %zu need at least %zu (use a longer text or a smaller -c)",
			 a->text, n_tokens, n_ctx, 2 * n_ctx);
		goto done;
	}
	if ((uint32_t)a->n_ctx > m->hp.n_ctx_train)
		fprintf(stderr, "nibble: warning: windows of %d tokens are longer than the model's training context (%u)\n",
			a->n_ctx, m->hp.n_ctx_train);

	struct context_params cp = a->run;
	cp.n_ctx = (uint32_t)a->n_ctx;
	cp.n_batch = a->n_batch;
	if (!(ctx = context_init(m, &cp)) || (base && !(base_ctx = context_init(base, &cp)))) {
		cli_fail("%s", error_message());
		goto done;
	}
	cli_backend_report(ctx, false);
	uint32_t n_vocab = m->hp.n_vocab;
	size_t n_windows = n_tokens / n_ctx;
	int first = a->n_ctx / 2, n_scored = a->n_ctx - 1 - first;
	logits = malloc((size_t)n_scored * n_vocab * sizeof *logits);
	base_logits = base ? malloc((size_t)n_scored * n_vocab * sizeof *base_logits) : NULL;
	if (!logits || (base && !base_logits)) {
		char size[32];
		cli_fail("cannot allocate %s for the logits of a window; try a smaller -c",
			 format_bytes((uint64_t)n_scored * n_vocab * sizeof *logits, size, sizeof size));
		goto done;
	}
	window = xmalloc(n_ctx * sizeof *window);

	printf("%zu windows of %d tokens, scoring the last %d of each (%zu tokens)\n", n_windows, a->n_ctx,
	       n_scored, n_windows * (size_t)n_scored);
	if (base)
		printf("window  PPL        KL(base||model)  top-1\n");
	struct ppl_stats s = { 0 };
	for (size_t w = 0; w < n_windows; w++) {
		memcpy(window, tokens + w * n_ctx, n_ctx * sizeof *window);
		if (m->tokenizer->add_bos && m->tokenizer->bos >= 0)
			window[0] = m->tokenizer->bos;
		if (eval_window(ctx, window, first, n_scored, logits) != EXIT_OK ||
		    (base && eval_window(base_ctx, window, first, n_scored, base_logits) != EXIT_OK))
			goto done;
		score_window(logits, base_logits, window + first + 1, n_scored, n_vocab, &s);
		double ppl = exp(s.nll / s.count);
		char label[32];
		snprintf(label, sizeof label, "[%zu]", w + 1);
		if (base)
			printf("%-7s %-10.4f %-16.6f %.2f%%\n", label, ppl, s.kl / s.count, 100.0 * s.same_top / s.count);
		else
			printf("%s %.4f\n", label, ppl);
		fflush(stdout);
	}
	print_final(&s, base != NULL);
	rc = EXIT_OK;
done:
	free(window);
	free(logits);
	free(base_logits);
	free(tokens);
	context_free(base_ctx);
	context_free(ctx);
	model_free(base);
	model_free(m);
	return rc;
}

#define PROCEED (-1)

static int parse_args(int argc, char **argv, struct ppl_args *a)
{
	static const struct option long_opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "file", required_argument, NULL, 'f' },
		{ "ctx-size", required_argument, NULL, 'c' },
		{ "batch-size", required_argument, NULL, 'b' },
		{ "threads", required_argument, NULL, 't' },
		{ "kl-base", required_argument, NULL, OPT_KL_BASE },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "gpu-layers", required_argument, NULL, OPT_GPU_LAYERS },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;
	int64_t v;
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":m:f:c:b:t:h", long_opts, NULL)) != -1) {
		int taken = cli_context_option("perplexity", opt, optarg, &a->run);
		if (taken < 0)
			return EXIT_USAGE;
		if (taken)
			continue;
		switch (opt) {
		case 'm':
			a->model = optarg;
			break;
		case 'f':
			a->text = optarg;
			break;
		case 'c':
			/* 8 leaves a few scored tokens after a few of context */
			if (cli_int("perplexity", "--ctx-size", optarg, 8, 1 << 20, &v))
				return EXIT_USAGE;
			a->n_ctx = (int)v;
			break;
		case 'b':
			if (cli_int("perplexity", "--batch-size", optarg, 1, 1 << 16, &v))
				return EXIT_USAGE;
			a->n_batch = (int)v;
			break;
		case OPT_KL_BASE:
			a->base = optarg;
			break;
		case 'h':
			fputs(perplexity_usage, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option("perplexity", argv, optopt, opt == ':');
		}
	}
	if (optind < argc)
		return cli_usage("perplexity", "unexpected argument '%s'", argv[optind]);
	if (!a->text)
		return cli_usage("perplexity", "a text is required (-f FILE)");
	return PROCEED;
}

int cmd_perplexity(int argc, char **argv)
{
	struct settings st;
	int rc = cli_settings(&st);
	if (rc != EXIT_OK)
		return rc;
	struct ppl_args a = { .n_ctx = 512, .run = { .n_threads = st.threads, .backend = st.backend } };
	rc = parse_args(argc, argv, &a);
	if (rc == PROCEED && !(a.model = cli_model_arg("perplexity", a.model, &st)))
		rc = EXIT_USAGE;
	if (rc == PROCEED)
		rc = perplexity(&a);
	settings_free(&st);
	return rc;
}
