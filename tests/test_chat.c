/* test_chat.c - conversations: a new turn evaluates only its new tokens and
 * leaves the cache exactly as a fresh evaluation would; a full context drops
 * the oldest turns but keeps the system prompt; /save and /load round-trip
 * and a failed save keeps the old file; stop strings; built-in formats
 * prompt a reply the way the real templates of their families do. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chat/chat.h"
#include "fixtures.h"
#include "gguf_writer.h"
#include "chat/stop.h"
#include "tap.h"
#include "base/util.h"

static void collect(void *arg, const char *text, size_t len)
{
	strbuf_append(arg, text, len);
}

static struct chat_options greedy(int32_t n_predict)
{
	struct chat_options o = { .n_predict = n_predict };
	sampler_default_params(&o.sampling);
	o.sampling.temp = 0;
	return o;
}

static void test_kv_reuse(struct model *m)
{
	struct context_params cp = { .n_ctx = 512, .n_threads = 2 };
	struct context *ctx = context_init(m, &cp);
	struct chat_options o = greedy(16);
	struct chat *c = chat_init(m, ctx, &o, "You are a storyteller.");
	struct strbuf out = { 0 };
	ok(chat_send(c, "Tell me about a cat.", collect, &out, NULL) == 0 && out.len > 0 &&
		   !strcmp(chat_last_reply(c), out.data),
	   "turn 1 streams a reply and keeps it");
	size_t first_prompt = c->last.prompt_tokens;
	ok(c->last.prompt_evaluated == first_prompt, "turn 1 evaluates its whole prompt (%zu tokens)", first_prompt);

	/* Turn 2 with no reply: the cache then holds exactly its prompt. */
	c->opts.n_predict = 0;
	chat_send(c, "And a dog?", collect, &out, NULL);
	size_t total = c->last.prompt_tokens, evaluated = c->last.prompt_evaluated;
	/* What turn 2 adds in the plain format stories260K uses, as tokens. */
	const char *added = "\nUser: And a dog?\nAssistant:";
	int32_t *ids = NULL;
	size_t n_added = 0, cap = 0;
	tokenizer_encode(m->tokenizer, added, strlen(added), 0, &ids, &n_added, &cap);
	free(ids);
	ok(c->format.family == CHAT_FAMILY_PLAIN && total > first_prompt + 16 && evaluated <= n_added + 1,
	   "turn 2 evaluates %zu of its %zu prompt tokens (its new text is %zu)", evaluated, total, n_added);

	struct context *fresh = context_init(m, &cp);
	context_eval(fresh, c->cached, c->n_cached);
	float diff = 0;
	for (uint32_t i = 0; i < m->hp.n_vocab; i++) {
		float d = fresh->logits[i] - ctx->logits[i];
		diff = d > diff ? d : -d > diff ? -d : diff;
	}
	ok(c->n_cached == total && ctx->n_past == total && diff < 1e-4,
	   "the reused cache gives the logits of a fresh evaluation (max diff %g)", diff);
	context_free(fresh);
	strbuf_free(&out);
	chat_free(c);
	context_free(ctx);
}

static void test_context_policy(struct model *m)
{
	struct context_params cp = { .n_ctx = 96, .n_threads = 1 };
	struct context *ctx = context_init(m, &cp);
	struct chat_options o = greedy(12);
	struct chat *c = chat_init(m, ctx, &o, "Be brief.");
	struct strbuf out = { 0 };
	int failures = 0, dropped = 0, max_past = 0;
	for (int turn = 0; turn < 30; turn++) {
		failures += chat_send(c, "Once upon a time there was a girl.", collect, &out, NULL) < 0;
		dropped += c->last.dropped_turns;
		max_past = (int)ctx->n_past > max_past ? (int)ctx->n_past : max_past;
	}
	json_object *first = json_object_array_get_idx(c->messages, 0), *role;
	json_object_object_get_ex(first, "role", &role);
	ok(failures == 0 && dropped > 0 && max_past <= 96, "30 turns in a 96-token context: %d turns dropped, none failed",
	   dropped);
	ok(!strcmp(json_object_get_string(role), "system"), "the system prompt is never dropped");

	char long_text[2000];
	memset(long_text, 'a', sizeof long_text - 1);
	long_text[sizeof long_text - 1] = '\0';
	size_t n_before = json_object_array_length(c->messages);
	ok(chat_send(c, long_text, collect, &out, NULL) < 0 && strstr(error_message(), "too long") &&
		   json_object_array_length(c->messages) <= n_before,
	   "a message larger than the context is refused with a message");
	strbuf_free(&out);
	chat_free(c);
	context_free(ctx);
}

