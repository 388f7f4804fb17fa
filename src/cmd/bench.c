/* cmd_bench.c - `nibble bench`: llama-bench's two standard measurements,
 * prompt processing (pp: p tokens in one batch) and text generation (tg: n
 * tokens one at a time), as a table or as llama-bench's JSON. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli.h"
#include "model/context.h"
#include "quant/quant.h"
#include "model/sampler.h"
#include "base/util.h"

static const char bench_usage[] =
	"Usage: nibble bench -m MODEL [OPTIONS]\n"
	"Measure speed as llama-bench does: prompt processing (ppP: P tokens in one\n"
	"batch from an empty context) and text generation (tgN: N tokens evaluated\n"
	"one at a time), each after a warm-up run and repeated REPS times.  Prints\n"
	"mean +/- standard deviation in tokens per second, and the peak resident\n"
	"memory.\n"
	"\n"
	"  -m, --model FILE       GGUF model file\n"
	"  -p, --n-prompt P       prompt tokens; 0 skips the test (default 64)\n"
	"  -n, --n-gen N          generated tokens; 0 skips the test (default 32)\n"
	"  -r, --repetitions R    runs of each test (default 5)\n"
	"  -t, --threads N        CPU threads (default: physical cores)\n"
	"      --backend B        auto, cpu or vulkan (default auto)\n"
	"      --device D         the Vulkan device: number or part of its name\n"
	"      --gpu-layers N     the first N layers on the GPU (default: all that fit)\n"
	"      --force            load a model larger than the memory available\n"
	"      --json             print a JSON array, one object per test, with\n"
	"                         llama-bench's keys\n"
	"  -h, --help             show this help\n";

enum { OPT_JSON = OPT_COMMAND_FIRST };

struct bench_args {
	const char *model;
	struct context_params run; /* -t --backend --device --gpu-layers --force */
	const char *backend_shown; /* "CPU" or "Vulkan", as llama-bench names them */
	const char *device_shown, *reason; /* the context's backend and why */
	int n_prompt, n_gen, reps;
	bool json;
};

/* One test's timings. */
struct bench_result {
	int n_prompt, n_gen;
	double *ns; /* [reps] */
	int reps;
	char time[32]; /* when it started, RFC 3339 */
};

/* llama.cpp's llama_ftype_name for the file types it still makes. */
static const char *ftype_desc(uint32_t ftype)
{
	static const char *const names[] = {
		[0] = "all F32",          [1] = "F16",                    [2] = "Q4_0",
		[3] = "Q4_1",             [7] = "Q8_0",                   [8] = "Q5_0",
		[9] = "Q5_1",             [10] = "Q2_K - Medium",         [11] = "Q3_K - Small",
		[12] = "Q3_K - Medium",   [13] = "Q3_K - Large",          [14] = "Q4_K - Small",
		[15] = "Q4_K - Medium",   [16] = "Q5_K - Small",          [17] = "Q5_K - Medium",
		[18] = "Q6_K",            [19] = "IQ2_XXS - 2.0625 bpw",  [20] = "IQ2_XS - 2.3125 bpw",
		[21] = "Q2_K - Small",    [22] = "IQ3_XS - 3.3 bpw",      [23] = "IQ3_XXS - 3.0625 bpw",
		[24] = "IQ1_S - 1.5625 bpw", [25] = "IQ4_NL - 4.5 bpw",   [26] = "IQ3_S - 3.4375 bpw",
		[27] = "IQ3_S mix - 3.66 bpw", [28] = "IQ2_S - 2.5 bpw",  [29] = "IQ2_M - 2.7 bpw",
		[30] = "IQ4_XS - 4.25 bpw", [31] = "IQ1_M - 1.75 bpw",    [32] = "BF16",
		[36] = "TQ1_0 - 1.69 bpw ternary", [37] = "TQ2_0 - 2.06 bpw ternary", [38] = "MXFP4 MoE",
	};
	const char *s = ftype < ARRAY_LEN(names) ? names[ftype] : NULL;
	return s ? s : "unknown, may not work";
}

/* llama.cpp's ftype for a file without general.file_type: from its most
 * common tensor type. */
