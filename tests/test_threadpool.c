/* test_threadpool.c - every thread runs every job exactly once, jobs follow
 * each other without loss under a burst of tiny ones, and an idle pool
 * stops using the CPU (workers spin only briefly, then sleep). */
#include "config.h"

#include <stdatomic.h>
#include <sys/resource.h>
#include <time.h>

#include "tap.h"
#include "base/threadpool.h"

struct count_job {
	atomic_long calls;
	atomic_long ith_sum;
	int bad_nth;
	int nth;
};

static void count_fn(void *arg, int ith, int nth)
{
	struct count_job *job = arg;
	atomic_fetch_add(&job->calls, 1);
	atomic_fetch_add(&job->ith_sum, ith);
	if (nth != job->nth)
		job->bad_nth = 1;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

int main(void)
{
	enum { THREADS = 3, JOBS = 20000 };
	struct threadpool *tp = threadpool_init(THREADS);
	if (!ok(tp && threadpool_size(tp) == THREADS, "a pool of %d threads starts", THREADS))
		return tap_done();

	struct count_job job = { .nth = THREADS };
	atomic_init(&job.calls, 0);
	atomic_init(&job.ith_sum, 0);
	for (int i = 0; i < JOBS; i++)
		threadpool_run(tp, count_fn, &job);
	ok(atomic_load(&job.calls) == (long)JOBS * THREADS && atomic_load(&job.ith_sum) == (long)JOBS * (0 + 1 + 2) &&
		   !job.bad_nth,
	   "%d jobs back to back: each ran once on each thread (%ld calls)", JOBS, atomic_load(&job.calls));

	/* after the spin period the workers sleep: half a second idle costs
	 * next to no CPU time (spinning workers would use about 1 s) */
	sleep_ms(50);
	double before = cpu_seconds();
	sleep_ms(500);
	double idle = cpu_seconds() - before;
	ok(idle < 0.05, "an idle pool sleeps (%.3f s of CPU in 0.5 s)", idle);

	/* and wakes again from its sleep */
	atomic_store(&job.calls, 0);
	threadpool_run(tp, count_fn, &job);
	ok(atomic_load(&job.calls) == THREADS, "a sleeping pool wakes for the next job");
	threadpool_free(tp);

	struct threadpool *one = threadpool_init(1);
	atomic_store(&job.calls, 0);
	job.nth = 1;
	threadpool_run(one, count_fn, &job);
	ok(atomic_load(&job.calls) == 1 && !job.bad_nth, "a pool of one runs jobs on the caller");
	threadpool_free(one);
	return tap_done();
}
