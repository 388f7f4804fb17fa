/* settings.c - read the config file: "key = value" lines, '#' comments. */
#include "config.h"

#include "chat/settings.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int set_choice(char **dst, const char *value, const char *const *choices)
{
	for (int i = 0; choices[i]; i++)
		if (!strcmp(value, choices[i])) {
			free(*dst);
			*dst = xstrdup(value);
			return 0;
		}
	return error("'%s' is not one of the choices", value);
}

static bool is_sampling_key(const char *key)
{
	static const char *const keys[] = { "temp", "top_k", "top_p", "min_p", "repeat_penalty", "repeat_last_n", "seed" };
	for (size_t i = 0; i < ARRAY_LEN(keys); i++)
		if (!strcmp(key, keys[i]))
			return true;
	return false;
}

static int apply(struct settings *s, const char *key, const char *value)
{
	static const char *const backends[] = { "auto", "cpu", "vulkan", NULL };
	static const char *const colors[] = { "auto", "always", "never", NULL };
	int64_t v;
	if (!strcmp(key, "model") || !strcmp(key, "system") || !strcmp(key, "chat_template")) {
		char **dst = key[0] == 'm' ? &s->model : key[0] == 's' ? &s->system : &s->chat_template;
		free(*dst);
		*dst = xstrdup(value);
	} else if (!strcmp(key, "backend")) {
		return set_choice(&s->backend, value, backends);
	} else if (!strcmp(key, "color") || !strcmp(key, "colour")) {
		return set_choice(&s->color, value, colors);
	} else if (!strcmp(key, "threads")) {
		if (parse_i64(value, 1, 1024, &v) < 0)
			return -1;
		s->threads = (int)v;
	} else if (!strcmp(key, "ctx") || !strcmp(key, "ctx_size")) {
		if (parse_i64(value, 1, 1 << 24, &v) < 0)
			return -1;
		s->ctx = (uint32_t)v;
	} else if (is_sampling_key(key)) {
		return sampler_param_set(&s->sampling, key, value);
	} else {
		return error("unknown key (keys: model, system, chat_template, backend, color, threads, ctx, "
			     SAMPLER_PARAM_NAMES ")");
	}
	return 0;
}

int settings_load(struct settings *s, const char *path)
{
	*s = (struct settings){ 0 };
	sampler_default_params(&s->sampling);
	char *own = path ? NULL : xdg_path("XDG_CONFIG_HOME", ".config", "config", false);
	if (!path)
		path = own;
	if (!path)
		return 0;
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		free(own);
		return e == ENOENT ? 0 : error("cannot read the config file '%s': %s", path, strerror(e));
	}
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0;
	while (rc == 0 && getline(&line, &cap, f) >= 0) {
		lineno++;
		char *text = trim(line);
		if (!*text || *text == '#')
			continue;
		char *eq = strchr(text, '=');
		if (!eq) {
			rc = error("%s:%d: expected 'key = value'", path, lineno);
			break;
		}
		*eq = '\0';
		char *key = trim(text), *value = trim(eq + 1);
		if (apply(s, key, value) < 0)
			rc = error_prefix("%s:%d: %s", path, lineno, key);
	}
	free(line);
	fclose(f);
	free(own);
	return rc;
}

void settings_free(struct settings *s)
{
	free(s->model);
	free(s->system);
	free(s->chat_template);
	free(s->backend);
	free(s->color);
	*s = (struct settings){ 0 };
}
