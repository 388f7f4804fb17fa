/* test_sampler.c - greedy picks, seeded determinism, the filters and the
 * repetition penalty each doing what they claim. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "model/sampler.h"
#include "tap.h"

enum { NV = 100 };

static void fill_logits(float *l)
{
	for (int i = 0; i < NV; i++)
		l[i] = sinf((float)i * 0.7f) * 3.0f; /* varied, no ties at the top */
}

static int32_t argmax(const float *l)
{
	int32_t b = 0;
	for (int i = 1; i < NV; i++)
		if (l[i] > l[b])
			b = i;
	return b;
}

static struct sampler_params plain(float temp)
{
	struct sampler_params p = { .temp = temp, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .repeat_penalty = 1.0f,
				    .repeat_last_n = 64, .seed = 1 };
	return p;
}

static void test_greedy(void)
{
	float l[NV];
	fill_logits(l);
	struct sampler_params p = plain(0);
	struct sampler *s = sampler_init(&p, NV);
	ok(sampler_sample(s, l) == argmax(l), "temperature 0 is greedy");
	l[7] = l[9] = 100;
	ok(sampler_sample(s, l) == 7, "greedy ties go to the lowest id");
	sampler_free(s);

	fill_logits(l);
	p = plain(1.0f);
	p.top_k = 1;
	s = sampler_init(&p, NV);
	int same = 0;
	for (int i = 0; i < 100; i++)
		same += sampler_sample(s, l) == argmax(l);
	ok(same == 100, "top-k 1 always picks the best");
	sampler_free(s);
}

static void test_determinism(void)
{
	float l[NV];
	fill_logits(l);
	struct sampler_params p;
	sampler_default_params(&p);
	p.seed = 1234;
	int32_t a[200], b[200], c[200];
	struct sampler *s1 = sampler_init(&p, NV), *s2 = sampler_init(&p, NV);
	p.seed = 1235;
	struct sampler *s3 = sampler_init(&p, NV);
	for (int i = 0; i < 200; i++) {
		a[i] = sampler_sample(s1, l);
		b[i] = sampler_sample(s2, l);
		c[i] = sampler_sample(s3, l);
	}
	ok(memcmp(a, b, sizeof a) == 0, "the same seed gives the same tokens");
	ok(memcmp(a, c, sizeof a) != 0, "another seed gives other tokens");
	sampler_free(s1);
	sampler_free(s2);
	sampler_free(s3);

	struct rng r;
	rng_seed(&r, 0);
	double lo = 1, hi = 0;
	for (int i = 0; i < 10000; i++) {
		double u = rng_uniform(&r);
		lo = fmin(lo, u);
		hi = fmax(hi, u);
	}
	ok(lo >= 0 && lo < 0.01 && hi < 1 && hi > 0.99, "uniform draws cover [0, 1)");
}

static double frequency_of_top(struct sampler_params p, const float *l, int n_draws)
{
	struct sampler *s = sampler_init(&p, NV);
	int hits = 0;
	for (int i = 0; i < n_draws; i++)
		hits += sampler_sample(s, l) == 0;
	sampler_free(s);
	return (double)hits / n_draws;
}

static void test_distribution(void)
{
	float l[NV];
	for (int i = 0; i < NV; i++)
		l[i] = -INFINITY;
	l[0] = logf(0.75f);
	l[1] = logf(0.25f);
	double f = frequency_of_top(plain(1.0f), l, 20000);
	ok(fabs(f - 0.75) < 0.02, "temperature 1 samples in proportion (%.3f of 0.75)", f);
	f = frequency_of_top(plain(0.2f), l, 5000);
	ok(f > 0.99, "a low temperature sharpens the distribution (%.3f)", f);

	struct sampler_params p = plain(1.0f);
	p.top_p = 0.7f;
	f = frequency_of_top(p, l, 2000);
	ok(f == 1.0, "top-p 0.7 keeps only the 0.75 token");
	p = plain(1.0f);
	p.min_p = 0.4f; /* 0.25 < 0.4 * 0.75 */
	f = frequency_of_top(p, l, 2000);
	ok(f == 1.0, "min-p 0.4 drops the 0.25 token");
	p.min_p = 0.3f; /* 0.25 >= 0.3 * 0.75 */
	f = frequency_of_top(p, l, 5000);
	ok(f < 0.9, "min-p 0.3 keeps it (%.3f)", f);
}

static void test_penalty(void)
{
	float l[NV];
	for (int i = 0; i < NV; i++)
		l[i] = -10;
	l[0] = 2.0f;
	l[1] = 1.9f;
	struct sampler_params p = plain(0);
	p.repeat_penalty = 1.5f;
	p.repeat_last_n = 4;
	struct sampler *s = sampler_init(&p, NV);
	ok(sampler_sample(s, l) == 0, "no history, no penalty");
	sampler_accept(s, 0);
	ok(sampler_sample(s, l) == 1, "a positive logit of a recent token is divided");
	for (int i = 0; i < 4; i++)
		sampler_accept(s, 50);
	ok(sampler_sample(s, l) == 0, "the penalty forgets tokens older than repeat-last-n");
	sampler_free(s);

	l[0] = -1.0f;
	l[1] = -1.2f;
	s = sampler_init(&p, NV);
	sampler_accept(s, 0);
	sampler_accept(s, 0);
	ok(sampler_sample(s, l) == 1, "a negative logit is multiplied, once per distinct token");
	sampler_free(s);
}

int main(void)
{
	test_greedy();
	test_determinism();
	test_distribution();
	test_penalty();
	return tap_done();
}
