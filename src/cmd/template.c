/* cmd_template.c - `nibble template`: render a chat template over a list of
 * messages and print exactly the prompt the model would see. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat/format.h"
#include "cli.h"
#include "jinja/jinja.h"
#include "base/util.h"

static const char template_usage[] =
	"Usage: nibble template (-m MODEL | --template-file FILE) --messages FILE.json [OPTIONS]\n"
	"Render a chat template over a JSON list of {\"role\", \"content\"} messages and\n"
	"print the prompt exactly, with no newline added.\n"
	"\n"
	"  -m, --model FILE           take the template and BOS/EOS texts from a model\n"
	"                             (vocabulary-only files work)\n"
	"      --template-file FILE   a Jinja template file\n"
	"      --messages FILE        the messages ('-' for stdin)\n"
	"      --bos-token S          the BOS text the template sees\n"
	"      --eos-token S          the EOS text the template sees\n"
	"      --no-generation-prompt do not open the assistant's turn\n"
	"      --date YYYY-MM-DD      the date strftime_now() gives (default: today,\n"
	"                             or $SOURCE_DATE_EPOCH)\n"
	"  -h, --help                 show this help\n"
	"\n"
	"Exit status 1 with the template's message when it raises an error.\n";

enum { OPT_TEMPLATE_FILE = OPT_COMMAND_FIRST, OPT_MESSAGES, OPT_BOS, OPT_EOS, OPT_NO_GEN, OPT_DATE };

/* Noon of the given day, local time; 0 when the text is not a date. */
static time_t parse_date(const char *s)
{
	struct tm tm = { 0 };
	char *end = strptime(s, "%Y-%m-%d", &tm);
	if (!end || *end)
		return 0;
	tm.tm_hour = 12;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

int cmd_template(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "template-file", required_argument, NULL, OPT_TEMPLATE_FILE },
		{ "messages", required_argument, NULL, OPT_MESSAGES },
		{ "bos-token", required_argument, NULL, OPT_BOS },
		{ "eos-token", required_argument, NULL, OPT_EOS },
		{ "no-generation-prompt", no_argument, NULL, OPT_NO_GEN },
		{ "date", required_argument, NULL, OPT_DATE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *model_path = NULL, *template_file = NULL, *messages_file = NULL, *bos = NULL, *eos = NULL;
	struct template_vars vars = { .add_generation_prompt = true };
	int opt;
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":m:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'm': model_path = optarg; break;
		case OPT_TEMPLATE_FILE: template_file = optarg; break;
		case OPT_MESSAGES: messages_file = optarg; break;
		case OPT_BOS: bos = optarg; break;
		case OPT_EOS: eos = optarg; break;
		case OPT_NO_GEN: vars.add_generation_prompt = false; break;
		case OPT_DATE:
			if (!(vars.now = parse_date(optarg)))
				return cli_usage("template", "--date: expected YYYY-MM-DD, got '%s'", optarg);
			break;
		case 'h':
			fputs(template_usage, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option("template", argv, optopt, opt == ':');
		}
	}
	if (optind < argc)
		return cli_usage("template", "unexpected argument '%s'", argv[optind]);
	if (!model_path == !template_file)
		return cli_usage("template", "give either -m MODEL or --template-file FILE");
	if (!messages_file)
		return cli_usage("template", "the messages are required (--messages FILE.json)");
	const char *epoch = getenv("SOURCE_DATE_EPOCH");
	if (!vars.now && epoch && *epoch)
		vars.now = (time_t)strtoll(epoch, NULL, 10);

	struct model *m = NULL;
	struct chat_format fmt = { 0 };
	char *source = NULL, *text = NULL;
	json_object *messages = NULL;
	struct strbuf out = { 0 };
	int rc = EXIT_RUNTIME;
	if (model_path) {
		if (!(m = cli_load_model(model_path, MODEL_LOAD_VOCAB)))
			goto done;
		if (chat_format_init(&fmt, m, NULL) < 0) {
			cli_fail("%s", error_message());
			goto done;
		}
		if (!fmt.template_src) {
			cli_fail("'%s' has no chat template (tokenizer.chat_template); nibble would use its built-in "
				 "%s format", model_path, chat_family_name(fmt.family));
			goto done;
		}
		source = xstrdup(fmt.template_src);
		vars.bos_token = bos ? bos : fmt.bos;
		vars.eos_token = eos ? eos : fmt.eos;
	} else {
		if (!(source = read_file(template_file, NULL))) {
			cli_fail("%s", error_message());
			goto done;
		}
		vars.bos_token = bos;
		vars.eos_token = eos;
	}
	size_t len;
	if (!(text = read_file(messages_file, &len))) {
		cli_fail("%s", error_message());
		goto done;
	}
	messages = json_tokener_parse(text);
	if (!messages || !json_object_is_type(messages, json_type_array)) {
		cli_fail("'%s': expected a JSON list of messages", messages_file);
		goto done;
	}
	if (template_render(source, messages, &vars, &out) < 0) {
		cli_fail("%s", error_message());
		goto done;
	}
	if (out.len && fwrite(out.data, 1, out.len, stdout) != out.len) {
		cli_fail("cannot write the prompt");
		goto done;
	}
	rc = fflush(stdout) == 0 ? EXIT_OK : cli_fail("cannot write the prompt");
done:
	strbuf_free(&out);
	json_object_put(messages);
	free(text);
	free(source);
	chat_format_free(&fmt);
	model_free(m);
	return rc;
}
