/* main.c - the command line: global options and dispatch to subcommands.
 * The only place the program exits. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "base/sigbus.h"

static const char usage[] =
	"Usage: nibble COMMAND [OPTIONS]\n"
	"Chat with and run local LLMs stored as GGUF files.\n"
	"\n"
	"Commands:\n"
	"  chat       chat with a model (or answer one question with -p)\n"
	"  run        generate text that continues a prompt\n"
	"  logits     write the next-token logits after a prompt to a file\n"
	"  tokenize   print the token ids of a text\n"
	"  info       describe a model file and the memory it needs\n"
	"  list       show the models nibble finds by name\n"
	"  template   print the prompt a chat template makes of a conversation\n"
	"  bench      measure prompt and generation speed (as llama-bench)\n"
	"  quantize   make a quantized model file (Q4_K_M, Q8_0, ...) from an\n"
	"             F32, F16 or BF16 one\n"
	"  perplexity measure how well a model predicts a text (and its KL\n"
	"             divergence from another model)\n"
	"  devices    list the Vulkan devices and the CPU, and which one is used\n"
	"\n"
	"Options:\n"
	"  -h, --help     show this help (or 'nibble COMMAND --help')\n"
	"  -V, --version  show the version\n"
	"\n"
	"Exit status: 0 success, 1 runtime error (bad file, I/O, out of memory),\n"
	"2 usage error.  See nibble(1).\n";

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "chat", cmd_chat },
	{ "run", cmd_run },
	{ "logits", cmd_logits },
	{ "tokenize", cmd_tokenize },
	{ "info", cmd_info },
	{ "list", cmd_list },
	{ "template", cmd_template },
	{ "bench", cmd_bench },
	{ "quantize", cmd_quantize },
	{ "perplexity", cmd_perplexity },
	{ "devices", cmd_devices },
};

int main(int argc, char **argv)
{
	/* A reader that goes away (nibble chat -p ... | head) ends nibble at once
	 * and quietly, even where the parent left SIGPIPE ignored. */
	signal(SIGPIPE, SIG_DFL);
	sigbus_catch();
	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("nibble %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	if (cmd[0] == '-')
		return cli_usage(NULL, "unknown option '%s'", cmd);
	return cli_usage(NULL, "unknown command '%s'", cmd);
}
