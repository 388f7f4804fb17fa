/* mkmodel.c - writes a tiny random-weight llama model that borrows the
 * tokenizer (and chat template) of another GGUF file, so that chat tests can
 * run real vocabularies and templates end to end.
 * usage: mkmodel VOCAB.gguf OUT.gguf */
#include "config.h"

#include <stdio.h>

#include "gguf_writer.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: mkmodel VOCAB.gguf OUT.gguf\n");
		return 2;
	}
	if (micro_model(argv[1], argv[2]) < 0) {
		fprintf(stderr, "mkmodel: %s: %s\n", argv[1], error_message());
		return 1;
	}
	return 0;
}
