/*
 * The benchmark's CGI floor: a minimal C CGI program.  It reads
 * CONTENT_LENGTH bytes of body from stdin and answers 200 with a JSON
 * body of the same shape as b24hook's, and does nothing else, so what it
 * costs is fcgiwrap's fork and exec of a small C program.
 */
#include <stdio.h>
#include <stdlib.h>

/* bytes read from the body at a time */
#define CHUNK 16384

int
main(void)
{
	const char *cl = getenv("CONTENT_LENGTH");
	size_t left = cl != NULL ? strtoul(cl, NULL, 10) : 0, n;
	char buf[CHUNK];

	while (left > 0 &&
	    (n = fread(buf, 1, left < sizeof(buf) ? left : sizeof(buf),
		 stdin)) > 0)
		left -= n;
	fputs("Status: 200 OK\r\n"
	      "Content-Type: application/json\r\n\r\n"
	      "{\"status\":\"ok\",\"records\":0}\n",
	    stdout);
	return 0;
}