static void test_save_load(struct model *m)
{
	char dir[] = "/tmp/nibble-test-chat-XXXXXX";
	if (!mkdtemp(dir))
		return;
	char path[256];
	snprintf(path, sizeof path, "%s/conv.json", dir);
	struct context_params cp = { .n_ctx = 256, .n_threads = 1 };
	struct context *ctx = context_init(m, &cp);
	struct chat_options o = greedy(8);
	struct chat *c = chat_init(m, ctx, &o, "System text.");
	struct strbuf out = { 0 };
	chat_send(c, "First question", collect, &out, NULL);
	chat_send(c, "Second \"question\"\nwith a newline", collect, &out, NULL);
	ok(chat_save(c, path) == 0, "/save writes the conversation");

	struct context *ctx2 = context_init(m, &cp);
	struct chat *d = chat_init(m, ctx2, &o, NULL);
	ok(chat_load(d, path) == 0 && json_object_equal(c->messages, d->messages) && ctx2->n_past > 0,
	   "/load restores the same messages and evaluates them");

	/* A save that cannot complete (a file size limit stands in for a full
	 * disk, and works as root too) leaves the old file as it was.  valgrind
	 * does not survive the limit, so this part is skipped under it. */
	if (getenv("NIBBLE_UNDER_VALGRIND")) {
		skip("file size limits do not work under valgrind");
	} else {
		size_t old_len;
		char *old = read_file(path, &old_len);
		chat_send(c, "Third question, making the file longer", collect, &out, NULL);
		pid_t pid = fork();
		if (pid == 0) {
			signal(SIGXFSZ, SIG_IGN);
			struct rlimit rl = { 64, 64 };
			setrlimit(RLIMIT_FSIZE, &rl);
			_exit(chat_save(c, path) == 0 ? 0 : strstr(error_message(), "cannot write") ? 3 : 4);
		}
		int status = 0;
		waitpid(pid, &status, 0);
		size_t new_len;
		char *now = read_file(path, &new_len);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 3 && now && new_len == old_len &&
			   !memcmp(old, now, old_len),
		   "a failed save reports the error and keeps the old file");
		free(old);
		free(now);
	}

	ok(chat_load(d, "/nonexistent/conv.json") < 0 && json_object_equal(c->messages, c->messages),
	   "loading a missing file fails cleanly");
	FILE *f = fopen(path, "w");
	fputs("[{\"role\": \"user\"}]", f);
	fclose(f);
	size_t n_msgs = json_object_array_length(d->messages);
	ok(chat_load(d, path) < 0 && strstr(error_message(), "content") && json_object_array_length(d->messages) == n_msgs,
	   "a malformed conversation is refused and the current one kept");
	unlink(path);
	rmdir(dir);
	strbuf_free(&out);
	chat_free(c);
	chat_free(d);
	context_free(ctx);
	context_free(ctx2);
}

static void check_stop(const char *what, const char *const *pieces, int n, const char *stop, const char *want, bool hit)
{
	const char *stops[] = { stop, "<|never|>" };
	struct stop_filter f = { stops, 2, { 0 }, false };
	struct strbuf out = { 0 };
	for (int i = 0; i < n; i++)
		stop_filter_push(&f, pieces[i], strlen(pieces[i]), &out);
	stop_filter_flush(&f, &out);
	ok(f.hit == hit && out.len == strlen(want) && !memcmp(out.data ? out.data : "", want, out.len), "stop: %s", what);
	strbuf_free(&out);
	stop_filter_free(&f);
}

static void test_stop(void)
{
	const char *a[] = { "Hello ", "wor", "ld. User", ": next" };
	check_stop("a stop string split over pieces is cut with what follows", a, 4, "User:", "Hello world. ", true);
	const char *b[] = { "Use", "ful" };
	check_stop("a false start is released", b, 2, "User:", "Useful", false);
	const char *c[] = { "end with Us" };
	check_stop("a held tail is released at the end", c, 1, "User:", "end with Us", false);
	const char *d[] = { "<|never|", ">tail" };
	check_stop("the second stop string works too", d, 2, "User:", "", true);
}

/* The built-in format of a family renders what the family's real template
 * renders for plain conversations. */
