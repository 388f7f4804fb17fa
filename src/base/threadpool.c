/* threadpool.c - a fixed set of workers that spin briefly for the next job,
 * then sleep.
 *
 * A decode step runs a few hundred short jobs back to back.  Waking a
 * sleeping thread costs tens of microseconds (far more on a virtual machine,
 * where the idle CPU has been handed back to the host), which would eat a
 * third of a step; so a worker that has finished a job watches the job
 * counter for a while (THREADPOOL_SPIN_SECONDS) before it blocks on the
 * condition variable.  Between turns of a chat it sleeps: no CPU is burnt
 * while the user types.  Spinning threads yield now and then, so more
 * threads than CPUs still make progress. */
#include "config.h"

#include "base/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/sigbus.h"
#include "base/util.h"

/* How long a worker keeps looking for the next job before it sleeps. */
#define THREADPOOL_SPIN_SECONDS 0.002

struct threadpool {
	int n_threads;
	pthread_t *threads;
	atomic_ulong generation; /* bumped for each job */
	atomic_int pending;      /* workers still running the current job */
	atomic_bool stop;
	threadpool_fn *fn; /* the job: written before generation is bumped */
	void *arg;
	pthread_mutex_t lock; /* guards sleepers and the sleep itself */
	pthread_cond_t wake;
	int sleepers;
};

struct worker_start {
	struct threadpool *tp;
	int ith;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Waits until generation differs from seen (or stop); returns the new one. */
static unsigned long wait_for_job(struct threadpool *tp, unsigned long seen)
{
	double deadline = 0;
	for (unsigned spins = 0;; spins++) {
		unsigned long g = atomic_load_explicit(&tp->generation, memory_order_acquire);
		if (g != seen || atomic_load(&tp->stop))
			return g;
		cpu_relax();
		/* more threads than CPUs: let one with work have ours */
		if (spins % 128 == 127)
			sched_yield();
		if (spins % 1024 == 1023) {
			double t = now_seconds();
			if (!deadline)
				deadline = t + THREADPOOL_SPIN_SECONDS;
			else if (t > deadline)
				break;
		}
	}
	pthread_mutex_lock(&tp->lock);
	tp->sleepers++;
	unsigned long g;
	/* threadpool_run bumps generation before it takes the lock to look for
	 * sleepers, so a bump this check misses finds us waiting */
	while ((g = atomic_load(&tp->generation)) == seen && !atomic_load(&tp->stop))
		pthread_cond_wait(&tp->wake, &tp->lock);
	tp->sleepers--;
	pthread_mutex_unlock(&tp->lock);
	return g;
}

static void *worker_main(void *p)
{
	struct worker_start start = *(struct worker_start *)p;
	struct threadpool *tp = start.tp;
	free(p);
	unsigned long seen = 0;
	for (;;) {
		seen = wait_for_job(tp, seen);
		if (atomic_load(&tp->stop))
			break;
		tp->fn(tp->arg, start.ith, tp->n_threads);
		atomic_fetch_sub_explicit(&tp->pending, 1, memory_order_release);
	}
	return NULL;
}

struct threadpool *threadpool_init(int n_threads)
{
	struct threadpool *tp = xcalloc(1, sizeof *tp);
	tp->n_threads = n_threads < 1 ? 1 : n_threads;
	tp->threads = xcalloc((size_t)tp->n_threads, sizeof *tp->threads);
	atomic_init(&tp->generation, 0);
	atomic_init(&tp->pending, 0);
	atomic_init(&tp->stop, false);
	pthread_mutex_init(&tp->lock, NULL);
	pthread_cond_init(&tp->wake, NULL);

	/* Workers never handle signals: the UI thread owns them. */
	sigset_t all, old;
	sigbus_worker_mask(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int created = 1;
	for (; created < tp->n_threads; created++) {
		struct worker_start *ws = xmalloc(sizeof *ws);
		ws->tp = tp;
		ws->ith = created;
		int rc = pthread_create(&tp->threads[created], NULL, worker_main, ws);
		if (rc != 0) {
			free(ws);
			error("cannot start worker thread: %s", strerror(rc));
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (created < tp->n_threads) {
		tp->n_threads = created; /* join only those that started */
		threadpool_free(tp);
		return NULL;
	}
	return tp;
}

void threadpool_free(struct threadpool *tp)
{
	if (!tp)
		return;
	pthread_mutex_lock(&tp->lock);
	atomic_store(&tp->stop, true);
	pthread_cond_broadcast(&tp->wake);
	pthread_mutex_unlock(&tp->lock);
	for (int i = 1; i < tp->n_threads; i++)
		pthread_join(tp->threads[i], NULL);
	pthread_mutex_destroy(&tp->lock);
	pthread_cond_destroy(&tp->wake);
	free(tp->threads);
	free(tp);
}

int threadpool_size(const struct threadpool *tp)
{
	return tp->n_threads;
}

void threadpool_run(struct threadpool *tp, threadpool_fn *fn, void *arg)
{
	if (tp->n_threads == 1) {
		fn(arg, 0, 1);
		return;
	}
	tp->fn = fn;
	tp->arg = arg;
	atomic_store_explicit(&tp->pending, tp->n_threads - 1, memory_order_relaxed);
	atomic_fetch_add(&tp->generation, 1); /* publishes fn, arg and pending */
	pthread_mutex_lock(&tp->lock);
	if (tp->sleepers)
		pthread_cond_broadcast(&tp->wake);
	pthread_mutex_unlock(&tp->lock);

	fn(arg, 0, tp->n_threads);

	/* the others finish their shares about when we do; yield now and
	 * then in case one of them waits for our CPU */
	for (unsigned spins = 1; atomic_load_explicit(&tp->pending, memory_order_acquire) > 0; spins++) {
		cpu_relax();
		if (spins % 128 == 0)
			sched_yield();
	}
}
