-- wrk script: POST one iris row as JSON (wrk -s bench/predict.lua URL).
-- Override the body with the WRK_BODY environment variable.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("WRK_BODY") or '{"features": [5.1, 3.5, 1.4, 0.2]}'
