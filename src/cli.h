/* cli.h - what the subcommands share: exit codes, one-line error messages,
 * option value parsing, model loading with the path in messages. */
#ifndef NIBBLE_CLI_H
#define NIBBLE_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "model/context.h"
#include "model/model.h"
#include "model/sampler.h"
#include "chat/settings.h"

enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1, /* bad file, I/O, out of memory, prompt too long */
	EXIT_USAGE = 2,   /* bad command line */
};

/* Print "nibble: MESSAGE" on stderr and return EXIT_RUNTIME / EXIT_USAGE. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message for getopt_long's '?' or ':' result, as a usage error. */
int cli_bad_option(const char *cmd, char **argv, int optopt_c, bool missing_arg);

/* On stderr: the backend and why (when verbose), and always its warning. */
void cli_backend_report(const struct context *ctx, bool verbose);
/* Option values: a usage error naming the option when out of range. */
int cli_int(const char *cmd, const char *opt, const char *arg, int64_t min, int64_t max, int64_t *out);
int cli_float(const char *cmd, const char *opt, const char *arg, double min, double max, float *out);

/* Loads the model named by -m ARG (a path or a name `nibble list` shows),
 * printing "nibble: 'PATH': problem" on failure, and a warning when its
 * pre-tokenizer is unknown. */
struct model *cli_load_model(const char *arg, enum model_load_what what);

/* Options shared by the commands that evaluate a prompt. */
struct prompt_opts {
	const char *model_path;
	const char *prompt;      /* -p TEXT */
	const char *prompt_file; /* -f FILE ("-": stdin) */
	struct context_params ctx; /* -c -t --backend --device --gpu-layers --force */
	bool verbose;
};

/* Handles -t --backend --device --gpu-layers --force, which every command that
 * makes a context takes, into cp.  Returns 1 when opt was one of them, 0
 * when it was not, -1 when its value was bad (a usage error was printed). */
int cli_context_option(const char *cmd, int opt, const char *arg, struct context_params *cp);

/* Handles -m -p -f -c -v and cli_context_option's, like it. */
int cli_prompt_option(const char *cmd, int opt, const char *arg, struct prompt_opts *o);
#define PROMPT_SHORT_OPTS "m:p:f:c:t:v"
#define PROMPT_LONG_OPTS                                                   \
	{ "model", required_argument, NULL, 'm' },                        \
	{ "prompt", required_argument, NULL, 'p' },                       \
	{ "file", required_argument, NULL, 'f' },                         \
	{ "ctx-size", required_argument, NULL, 'c' },                     \
	{ "threads", required_argument, NULL, 't' },                      \
	{ "backend", required_argument, NULL, OPT_BACKEND },              \
	{ "device", required_argument, NULL, OPT_DEVICE },                \
	{ "gpu-layers", required_argument, NULL, OPT_GPU_LAYERS },        \
	{ "force", no_argument, NULL, OPT_FORCE },                        \
	{ "verbose", no_argument, NULL, 'v' }
#define BACKEND_HELP                                                                   \
	"      --backend B          auto, cpu or vulkan (default auto: a GPU that holds\n" \
	"                           the model, else the CPU)\n"                            \
	"      --device D           Vulkan device: number or part of the name that\n"     \
	"                           nibble devices shows (default: the best)\n"           \
	"      --gpu-layers N       the first N layers on the GPU, the rest on the CPU\n" \
	"                           (default auto: as many as its memory holds)\n"      \
	"      --force              load a model larger than the memory available\n"

/* Long options without a short form, shared by several commands. */
enum {
	OPT_TEMP = 256,
	OPT_TOP_K,
	OPT_TOP_P,
	OPT_MIN_P,
	OPT_REPEAT_PENALTY,
	OPT_REPEAT_LAST_N,
	OPT_BACKEND,
	OPT_DEVICE,
	OPT_GPU_LAYERS,
	OPT_FORCE,
	OPT_COMMAND_FIRST, /* commands number their own long options from here */
};
#define SAMPLING_SHORT_OPTS "s:"
#define SAMPLING_LONG_OPTS                                                     \
	{ "seed", required_argument, NULL, 's' },                             \
	{ "temp", required_argument, NULL, OPT_TEMP },                        \
	{ "top-k", required_argument, NULL, OPT_TOP_K },                      \
	{ "top-p", required_argument, NULL, OPT_TOP_P },                      \
	{ "min-p", required_argument, NULL, OPT_MIN_P },                      \
	{ "repeat-penalty", required_argument, NULL, OPT_REPEAT_PENALTY },    \
	{ "repeat-last-n", required_argument, NULL, OPT_REPEAT_LAST_N }
#define SAMPLING_HELP                                                                         \
	"      --temp T             temperature; 0 is greedy (default 0.8)\n"                 \
	"      --top-k K            keep the K most likely tokens; 0 = off (default 40)\n"    \
	"      --top-p P            keep tokens within probability mass P (default 0.95)\n"   \
	"      --min-p P            drop tokens below P x the top one (default 0.05)\n"       \
	"      --repeat-penalty R   penalise recent tokens; 1 = off (default 1.0)\n"          \
	"      --repeat-last-n N    tokens the penalty looks back on (default 64)\n"          \
	"  -s, --seed S             random seed (default: random; shown with -v)\n"

struct sampling_opts {
	struct sampler_params params;
	bool seed_given;
};

/* Handles the sampling options, like cli_prompt_option. */
int cli_sampling_option(const char *cmd, int opt, const char *arg, struct sampling_opts *so);

/* Reads the config file into st, printing an error (then returns
 * EXIT_USAGE) when it is malformed. */
int cli_settings(struct settings *st);

/* The model to use: -m's value, else the config's; when there is neither,
 * prints what to do (how to get a model when none can be found) and
 * returns NULL. */
const char *cli_model_arg(const char *cmd, const char *given, const struct settings *st);

/* Checks that a model and a prompt were given; 0 or a usage exit code. */
int cli_check_prompt_opts(const char *cmd, const struct prompt_opts *o);

/* A model, its context and the tokenized prompt, ready to evaluate. */
struct prompt_session {
	struct model *model;
	struct context *ctx;
	int32_t *tokens;
	size_t n_tokens;
};

/* Loads the model, creates its context and tokenizes the prompt (BOS added
 * as the model asks), checking that it fits with `reserve` positions to
 * spare.  Returns EXIT_OK, or EXIT_RUNTIME after printing the error (s is
 * then already released). */
int cli_prompt_session_open(const struct prompt_opts *o, size_t reserve, struct prompt_session *s);
void cli_prompt_session_close(struct prompt_session *s);

/* The subcommands: each parses its own arguments (argv[0] is its name) and
 * returns an exit code. */
int cmd_run(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_template(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_devices(int argc, char **argv);

#endif
