/* sigbus.c - SIGBUS from a model file changed under nibble (see sigbus.h). */
#include "config.h"

#include "base/sigbus.h"

#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved;
static bool have_saved;
static volatile sig_atomic_t screen_stderr = -1;

/* Only async-signal-safe calls: restore the terminal, say why, exit. */
static void on_sigbus(int sig)
{
	(void)sig;
	static const char leave[] = "\033[0m\033[?25h\033[?1049l";
	static const char msg[] = "nibble: the model file was changed or cut short on disk while in use\n";
	if (have_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	int err = screen_stderr;
	if (err >= 0 && write(STDOUT_FILENO, leave, sizeof leave - 1) < 0) {
		/* nothing more can be done */
	}
	if (write(err >= 0 ? err : STDERR_FILENO, msg, sizeof msg - 1) < 0) {
		/* as above */
	}
	_exit(1);
}

void sigbus_catch(void)
{
	have_saved = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigbus;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

void sigbus_screen(int stderr_fd)
{
	screen_stderr = stderr_fd;
}

void sigbus_worker_mask(sigset_t *set)
{
	sigfillset(set);
	sigdelset(set, SIGBUS);
	sigdelset(set, SIGSEGV);
	sigdelset(set, SIGFPE);
	sigdelset(set, SIGILL);
}
