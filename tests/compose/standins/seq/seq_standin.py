"""A Seq stand-in for the compose system test: POST /ingest/clef (and /api/events/raw) with CLEF lines are
appended to /data/events.clef and answered 201, as Seq does; GET /api/standin/events returns them,
GET /api/standin/apikeys the X-Seq-ApiKey values the posts carried, GET /api/standin/firstrun whether a first-run
admin password was given, GET / says what this is. Like the real image it refuses to start without ACCEPT_EULA=Y."""
import http.server
import json
import os
import threading

EVENTS = "/data/events.clef"
lock = threading.Lock()
api_keys = set()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        if self.path.split("?")[0] not in ("/ingest/clef", "/api/events/raw"):
            return self.answer(404, {"Error": f"no endpoint {self.path}"})
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
        lines = [line for line in body.splitlines() if line.strip()]
        for line in lines:
            try:
                json.loads(line)
            except ValueError:
                return self.answer(400, {"Error": f"not a CLEF line: {line[:80]}"})
        with lock, open(EVENTS, "a", encoding="utf-8") as out:
            api_keys.add(self.headers.get("X-Seq-ApiKey") or "")
            out.write("".join(line + "\n" for line in lines))
        self.answer(201, {"MinimumLevelAccepted": None})

    def do_GET(self):
        if self.path == "/api/standin/events":
            with lock:
                text = open(EVENTS, encoding="utf-8").read() if os.path.exists(EVENTS) else ""
            return self.answer(200, text, "application/vnd.serilog.clef")
        if self.path == "/api/standin/firstrun":
            return self.answer(200, FIRSTRUN)
        if self.path == "/api/standin/apikeys":
            with lock:
                return self.answer(200, sorted(api_keys))
        self.answer(200, "Seq stand-in of the IcosFl compose system test\n", "text/plain")

    def answer(self, status, body, content_type="application/json"):
        data = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


# As the real image: it does not start until the EULA is accepted. Without a first-run admin password Seq starts
# with authentication off, which the compose file does not want: /api/standin/firstrun says which it got.
if os.environ.get("ACCEPT_EULA") != "Y":
    raise SystemExit("Seq stand-in: ACCEPT_EULA=Y is required to run Seq, as by datalust/seq")
FIRSTRUN = {"adminPassword": bool(os.environ.get("SEQ_FIRSTRUN_ADMINPASSWORD") or os.environ.get("SEQ_FIRSTRUN_ADMINPASSWORDHASH"))}
http.server.ThreadingHTTPServer(("0.0.0.0", 80), Handler).serve_forever()
