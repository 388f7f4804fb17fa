/* cmd_quantize.c - `nibble quantize`: make a quantized model file from an
 * F32, F16 or BF16 one, with a progress bar on stderr. */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "quant/quant.h"
#include "model/quantize.h"
#include "base/util.h"

static const char quantize_usage[] =
	"Usage: nibble quantize IN.gguf OUT.gguf TYPE [OPTIONS]\n"
	"Write OUT.gguf: the model IN.gguf (F32, F16 or BF16) with its weights\n"
	"quantized as llama-quantize's TYPE does, tensor by tensor: the output\n"
	"matrix, attn_v and ffn_down of some layers get more bits in the _S/_M\n"
	"types, norms stay as they are.  Metadata is copied.\n"
	"\n"
	"TYPE: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K_S, Q3_K_M, Q4_K_S, Q4_K_M,\n"
	"      Q5_K_S, Q5_K_M, Q6_K, IQ4_NL, IQ4_XS\n"
	"\n"
	"  -t, --threads N   CPU threads (default: physical cores)\n"
	"      --pure        every quantized tensor of TYPE, without the mixture\n"
	"                    (llama-quantize --pure)\n"
	"  -h, --help        show this help\n";

enum { OPT_PURE = OPT_COMMAND_FIRST };

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

struct progress {
	bool tty;
	int width; /* of the terminal */
};

/* A bar redrawn in place on a terminal, one line per tensor otherwise. */
static void show_progress(void *arg, size_t i, size_t n, const struct quantize_tensor *t, uint64_t done,
			  uint64_t total)
{
	const struct progress *pr = arg;
	int pct = total ? (int)(100 * done / total) : 100;
	if (!pr->tty) {
		if (t)
			fprintf(stderr, "[%zu/%zu] %3d%% %s %s -> %s%s\n", i + 1, n, pct, t->name, quant_name(t->src_type),
				quant_name(t->type), t->fallback ? " (fallback: the rows do not fit the blocks)" : "");
		return;
	}
	if (!t) {
		fputs("\r\033[K", stderr);
		return;
	}
	enum { BAR = 24 };
	char bar[BAR + 1];
	int fill = pct * BAR / 100;
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(BAR - fill));
	bar[BAR] = 0;
	char line[512];
	snprintf(line, sizeof line, "[%s] %zu/%zu %3d%% %s -> %s", bar, i + 1, n, pct, t->name, quant_name(t->type));
	if ((int)strlen(line) >= pr->width)
		line[pr->width > 1 ? pr->width - 1 : 1] = 0; /* one line, never wrapped */
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
}

static int run_quantize(const char *in, const char *out, const struct quantize_params *qp)
{
	struct progress pr = { .tty = isatty(STDERR_FILENO), .width = 80 };
	struct winsize ws;
	if (pr.tty && ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		pr.width = ws.ws_col;
	struct quantize_params p = *qp;
	p.progress = show_progress;
	p.progress_arg = &pr;
	p.cancel = &interrupted;

	/* A signal stops the run between tensors, so the temporary file is
	 * removed rather than left behind. */
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART }, old[3];
	static const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	double t0 = now_seconds();
	struct quantize_result r;
	int rc = quantize_file(in, out, &p, &r);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	if (rc < 0) {
		if (pr.tty)
			fputs("\r\033[K", stderr);
		return cli_fail("%s", error_message());
	}

	char in_size[32], out_size[32];
	printf("%s: %s, %zu tensors (%zu quantized), %s, %.2f bits per weight (from %s) in %.1f s\n", out,
	       p.preset->name, r.n_tensors, r.n_quantized, format_bytes(r.out_bytes, out_size, sizeof out_size),
	       r.n_weights ? 8.0 * r.out_bytes / r.n_weights : 0.0, format_bytes(r.in_bytes, in_size, sizeof in_size),
	       now_seconds() - t0);
	if (r.n_fallback)
		fprintf(stderr, "nibble: warning: %zu tensors have rows that %s blocks do not divide; they got another "
				"type, as llama.cpp does\n", r.n_fallback, quant_name(p.preset->type));
	return EXIT_OK;
}

int cmd_quantize(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "pure", no_argument, NULL, OPT_PURE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct settings st;
	int rc = cli_settings(&st);
	if (rc != EXIT_OK)
		return rc;
	struct quantize_params qp = { .n_threads = st.threads };
	settings_free(&st);
	int opt;
	int64_t v;
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":t:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			if (cli_int("quantize", "--threads", optarg, 1, 1024, &v))
				return EXIT_USAGE;
			qp.n_threads = (int)v;
			break;
		case OPT_PURE:
			qp.pure = true;
			break;
		case 'h':
			fputs(quantize_usage, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option("quantize", argv, optopt, opt == ':');
		}
	}
	if (argc - optind != 3)
		return cli_usage("quantize", "%s", argc - optind < 3 ? "IN.gguf, OUT.gguf and TYPE are required"
								   : "too many arguments");
	const char *type = argv[optind + 2];
	if (!(qp.preset = quantize_preset_find(type)))
		return cli_usage("quantize", "unknown type '%s' (one of %s)", type, quantize_preset_names());
	return run_quantize(argv[optind], argv[optind + 1], &qp);
}
