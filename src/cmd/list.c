/* cmd_list.c - `nibble list`: the models nibble can find by name. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gguf/gguf.h"
#include "model/find.h"
#include "quant/quant.h"
#include "base/util.h"

static const char list_usage[] =
	"Usage: nibble list\n"
	"Show the GGUF models nibble finds by name, with size and quant type: in the\n"
	"folders of $NIBBLE_MODELS (colon-separated), in $XDG_DATA_HOME/nibble/models\n"
	"(~/.local/share/nibble/models), in the Hugging Face cache\n"
	"(~/.cache/huggingface/hub) and in Ollama's store (~/.ollama/models).  Any\n"
	"NAME shown works with -m NAME.\n";

/* The model's quant type: its declared file type, else its commonest
 * matrix type; "?" when the file cannot be read. */
static void quant_type(const char *path, char *buf, size_t size)
{
	struct gguf *g = gguf_open(path);
	if (!g) {
		snprintf(buf, size, "invalid");
		return;
	}
	uint32_t ftype;
	const char *name = gguf_get_u32(g, "general.file_type", &ftype) == 1 ? quant_file_type_name(ftype) : NULL;
	if (!name) {
		uint64_t count[GGML_TYPE_COUNT] = { 0 };
		uint32_t best = 0;
		for (uint64_t i = 0; i < g->n_tensors; i++)
			if (g->tensors[i].n_dims >= 2 && ++count[g->tensors[i].type] > count[best])
				best = g->tensors[i].type;
		name = g->n_tensors ? quant_name(best) : "vocab";
	}
	snprintf(buf, size, "%s", name);
	gguf_close(g);
}

int cmd_list(int argc, char **argv)
{
	static const struct option long_opts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	int opt;
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(list_usage, stdout);
			return EXIT_OK;
		}
		return cli_bad_option("list", argv, optopt, opt == ':');
	}
	if (optind < argc)
		return cli_usage("list", "unexpected argument '%s'", argv[optind]);

	struct found_models all;
	model_find_all(&all);
	if (all.n == 0) {
		printf("%s\n", model_find_help);
		found_models_free(&all);
		return EXIT_OK;
	}
	int width = 4;
	for (size_t i = 0; i < all.n; i++)
		if ((int)strlen(all.v[i].name) > width)
			width = (int)strlen(all.v[i].name);
	printf("%-*s  %10s  %-8s  %s\n", width, "NAME", "SIZE", "TYPE", "SOURCE");
	for (size_t i = 0; i < all.n; i++) {
		char size[32], type[32];
		quant_type(all.v[i].path, type, sizeof type);
		printf("%-*s  %10s  %-8s  %s\n", width, all.v[i].name, format_bytes(all.v[i].size, size, sizeof size), type,
		       all.v[i].source);
	}
	found_models_free(&all);
	return fflush(stdout) == 0 ? EXIT_OK : cli_fail("cannot write the list");
}
