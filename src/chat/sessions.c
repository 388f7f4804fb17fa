/* sessions.c - names of autosaved conversations. */
#include "config.h"

#include "chat/sessions.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"

/* Whether a file can be created next to path (a probe, removed at once). */
static int check_writable(char *path)
{
	if (make_parent_dirs(path) < 0)
		return -1;
	char *slash = strrchr(path, '/');
	struct strbuf probe = { 0 };
	strbuf_append(&probe, path, (size_t)(slash - path));
	strbuf_append(&probe, "/.probeXXXXXX", 13);
	int fd = mkstemp(probe.data);
	if (fd < 0) {
		probe.data[slash - path] = '\0';
		error("cannot write in '%s': %s", probe.data, strerror(errno));
		strbuf_free(&probe);
		return -1;
	}
	close(fd);
	unlink(probe.data);
	strbuf_free(&probe);
	return 0;
}

int sessions_check_dir(void)
{
	char *session = xdg_path("XDG_STATE_HOME", ".local/state", "sessions/x", false);
	if (!session)
		return error("neither XDG_STATE_HOME nor HOME is set");
	/* The history and the log lie one folder above the sessions. */
	char *above = xstrdup(session);
	*strrchr(above, '/') = '\0';
	int rc = check_writable(above) == 0 && check_writable(session) == 0 ? 0 : -1;
	free(above);
	free(session);
	return rc;
}

char *sessions_new_path(void)
{
	char name[64];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	size_t n = strftime(name, sizeof name, "sessions/%Y%m%d-%H%M%S", &tm);
	snprintf(name + n, sizeof name - n, "-%ld.json", (long)getpid());
	char *path = xdg_path("XDG_STATE_HOME", ".local/state", name, true);
	if (!path)
		error("neither XDG_STATE_HOME nor HOME is set");
	return path;
}

char *sessions_latest(void)
{
	char *dir = xdg_path("XDG_STATE_HOME", ".local/state", "sessions", false);
	if (!dir) {
		error("neither XDG_STATE_HOME nor HOME is set");
		return NULL;
	}
	DIR *d = opendir(dir);
	char *best = NULL;
	struct timespec best_time = { 0, 0 };
	struct dirent *e;
	while (d && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		struct strbuf path = { 0 };
		strbuf_append(&path, dir, strlen(dir));
		strbuf_append(&path, "/", 1);
		strbuf_append(&path, e->d_name, len);
		struct stat st;
		bool newer = stat(path.data, &st) == 0 && S_ISREG(st.st_mode) &&
			     (st.st_mtim.tv_sec > best_time.tv_sec ||
			      (st.st_mtim.tv_sec == best_time.tv_sec && st.st_mtim.tv_nsec > best_time.tv_nsec));
		if (newer) {
			free(best);
			best = path.data;
			best_time = st.st_mtim;
		} else {
			strbuf_free(&path);
		}
	}
	if (d)
		closedir(d);
	if (!best)
		error("no saved conversation in '%s'", dir);
	free(dir);
	return best;
}
