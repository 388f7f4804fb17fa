/* sampler.h - choose the next token from logits: repetition penalty, top-k,
 * top-p, min-p, temperature, and a seeded RNG so a seed replays exactly. */
#ifndef NIBBLE_SAMPLER_H
#define NIBBLE_SAMPLER_H

#include <stdint.h>

struct sampler_params {
	float temp;            /* 0: greedy (always the most likely token) */
	int32_t top_k;         /* keep the k most likely; 0: off */
	float top_p;           /* keep the smallest set with this much probability; 1: off */
	float min_p;           /* drop tokens below min_p x the top probability; 0: off */
	float repeat_penalty;  /* divide logits of recent tokens by this; 1: off */
	int32_t repeat_last_n; /* how many recent tokens the penalty covers */
	uint64_t seed;
};

/* llama.cpp's defaults: temp 0.8, top-k 40, top-p 0.95, min-p 0.05,
 * repeat penalty 1.0 over 64 tokens; the seed is left 0. */
void sampler_default_params(struct sampler_params *p);

/* Sets the parameter called name ("temp", "top_k", "top_p", "min_p",
 * "repeat_penalty", "repeat_last_n" or "seed"; '-' may stand for '_') from
 * its text form, checking its range.  0, or -1 with error(). */
int sampler_param_set(struct sampler_params *p, const char *name, const char *value);
/* The names sampler_param_set accepts, for help texts. */
#define SAMPLER_PARAM_NAMES "temp, top_k, top_p, min_p, repeat_penalty, repeat_last_n, seed"

/* A seed from /dev/urandom (or the clock). */
uint64_t sampler_random_seed(void);

struct sampler;

struct sampler *sampler_init(const struct sampler_params *p, int32_t n_vocab);
void sampler_free(struct sampler *s);

/* Picks a token from logits[n_vocab] (not modified). */
int32_t sampler_sample(struct sampler *s, const float *logits);
/* Records a token of the sequence (prompt or generated) for the penalty. */
void sampler_accept(struct sampler *s, int32_t token);

/* xoshiro256** generator, exposed for tests. */
struct rng {
	uint64_t s[4];
};
void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
double rng_uniform(struct rng *r); /* [0, 1) */

#endif
