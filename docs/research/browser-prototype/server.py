#!/usr/bin/env python3
"""Tiny HTTPS test site on 127.0.0.1 (standard library only).

  GET  /login        login form (username/password)
  POST /login        alice/s3cret -> Set-Cookie session=..., 303 to /home; else 401 + form
  GET  /home         needs the session cookie (else 303 to /login); its JS fetches /api/me (200) and /api/admin (403)
  GET  /api/me       200 JSON with the cookie, 401 without
  GET  /api/admin    always 403 JSON
  GET  /favicon.ico  204
  GET  /basic        HTTP basic auth, bob/hunter2, else 401 + WWW-Authenticate

Usage: server.py CERT_CHAIN KEY [PORT]   (PORT 0 = any free port; prints 'LISTENING <port>' on stdout)
"""
import base64, html, http.server, json, secrets, ssl, sys, urllib.parse

SESSIONS = {}
USERS = {"alice": "s3cret"}
BASIC = ("bob", "hunter2")

FORM = """<!doctype html><html><head><meta charset="utf-8"><title>Sign in</title>
<style>body{font-family:sans-serif;margin:40px} label{display:block;margin:8px 0} .err{color:#b00}</style></head>
<body><h1>Sign in</h1>%s
<form method="post" action="/login">
<label>Username <input id="username" name="username" autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
<button id="submit" type="submit">Sign in</button>
</form></body></html>"""

HOME = """<!doctype html><html><head><meta charset="utf-8"><title>Home</title>
<style>body{font-family:sans-serif;margin:40px} #admin{color:#b00}</style></head>
<body><h1 id="welcome">Welcome, %s</h1>
<p>Unicode check: Grüße, naïve café, 東京 (CJK needs a CJK font), ✓</p>
<p id="me">me: …</p><p id="admin">admin: …</p>
<script>
fetch('/api/me').then(r => r.json().then(j => { document.getElementById('me').textContent = 'me: ' + r.status + ' ' + j.user; }));
fetch('/api/admin').then(r => { document.getElementById('admin').textContent = 'admin: ' + r.status + ' ' + r.statusText; });
</script></body></html>"""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet; errors still go to stderr via log_error
        pass

    def _send(self, code, body, ctype="text/html; charset=utf-8", headers=()):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _user(self):
        for part in self.headers.get("Cookie", "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == "session" and v in SESSIONS:
                return SESSIONS[v]
        return None

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path in ("/", "/login"):
            return self._send(200, FORM % "")
        if path == "/home":
            user = self._user()
            if not user:
                return self._send(303, "", headers=[("Location", "/login")])
            return self._send(200, HOME % html.escape(user))
        if path == "/api/me":
            user = self._user()
            if not user:
                return self._send(401, json.dumps({"error": "no session"}), "application/json")
            return self._send(200, json.dumps({"user": user}), "application/json")
        if path == "/favicon.ico":
            return self._send(204, "", "image/x-icon")
        if path == "/api/admin":
            return self._send(403, json.dumps({"error": "forbidden"}), "application/json")
        if path == "/basic":
            want = "Basic " + base64.b64encode(("%s:%s" % BASIC).encode()).decode()
            if self.headers.get("Authorization") != want:
                return self._send(401, "auth required", "text/plain", [("WWW-Authenticate", 'Basic realm="proto"')])
            return self._send(200, "<!doctype html><h1 id=basic>Basic auth OK for %s</h1>" % BASIC[0])
        return self._send(404, "not found", "text/plain")

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        n = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        if path != "/login":
            return self._send(404, "not found", "text/plain")
        u, p = form.get("username", [""])[0], form.get("password", [""])[0]
        if USERS.get(u) != p:
            return self._send(401, FORM % '<p class="err" id="error">Wrong username or password</p>')
        token = secrets.token_urlsafe(16)
        SESSIONS[token] = u
        return self._send(303, "", headers=[
            ("Set-Cookie", "session=%s; Path=/; HttpOnly; Secure; SameSite=Lax" % token),
            ("Location", "/home")])


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A browser that closes a connection mid-response (e.g. on browser.close()) is not an error here.
        if isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def main():
    cert, key = sys.argv[1], sys.argv[2]
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    srv = Server(("127.0.0.1", port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("LISTENING %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
