/* cmd_chat.c - `nibble chat`: a conversation with a model, in line mode, or
 * one question answered for a script (-p, or stdin from a pipe). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat/chat.h"
#include "cli.h"
#include "model/find.h"
#include "ui/repl.h"
#include "chat/sessions.h"
#include "ui/tui.h"
#include "base/util.h"

static const char chat_usage[] =
	"Usage: nibble chat -m MODEL [OPTIONS]\n"
	"Chat with a model: full screen on a terminal, line by line otherwise.  With\n"
	"-p (or a question piped on stdin), print only the reply to that one question\n"
	"and exit.\n"
	"\n"
	"  -m, --model FILE         GGUF model file\n"
	"  -p, --prompt TEXT        ask one question, print the reply, exit\n"
	"  -f, --file FILE          the question from FILE ('-' for stdin)\n"
	"      --system TEXT        the system prompt\n"
	"      --system-file FILE   read the system prompt from FILE\n"
	"      --chat-template NAME|FILE\n"
	"                           a built-in format (plain, llama3, chatml, mistral,\n"
	"                           llama2, phi3, gemma, zephyr, vicuna, deepseek,\n"
	"                           command-r) or a Jinja template file instead of the\n"
	"                           model's own\n"
	"      --plain              line mode even on a terminal; with stdin from a\n"
	"                           pipe, each line is a message\n"
	"      --resume             continue the last conversation (they are saved in\n"
	"                           $XDG_STATE_HOME/nibble/sessions as they go)\n"
	"      --no-color           no colours (also NO_COLOR=1, or color = never)\n"
	"  -n, --n-predict N        stop each reply after N tokens (default: at the end\n"
	"                           of the turn)\n"
	"      --stop TEXT          also end a reply at TEXT (repeatable; not shown)\n"
	"  -c, --ctx-size N         context size in tokens (default: the model's, at\n"
	"                           most 4096)\n"
	"  -t, --threads N          CPU threads (default: physical cores)\n"
	BACKEND_HELP
	SAMPLING_HELP
	"  -v, --verbose            print the chat format and speeds to stderr\n"
	"  -h, --help               show this help\n"
	"\n"
	"In the chat, /help lists the commands (/clear, /system, /save, /load, /set,\n"
	"/stats, /quit).  Full screen: Enter sends, Alt-Enter or Ctrl-J starts a new\n"
	"line, PgUp/PgDn/Home/End scroll, Ctrl-C or Esc stops a reply, Ctrl-D quits.\n"
	"Line mode: a line of \"\"\" starts and ends a message of several lines;\n"
	"Ctrl-C stops a reply; Ctrl-D leaves.\n";

enum { OPT_SYSTEM = OPT_COMMAND_FIRST, OPT_SYSTEM_FILE, OPT_TEMPLATE, OPT_PLAIN, OPT_STOP, OPT_NO_COLOR, OPT_RESUME };

#define MAX_STOPS 8

/* The question for one-shot mode, from -p, -f or stdin; NULL after an error. */
static char *read_question(const struct prompt_opts *po)
{
	if (po->prompt)
		return xstrdup(po->prompt);
	char *text = read_file(po->prompt_file ? po->prompt_file : "-", NULL);
	if (!text)
		return NULL;
	size_t len = strlen(text);
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	return text;
}

static int one_shot(struct chat *c, const struct prompt_opts *po)
{
	char *question = read_question(po);
	if (!question)
		return cli_fail("%s", error_message());
	bool ends_line = true;
	int rc = EXIT_OK;
	if (chat_send(c, question, repl_print, &ends_line, NULL) < 0)
		rc = cli_fail("%s", error_message());
	else if (!ends_line || !*chat_last_reply(c))
		putchar('\n');
	if (rc == EXIT_OK)
		repl_report_turn(c, po->verbose);
	free(question);
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = cli_fail("cannot write the reply");
	return rc;
}

struct chat_args {
	struct prompt_opts po;
	struct sampling_opts so;
	struct chat_options co;
	const char *stops[MAX_STOPS];
	const char *system, *system_file; /* --system-file wins over the config's system */
	const char *color;                /* the config's auto, always or never */
	bool system_given, plain, no_color, resume;
};

#define PROCEED (-1)

/* Parses the command line over the defaults in a.  Returns PROCEED, or the
 * exit code to leave with (after --help or a usage error). */
static int parse_args(int argc, char **argv, struct chat_args *a)
{
	static const struct option long_opts[] = {
		PROMPT_LONG_OPTS,
		SAMPLING_LONG_OPTS,
		{ "n-predict", required_argument, NULL, 'n' },
		{ "system", required_argument, NULL, OPT_SYSTEM },
		{ "system-file", required_argument, NULL, OPT_SYSTEM_FILE },
		{ "chat-template", required_argument, NULL, OPT_TEMPLATE },
		{ "plain", no_argument, NULL, OPT_PLAIN },
		{ "stop", required_argument, NULL, OPT_STOP },
		{ "no-color", no_argument, NULL, OPT_NO_COLOR },
		{ "resume", no_argument, NULL, OPT_RESUME },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int64_t v;
	int opt, rc;
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":" PROMPT_SHORT_OPTS SAMPLING_SHORT_OPTS "n:h", long_opts, NULL)) != -1) {
		if ((rc = cli_prompt_option("chat", opt, optarg, &a->po)) != 0 ||
		    (rc = cli_sampling_option("chat", opt, optarg, &a->so)) != 0) {
			if (rc < 0)
				return EXIT_USAGE;
			continue;
		}
		switch (opt) {
		case 'n':
			if (cli_int("chat", "--n-predict", optarg, 0, INT32_MAX, &v))
				return EXIT_USAGE;
			a->co.n_predict = (int32_t)v;
			break;
		case OPT_SYSTEM:
			a->system = optarg;
			a->system_given = true;
			break;
		case OPT_SYSTEM_FILE:
			a->system_file = optarg;
			break;
		case OPT_TEMPLATE:
			a->co.chat_template = optarg;
			break;
		case OPT_PLAIN:
			a->plain = true;
			break;
		case OPT_NO_COLOR:
			a->no_color = true;
			break;
		case OPT_RESUME:
			a->resume = true;
			break;
		case OPT_STOP:
			if (a->co.n_stops == MAX_STOPS)
				return cli_usage("chat", "at most %d --stop strings", MAX_STOPS);
			if (!*optarg)
				return cli_usage("chat", "--stop: the text must not be empty");
			a->stops[a->co.n_stops++] = optarg;
			break;
		case 'h':
			fputs(chat_usage, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option("chat", argv, optopt, opt == ':');
		}
	}
	if (optind < argc)
		return cli_usage("chat", "unexpected argument '%s'", argv[optind]);
	if (a->po.prompt && a->po.prompt_file)
		return cli_usage("chat", "give the question with -p or -f, not both");
	if (a->system_given && a->system_file)
		return cli_usage("chat", "give the system prompt with --system or --system-file, not both");
	return PROCEED;
}

