-- wrk script of the benchmark: POST a sticky note, each request on the next of the boards listed in
-- the environment variable TB_BOARDS ("12,13,14"), so that writes do not queue on one board's row.
-- The Authorization header comes from wrk -H.
local boards = {}
for id in string.gmatch(os.getenv("TB_BOARDS") or "", "%d+") do
   boards[#boards + 1] = "/api/v1/boards/" .. id .. "/items"
end
local n = 0
wrk.method = "POST"
wrk.body = '{"text":"a note from wrk"}'
wrk.headers["Content-Type"] = "application/json"

function init(args)
   -- a different starting board per thread
   n = math.random(#boards)
end

function request()
   n = n % #boards + 1
   return wrk.format(nil, boards[n])
end
