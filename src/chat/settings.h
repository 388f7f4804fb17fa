/* settings.h - the user's defaults from $XDG_CONFIG_HOME/nibble/config
 * (key = value lines; data/nibble.conf is the documented example).  The
 * command line overrides them. */
#ifndef NIBBLE_SETTINGS_H
#define NIBBLE_SETTINGS_H

#include <stdint.h>

#include "model/sampler.h"

struct settings {
	char *model;          /* path or name, or NULL */
	char *system;         /* system prompt, or NULL */
	char *chat_template;  /* NAME or FILE, or NULL */
	char *backend;        /* "auto", "cpu" or "vulkan" */
	char *color;          /* "auto", "always" or "never" */
	int threads;          /* 0: default */
	uint32_t ctx;         /* 0: default */
	struct sampler_params sampling;
};

/* Fills s with the built-in defaults, then the config file's values: from
 * path, or when path is NULL from $XDG_CONFIG_HOME/nibble/config (a missing
 * file is fine).  0, or -1 with error() naming the file and line. */
int settings_load(struct settings *s, const char *path);
void settings_free(struct settings *s);

#endif