/* Loads the model and holds the conversation. */
/* The full-screen chat: the engine thread loads the model and runs it. */
static int full_screen(struct chat_args *a, const struct chat_options *co, const char *system, const char *resume,
		       const char *autosave, const char *history, const char *state_warning)
{
	char *path = model_find_path(a->po.model_path);
	if (!path)
		return cli_fail("%s", error_message());
	const char *no_color = getenv("NO_COLOR");
	struct tui_options to = {
		.engine = { .model_path = path,
			    .ctx = a->po.ctx,
			    .chat = *co,
			    .system = system,
			    .resume = resume,
			    .autosave = autosave },
		.color = !a->no_color && !(no_color && *no_color) && !(a->color && !strcmp(a->color, "never")),
		.history = history,
		.state_warning = state_warning,
	};
	int rc = tui_run(&to);
	free(path);
	return rc;
}

/* Line mode and one-shot answers, on this thread. */
static int line_mode(struct chat_args *a, const struct chat_options *co, const char *system, const char *resume,
		     const char *autosave, const char *history, bool one_question)
{
	struct model *m = cli_load_model(a->po.model_path, MODEL_LOAD_FULL);
	struct context *ctx = NULL;
	struct chat *c = NULL;
	int rc = EXIT_RUNTIME;
	if (!m)
		goto done;
	if (!(ctx = context_init(m, &a->po.ctx)) || !(c = chat_init(m, ctx, co, system))) {
		cli_fail("%s", error_message());
		goto done;
	}
	cli_backend_report(ctx, a->po.verbose);
	if (resume && chat_load(c, resume) < 0) {
		cli_fail("--resume: %s", error_message());
		goto done;
	}
	rc = one_question ? one_shot(c, &a->po) : repl_run(c, a->po.verbose, autosave, history);
done:
	chat_free(c);
	context_free(ctx);
	model_free(m);
	return rc;
}

static int chat(struct chat_args *a)
{
	struct chat_options co = a->co;
	co.stops = a->stops;
	co.sampling = a->so.params;
	if (!a->so.seed_given)
		co.sampling.seed = sampler_random_seed();
	char *system_text = NULL, *resume = NULL, *autosave = NULL, *history = NULL;
	char state_warning[700] = "";
	if (a->system_file && !(system_text = read_file(a->system_file, NULL)))
		return cli_fail("--system-file: %s", error_message());
	const char *system = system_text ? system_text : a->system;
	bool one_question = a->po.prompt || a->po.prompt_file || (!isatty(STDIN_FILENO) && !a->plain);
	const char *term = getenv("TERM");
	bool screen = !one_question && !a->plain && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && term && *term &&
		      strcmp(term, "dumb") != 0;
	int rc = EXIT_RUNTIME;
	if (a->resume && !(resume = sessions_latest())) {
		cli_fail("--resume: %s", error_message());
		goto done;
	}
	/* Conversations save themselves as they go, to the file they came from.
	 * Where that cannot be, the chat says so once and goes on without. */
	if (!one_question && sessions_check_dir() < 0) {
		snprintf(state_warning, sizeof state_warning,
			 "%s; this conversation and the input history will not be saved", error_message());
		if (!screen)
			fprintf(stderr, "nibble: %s\n", state_warning);
	} else if (!one_question) {
		autosave = resume ? xstrdup(resume) : sessions_new_path();
		history = xdg_path("XDG_STATE_HOME", ".local/state", "history", false);
	}
	rc = screen ? full_screen(a, &co, system, resume, autosave, history, *state_warning ? state_warning : NULL)
		    : line_mode(a, &co, system, resume, autosave, history, one_question);
done:
	free(history);
	free(system_text);
	free(resume);
	free(autosave);
	return rc;
}

int cmd_chat(int argc, char **argv)
{
	struct settings st;
	int rc = cli_settings(&st);
	if (rc != EXIT_OK)
		return rc;
	struct chat_args a = {
		.po = { .ctx = { .n_ctx = st.ctx, .n_threads = st.threads, .backend = st.backend } },
		.so = { .params = st.sampling },
		.co = { .n_predict = -1, .chat_template = st.chat_template },
		.system = st.system,
		.color = st.color,
	};
	rc = parse_args(argc, argv, &a);
	if (rc == PROCEED && !(a.po.model_path = cli_model_arg("chat", a.po.model_path, &st)))
		rc = EXIT_USAGE;
	if (rc == PROCEED)
		rc = chat(&a);
	settings_free(&st);
	return rc;
}
