-- wrk script of bench/gateway.sh: every request is a GET for ServiceB carrying a live session, as a
-- client of the gateway sends it. The bare proxy gets the very same bytes and forwards them as they
-- are, so both runs send identical requests.
--
--   BENCH_SESSION=<session token> wrk -s bench/session.lua http://127.0.0.1:8080/

local session = os.getenv("BENCH_SESSION")
if session == nil or session == "" then
  error("BENCH_SESSION must hold a ServiceB session token (bench/make_session.py prints one)")
end

wrk.method = "GET"
wrk.path = os.getenv("BENCH_PATH") or "/"
wrk.headers["Host"] = os.getenv("BENCH_HOST") or "service-b.localhost"
wrk.headers["Authorization"] = "Bearer " .. session
