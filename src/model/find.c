/* model_find.c - look for GGUF files where people keep them: folders in
 * $NIBBLE_MODELS, $XDG_DATA_HOME/nibble/models, the Hugging Face hub cache
 * (models--ORG--REPO/snapshots/REV/FILE.gguf) and Ollama's store (manifests
 * naming a model layer in blobs/). */
#include "config.h"

#include "model/find.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/util.h"

#define MAX_DEPTH 4

const char model_find_help[] =
	"No model found.  nibble runs GGUF files: download one, for example "
	"tinyllama-1.1b-chat-v1.0.Q4_0.gguf from huggingface.co/TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF, "
	"and pass its path with -m, or put it in ~/.local/share/nibble/models (or a folder named in "
	"$NIBBLE_MODELS) to use it by name.  Models that `huggingface-cli download` or `ollama pull` "
	"fetched are found too; `nibble list` shows them all.";

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = xmalloc(n);
	snprintf(p, n, "%s/%s", a, b);
	return p;
}

static void add(struct found_models *f, char *name, const char *path, const char *source)
{
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		free(name);
		return;
	}
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->v[i].path, path)) { /* the same file by two routes */
			free(name);
			return;
		}
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->v = xrealloc(f->v, f->cap * sizeof *f->v);
	}
	f->v[f->n++] = (struct found_model){ name, xstrdup(path), xstrdup(source), (uint64_t)st.st_size };
}

/* Every *.gguf below dir, named by its path under dir without ".gguf". */
static void scan_folder(struct found_models *f, const char *dir, const char *prefix, const char *source, int depth)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *path = join(dir, e->d_name);
		char *name = *prefix ? join(prefix, e->d_name) : xstrdup(e->d_name);
		struct stat st;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
			scan_folder(f, path, name, source, depth + 1);
			free(name);
		} else if (ends_with(e->d_name, ".gguf")) {
			name[strlen(name) - 5] = '\0';
			add(f, name, path, source);
		} else {
			free(name);
		}
		free(path);
	}
	closedir(d);
}

/* Hugging Face: hub/models--ORG--REPO/snapshots/REV/... named ORG/REPO/FILE. */
static void scan_huggingface(struct found_models *f, const char *hub)
{
	DIR *d = opendir(hub);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "models--", 8) != 0)
			continue;
		char repo[512];
		snprintf(repo, sizeof repo, "%s", e->d_name + 8);
		char *sep = strstr(repo, "--");
		if (sep) {
			*sep = '/';
			memmove(sep + 1, sep + 2, strlen(sep + 2) + 1);
		}
		char *snapshots = join(hub, e->d_name), *snap_dir = join(snapshots, "snapshots");
		DIR *s = opendir(snap_dir);
		struct dirent *rev;
		while (s && (rev = readdir(s))) {
			if (rev->d_name[0] == '.')
				continue;
			char *rev_dir = join(snap_dir, rev->d_name);
			scan_folder(f, rev_dir, repo, "huggingface", 1);
			free(rev_dir);
		}
		if (s)
			closedir(s);
		free(snapshots);
		free(snap_dir);
	}
	closedir(d);
}

/* The blob a manifest names as its model layer, or NULL. */
static char *ollama_blob(const char *manifest, const char *blobs)
{
	json_object *root = json_object_from_file(manifest), *layers;
	char *path = NULL;
	if (root && json_object_object_get_ex(root, "layers", &layers) && json_object_is_type(layers, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(layers) && !path; i++) {
			json_object *layer = json_object_array_get_idx(layers, i), *type, *digest;
			if (!json_object_object_get_ex(layer, "mediaType", &type) ||
			    !json_object_object_get_ex(layer, "digest", &digest) ||
			    strcmp(json_object_get_string(type), "application/vnd.ollama.image.model") != 0)
				continue;
			char blob[256];
			const char *dg = json_object_get_string(digest);
			snprintf(blob, sizeof blob, "%s", dg);
			char *colon = strchr(blob, ':');
			if (colon && !strchr(blob, '/'))
				*colon = '-'; /* "sha256:abc" is stored as "sha256-abc" */
			path = join(blobs, blob);
		}
	}
	json_object_put(root);
	return path;
}

/* Ollama: manifests/HOST/NAMESPACE/MODEL/TAG, named MODEL:TAG (library models)
 * or NAMESPACE/MODEL:TAG. */
