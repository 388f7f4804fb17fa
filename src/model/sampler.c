/* sampler.c - the sampling chain, in llama.cpp's order: penalties, top-k,
 * top-p, min-p, temperature, then a draw from what is left. */
#include "config.h"

#include "model/sampler.h"

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"

struct candidate {
	int32_t id;
	float logit;
	float p;
};

struct sampler {
	struct sampler_params params;
	int32_t n_vocab;
	struct rng rng;
	struct candidate *cand; /* [n_vocab] */
	int32_t *recent;        /* ring of the last repeat_last_n tokens */
	int32_t n_recent, recent_head;
	uint8_t *seen;          /* [n_vocab] scratch for the penalty */
};

void sampler_default_params(struct sampler_params *p)
{
	*p = (struct sampler_params){
		.temp = 0.8f,
		.top_k = 40,
		.top_p = 0.95f,
		.min_p = 0.05f,
		.repeat_penalty = 1.0f,
		.repeat_last_n = 64,
		.seed = 0,
	};
}

int sampler_param_set(struct sampler_params *p, const char *name, const char *value)
{
	char key[32];
	size_t i = 0;
	for (; name[i] && i + 1 < sizeof key; i++)
		key[i] = name[i] == '-' ? '_' : name[i];
	key[i] = '\0';
	double d;
	int64_t v;
	if (!strcmp(key, "temp")) {
		if (parse_double(value, 0, 1000, &d) < 0)
			return -1;
		p->temp = (float)d;
	} else if (!strcmp(key, "top_k")) {
		if (parse_i64(value, 0, INT32_MAX, &v) < 0)
			return -1;
		p->top_k = (int32_t)v;
	} else if (!strcmp(key, "top_p") || !strcmp(key, "min_p")) {
		if (parse_double(value, 0, 1, &d) < 0)
			return -1;
		*(key[0] == 't' ? &p->top_p : &p->min_p) = (float)d;
	} else if (!strcmp(key, "repeat_penalty")) {
		if (parse_double(value, 0, 100, &d) < 0)
			return -1;
		if (d <= 0)
			return error("%s must be greater than 0", value);
		p->repeat_penalty = (float)d;
	} else if (!strcmp(key, "repeat_last_n")) {
		if (parse_i64(value, 0, 1 << 20, &v) < 0)
			return -1;
		p->repeat_last_n = (int32_t)v;
	} else if (!strcmp(key, "seed")) {
		if (parse_u64(value, &p->seed) < 0)
			return -1;
	} else {
		return error("unknown setting '%s' (settings: %s)", name, SAMPLER_PARAM_NAMES);
	}
	return 0;
}

uint64_t sampler_random_seed(void)
{
	uint64_t seed = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, &seed, sizeof seed) != sizeof seed)
			seed = 0;
		close(fd);
	}
	if (seed == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
	}
	return seed;
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double rng_uniform(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1p-53;
}

struct sampler *sampler_init(const struct sampler_params *p, int32_t n_vocab)
{
	struct sampler *s = xcalloc(1, sizeof *s);
	s->params = *p;
	if (s->params.repeat_last_n < 0)
		s->params.repeat_last_n = 0;
	s->n_vocab = n_vocab;
	rng_seed(&s->rng, p->seed);
	s->cand = xmalloc((size_t)n_vocab * sizeof *s->cand);
	s->recent = xmalloc((size_t)(s->params.repeat_last_n + 1) * sizeof *s->recent);
	s->seen = xcalloc((size_t)n_vocab, 1);
	return s;
}

void sampler_free(struct sampler *s)
{
	if (!s)
		return;
	free(s->cand);
	free(s->recent);
	free(s->seen);
	free(s);
}

void sampler_accept(struct sampler *s, int32_t token)
{
	int32_t n = s->params.repeat_last_n;
	if (n == 0)
		return;
	s->recent[s->recent_head] = token;
	s->recent_head = (s->recent_head + 1) % n;
	if (s->n_recent < n)
		s->n_recent++;
}

