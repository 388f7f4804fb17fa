/* cli.c - error reporting and option parsing shared by the subcommands. */
#include "config.h"

#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "model/find.h"
#include "base/util.h"

int cli_fail(const char *fmt, ...)
{
	va_list ap;
	fputs("nibble: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_RUNTIME;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "nibble: %s%s", cmd ? cmd : "", cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'nibble %s%s--help')\n", cmd ? cmd : "", cmd ? " " : "");
	return EXIT_USAGE;
}

int cli_bad_option(const char *cmd, char **argv, int optopt_c, bool missing_arg)
{
	extern int optind;
	const char *arg = argv[optind - 1];
	if (missing_arg)
		return cli_usage(cmd, "option '%s' needs a value", arg);
	if (optopt_c && strncmp(arg, "--", 2) != 0)
		return cli_usage(cmd, "unknown option '-%c'", optopt_c);
	return cli_usage(cmd, "unknown option '%s'", arg);
}

int cli_int(const char *cmd, const char *opt, const char *arg, int64_t min, int64_t max, int64_t *out)
{
	if (parse_i64(arg, min, max, out) < 0)
		return cli_usage(cmd, "%s: %s", opt, error_message());
	return EXIT_OK;
}

int cli_float(const char *cmd, const char *opt, const char *arg, double min, double max, float *out)
{
	double v;
	if (parse_double(arg, min, max, &v) < 0)
		return cli_usage(cmd, "%s: %s", opt, error_message());
	*out = (float)v;
	return EXIT_OK;
}

struct model *cli_load_model(const char *arg, enum model_load_what what)
{
	char *path = model_find_path(arg);
	if (!path) {
		cli_fail("%s", error_message());
		return NULL;
	}
	struct model *m = model_load(path, what);
	if (!m)
		cli_fail("'%s': %s", path, error_message());
	else if (m->tokenizer->pre_unknown)
		fprintf(stderr,
			"nibble: warning: '%s': unknown pre-tokenizer '%s' (tokenizer.ggml.pre); text is split as GPT-2 "
			"splits it, so tokens may differ from llama.cpp's\n",
			path, m->tokenizer->pre_name);
	free(path);
	return m;
}

void cli_backend_report(const struct context *ctx, bool verbose)
{
	char warning[512];
	if (ctx && verbose)
		fprintf(stderr, "backend: %s (%s)\n", ctx->be->description, ctx->backend_reason);
	if (ctx && context_backend_warning(ctx, warning, sizeof warning))
		fprintf(stderr, "nibble: warning: %s\n", warning);
}

/* --backend's value: auto, cpu or vulkan; otherwise a usage error. */
static int cli_backend(const char *cmd, const char *arg, const char **out)
{
	if (strcmp(arg, "auto") && strcmp(arg, "cpu") && strcmp(arg, "vulkan"))
		return cli_usage(cmd, "--backend: expected auto, cpu or vulkan, got '%s'", arg);
	*out = arg;
	return 0;
}

/* --gpu-layers's value: a count or auto, as context_params.gpu_layers. */
static int cli_gpu_layers(const char *cmd, const char *arg, int *out)
{
	int64_t v;
	if (!strcmp(arg, "auto")) {
		*out = GPU_LAYERS_AUTO;
		return 0;
	}
	if (cli_int(cmd, "--gpu-layers", arg, 0, 1 << 20, &v))
		return EXIT_USAGE;
	*out = v == 0 ? GPU_LAYERS_NONE : (int)v;
	return 0;
}

int cli_context_option(const char *cmd, int opt, const char *arg, struct context_params *cp)
{
	int64_t v;
	switch (opt) {
	case 't':
		if (cli_int(cmd, "--threads", arg, 1, 1024, &v))
			return -1;
		cp->n_threads = (int)v;
		return 1;
	case OPT_BACKEND:
		return cli_backend(cmd, arg, &cp->backend) ? -1 : 1;
	case OPT_DEVICE:
		cp->device = arg;
		return 1;
	case OPT_GPU_LAYERS:
		return cli_gpu_layers(cmd, arg, &cp->gpu_layers) ? -1 : 1;
	case OPT_FORCE:
		cp->force = true;
		return 1;
	}
	return 0;
}

