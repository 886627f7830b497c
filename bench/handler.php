<?php
/*
 * The peer: the Bitrix24 event handler integrators write today, under
 * php-fpm.  $_POST as PHP decodes the form, the token checked with
 * hash_equals against the same allow-list file as b24hook (read on every
 * request, as b24hook re-stats it), one JSON line per item appended to
 * the portal's log with FILE_APPEND | LOCK_EX, and the same replies.
 *
 * It is given the benefit of every doubt: all lines of a request go in
 * one append (one open and lock, like b24hook), and the record is lighter
 * than b24hook's (no normalised ids, no key).
 *
 * bench/pipeline.php includes this file for the functions only.
 */

/* [member_id => [token, ...]] from the allow-list text */
function b24_allowlist(string $text): array
{
	$list = [];
	foreach (explode("\n", $text) as $line) {
		$f = preg_split('/[ \t\r]+/', $line, 3, PREG_SPLIT_NO_EMPTY);
		if (count($f) < 2 || $f[0][0] === '#')
			continue;
		$list[$f[0]][] = $f[1];
	}
	return $list;
}

/* '' when the portal and token are listed, else the 403's reason */
function b24_verify(array $list, string $member, string $token): string
{
	if (!isset($list[$member]))
		return 'unknown_portal';
	$ok = false;
	foreach ($list[$member] as $t)
		$ok = hash_equals($t, $token) || $ok;
	return $ok ? '' : 'token_mismatch';
}

/* the items of data: MESSAGES[i], DATA[i] or DATA itself, else data */
function b24_items($data): array
{
	$items = null;
	if (is_array($data))
		$items = $data['MESSAGES'] ?? $data['DATA'] ?? null;
	if (!is_array($items) || count($items) === 0)
		return [$data];
	return array_is_list($items) ? $items : [$items];
}

/* the JSON lines of one decoded event */
function b24_records(array $post, string $member): string
{
	$t = microtime(true);
	$received = gmdate('Y-m-d\TH:i:s', (int)$t) .
	    sprintf('.%06dZ', (int)(($t - floor($t)) * 1e6));
	$items = b24_items($post['data'] ?? null);
	$n = count($items);
	$lines = '';
	foreach ($items as $i => $item)
		$lines .= json_encode([
		    'v' => 1,
		    'received' => $received,
		    'event' => strtoupper($post['event']),
		    'event_handler_id' => (int)($post['event_handler_id'] ??
			$post['eventId'] ?? 0),
		    'ts' => (int)($post['ts'] ?? 0),
		    'member_id' => $member,
		    'domain' => $post['auth']['domain'] ?? null,
		    'item' => $i,
		    'items' => $n,
		    'data' => $item,
		], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE) . "\n";
	return $lines;
}

function b24_reply(int $status, string $error, int $records = 0): void
{
	http_response_code($status);
	header('Content-Type: application/json');
	if ($error === '') {
		echo '{"status":"ok","records":', $records, "}\n";
		return;
	}
	echo '{"status":"error","error":"', $error, "\"}\n";
}

function b24_handle(): void
{
	$event = $_POST['event'] ?? null;
	$member = $_POST['auth']['member_id'] ?? null;
	$token = $_POST['auth']['application_token'] ?? null;
	if (!is_string($event) || $event === '') {
		b24_reply(400, 'not_an_event');
		return;
	}
	if (!is_string($member) || !is_string($token) || $token === '') {
		b24_reply(400, 'missing_auth');
		return;
	}
	$text = @file_get_contents($_SERVER['B24HOOK_ALLOWLIST']);
	if ($text === false) {
		b24_reply(500, 'config_error');
		return;
	}
	$why = b24_verify(b24_allowlist($text), $member, $token);
	if ($why !== '') {
		error_log('b24hook-php: 403 forbidden reason="' . $why .
		    '" member_id=' . preg_replace('/[^A-Za-z0-9_-]/', '?',
		    substr($member, 0, 64)));
		b24_reply(403, 'forbidden');
		return;
	}
	$lines = b24_records($_POST, $member);
	$path = $_SERVER['B24HOOK_LOG_DIR'] . '/' . $member . '.jsonl';
	if (file_put_contents($path, $lines, FILE_APPEND | LOCK_EX) !==
	    strlen($lines)) {
		b24_reply(503, 'storage_unavailable');
		return;
	}
	b24_reply(200, '', substr_count($lines, "\n"));
}

if (PHP_SAPI !== 'cli')
	b24_handle();
