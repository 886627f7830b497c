<?php
/*
 * The in-process benchmark's PHP side, the twin of bench/pipeline.c: the
 * handler's own functions (handler.php) over each body without any I/O --
 * parse_str, hash_equals against the allow-list parsed once, one
 * json_encode per item into a string.
 *
 *	php pipeline.php -t SECONDS ALLOWLIST BODY...
 *		per body: "name events_per_s ns_per_event records", the
 *		median of three timed runs of about SECONDS each
 *	php pipeline.php -n COUNT ALLOWLIST BODY
 *		exactly COUNT events, for callgrind
 */
require __DIR__ . '/handler.php';

/* one event through the pipeline; returns its number of records */
function b24_pipeline(array $list, string $body): int
{
	parse_str($body, $post);
	$member = $post['auth']['member_id'] ?? null;
	$token = $post['auth']['application_token'] ?? null;
	if (!is_string($post['event'] ?? null) || !is_string($member) ||
	    !is_string($token) || b24_verify($list, $member, $token) !== '')
		return 0;
	return substr_count(b24_records($post, $member), "\n");
}

/* ns per event over count events */
function b24_time(array $list, string $body, int $count): float
{
	$t0 = hrtime(true);
	for ($i = 0; $i < $count; $i++)
		b24_pipeline($list, $body);
	return (hrtime(true) - $t0) / $count;
}

[$mode, $arg, $allow] = [$argv[1], (float)$argv[2], $argv[3]];
$list = b24_allowlist(file_get_contents($allow));
foreach (array_slice($argv, 4) as $path) {
	$body = file_get_contents($path);
	if ($mode === '-n') {
		for ($i = 0; $i < (int)$arg; $i++)
			b24_pipeline($list, $body);
		continue;
	}
	$records = b24_pipeline($list, $body);
	/* calibrate: about a tenth of the time, then three timed runs */
	$count = 1;
	while (($ns = b24_time($list, $body, $count)) * $count < 1e8 * $arg)
		$count *= 2;
	$count = max(1, (int)($arg * 1e9 / $ns));
	$runs = [];
	for ($r = 0; $r < 3; $r++)
		$runs[] = b24_time($list, $body, $count);
	sort($runs);
	printf("%s %.0f %.0f %d\n", basename($path, '.form'), 1e9 / $runs[1],
	    $runs[1], $records);
}
