/*
 * libFuzzer target: a whole request, entered the way a live one enters:
 * cgi/b24hook.c's own main (compiled as b24hook_main) run as plain CGI,
 * with the request's variables in the environment and its body on
 * stdin, against a real allow-list and log directory.
 *
 * Input: header lines "NAME=VALUE\n" up to an empty line, then the body.
 * NAME is REQUEST_METHOD, CONTENT_TYPE, CONTENT_LENGTH or
 * B24HOOK_MAX_BODY (others are ignored; absent ones are unset).
 * CONTENT_LENGTH=* stands for the body's real length, so that mutated
 * bodies still reach the decoders.
 *
 * Checked on every input, beyond "no crash, no leak, no undefined
 * behaviour": the reply starts "Status: NNN" with a documented status;
 * a 200 {"records":N} left exactly N new lines in the logs, each a JSON
 * object with no auth member; any other reply left the log directory
 * empty.
 *
 * Environment: B24HOOK_FUZZ_ALLOWLIST, the allow-list file (default
 * tests/fixtures/events/allow.txt); B24HOOK_FUZZ_WORK, an existing
 * directory for the log directory (default: a new one under /tmp).
 * Run with -close_fd_mask=2 to silence the operator lines.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int b24hook_main(void); /* cgi/b24hook.c's main */

/* bytes: the most of a reply we read back (REPLY_SIZE is 256) */
#define REPLY_MAX 4096

static const char *const names[] = {
	"REQUEST_METHOD",
	"CONTENT_TYPE",
	"CONTENT_LENGTH",
	"B24HOOK_MAX_BODY",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

static char log_dir[4096];
static int in_fd, out_fd;

static void
die(const char *what)
{
	perror(what);
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *allow = getenv("B24HOOK_FUZZ_ALLOWLIST");
	const char *work = getenv("B24HOOK_FUZZ_WORK");
	char tmpl[] = "/tmp/b24hook-fuzz.XXXXXX";

	(void)argc;
	(void)argv;
	if (allow == NULL)
		allow = "tests/fixtures/events/allow.txt";
	if (access(allow, R_OK) == -1)
		die(allow);
	if (work == NULL && (work = mkdtemp(tmpl)) == NULL)
		die("mkdtemp");
	snprintf(log_dir, sizeof(log_dir), "%s/logs.%d", work, (int)getpid());
	if (mkdir(log_dir, 0700) == -1 && errno != EEXIST)
		die(log_dir);
	setenv("B24HOOK_ALLOWLIST", allow, 1);
	setenv("B24HOOK_LOG_DIR", log_dir, 1);
	/* stdin and stdout: in-memory files the responder reads and writes */
	if ((in_fd = memfd_create("body", 0)) == -1 ||
	    (out_fd = memfd_create("reply", 0)) == -1)
		die("memfd_create");
	return 0;
}

/* set the request's variables from the header lines; returns the body */
static const uint8_t *
request_env(const uint8_t *data, size_t size, size_t *body_len)
{
	const uint8_t *p = data, *end = data + size, *nl, *eq;
	char name[32], *value;
	size_t i, n;

	for (i = 0; i < NNAMES; i++)
		unsetenv(names[i]);
	while (p < end && (nl = memchr(p, '\n', end - p)) != NULL && nl != p) {
		eq = memchr(p, '=', nl - p);
		n = eq != NULL ? (size_t)(eq - p) : 0;
		if (eq != NULL && n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			value = strndup((const char *)eq + 1, nl - eq - 1);
			for (i = 0; i < NNAMES && value != NULL; i++)
				if (strcmp(name, names[i]) == 0)
					setenv(name, value, 1);
			free(value);
		}
		p = nl + 1;
	}
	if (p < end && *p == '\n')
		p++;
	*body_len = end - p;
	return p;
}

/* the log directory's files: total newlines, each line checked */
static size_t
log_lines(int remove)
{
	char path[4400], *data;
	struct dirent *d;
	struct stat st;
	size_t lines = 0;
	const char *p, *nl;
	json_t *r;
	DIR *dir;
	int fd;

	if ((dir = opendir(log_dir)) == NULL)
		die(log_dir);
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", log_dir, d->d_name);
		if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
			die(path);
		if ((data = malloc(st.st_size + 1)) == NULL ||
		    read(fd, data, st.st_size) != st.st_size)
			die("read log");
		close(fd);
		/* whole lines, each a record without auth */
		if (st.st_size > 0 && data[st.st_size - 1] != '\n')
			abort();
		for (p = data; p < data + st.st_size; p = nl + 1) {
			nl = memchr(p, '\n', data + st.st_size - p);
			r = json_loadb(p, nl - p, JSON_ALLOW_NUL, NULL);
			if (!json_is_object(r) ||
			    json_object_get(r, "auth") != NULL)
				abort();
			json_decref(r);
			lines++;
		}
		free(data);
		if (remove && unlink(path) == -1)
			die(path);
	}
	closedir(dir);
	return lines;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int statuses[] = { 200, 400, 403, 405, 411, 413, 415,
		500, 503 };
	char reply[REPLY_MAX + 1], len[32];
	const uint8_t *body;
	const char *json;
	size_t body_len, i;
	ssize_t n;
	json_t *r;
	int status;

	body = request_env(data, size, &body_len);
	if (getenv("CONTENT_LENGTH") != NULL &&
	    strcmp(getenv("CONTENT_LENGTH"), "*") == 0) {
		snprintf(len, sizeof(len), "%zu", body_len);
		setenv("CONTENT_LENGTH", len, 1);
	}
	if (ftruncate(in_fd, 0) == -1 || ftruncate(out_fd, 0) == -1 ||
	    pwrite(in_fd, body, body_len, 0) != (ssize_t)body_len ||
	    lseek(out_fd, 0, SEEK_SET) == -1 || dup2(in_fd, 0) == -1 ||
	    dup2(out_fd, 1) == -1) /* each time: -close_fd_mask moves fd 1 */
		die("request setup");
	rewind(stdin); /* drop what the last request left buffered */

	if (b24hook_main() != 0)
		abort();
	/* b24hook_main gave jansson its responder's arena, gone with it */
	json_set_alloc_funcs(malloc, free);

	fflush(stdout);
	if ((n = pread(out_fd, reply, REPLY_MAX, 0)) <= 0)
		abort(); /* no reply at all */
	reply[n] = '\0';
	if (sscanf(reply, "Status: %d ", &status) != 1)
		abort();
	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i] == status)
			break;
	if (i == sizeof(statuses) / sizeof(statuses[0]))
		abort();
	if ((json = strstr(reply, "\r\n\r\n")) == NULL ||
	    (r = json_loads(json + 4, 0, NULL)) == NULL)
		abort();
	if (status == 200) {
		if (log_lines(1) !=
		    (size_t)json_integer_value(json_object_get(r, "records")))
			abort(); /* accepted but not stored, or more */
	} else if (log_lines(1) != 0)
		abort(); /* refused yet written */
	json_decref(r);
	return 0;
}
