/* sigpipe.c - the self-pipe for signals. */
#include "config.h"

#include "base/sigpipe.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

static int fds[2] = { -1, -1 };
static atomic_bool *interrupt_flag;
static int caught[32];
static size_t n_caught;

static void on_signal(int sig)
{
	int saved = errno;
	if ((sig == SIGINT || sig == SIGTERM || sig == SIGHUP) && interrupt_flag)
		atomic_store(interrupt_flag, true);
	unsigned char b = (unsigned char)sig;
	if (write(fds[1], &b, 1) < 0) {
		/* the pipe is full: a wakeup is already pending */
	}
	errno = saved;
}

int sigpipe_open(const int *sigs, size_t n, atomic_bool *on_stop)
{
	if (pipe(fds) < 0)
		return error("cannot create a pipe: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
		fcntl(fds[i], F_SETFD, FD_CLOEXEC);
	}
	interrupt_flag = on_stop;
	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	n_caught = 0;
	for (size_t i = 0; i < n && n_caught < ARRAY_LEN(caught); i++) {
		sigaction(sigs[i], &sa, NULL);
		caught[n_caught++] = sigs[i];
	}
	return 0;
}

void sigpipe_close(void)
{
	for (size_t i = 0; i < n_caught; i++)
		signal(caught[i], SIG_DFL);
	n_caught = 0;
	close(fds[0]);
	close(fds[1]);
	fds[0] = fds[1] = -1;
	interrupt_flag = NULL;
}

int sigpipe_fd(void)
{
	return fds[0];
}

unsigned sigpipe_take(void)
{
	unsigned char buf[64];
	unsigned seen = 0;
	ssize_t n;
	while ((n = read(fds[0], buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < n; i++)
			seen |= 1u << (buf[i] & 31);
	return seen;
}
