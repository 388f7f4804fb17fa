/* logits.h - what the logit tests share: the logits after a prompt, and
 * the relative RMS error ../shared/README.md defines its tolerances in. */
#ifndef NIBBLE_TEST_LOGITS_H
#define NIBBLE_TEST_LOGITS_H

#include <math.h>
#include <string.h>

#include "model/context.h"
#include "model/model.h"
#include "base/util.h"

/* RMS of ours - ref over the standard deviation of ref. */
static inline double rel_rms(const float *ours, const float *ref, size_t n)
{
	double mean = 0, var = 0, err = 0;
	for (size_t i = 0; i < n; i++)
		mean += ref[i];
	mean /= n;
	for (size_t i = 0; i < n; i++) {
		var += (ref[i] - mean) * (ref[i] - mean);
		err += (double)(ours[i] - ref[i]) * (ours[i] - ref[i]);
	}
	return sqrt(err / n) / sqrt(var / n);
}

/* The backend the tests' contexts run on. */
static const char *test_backend = "cpu";

/* m's logits after the n tokens ids, in a fresh context on test_backend
 * (caller frees), or NULL with error() set. */
static inline float *eval_logits(struct model *m, const int32_t *ids, size_t n)
{
	struct context_params cp = { .n_ctx = 64, .n_threads = 2, .backend = test_backend };
	struct context *ctx = context_init(m, &cp);
	float *logits = NULL;
	if (ctx && context_eval(ctx, ids, n) == 0) {
		logits = xmalloc(m->hp.n_vocab * sizeof *logits);
		memcpy(logits, ctx->logits, m->hp.n_vocab * sizeof *logits);
	}
	context_free(ctx);
	return logits;
}

#endif