int cli_prompt_option(const char *cmd, int opt, const char *arg, struct prompt_opts *o)
{
	int64_t v;
	switch (opt) {
	case 'm':
		o->model_path = arg;
		return 1;
	case 'p':
		o->prompt = arg;
		return 1;
	case 'f':
		o->prompt_file = arg;
		return 1;
	case 'c':
		if (cli_int(cmd, "--ctx-size", arg, 1, 1 << 24, &v))
			return -1;
		o->ctx.n_ctx = (uint32_t)v;
		return 1;
	case 'v':
		o->verbose = true;
		return 1;
	}
	return cli_context_option(cmd, opt, arg, &o->ctx);
}

int cli_sampling_option(const char *cmd, int opt, const char *arg, struct sampling_opts *so)
{
	static const struct {
		int opt;
		const char *name;
	} names[] = {
		{ 's', "seed" }, { OPT_TEMP, "temp" }, { OPT_TOP_K, "top-k" }, { OPT_TOP_P, "top-p" },
		{ OPT_MIN_P, "min-p" }, { OPT_REPEAT_PENALTY, "repeat-penalty" }, { OPT_REPEAT_LAST_N, "repeat-last-n" },
	};
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		if (names[i].opt != opt)
			continue;
		if (sampler_param_set(&so->params, names[i].name, arg) < 0) {
			cli_usage(cmd, "--%s: %s", names[i].name, error_message());
			return -1;
		}
		so->seed_given |= opt == 's';
		return 1;
	}
	return 0;
}

int cli_settings(struct settings *st)
{
	if (settings_load(st, NULL) < 0) {
		cli_fail("config: %s", error_message());
		settings_free(st);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

const char *cli_model_arg(const char *cmd, const char *given, const struct settings *st)
{
	if (given)
		return given;
	if (st->model)
		return st->model;
	struct found_models all;
	model_find_all(&all);
	if (all.n == 0)
		fprintf(stderr, "nibble: %s\n", model_find_help);
	else
		cli_usage(cmd, "a model is required (-m FILE or NAME; `nibble list` shows %zu)", all.n);
	found_models_free(&all);
	return NULL;
}

int cli_check_prompt_opts(const char *cmd, const struct prompt_opts *o)
{
	if (!o->prompt && !o->prompt_file)
		return cli_usage(cmd, "a prompt is required (-p TEXT or -f FILE)");
	if (o->prompt && o->prompt_file)
		return cli_usage(cmd, "give the prompt with -p or -f, not both");
	return EXIT_OK;
}

/* The prompt's token ids (caller frees), or NULL after setting error(). */
static int32_t *prompt_tokens(const struct prompt_opts *o, const struct model *m, size_t *n_out)
{
	size_t len = o->prompt ? strlen(o->prompt) : 0;
	char *text = o->prompt ? xstrdup(o->prompt) : read_file(o->prompt_file, &len);
	if (!text)
		return NULL;
	int32_t *ids = NULL;
	size_t n = 0, cap = 0;
	/* As llama.cpp does for a raw prompt, text such as "</s>" in it becomes
	 * the control token. */
	tokenizer_encode(m->tokenizer, text, len, TOKENIZE_ADD_SPECIAL | TOKENIZE_PARSE_SPECIAL, &ids, &n, &cap);
	free(text);
	if (n == 0) {
		free(ids);
		error("the prompt is empty and the model adds no BOS token");
		return NULL;
	}
	*n_out = n;
	return ids;
}

int cli_prompt_session_open(const struct prompt_opts *o, size_t reserve, struct prompt_session *s)
{
	*s = (struct prompt_session){ 0 };
	s->model = cli_load_model(o->model_path, MODEL_LOAD_FULL);
	if (!s->model)
		return EXIT_RUNTIME;
	s->ctx = context_init(s->model, &o->ctx);
	cli_backend_report(s->ctx, o->verbose);
	if (s->ctx)
		s->tokens = prompt_tokens(o, s->model, &s->n_tokens);
	if (!s->ctx || !s->tokens) {
		cli_fail("%s", error_message());
		goto fail;
	}
	if (s->n_tokens + reserve > s->ctx->n_ctx) {
		cli_fail("the prompt is %zu tokens but the context holds %u; use a larger --ctx-size", s->n_tokens,
			 s->ctx->n_ctx);
		goto fail;
	}
	return EXIT_OK;
fail:
	cli_prompt_session_close(s);
	return EXIT_RUNTIME;
}

void cli_prompt_session_close(struct prompt_session *s)
{
	free(s->tokens);
	context_free(s->ctx);
	model_free(s->model);
	*s = (struct prompt_session){ 0 };
}