static uint32_t guess_ftype(const struct gguf *g)
{
	static const uint32_t by_type[GGML_TYPE_COUNT] = {
		[GGML_TYPE_F16] = 1, [GGML_TYPE_Q4_0] = 2, [GGML_TYPE_Q4_1] = 3, [GGML_TYPE_Q5_0] = 8,
		[GGML_TYPE_Q5_1] = 9, [GGML_TYPE_Q8_0] = 7, [GGML_TYPE_Q2_K] = 10, [GGML_TYPE_Q3_K] = 12,
		[GGML_TYPE_Q4_K] = 15, [GGML_TYPE_Q5_K] = 17, [GGML_TYPE_Q6_K] = 18, [GGML_TYPE_IQ4_NL] = 25,
		[GGML_TYPE_IQ4_XS] = 30, [GGML_TYPE_BF16] = 32,
	};
	uint64_t count[GGML_TYPE_COUNT] = { 0 };
	uint32_t best = GGML_TYPE_F32;
	for (uint64_t i = 0; i < g->n_tensors; i++)
		if (++count[g->tensors[i].type] > count[best])
			best = g->tensors[i].type;
	return by_type[best]; /* 0, all F32, for the rest as in llama.cpp */
}

/* llama.cpp's size label of a llama model, from its layer count. */
static const char *llama_size(const struct model *m)
{
	switch (m->hp.n_layer) {
	case 16:
	case 22:
		return "1B";
	case 26:
	case 28:
		return "3B";
	case 30:
		return "256M";
	case 32:
		return m->hp.n_vocab == 49152 ? "3B" : m->hp.n_vocab < 40000 ? "7B" : "8B";
	case 36:
		return "8B";
	case 40:
		return "13B";
	case 48:
		return "34B";
	case 60:
		return "30B";
	case 80:
		return m->hp.n_head == m->hp.n_head_kv ? "65B" : "70B";
	default:
		return "?B";
	}
}

/* model_type as llama-bench prints it ("llama 1B Q4_K - Medium"), and the
 * file type's short name for the table. */
static void describe(const struct model *m, char *type, size_t type_size, char *short_name, size_t short_size)
{
	uint32_t ftype;
	bool guessed = gguf_get_u32(m->gguf, "general.file_type", &ftype) != 1;
	if (guessed)
		ftype = guess_ftype(m->gguf);
	const char *name = quant_file_type_name(ftype);
	snprintf(type, type_size, "%s %s %s%s", m->arch->name, llama_size(m), guessed ? "(guessed) " : "",
		 ftype_desc(ftype));
	snprintf(short_name, short_size, "%s%s", name ? name : "?", guessed ? " (guessed)" : "");
}

static void mean_sd(const double *x, int n, double *mean, double *sd)
{
	double sum = 0, sq = 0;
	for (int i = 0; i < n; i++) {
		sum += x[i];
		sq += x[i] * x[i];
	}
	*mean = sum / n;
	/* the sample standard deviation, as llama-bench's stdev() */
	*sd = n > 1 ? sqrt(fmax(0, (sq - sum * sum / n) / (n - 1))) : 0;
}

/* Tokens per second of each run. */
static void tokens_per_s(const struct bench_result *r, double *ts)
{
	for (int i = 0; i < r->reps; i++)
		ts[i] = 1e9 * (r->n_prompt + r->n_gen) / r->ns[i];
}

/* llama-bench's random tokens: BOS first where the model adds it. */
static void random_tokens(const struct model *m, struct rng *rng, int32_t *out, int n, bool from_start)
{
	for (int i = 0; i < n; i++)
		out[i] = (int32_t)(rng_next(rng) % m->hp.n_vocab);
	if (from_start && n > 0 && m->tokenizer->add_bos && m->tokenizer->bos >= 0)
		out[0] = m->tokenizer->bos;
}

/* One run from an empty context: n_prompt tokens in one batch, or n_gen
 * tokens one by one. */
static int run_once(struct context *ctx, struct rng *rng, int n_prompt, int n_gen, int32_t *tokens, double *ns)
{
	const struct model *m = ctx->model;
	context_truncate(ctx, 0);
	double t0 = now_seconds();
	if (n_prompt > 0) {
		random_tokens(m, rng, tokens, n_prompt, true);
		if (context_eval(ctx, tokens, (size_t)n_prompt) < 0)
			return -1;
	}
	for (int i = 0; i < n_gen; i++) {
		random_tokens(m, rng, tokens, 1, i == 0);
		if (context_eval(ctx, tokens, 1) < 0)
			return -1;
	}
	*ns = (now_seconds() - t0) * 1e9;
	return 0;
}

/* Warm-up, then the timed runs.  llama-bench warms text generation up with
 * one token. */