static void apply_repeat_penalty(struct sampler *s)
{
	float penalty = s->params.repeat_penalty;
	if (penalty == 1.0f || s->n_recent == 0)
		return;
	/* Each distinct recent token is penalised once, as in llama.cpp. */
	for (int32_t i = 0; i < s->n_recent; i++) {
		int32_t id = s->recent[i];
		if (id < 0 || id >= s->n_vocab || s->seen[id])
			continue;
		s->seen[id] = 1;
		float *l = &s->cand[id].logit;
		*l = *l > 0 ? *l / penalty : *l * penalty;
	}
	for (int32_t i = 0; i < s->n_recent; i++)
		if (s->recent[i] >= 0 && s->recent[i] < s->n_vocab)
			s->seen[s->recent[i]] = 0;
}

/* Descending by logit; equal logits by id, so the order is deterministic. */
static int by_logit_desc(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;
	if (x->logit != y->logit)
		return x->logit > y->logit ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Moves the k best candidates to the front, sorted.  Keeps a min-heap of
 * the best k seen so far, which is O(n log k) instead of a full sort. */
static void select_top_k(struct candidate *c, int32_t n, int32_t k)
{
	if (k >= n) {
		qsort(c, (size_t)n, sizeof *c, by_logit_desc);
		return;
	}
	/* heap[0] is the worst of the kept ones. */
	for (int32_t i = 0; i < n; i++) {
		struct candidate x = c[i];
		int32_t hole;
		if (i < k) {
			hole = i;
			while (hole > 0 && by_logit_desc(&x, &c[(hole - 1) / 2]) > 0) {
				c[hole] = c[(hole - 1) / 2];
				hole = (hole - 1) / 2;
			}
			c[hole] = x;
			continue;
		}
		if (by_logit_desc(&x, &c[0]) >= 0)
			continue; /* not better than the worst kept */
		hole = 0;
		for (;;) {
			int32_t child = 2 * hole + 1;
			if (child >= k)
				break;
			if (child + 1 < k && by_logit_desc(&c[child + 1], &c[child]) > 0)
				child++;
			if (by_logit_desc(&c[child], &x) <= 0)
				break;
			c[hole] = c[child];
			hole = child;
		}
		c[hole] = x;
	}
	qsort(c, (size_t)k, sizeof *c, by_logit_desc);
}

/* Softmax of the first n (sorted) candidates at temperature t into .p. */
static void softmax(struct candidate *c, int32_t n, float t)
{
	double sum = 0;
	for (int32_t i = 0; i < n; i++) {
		c[i].p = expf((c[i].logit - c[0].logit) / t);
		sum += c[i].p;
	}
	for (int32_t i = 0; i < n; i++)
		c[i].p = (float)(c[i].p / sum);
}

int32_t sampler_sample(struct sampler *s, const float *logits)
{
	const struct sampler_params *p = &s->params;
	struct candidate *c = s->cand;
	for (int32_t i = 0; i < s->n_vocab; i++)
		c[i] = (struct candidate){ i, logits[i], 0 };
	apply_repeat_penalty(s);

	if (p->temp <= 0) {
		int32_t best = 0;
		for (int32_t i = 1; i < s->n_vocab; i++)
			if (c[i].logit > c[best].logit)
				best = i;
		return best;
	}

	int32_t n = s->n_vocab;
	select_top_k(c, n, p->top_k > 0 && p->top_k < n ? p->top_k : n);
	if (p->top_k > 0 && p->top_k < n)
		n = p->top_k;

	if (p->top_p < 1.0f) {
		softmax(c, n, 1.0f);
		double cum = 0;
		for (int32_t i = 0; i < n; i++) {
			cum += c[i].p;
			if (cum >= p->top_p) {
				n = i + 1;
				break;
			}
		}
	}
	if (p->min_p > 0.0f) {
		softmax(c, n, 1.0f);
		float floor = c[0].p * p->min_p;
		int32_t keep = 1;
		while (keep < n && c[keep].p >= floor)
			keep++;
		n = keep;
	}

	softmax(c, n, p->temp);
	double r = rng_uniform(&s->rng), cum = 0;
	for (int32_t i = 0; i < n; i++) {
		cum += c[i].p;
		if (r < cum)
			return c[i].id;
	}
	return c[n - 1].id;
}
