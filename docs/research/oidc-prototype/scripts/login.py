#!/usr/bin/env python3
"""Drives a browser's authorization-code login through oauth2-proxy and Dex, with the standard library only.

    login.py START_URL EMAIL PASSWORD [--expect-denied]

Follows every redirect by hand (printing each hop), keeps cookies in a cookie jar as a browser would
(Secure cookies only go back over https), fills Dex's password form when it is served, and stops at the
first response that is not a redirect. Prints the session cookie's attributes and writes the cookie jar
(Netscape format) to /tmp/oidc-proto/logs/cookies-USER.txt for later requests.
"""
import http.cookiejar
import re
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

CA = "/tmp/oidc-proto/tls/ca.crt"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def opener(jar):
    ctx = ssl.create_default_context(cafile=CA)
    return urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=ctx),
        urllib.request.HTTPCookieProcessor(jar),
        NoRedirect,
    )


def fetch(op, url, data=None):
    req = urllib.request.Request(url, data=data)
    try:
        resp = op.open(req, timeout=10)
    except urllib.error.HTTPError as e:  # 3xx (no redirect handler) and 4xx/5xx land here
        resp = e
    body = resp.read().decode("utf-8", "replace")
    return resp.status, resp.headers, body


def main():
    start, user, password = sys.argv[1:4]
    expect_denied = "--expect-denied" in sys.argv
    jar = http.cookiejar.MozillaCookieJar(f"/tmp/oidc-proto/logs/cookies-{user.split('@')[0]}.txt")
    op = opener(jar)
    url, data, hops = start, None, 0
    raw_set_cookies = []
    while hops < 20:
        hops += 1
        status, headers, body = fetch(op, url, data)
        method = "POST" if data else "GET"
        shown = re.sub(r"(code|state)=[^&]+", r"\1=…", url)
        print(f"{hops:2d}. {method} {shown} -> {status}")
        for c in headers.get_all("Set-Cookie") or []:
            raw_set_cookies.append(c)
            name = c.split("=", 1)[0]
            attrs = "; ".join(p.strip() for p in c.split(";")[1:])
            print(f"      Set-Cookie: {name}=<{len(c.split(';')[0]) - len(name) - 1} chars>; {attrs}")
        data = None
        if status in (301, 302, 303, 307, 308):
            url = urllib.parse.urljoin(url, headers["Location"])
            continue
        m = re.search(r'<form method="post" action="([^"]+)"', body)
        if status == 200 and m and 'name="password"' in body:
            url = urllib.parse.urljoin(url, m.group(1).replace("&amp;", "&"))
            data = urllib.parse.urlencode({"login": user, "password": password}).encode()
            print(f"      Dex password form; posting login={user}")
            continue
        break
    print(f"final: {status} {body.strip()[:120]!r}")
    jar.save(ignore_discard=True, ignore_expires=True)
    session = [c for c in jar if c.name == "_oauth2_proxy"]
    if expect_denied:
        ok = status == 403 and not session
        print("denied as expected" if ok else "NOT denied")
        sys.exit(0 if ok else 1)
    if not session:
        print("no session cookie")
        sys.exit(1)
    c = session[0]
    print(f"session cookie: {c.name} domain={c.domain} path={c.path} secure={c.secure} "
          f"httponly={c.has_nonstandard_attr('HttpOnly')} samesite={c.get_nonstandard_attr('SameSite')} "
          f"len={len(c.value)}")


if __name__ == "__main__":
    main()
