/* cmd_tokenize.c - `nibble tokenize`: the token ids of a text, one line. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/util.h"

static const char tokenize_usage[] =
	"Usage: nibble tokenize -m MODEL [--no-bos] (TEXT | -f FILE)\n"
	"Print the token ids of TEXT, space separated, on one line.  Text such as\n"
	"\"<s>\" stays plain text.  Works on vocabulary-only GGUF files.\n"
	"\n"
	"  -m, --model FILE   GGUF model or vocabulary file\n"
	"  -f, --file FILE    read the text from FILE ('-' for stdin)\n"
	"      --no-bos       add no BOS (or EOS) token even if the model asks for them\n"
	"  -h, --help         show this help\n";

enum { OPT_NO_BOS = 256 };

int cmd_tokenize(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "file", required_argument, NULL, 'f' },
		{ "no-bos", no_argument, NULL, OPT_NO_BOS },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *model_path = NULL, *file = NULL;
	bool no_bos = false;
	int opt;
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":m:f:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			model_path = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case OPT_NO_BOS:
			no_bos = true;
			break;
		case 'h':
			fputs(tokenize_usage, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option("tokenize", argv, optopt, opt == ':');
		}
	}
	if (!model_path)
		return cli_usage("tokenize", "a model is required (-m FILE)");
	int n_args = argc - optind;
	if (file ? n_args != 0 : n_args != 1)
		return cli_usage("tokenize", "give exactly one TEXT argument or -f FILE");

	size_t len = 0;
	char *text = file ? read_file(file, &len) : xstrdup(argv[optind]);
	if (!text)
		return cli_fail("%s", error_message());
	if (!file)
		len = strlen(text);
	struct model *m = cli_load_model(model_path, MODEL_LOAD_VOCAB);
	if (!m) {
		free(text);
		return EXIT_RUNTIME;
	}
	int32_t *ids = NULL;
	size_t n = 0, cap = 0;
	tokenizer_encode(m->tokenizer, text, len, no_bos ? 0 : TOKENIZE_ADD_SPECIAL, &ids, &n, &cap);
	for (size_t i = 0; i < n; i++)
		printf(i ? " %d" : "%d", ids[i]);
	putchar('\n');
	int rc = fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : cli_fail("cannot write the output");
	free(ids);
	free(text);
	model_free(m);
	return rc;
}