static int run_test(struct context *ctx, struct rng *rng, struct bench_result *r, int32_t *tokens)
{
	double warm;
	time_t now = time(NULL);
	strftime(r->time, sizeof r->time, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	if (run_once(ctx, rng, r->n_prompt, r->n_gen ? 1 : 0, tokens, &warm) < 0)
		return -1;
	for (int i = 0; i < r->reps; i++)
		if (run_once(ctx, rng, r->n_prompt, r->n_gen, tokens, &r->ns[i]) < 0)
			return -1;
	return 0;
}

static json_object *json_fixed(double v)
{
	char s[64];
	snprintf(s, sizeof s, "%f", v); /* llama-bench's std::to_string */
	return json_object_new_double_s(v, s);
}

static void print_json(const struct bench_args *a, const struct model *m, const char *type,
		       const struct bench_result *res, int n_res)
{
	json_object *arr = json_object_new_array();
	uint64_t n_params = 0;
	for (uint64_t i = 0; i < m->gguf->n_tensors; i++)
		n_params += m->gguf->tensors[i].n_elements;
	for (int k = 0; k < n_res; k++) {
		const struct bench_result *r = &res[k];
		double *ts = xmalloc((size_t)r->reps * sizeof *ts), avg_ns, sd_ns, avg_ts, sd_ts;
		tokens_per_s(r, ts);
		mean_sd(r->ns, r->reps, &avg_ns, &sd_ns);
		mean_sd(ts, r->reps, &avg_ts, &sd_ts);
		json_object *o = json_object_new_object(), *ns = json_object_new_array(), *tss = json_object_new_array();
		json_object_object_add(o, "backends", json_object_new_string(a->backend_shown));
		json_object_object_add(o, "model_filename", json_object_new_string(a->model));
		json_object_object_add(o, "model_type", json_object_new_string(type));
		json_object_object_add(o, "model_size", json_object_new_int64((int64_t)m->weight_bytes));
		json_object_object_add(o, "model_n_params", json_object_new_int64((int64_t)n_params));
		json_object_object_add(o, "n_threads", json_object_new_int(a->run.n_threads));
		json_object_object_add(o, "n_prompt", json_object_new_int(r->n_prompt));
		json_object_object_add(o, "n_gen", json_object_new_int(r->n_gen));
		json_object_object_add(o, "test_time", json_object_new_string(r->time));
		json_object_object_add(o, "avg_ns", json_object_new_int64((int64_t)llround(avg_ns)));
		json_object_object_add(o, "stddev_ns", json_object_new_int64((int64_t)llround(sd_ns)));
		json_object_object_add(o, "avg_ts", json_fixed(avg_ts));
		json_object_object_add(o, "stddev_ts", json_fixed(sd_ts));
		for (int i = 0; i < r->reps; i++) {
			json_object_array_add(ns, json_object_new_int64((int64_t)llround(r->ns[i])));
			json_object_array_add(tss, json_object_new_double(ts[i]));
		}
		json_object_object_add(o, "samples_ns", ns);
		json_object_object_add(o, "samples_ts", tss);
		json_object_array_add(arr, o);
		free(ts);
	}
	puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
}

static void print_table(const struct bench_args *a, const struct model *m, const char *short_type,
			const struct bench_result *res, int n_res)
{
	const char *file = strrchr(a->model, '/') ? strrchr(a->model, '/') + 1 : a->model;
	char size[32];
	/* llama-bench's sizes: MiB below 1 GiB, GiB above */
	if (m->weight_bytes < (1ull << 30))
		snprintf(size, sizeof size, "%.2f MiB", m->weight_bytes / 1048576.0);
	else
		snprintf(size, sizeof size, "%.2f GiB", m->weight_bytes / 1073741824.0);
	printf("| %-28s | %12s | %-14s | %-7s | %7s | %6s | %18s |\n", "model", "size", "type", "backend", "threads",
	       "test", "t/s");
	puts("| ---------------------------- | -----------: | -------------- | ------- | ------: | ------ | "
	     "-----------------: |");
	for (int k = 0; k < n_res; k++) {
		const struct bench_result *r = &res[k];
		double *ts = xmalloc((size_t)r->reps * sizeof *ts), avg, sd;
		tokens_per_s(r, ts);
		mean_sd(ts, r->reps, &avg, &sd);
		char test[32], speed[48];
		snprintf(test, sizeof test, r->n_prompt ? "pp%d" : "tg%d", r->n_prompt ? r->n_prompt : r->n_gen);
		snprintf(speed, sizeof speed, "%.2f ± %.2f", avg, sd);
		/* "±" is two bytes for one column */
		printf("| %-28s | %12s | %-14s | %-7s | %7d | %6s | %19s |\n", file, size, short_type, a->backend_shown,
		       a->run.n_threads, test, speed);
		free(ts);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	char rss[32];
	printf("\npeak RSS: %s\n", format_bytes((uint64_t)ru.ru_maxrss * 1024, rss, sizeof rss)); /* ru_maxrss: KiB */
	printf("backend: %s (%s)\n", a->device_shown, a->reason);
}

static int bench(struct bench_args *a)
{
	struct model *m = cli_load_model(a->model, MODEL_LOAD_FULL);
	if (!m)
		return EXIT_RUNTIME;
	if (a->run.n_threads <= 0)
		a->run.n_threads = cpu_physical_cores();
	int longest = a->n_prompt > a->n_gen ? a->n_prompt : a->n_gen;
	struct context_params cp = a->run;
	cp.n_ctx = (uint32_t)longest;
	cp.n_batch = a->n_prompt > 0 ? a->n_prompt : 1;
	struct context *ctx = context_init(m, &cp);
	struct bench_result res[2] = { { .n_prompt = a->n_prompt }, { .n_gen = a->n_gen } };
	int n_res = 0, rc = EXIT_RUNTIME;
	int32_t *tokens = xmalloc((size_t)(longest > 0 ? longest : 1) * sizeof *tokens);
	struct rng rng;
	rng_seed(&rng, 1234);
	if (!ctx) {
		cli_fail("%s", error_message());
		goto done;
	}
	a->backend_shown = strcmp(ctx->be->ops->name, "vulkan") ? "CPU" : "Vulkan";
	a->device_shown = ctx->be->description;
	a->reason = ctx->backend_reason;
	cli_backend_report(ctx, false);
	for (int k = 0; k < 2; k++) {
		if (res[k].n_prompt + res[k].n_gen == 0)
			continue;
		struct bench_result *r = &res[n_res++];
		*r = res[k];
		r->reps = a->reps;
		r->ns = xmalloc((size_t)a->reps * sizeof *r->ns);
		if (run_test(ctx, &rng, r, tokens) < 0) {
			cli_fail("%s", error_message());
			goto done;
		}
	}
	char type[128], short_type[48];
	describe(m, type, sizeof type, short_type, sizeof short_type);
	if (a->json)
		print_json(a, m, type, res, n_res);
	else
		print_table(a, m, short_type, res, n_res);
	rc = EXIT_OK;
done:
	for (int k = 0; k < n_res; k++)
		free(res[k].ns);
	free(tokens);
	context_free(ctx);
	model_free(m);
	return rc;
}

#define PROCEED (-1)

static int parse_args(int argc, char **argv, struct bench_args *a)
{
	static const struct option long_opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "n-prompt", required_argument, NULL, 'p' },
		{ "n-gen", required_argument, NULL, 'n' },
		{ "repetitions", required_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 't' },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "gpu-layers", required_argument, NULL, OPT_GPU_LAYERS },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;
	int64_t v;
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":m:p:n:r:t:h", long_opts, NULL)) != -1) {
		int taken = cli_context_option("bench", opt, optarg, &a->run);
		if (taken < 0)
			return EXIT_USAGE;
		if (taken)
			continue;
		switch (opt) {
		case 'm':
			a->model = optarg;
			break;
		case 'p':
			if (cli_int("bench", "--n-prompt", optarg, 0, 1 << 16, &v))
				return EXIT_USAGE;
			a->n_prompt = (int)v;
			break;
		case 'n':
			if (cli_int("bench", "--n-gen", optarg, 0, 1 << 16, &v))
				return EXIT_USAGE;
			a->n_gen = (int)v;
			break;
		case 'r':
			if (cli_int("bench", "--repetitions", optarg, 1, 1000, &v))
				return EXIT_USAGE;
			a->reps = (int)v;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case 'h':
			fputs(bench_usage, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option("bench", argv, optopt, opt == ':');
		}
	}
	if (optind < argc)
		return cli_usage("bench", "unexpected argument '%s'", argv[optind]);
	if (a->n_prompt == 0 && a->n_gen == 0)
		return cli_usage("bench", "-p 0 and -n 0 leave nothing to measure");
	return PROCEED;
}

int cmd_bench(int argc, char **argv)
{
	struct settings st;
	int rc = cli_settings(&st);
	if (rc != EXIT_OK)
		return rc;
	struct bench_args a = {
		.n_prompt = 64, .n_gen = 32, .reps = 5, .run = { .n_threads = st.threads, .backend = st.backend }
	};
	rc = parse_args(argc, argv, &a);
	if (rc == PROCEED && !(a.model = cli_model_arg("bench", a.model, &st)))
		rc = EXIT_USAGE;
	if (rc == PROCEED)
		rc = bench(&a);
	settings_free(&st);
	return rc;
}
