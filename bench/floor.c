/*
 * The benchmark's floor: the least a libfcgi responder can do.  It reads
 * the whole body and answers 200 with a JSON body of the same shape as
 * b24hook's, and does nothing else, so what it costs is the nginx ->
 * FastCGI path itself.  Started by spawn-fcgi like b24hook.
 */
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

/* bytes read from the body at a time */
#define CHUNK 16384

static const char reply[] = "Status: 200 OK\r\n"
			    "Content-Type: application/json\r\n\r\n"
			    "{\"status\":\"ok\",\"records\":0}\n";

int
main(void)
{
	FCGX_Request req;
	char buf[CHUNK];

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		while (FCGX_GetStr(buf, sizeof(buf), req.in) > 0)
			;
		FCGX_PutStr(reply, sizeof(reply) - 1, req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}
