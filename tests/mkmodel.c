/* mkmodel.c - writes a tiny random-weight llama model that borrows the
 * tokenizer (and chat template) of another GGUF file, so that chat tests can
 * run real vocabularies and templates end to end; or, with --huge, a model
 * of 120 GiB as a sparse file (no disk space), for the memory checks.
 * usage: mkmodel VOCAB.gguf OUT.gguf | mkmodel --huge OUT.gguf */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gguf_writer.h"

static int huge_model(const char *path)
{
	struct strbuf b = { 0 };
	uint64_t data = tiny_model(&b, &(struct tiny_spec){ .layers = 8, .embd = 16384, .ff = 65536, .sparse = 1 });
	int rc = gw_save(&b, path) == 0 && truncate(path, (off_t)(b.len + data)) == 0 ? 0 : -1;
	strbuf_free(&b);
	if (rc < 0)
		perror(path);
	return rc < 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--huge"))
		return huge_model(argv[2]);
	if (argc != 3) {
		fprintf(stderr, "usage: mkmodel VOCAB.gguf OUT.gguf | mkmodel --huge OUT.gguf\n");
		return 2;
	}
	if (micro_model(argv[1], argv[2]) < 0) {
		fprintf(stderr, "mkmodel: %s: %s\n", argv[1], error_message());
		return 1;
	}
	return 0;
}
