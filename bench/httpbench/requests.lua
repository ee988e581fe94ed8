-- wrk script of the HTTP benchmark (bench/http_load.py): sends pre-built requests read from a file,
-- each request a different line, so that every check-in hits another code and every scan
-- carries another token. One request a line, tab-separated:
--
--   METHOD  PATH  AUTHORIZATION (or -)  BODY (JSON, may be empty)
--
-- Arguments after "--": the file, the first line to send (0-based, so a measured run
-- continues where its warm-up stopped), and wrk's thread count. Thread i of n sends lines
-- first+i, first+i+n, ... (wrapping around at the end of the file, and then again). Answers other than 2xx are counted
-- and the first one is kept; done() prints one line "WRKRESULT {json}" for bench/http_load.py.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local path, first, nthreads = args[1], tonumber(args[2] or "0"), tonumber(args[3] or "1")
  local lines = {}
  for line in io.lines(path) do table.insert(lines, line) end
  local total = #lines
  if total == 0 then error("no requests in " .. path) end
  -- This thread's share of the lines, starting at line `first` (wrapping around).
  local own = id < total and math.ceil((total - id) / nthreads) or 1
  requests = {}
  for k = 0, own - 1 do
    local line = lines[(first + id + k * nthreads) % total + 1]
    local method, target, auth, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t?(.*)$")
    local headers = {}
    if auth ~= "-" then headers["Authorization"] = auth end
    if body ~= "" then
      headers["Content-Type"] = "application/json"
    else
      body = nil
    end
    table.insert(requests, wrk.format(method, target, headers, body))
  end
  nlines, sent, non2xx, bad_status, bad_body = #requests, 0, 0, 0, ""
end

function request()
  sent = sent + 1
  return requests[(sent - 1) % #requests + 1]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if bad_status == 0 then
      bad_status = status
      bad_body = (body or ""):sub(1, 400)
    end
  end
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

function done(summary, latency, _)
  local non2xx_total, bad_status_first, bad_body_first, sent_total, lines = 0, 0, "", 0, 0
  for _, thread in ipairs(threads) do
    non2xx_total = non2xx_total + thread:get("non2xx")
    sent_total = sent_total + thread:get("sent")
    lines = lines + thread:get("nlines")
    if bad_status_first == 0 and thread:get("bad_status") ~= 0 then
      bad_status_first = thread:get("bad_status")
      bad_body_first = thread:get("bad_body")
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKRESULT {"requests": %d, "sent": %d, "lines": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"non2xx": %d, "latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}, ' ..
    '"first_bad_status": %d, "first_bad_body": %s}\n',
    summary.requests, sent_total, lines, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    non2xx_total, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max,
    bad_status_first, json_string(bad_body_first)))
end
