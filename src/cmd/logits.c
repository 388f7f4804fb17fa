/* cmd_logits.c - `nibble logits`: the next-token logits after a prompt, as
 * raw little-endian float32, for comparing against other implementations. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model/context.h"
#include "base/util.h"

static const char logits_usage[] =
	"Usage: nibble logits -m MODEL (-p PROMPT | -f FILE) -o OUT [OPTIONS]\n"
	"Write the logits after the whole prompt (BOS added as the model says) to\n"
	"OUT as n_vocab little-endian float32 values ('-' for stdout).\n"
	"\n"
	"  -m, --model FILE     GGUF model file\n"
	"  -p, --prompt TEXT    the prompt\n"
	"  -f, --file FILE      read the prompt from FILE ('-' for stdin)\n"
	"  -o, --output OUT     where to write the logits\n"
	"  -c, --ctx-size N     context size in tokens (default: the model's, at most 4096)\n"
	"  -t, --threads N      CPU threads (default: physical cores)\n"
	"      --backend B      auto, cpu or vulkan (default auto)\n"
	"      --device D       the Vulkan device: number or part of its name\n"
	"      --gpu-layers N   the first N layers on the GPU (default: all that fit)\n"
	"      --force          load a model larger than the memory available\n"
	"  -v, --verbose        print the backend, prompt tokens and timing to stderr\n"
	"  -h, --help           show this help\n";

int cmd_logits(int argc, char **argv)
{
	static const struct option long_opts[] = {
		PROMPT_LONG_OPTS,
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct prompt_opts po = { 0 };
	const char *out_path = NULL;
	int opt, rc;
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":" PROMPT_SHORT_OPTS "o:h", long_opts, NULL)) != -1) {
		if ((rc = cli_prompt_option("logits", opt, optarg, &po)) != 0) {
			if (rc < 0)
				return EXIT_USAGE;
			continue;
		}
		switch (opt) {
		case 'o':
			out_path = optarg;
			break;
		case 'h':
			fputs(logits_usage, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option("logits", argv, optopt, opt == ':');
		}
	}
	if (optind < argc)
		return cli_usage("logits", "unexpected argument '%s'", argv[optind]);
	if ((rc = cli_check_prompt_opts("logits", &po)) != EXIT_OK)
		return rc;
	if (!out_path)
		return cli_usage("logits", "an output file is required (-o FILE)");

	double t0 = now_seconds();
	struct prompt_session ps;
	if (cli_prompt_session_open(&po, 0, &ps) != EXIT_OK)
		return EXIT_RUNTIME;
	struct context *ctx = ps.ctx;
	rc = EXIT_RUNTIME;
	if (context_eval(ctx, ps.tokens, ps.n_tokens) < 0) {
		cli_fail("%s", error_message());
		goto done;
	}
	size_t bytes = ps.model->hp.n_vocab * sizeof(float);
	if (!strcmp(out_path, "-")) {
		if (fwrite(ctx->logits, 1, bytes, stdout) != bytes || fflush(stdout) != 0) {
			cli_fail("cannot write the logits to stdout");
			goto done;
		}
	} else if (write_file_atomic(out_path, ctx->logits, bytes) < 0) {
		cli_fail("%s", error_message());
		goto done;
	}
	if (po.verbose) {
		fprintf(stderr, "nibble: %zu prompt tokens:", ps.n_tokens);
		for (size_t i = 0; i < ps.n_tokens; i++)
			fprintf(stderr, " %d", ps.tokens[i]);
		fprintf(stderr, "\nnibble: %u logits written in %.3f s\n", ps.model->hp.n_vocab, now_seconds() - t0);
	}
	rc = EXIT_OK;
done:
	cli_prompt_session_close(&ps);
	return rc;
}
