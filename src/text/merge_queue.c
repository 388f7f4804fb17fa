/* merge_queue.c - a binary heap of merge candidates. */
#include "config.h"

#include "text/merge_queue.h"

#include <stdbool.h>
#include <stdlib.h>

#include "base/util.h"

static bool before(const struct merge *a, const struct merge *b)
{
	return a->priority > b->priority || (a->priority == b->priority && a->left < b->left);
}

void merge_queue_push(struct merge_queue *q, struct merge m)
{
	if (q->len == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 64;
		q->heap = xrealloc(q->heap, q->cap * sizeof *q->heap);
	}
	size_t i = q->len++;
	while (i > 0 && before(&m, &q->heap[(i - 1) / 2])) {
		q->heap[i] = q->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	q->heap[i] = m;
}

struct merge merge_queue_pop(struct merge_queue *q)
{
	struct merge top = q->heap[0], last = q->heap[--q->len];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= q->len)
			break;
		if (c + 1 < q->len && before(&q->heap[c + 1], &q->heap[c]))
			c++;
		if (!before(&q->heap[c], &last))
			break;
		q->heap[i] = q->heap[c];
		i = c;
	}
	if (q->len > 0)
		q->heap[i] = last;
	return top;
}

void merge_queue_free(struct merge_queue *q)
{
	free(q->heap);
	*q = (struct merge_queue){ 0 };
}
