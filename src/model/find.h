/* model_find.h - models by name: nibble's own folders, the Hugging Face
 * cache and Ollama's store, as `nibble list` shows them and -m NAME finds
 * them. */
#ifndef NIBBLE_MODEL_FIND_H
#define NIBBLE_MODEL_FIND_H

#include <stddef.h>
#include <stdint.h>

struct found_model {
	char *name;    /* what -m accepts: a file stem, "org/repo/file" or "llama3.2:1b" */
	char *path;    /* the GGUF file */
	char *source;  /* "nibble", "huggingface", "ollama", or a folder from $NIBBLE_MODELS */
	uint64_t size;
};

struct found_models {
	struct found_model *v;
	size_t n, cap;
};

/* Every GGUF model in the known places. */
void model_find_all(struct found_models *out);
void found_models_free(struct found_models *f);

/* The file for -m ARG: ARG itself when it is a path (contains '/' or names
 * an existing file), else the model of that name.  Caller frees.  NULL
 * with error() when nothing matches. */
char *model_find_path(const char *arg);

/* One paragraph on how to get a model, for when there is none. */
extern const char model_find_help[];

#endif
