-- wrk script for make bench: POSTs the bodies named after "--" in turn,
-- form-encoded as a portal sends them, and counts the replies: 200s and
-- the records they acknowledge ({"status":"ok","records":N}), 403s, and
-- anything else.  With "limit=N" first, each thread stops after N
-- replies.  done() prints one line for bench/run.sh:
-- RESULT requests= seconds= rps= p50_us= p99_us= ok= records= refused=
-- other= errors=

local bodies = {}
local requests = {}
local next_body = 0
local limit = 0
ok, records, refused, other, replies = 0, 0, 0, 0, 0

local threads = {}

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	for _, a in ipairs(args) do
		local n = a:match("^limit=(%d+)$")
		if n then
			limit = tonumber(n)
		else
			local f = assert(io.open(a, "rb"))
			table.insert(bodies, f:read("*a"))
			f:close()
		end
	end
	for i, b in ipairs(bodies) do
		requests[i] = wrk.format("POST", nil, {
			["Content-Type"] = "application/x-www-form-urlencoded",
		}, b)
	end
end

function request()
	next_body = next_body % #requests + 1
	return requests[next_body]
end

function response(status, headers, body)
	replies = replies + 1
	if status == 200 then
		ok = ok + 1
		records = records + tonumber(body:match('"records":(%d+)') or 0)
	elseif status == 403 then
		refused = refused + 1
	else
		other = other + 1
	end
	if limit > 0 and replies == limit then
		-- wrk's main thread sleeps for -d; its SIGINT handler ends
		-- the run as at the end of -d.  The shell's parent is wrk;
		-- the kill waits until system() has put SIGINT's handler back
		wrk.thread:stop()
		os.execute("(sleep 0.2; kill -INT $PPID) >/dev/null 2>&1 &")
	end
end

function done(summary, latency, requests)
	local t = { ok = 0, records = 0, refused = 0, other = 0 }
	for _, thread in ipairs(threads) do
		for k in pairs(t) do
			t[k] = t[k] + thread:get(k)
		end
	end
	local e = summary.errors
	local seconds = summary.duration / 1e6
	io.write(string.format("RESULT requests=%d seconds=%.3f rps=%.1f " ..
	    "p50_us=%d p99_us=%d ok=%d records=%d refused=%d other=%d " ..
	    "errors=%d\n", summary.requests, seconds,
	    summary.requests / seconds, latency:percentile(50),
	    latency:percentile(99), t.ok, t.records, t.refused, t.other,
	    e.connect + e.read + e.write + e.timeout))
end