static void test_builtin_formats(void)
{
	static const struct {
		const char *case_name;
		enum chat_family family;
	} pairs[] = {
		{ "chatml#1", CHAT_FAMILY_CHATML },
		{ "llama3-instruct#22", CHAT_FAMILY_LLAMA3 },
		{ "zephyr#2", CHAT_FAMILY_ZEPHYR },
		{ "microsoft-Phi-3.5-mini-instruct", CHAT_FAMILY_PHI3 },
		{ "gemma-instruct#21", CHAT_FAMILY_GEMMA },
		{ "mistral-instruct#10", CHAT_FAMILY_MISTRAL },
		{ "llama2-chat#12", CHAT_FAMILY_LLAMA2 },
	};
	FILE *f = fopen(fixture("chat/chat-template-cases.jsonl"), "r");
	if (!ok(f != NULL, "template cases readable"))
		return;
	char *line = NULL;
	size_t cap = 0;
	int compared[ARRAY_LEN(pairs)] = { 0 }, matched[ARRAY_LEN(pairs)] = { 0 };
	while (getline(&line, &cap, f) > 0) {
		json_object *tc = json_tokener_parse(line), *v;
		if (!tc)
			continue;
		json_object_object_get_ex(tc, "name", &v);
		const char *name = json_object_get_string(v);
		for (size_t i = 0; i < ARRAY_LEN(pairs); i++) {
			json_object *expected, *msgs, *bos, *eos, *gen;
			if (strcmp(name, pairs[i].case_name) || !json_object_object_get_ex(tc, "expected", &expected))
				continue;
			/* Built-in formats prompt replies; the endings some templates add
			 * without a generation prompt do not matter for that. */
			json_object_object_get_ex(tc, "add_generation_prompt", &gen);
			if (!json_object_get_boolean(gen))
				continue;
			json_object_object_get_ex(tc, "messages", &msgs);
			json_object_object_get_ex(tc, "bos_token", &bos);
			json_object_object_get_ex(tc, "eos_token", &eos);
			struct strbuf out = { 0 };
			chat_family_render(pairs[i].family, msgs, true, json_object_get_string(bos),
					   json_object_get_string(eos), &out);
			compared[i]++;
			if (out.data && !strcmp(out.data, json_object_get_string(expected)))
				matched[i]++;
			else
				diag("%s: got '%s'", name, out.data ? out.data : "");
			strbuf_free(&out);
		}
		json_object_put(tc);
	}
	free(line);
	fclose(f);
	for (size_t i = 0; i < ARRAY_LEN(pairs); i++)
		ok(compared[i] > 0 && matched[i] == compared[i], "built-in %s renders like %s (%d of %d cases)",
		   chat_family_name(pairs[i].family), pairs[i].case_name, matched[i], compared[i]);
}

static size_t count_id(const int32_t *ids, size_t n, int32_t id)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += ids[i] == id;
	return k;
}

/* With a Llama 3 vocabulary: the prompt's markup becomes special tokens, but
 * "<|eot_id|>" typed by the user stays text, and replies end at <|eot_id|>. */
static void test_special_text(void)
{
	char path[] = "/tmp/nibble-test-bpe-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	struct model *m = NULL;
	if (micro_model(fixture("vocab/ggml-vocab-llama-bpe.gguf"), path) == 0)
		m = model_load(path, MODEL_LOAD_FULL);
	unlink(path);
	if (!ok(m != NULL, "a micro model with the Llama 3 vocabulary loads")) {
		diag("%s", error_message());
		return;
	}
	int32_t eot = strmap_get(&m->tokenizer->index, "<|eot_id|>", 10);
	struct context_params cp = { .n_ctx = 512, .n_threads = 1 };
	struct context *ctx = context_init(m, &cp);
	struct chat_options o = greedy(0);
	struct chat *c = chat_init(m, ctx, &o, NULL);
	struct strbuf out = { 0 };
	chat_send(c, "plain words here", collect, &out, NULL);
	size_t plain = count_id(c->cached, c->n_cached, eot);
	chat_clear(c);
	chat_send(c, "say <|eot_id|> now", collect, &out, NULL);
	size_t typed = count_id(c->cached, c->n_cached, eot);
	ok(eot >= 0 && plain > 0 && typed == plain, "typed <|eot_id|> stays text (%zu special tokens both times)", plain);
	ok(tokenizer_is_eog(m->tokenizer, eot), "<|eot_id|> ends a reply");
	strbuf_free(&out);
	chat_free(c);
	context_free(ctx);
	model_free(m);
}

int main(void)
{
	fixtures_dir();
	test_stop();
	test_builtin_formats();
	test_special_text();
	struct model *m = model_load(fixture("models/stories260K.gguf"), MODEL_LOAD_FULL);
	if (!ok(m != NULL, "stories260K loads"))
		return tap_done();
	test_kv_reuse(m);
	test_context_policy(m);
	test_save_load(m);
	model_free(m);
	return tap_done();
}
