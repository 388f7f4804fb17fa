/* threadpool.c - a fixed set of workers woken by a generation counter. */
#include "config.h"

#include "threadpool.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct threadpool {
	int n_threads;
	pthread_t *threads;
	pthread_mutex_t lock;
	pthread_cond_t work_ready, work_done;
	unsigned long generation; /* bumped for each job */
	int pending;              /* workers still running the current job */
	bool stop;
	threadpool_fn *fn;
	void *arg;
};

struct worker_start {
	struct threadpool *tp;
	int ith;
};

static void *worker_main(void *p)
{
	struct worker_start start = *(struct worker_start *)p;
	struct threadpool *tp = start.tp;
	free(p);
	unsigned long seen = 0;
	pthread_mutex_lock(&tp->lock);
	for (;;) {
		while (!tp->stop && tp->generation == seen)
			pthread_cond_wait(&tp->work_ready, &tp->lock);
		if (tp->stop)
			break;
		seen = tp->generation;
		threadpool_fn *fn = tp->fn;
		void *arg = tp->arg;
		pthread_mutex_unlock(&tp->lock);
		fn(arg, start.ith, tp->n_threads);
		pthread_mutex_lock(&tp->lock);
		if (--tp->pending == 0)
			pthread_cond_signal(&tp->work_done);
	}
	pthread_mutex_unlock(&tp->lock);
	return NULL;
}

struct threadpool *threadpool_init(int n_threads)
{
	struct threadpool *tp = xcalloc(1, sizeof *tp);
	tp->n_threads = n_threads < 1 ? 1 : n_threads;
	tp->threads = xcalloc((size_t)tp->n_threads, sizeof *tp->threads);
	pthread_mutex_init(&tp->lock, NULL);
	pthread_cond_init(&tp->work_ready, NULL);
	pthread_cond_init(&tp->work_done, NULL);

	/* Workers never handle signals: the UI thread owns them. */
	sigset_t all, old;
	sigfillset(&all);
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
	tp->stop = true;
	pthread_cond_broadcast(&tp->work_ready);
	pthread_mutex_unlock(&tp->lock);
	for (int i = 1; i < tp->n_threads; i++)
		pthread_join(tp->threads[i], NULL);
	pthread_mutex_destroy(&tp->lock);
	pthread_cond_destroy(&tp->work_ready);
	pthread_cond_destroy(&tp->work_done);
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
	pthread_mutex_lock(&tp->lock);
	tp->fn = fn;
	tp->arg = arg;
	tp->pending = tp->n_threads - 1;
	tp->generation++;
	pthread_cond_broadcast(&tp->work_ready);
	pthread_mutex_unlock(&tp->lock);

	fn(arg, 0, tp->n_threads);

	pthread_mutex_lock(&tp->lock);
	while (tp->pending > 0)
		pthread_cond_wait(&tp->work_done, &tp->lock);
	pthread_mutex_unlock(&tp->lock);
}
