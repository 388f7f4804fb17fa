/* merge_queue.h - the priority queue both BPE tokenizers merge with: the
 * best candidate pair of adjacent symbols first (highest priority, then the
 * leftmost).  Private to tokenizer*.c. */
#ifndef NIBBLE_MERGE_QUEUE_H
#define NIBBLE_MERGE_QUEUE_H

#include <stddef.h>

struct merge {
	int left, right; /* symbol indices */
	float priority;  /* SentencePiece: the token's score; byte-level BPE: minus the merge rank */
	size_t size;     /* bytes of both symbols when the pair was made, to spot stale entries */
};

struct merge_queue {
	struct merge *heap;
	size_t len, cap;
};

void merge_queue_push(struct merge_queue *q, struct merge m);
/* Removes and returns the best candidate; the queue must not be empty. */
struct merge merge_queue_pop(struct merge_queue *q);
void merge_queue_free(struct merge_queue *q);

#endif
