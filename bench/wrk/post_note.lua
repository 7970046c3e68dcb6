-- wrk script of the benchmark: POST a sticky note (the Authorization header comes from wrk -H).
wrk.method = "POST"
wrk.body = '{"text":"a note from wrk"}'
wrk.headers["Content-Type"] = "application/json"