static void scan_ollama(struct found_models *f, const char *root)
{
	char *manifests = join(root, "manifests"), *blobs = join(root, "blobs");
	DIR *hosts = opendir(manifests);
	struct dirent *h, *ns, *model, *tag;
	while (hosts && (h = readdir(hosts))) {
		if (h->d_name[0] == '.')
			continue;
		char *hdir = join(manifests, h->d_name);
		DIR *nsd = opendir(hdir);
		while (nsd && (ns = readdir(nsd))) {
			if (ns->d_name[0] == '.')
				continue;
			char *nsdir = join(hdir, ns->d_name);
			DIR *md = opendir(nsdir);
			while (md && (model = readdir(md))) {
				if (model->d_name[0] == '.')
					continue;
				char *mdir = join(nsdir, model->d_name);
				DIR *td = opendir(mdir);
				while (td && (tag = readdir(td))) {
					if (tag->d_name[0] == '.')
						continue;
					char *manifest = join(mdir, tag->d_name), *blob = ollama_blob(manifest, blobs);
					if (blob) {
						char name[512];
						if (!strcmp(ns->d_name, "library"))
							snprintf(name, sizeof name, "%s:%s", model->d_name, tag->d_name);
						else
							snprintf(name, sizeof name, "%s/%s:%s", ns->d_name, model->d_name,
								 tag->d_name);
						add(f, xstrdup(name), blob, "ollama");
					}
					free(blob);
					free(manifest);
				}
				if (td)
					closedir(td);
				free(mdir);
			}
			if (md)
				closedir(md);
			free(nsdir);
		}
		if (nsd)
			closedir(nsd);
		free(hdir);
	}
	if (hosts)
		closedir(hosts);
	free(manifests);
	free(blobs);
}

/* $VAR, or $HOME/fallback, or NULL. */
static char *env_dir(const char *var, const char *fallback, const char *suffix)
{
	const char *v = getenv(var), *home = getenv("HOME");
	char *base;
	if (v && *v)
		base = xstrdup(v);
	else if (fallback && home && *home)
		base = join(home, fallback);
	else
		return NULL;
	if (!suffix)
		return base;
	char *p = join(base, suffix);
	free(base);
	return p;
}

void model_find_all(struct found_models *out)
{
	*out = (struct found_models){ 0 };
	const char *list = getenv("NIBBLE_MODELS");
	if (list && *list) {
		char *copy = xstrdup(list), *save = NULL;
		for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
			scan_folder(out, dir, "", dir, 1);
		free(copy);
	}
	char *own = xdg_path("XDG_DATA_HOME", ".local/share", "models", false);
	char *hf = getenv("HF_HUB_CACHE") && *getenv("HF_HUB_CACHE") ? xstrdup(getenv("HF_HUB_CACHE"))
									: env_dir("HF_HOME", ".cache/huggingface", "hub");
	char *ollama = env_dir("OLLAMA_MODELS", ".ollama/models", NULL);
	if (own)
		scan_folder(out, own, "", "nibble", 1);
	if (hf)
		scan_huggingface(out, hf);
	if (ollama)
		scan_ollama(out, ollama);
	free(own);
	free(hf);
	free(ollama);
}

void found_models_free(struct found_models *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].name);
		free(f->v[i].path);
		free(f->v[i].source);
	}
	free(f->v);
	*f = (struct found_models){ 0 };
}

char *model_find_path(const char *arg)
{
	struct stat st;
	if (strchr(arg, '/') && stat(arg, &st) == 0)
		return xstrdup(arg);
	if (stat(arg, &st) == 0 || ends_with(arg, ".gguf"))
		return xstrdup(arg); /* a path: the loader reports what is wrong with it */
	struct found_models all;
	model_find_all(&all);
	/* "llama3.2" means "llama3.2:latest" for Ollama, as in `ollama run`. */
	char with_tag[512];
	snprintf(with_tag, sizeof with_tag, "%s:latest", arg);
	char *path = NULL;
	for (size_t i = 0; i < all.n && !path; i++)
		if (!strcasecmp(all.v[i].name, arg) || !strcasecmp(all.v[i].name, with_tag))
			path = xstrdup(all.v[i].path);
	found_models_free(&all);
	if (!path) {
		if (strchr(arg, '/') && !strchr(arg, ':'))
			error("'%s': %s", arg, strerror(ENOENT));
		else
			error("no model named '%s' (`nibble list` shows the models it can find)", arg);
	}
	return path;
}
