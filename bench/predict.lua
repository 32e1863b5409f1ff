-- wrk script: POST a JSON body (wrk -s bench/predict.lua URL).
-- The body is one iris row, or the contents of the file named by WRK_BODY_FILE.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"features": [5.1, 3.5, 1.4, 0.2]}'
local path = os.getenv("WRK_BODY_FILE")
if path then
  local f = assert(io.open(path, "rb"))
  wrk.body = f:read("*a")
  f:close()
end
