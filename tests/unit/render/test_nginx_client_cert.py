"""Client-certificate mode of the proxy's nginx.conf: what it promises as text, and what a real nginx does with it.

The real tests run nginx on 127.0.0.1 in front of a Python HTTPS upstream, with a PKI made here: one server CA
(whose leaf serves both the upstream and the proxy), the client CA that signs REST clients, a rogue CA, and an
upstream-client CA that signs the proxy's own certificate towards an upstream requiring mTLS.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from secure_flink.domain.nginx import ProxyConfig, nginx_conf
from tests.unit.render.proxy_roles import every_caller_an_admin

UPSTREAM_NAME = "etl-rest.flink.svc"
ALICE = "a1" * 20
BOB = "b2" * 20
GUARD = [
    ("if ($ssl_client_verify != SUCCESS)", ["return 496;"]),
    ("if ($client_allowed = 0)", ["return 403;"]),
]
NO_CERTIFICATE_PAGE = b"No required SSL certificate was sent"
CERTIFICATE_ERROR_PAGE = b"The SSL certificate error"


def valid_config(**overrides) -> ProxyConfig:
    """Client-certificate mode with alice and bob listed."""
    values = dict(
        listen_port=8443,
        server_certificate="/etc/proxy/tls/tls.crt",
        server_key="/etc/proxy/tls/tls.key",
        upstream_host="etl-rest.flink.svc.cluster.local",
        upstream_port=8081,
        upstream_server_name=UPSTREAM_NAME,
        upstream_trusted_ca="/etc/proxy/flink-ca/ca.crt",
        client_ca_file="/etc/proxy/client-ca/ca.crt",
        allowed_client_fingerprints=(ALICE, BOB),
        max_body_size="256m",
    )
    return ProxyConfig(**every_caller_an_admin({**values, **overrides}, ("admin",)))


def basic_config(**overrides) -> ProxyConfig:
    return valid_config(**{"client_ca_file": None, "allowed_client_fingerprints": (), **overrides}, htpasswd_file="/h")


# --- the text as a tree -------------------------------------------------------------------------------------


@dataclass
class Block:
    """One `header { ... }`: its own directives and nested blocks, in order, comments left out."""

    header: str
    items: list["str | Block"] = field(default_factory=list)

    @property
    def directives(self) -> list[str]:
        return [item for item in self.items if isinstance(item, str)]

    @property
    def blocks(self) -> list["Block"]:
        return [item for item in self.items if isinstance(item, Block)]

    def walk(self) -> Iterator["Block"]:
        yield self
        for child in self.blocks:
            yield from child.walk()

    def shape(self) -> tuple[str, list]:
        return (self.header, [item if isinstance(item, str) else item.shape() for item in self.items])


def parse(conf: str) -> Block:
    """The rendered text as nested blocks; the renderer puts each `{` and `}` at the end of its own line."""
    stack = [Block("main")]
    for line in (raw.strip() for raw in conf.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.endswith(" {"):
            child = Block(line[:-2])
            stack[-1].items.append(child)
            stack.append(child)
        elif line == "}":
            stack.pop()
        else:
            stack[-1].items.append(line)
    assert len(stack) == 1, "unbalanced braces"
    return stack[0]


def only(tree: Block, header: str) -> Block:
    (found,) = [b for b in tree.walk() if b.header == header]
    return found


def locations(tree: Block) -> list[Block]:
    return [b for b in tree.walk() if b.header.startswith("location ")]


def unguarded(conf: str, health_path: str) -> list[str]:
    """Headers of the locations a client can reach (health path and `internal` ones aside) that do not start with
    both client checks, in order."""
    expected = [Block(header, list(body)).shape() for header, body in GUARD]
    return [
        b.header
        for b in locations(parse(conf))
        if b.header != f"location = {health_path}"
        and "internal;" not in b.items
        and [item.shape() if isinstance(item, Block) else item for item in b.items[:2]] != expected
    ]


# --- the text ---------------------------------------------------------------------------------------------


def test_client_mode_verifies_certificates_optionally_against_the_client_ca_leaf_plus_ca_only():
    server = only(parse(nginx_conf(valid_config(client_ca_file="/ca/clients.pem"))), "server").directives
    assert "ssl_client_certificate /ca/clients.pem;" in server
    assert "ssl_verify_client optional;" in server
    assert "ssl_verify_depth 1;" in server


def all_directives(conf: str) -> list[str]:
    """Every directive and block header in `conf`, comments left out."""
    return [item for b in parse(conf).walk() for item in (b.header, *b.directives)]


def test_client_mode_has_no_basic_auth_and_basic_mode_no_client_certificates():
    client, basic = all_directives(nginx_conf(valid_config())), all_directives(nginx_conf(basic_config()))
    words = (
        "auth_basic ",
        "auth_basic_user_file ",
        "ssl_client_certificate ",
        "ssl_verify_client ",
        "ssl_verify_depth ",
    )
    assert [w for w in words if any(d.startswith(w) for d in basic)] == list(words[:2])
    assert [w for w in words if any(d.startswith(w) for d in client)] == list(words[2:])
    assert not any("$client_allowed" in d or "$ssl_client" in d for d in basic)
    assert any("$client_allowed" in d for d in client) and any(d.startswith("if ") for d in client)


def test_allow_list_maps_each_listed_fingerprint_to_1_and_anything_else_to_0():
    tree = parse(nginx_conf(valid_config(allowed_client_fingerprints=(BOB, ALICE))))
    allow = only(tree, "map $ssl_client_fingerprint $client_allowed")
    assert allow.items == ["default 0;", f"{BOB} 1;", f"{ALICE} 1;"]
    assert allow in only(tree, "http").blocks


@pytest.mark.parametrize("prefix", ["/", "/etl/"])
def test_every_location_but_health_refuses_unverified_then_unlisted_clients_before_anything_else(prefix):
    conf = nginx_conf(valid_config(path_prefix=prefix))
    tree = parse(conf)
    assert len(locations(tree)) == (2 if prefix == "/" else 4)
    assert unguarded(conf, "/healthz") == []
    # The checks sit in locations, not at server level, where they would catch the health probe too.
    assert not [b for b in only(tree, "server").blocks if b.header.startswith("if ")]


def test_the_guard_check_spots_a_location_without_its_checks():
    conf = nginx_conf(valid_config(path_prefix="/etl/"))
    stripped = re.sub(r" *if \(\$client_allowed = 0\) \{\n *return 403;\n *\}\n", "", conf, count=1)
    assert stripped != conf
    assert unguarded(stripped, "/healthz") == ["location = /etl"]
    assert unguarded(nginx_conf(basic_config()), "/healthz") == ["location /"]


def test_health_path_answers_itself_with_no_client_check():
    health = only(parse(nginx_conf(valid_config(health_path="/ready"))), "location = /ready")
    assert health.items == ["access_log off;", "default_type text/plain;", 'return 200 "ok";']


def test_access_log_names_the_client_fingerprint_and_verify_result_instead_of_a_user():
    (client,) = [d for d in only(parse(nginx_conf(valid_config())), "http").directives if d.startswith("log_format ")]
    (basic,) = [d for d in only(parse(nginx_conf(basic_config())), "http").directives if d.startswith("log_format ")]
    assert "$ssl_client_fingerprint" in client and '"$ssl_client_verify"' in client and "$remote_user" not in client
    assert "$remote_user" in basic and "$ssl_client" not in basic


@pytest.mark.parametrize("make", [valid_config, basic_config], ids=["client-mode", "basic-mode"])
def test_proxy_presents_its_own_client_certificate_upstream_only_when_given_one(make):
    given = make(upstream_client_certificate="/up/tls.crt", upstream_client_key="/up/tls.key")
    (proxied,) = [b for b in parse(nginx_conf(given)).walk() if any(d.startswith("proxy_pass ") for d in b.directives)]
    assert proxied.directives[-2:] == ["proxy_ssl_certificate /up/tls.crt;", "proxy_ssl_certificate_key /up/tls.key;"]
    assert nginx_conf(given).count("proxy_ssl_certificate") == 2
    assert "proxy_ssl_certificate" not in nginx_conf(make())


def test_rendering_is_deterministic_and_braces_balance():
    conf = nginx_conf(valid_config(path_prefix="/etl/"))
    assert conf == nginx_conf(valid_config(path_prefix="/etl/"))
    assert conf.count("{") == conf.count("}") and conf.endswith("}\n")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"client_ca_file": None}, "ProxyConfig.htpasswd_file or ProxyConfig.client_ca_file must be set: neither"),
        ({"client_ca_file": None, "htpasswd_file": "/h"}, "allowed_client_fingerprints must be empty without"),
        ({"allowed_client_fingerprints": ()}, "ProxyConfig.allowed_client_fingerprints must list at least one"),
        ({"upstream_client_certificate": "/up/tls.crt"}, "ProxyConfig.upstream_client_key must be set together"),
        ({"upstream_client_key": "/up/tls.key"}, "ProxyConfig.upstream_client_certificate must be set together"),
    ],
    ids=["no-check", "allow-list-without-ca", "empty-allow-list", "certificate-without-key", "key-without-certificate"],
)
def test_rejects_a_combination_that_checks_nothing_or_half_naming_the_field(overrides, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        valid_config(**overrides)


def test_rejects_fingerprints_without_a_client_ca():
    with pytest.raises(ValueError, match=re.escape("ProxyConfig.allowed_client_fingerprints must be empty")):
        basic_config(allowed_client_fingerprints=(ALICE,))


def test_both_checks_render_the_caller_check_first_and_basic_auth_with_the_health_path_open():
    conf = nginx_conf(valid_config(htpasswd_file="/auth/htpasswd"))
    server = only(parse(conf), "server").directives
    assert {'auth_basic "Flink";', "auth_basic_user_file /auth/htpasswd;", "ssl_verify_client optional;"} <= set(server)
    assert unguarded(conf, "/healthz") == []
    assert "auth_basic off;" in only(parse(conf), "location = /healthz").directives


@pytest.mark.parametrize(
    ("field_name", "value"),
    [
        ("allowed_client_fingerprints", (ALICE.upper(),)),
        ("allowed_client_fingerprints", (":".join(re.findall("..", ALICE)),)),
        ("allowed_client_fingerprints", (ALICE[:-1],)),
        ("allowed_client_fingerprints", ("ab" * 32,)),
        ("allowed_client_fingerprints", (ALICE + " 1; default",)),
        ("allowed_client_fingerprints", [ALICE]),
        ("allowed_client_fingerprints", ALICE),
        ("allowed_client_fingerprints", (ALICE, ALICE)),
        ("client_ca_file", "ca.pem"),
        ("client_ca_file", "/etc/ca.pem; ssl_verify_client off"),
        ("upstream_client_certificate", "/up/tls crt"),
        ("upstream_client_key", "/up/{key}"),
    ],
)
def test_rejects_an_invalid_field_naming_it_and_its_value(field_name, value):
    pair = {"upstream_client_certificate": "/up/tls.crt", "upstream_client_key": "/up/tls.key"}
    overrides = {**(pair if field_name in pair else {}), field_name: value}
    with pytest.raises(ValueError, match=re.escape(f"ProxyConfig.{field_name} ")) as caught:
        valid_config(**overrides)
    assert repr(value) in str(caught.value)


def test_accepts_one_fingerprint_and_an_upstream_identity_in_either_mode():
    assert valid_config(allowed_client_fingerprints=(ALICE,)).allowed_client_fingerprints == (ALICE,)
    pair = {"upstream_client_certificate": "/up/tls.crt", "upstream_client_key": "/up/tls.key"}
    assert basic_config(**pair).upstream_client_key == "/up/tls.key"
    assert valid_config(**pair).upstream_client_certificate == "/up/tls.crt"


# --- certificates -------------------------------------------------------------------------------------------


# name -> (issuing CA, expired): trustme leaves for CN=<name>, with its EKU (clientAuth, serverAuth, codeSigning).
