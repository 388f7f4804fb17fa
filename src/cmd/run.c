/* cmd_run.c - `nibble run`: stream the continuation of a prompt to stdout. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "model/context.h"
#include "model/sampler.h"
#include "ui/termsafe.h"
#include "text/utf8.h"
#include "base/util.h"

static const char run_usage[] =
	"Usage: nibble run -m MODEL (-p PROMPT | -f FILE) [OPTIONS]\n"
	"Generate text that continues PROMPT; only the continuation is printed.\n"
	"\n"
	"  -m, --model FILE         GGUF model file\n"
	"  -p, --prompt TEXT        the prompt (\"\" starts from BOS alone)\n"
	"  -f, --file FILE          read the prompt from FILE ('-' for stdin)\n"
	"  -n, --n-predict N        stop after N tokens (default: at end of text or\n"
	"                           when the context is full)\n"
	"  -c, --ctx-size N         context size in tokens (default: the model's,\n"
	"                           at most 4096)\n"
	"  -t, --threads N          CPU threads (default: physical cores)\n"
	BACKEND_HELP
	SAMPLING_HELP
	"  -v, --verbose            print load time and speeds to stderr\n"
	"  -h, --help               show this help\n";

/* Writes the text completed so far; false when stdout fails.  On a
 * terminal, control characters are shown (ESC as ^[), never obeyed; into a
 * pipe or file the text stays byte for byte what the model wrote. */
static bool emit(struct strbuf *text, bool tty)
{
	if (text->len == 0)
		return true;
	bool ok = termsafe_write(stdout, text->data, text->len, tty) && fflush(stdout) == 0;
	text->len = 0;
	return ok;
}

struct run_args {
	struct prompt_opts po;
	struct sampling_opts so;
	int64_t n_predict; /* -1: no limit */
};

#define PROCEED (-1)

/* Parses the command line over the defaults in a.  Returns PROCEED, or the
 * exit code to leave with (after --help or a usage error). */
static int parse_args(int argc, char **argv, struct run_args *a)
{
	static const struct option long_opts[] = {
		PROMPT_LONG_OPTS,
		{ "n-predict", required_argument, NULL, 'n' },
		SAMPLING_LONG_OPTS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt, rc;
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":" PROMPT_SHORT_OPTS SAMPLING_SHORT_OPTS "n:h", long_opts, NULL)) != -1) {
		if ((rc = cli_prompt_option("run", opt, optarg, &a->po)) != 0 ||
		    (rc = cli_sampling_option("run", opt, optarg, &a->so)) != 0) {
			if (rc < 0)
				return EXIT_USAGE;
			continue;
		}
		switch (opt) {
		case 'n':
			if (cli_int("run", "--n-predict", optarg, 0, INT32_MAX, &a->n_predict))
				return EXIT_USAGE;
			break;
		case 'h':
			fputs(run_usage, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option("run", argv, optopt, opt == ':');
		}
	}
	if (optind < argc)
		return cli_usage("run", "unexpected argument '%s'", argv[optind]);
	return PROCEED;
}

