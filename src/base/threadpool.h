/* threadpool.h - persistent worker threads for the CPU backend.  No thread
 * is created per op; between jobs workers spin for at most a few
 * milliseconds, then sleep, so nothing burns CPU while the program is idle. */
#ifndef NIBBLE_THREADPOOL_H
#define NIBBLE_THREADPOOL_H

struct threadpool;

/* A job: called once on each of nth threads with ith = 0..nth-1. */
typedef void threadpool_fn(void *arg, int ith, int nth);

/* Starts n_threads - 1 workers (the caller of threadpool_run is thread 0).
 * Returns NULL with error() set when a thread cannot be created. */
struct threadpool *threadpool_init(int n_threads);
void threadpool_free(struct threadpool *tp);
int threadpool_size(const struct threadpool *tp);

/* Runs fn on every thread and returns when all have finished.
 * Only one thread may call this at a time. */
void threadpool_run(struct threadpool *tp, threadpool_fn *fn, void *arg);

#endif