/* Loads the model and streams the continuation. */
static int run(const struct run_args *a)
{
	const struct prompt_opts po = a->po;
	const int64_t n_predict = a->n_predict;
	struct sampler_params sp = a->so.params;
	if (!a->so.seed_given)
		sp.seed = sampler_random_seed();

	double t_start = now_seconds();
	struct prompt_session ps;
	/* One free position at least: the first generated token goes there. */
	if (cli_prompt_session_open(&po, 1, &ps) != EXIT_OK)
		return EXIT_RUNTIME;
	struct model *m = ps.model;
	struct context *ctx = ps.ctx;
	const int32_t *prompt = ps.tokens;
	size_t n_prompt = ps.n_tokens;
	struct sampler *smp = NULL;
	struct strbuf text = { 0 };
	int rc = EXIT_RUNTIME;
	double t_loaded = now_seconds();
	if (po.verbose)
		fprintf(stderr, "nibble: loaded '%s' (%s) in %.2f s on %s, context %u, seed %" PRIu64 "\n", m->name,
			m->arch->name, t_loaded - t_start, ctx->be->description, ctx->n_ctx, sp.seed);

	if (context_eval(ctx, prompt, n_prompt) < 0) {
		cli_fail("%s", error_message());
		goto done;
	}
	double t_prompt = now_seconds();

	smp = sampler_init(&sp, (int32_t)m->hp.n_vocab);
	for (size_t i = 0; i < n_prompt; i++)
		sampler_accept(smp, prompt[i]);
	struct utf8_stream u8 = { 0 };
	int32_t id = -1, prev = prompt[n_prompt - 1];
	int64_t n_gen = 0;
	bool at_line_start = true, tty = isatty(STDOUT_FILENO);
	const char *stop = "the token limit";
	while (n_predict < 0 || n_gen < n_predict) {
		if (id >= 0) { /* feed back the token just printed */
			if (ctx->n_past >= ctx->n_ctx) {
				stop = "a full context";
				break;
			}
			if (context_eval(ctx, &id, 1) < 0) {
				cli_fail("%s", error_message());
				goto done;
			}
		}
		id = sampler_sample(smp, ctx->logits);
		sampler_accept(smp, id);
		n_gen++;
		if (tokenizer_is_eog(m->tokenizer, id)) {
			stop = "end of text";
			break;
		}
		struct strbuf piece = { 0 };
		/* SentencePiece drops the space it put before the first word. */
		tokenizer_piece(m->tokenizer, id, prev == m->tokenizer->bos && m->tokenizer->add_space_prefix, &piece);
		utf8_stream_push(&u8, piece.data, piece.len, &text);
		strbuf_free(&piece);
		if (text.len)
			at_line_start = text.data[text.len - 1] == '\n';
		if (!emit(&text, tty)) {
			cli_fail("cannot write the output: %s", strerror(errno));
			goto done;
		}
		prev = id;
	}
	utf8_stream_flush(&u8, &text);
	if (text.len)
		at_line_start = false;
	if (tty && !at_line_start) {
		strbuf_append(&text, "\n", 1); /* leave the shell prompt on a line of its own */
		at_line_start = true;
	}
	if (!emit(&text, tty)) {
		cli_fail("cannot write the output: %s", strerror(errno));
		goto done;
	}
	if (po.verbose) {
		double gen_s = now_seconds() - t_prompt, prompt_s = t_prompt - t_loaded;
		fprintf(stderr, "%snibble: prompt %zu tokens in %.3f s (%.1f tok/s); generated %" PRId64
			" tokens in %.3f s (%.1f tok/s); stopped at %s\n", at_line_start ? "" : "\n",
			n_prompt, prompt_s, n_prompt / (prompt_s + 1e-9), n_gen, gen_s, n_gen / (gen_s + 1e-9), stop);
	}
	rc = EXIT_OK;
done:
	strbuf_free(&text);
	sampler_free(smp);
	cli_prompt_session_close(&ps);
	return rc;
}

int cmd_run(int argc, char **argv)
{
	struct settings st;
	int rc = cli_settings(&st);
	if (rc != EXIT_OK)
		return rc;
	struct run_args a = { .po = { .ctx = { .n_ctx = st.ctx, .n_threads = st.threads, .backend = st.backend } },
			      .so = { .params = st.sampling },
			      .n_predict = -1 };
	rc = parse_args(argc, argv, &a);
	if (rc == PROCEED && !(a.po.model_path = cli_model_arg("run", a.po.model_path, &st)))
		rc = EXIT_USAGE;
	if (rc == PROCEED && (rc = cli_check_prompt_opts("run", &a.po)) == EXIT_OK)
		rc = run(&a);
	settings_free(&st);
	return rc;
}
