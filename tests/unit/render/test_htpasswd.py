"""htpasswd lines are deterministic, verifiable and scheme-tagged; user names and user-set passwords are policed."""

import base64
import hashlib
import warnings

import pytest
from passlib.hash import apr_md5_crypt, bcrypt, ldap_salted_sha1, sha512_crypt

from secure_flink.domain.htpasswd import (
    SALT_LENGTH,
    HashScheme,
    htpasswd_file,
    htpasswd_line,
    password_problems,
    username_problem,
)

SALT = "AbCdEfGh12345678"
OTHER_SALT = "ZyXwVuTs87654321"
PASSWORD = "kQ3vN8pX2mR7tY4wZ6bC9dF1gH5jL0sA"
VERIFIER = {
    HashScheme.SSHA: ldap_salted_sha1,
    HashScheme.APR1: apr_md5_crypt,
    HashScheme.SHA512_CRYPT: sha512_crypt,
    HashScheme.BCRYPT: bcrypt,
}
PREFIX = {
    HashScheme.SSHA: "{SSHA}",
    HashScheme.APR1: "$apr1$",
    HashScheme.SHA512_CRYPT: "$6$rounds=5000$",
    HashScheme.BCRYPT: "$2y$10$",
}


def hash_of(line: str) -> str:
    user, _, hashed = line.partition(":")
    return hashed


@pytest.mark.parametrize("scheme", list(HashScheme))
def test_same_inputs_give_the_same_line(scheme):
    first = htpasswd_line("alice", PASSWORD, salt=SALT, scheme=scheme)
    assert htpasswd_line("alice", PASSWORD, salt=SALT, scheme=scheme) == first


@pytest.mark.parametrize("scheme", list(HashScheme))
def test_another_salt_gives_another_line(scheme):
    first = htpasswd_line("alice", PASSWORD, salt=SALT, scheme=scheme)
    assert htpasswd_line("alice", PASSWORD, salt=OTHER_SALT, scheme=scheme) != first


@pytest.mark.parametrize("scheme", list(HashScheme))
def test_line_is_user_colon_hash_tagged_with_its_scheme(scheme):
    line = htpasswd_line("alice", PASSWORD, salt=SALT, scheme=scheme)
    assert line.startswith("alice:" + PREFIX[scheme])
    assert "\n" not in line


@pytest.mark.parametrize("scheme", list(HashScheme))
def test_passlib_verifies_the_right_password_and_rejects_a_wrong_one(scheme):
    hashed = hash_of(htpasswd_line("alice", PASSWORD, salt=SALT, scheme=scheme))
    assert VERIFIER[scheme].verify(PASSWORD, hashed)
    assert not VERIFIER[scheme].verify(PASSWORD + "x", hashed)


def test_ssha_uses_all_sixteen_salt_bytes():
    raw = base64.b64decode(hash_of(htpasswd_line("alice", PASSWORD, salt=SALT, scheme=HashScheme.SSHA))[6:])
    digest, salt = raw[:20], raw[20:]
    assert salt == SALT.encode()
    assert digest == hashlib.sha1(PASSWORD.encode() + salt).digest()


def test_sha512_crypt_spells_out_the_default_rounds_without_changing_the_hash():
    explicit = hash_of(htpasswd_line("alice", PASSWORD, salt=SALT, scheme=HashScheme.SHA512_CRYPT))
    implicit = sha512_crypt.using(salt=SALT, rounds=5000).hash(PASSWORD)
    assert implicit.startswith("$6$" + SALT + "$")
    assert explicit == implicit.replace("$6$", "$6$rounds=5000$", 1)


@pytest.mark.parametrize("salt", ["zzzzzzzzzzzzzzzz", "0000000000000000", "ZZZZZZZZZZZZZZZ9", SALT])
def test_bcrypt_salt_derivation_never_makes_passlib_warn(salt):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        line = htpasswd_line("alice", PASSWORD, salt=salt, scheme=HashScheme.BCRYPT)
    assert bcrypt.verify(PASSWORD, hash_of(line))


def test_bcrypt_refuses_a_password_it_would_truncate():
    with pytest.raises(ValueError, match="72 bytes"):
        htpasswd_line("alice", "x" * 73, salt=SALT, scheme=HashScheme.BCRYPT)
    assert htpasswd_line("alice", "x" * 73, salt=SALT, scheme=HashScheme.SSHA).startswith("alice:{SSHA}")


@pytest.mark.parametrize("salt", ["", SALT[:-1], SALT + "x", "AbCdEfGh1234567-", "AbCdEfGh1234567\n"])
def test_rejects_a_salt_that_is_not_sixteen_alphanumerics(salt):
    assert len(SALT) == SALT_LENGTH
    with pytest.raises(ValueError, match="salt"):
        htpasswd_line("alice", PASSWORD, salt=salt, scheme=HashScheme.SSHA)


@pytest.mark.parametrize("user", ["", "a:b", "al ice", "alice\n"])
def test_line_refuses_a_bad_user_name(user):
    with pytest.raises(ValueError, match="user name"):
        htpasswd_line(user, PASSWORD, salt=SALT, scheme=HashScheme.SSHA)


@pytest.mark.parametrize("password", ["", "pass\0word"])
def test_line_refuses_an_empty_or_nul_password(password):
    with pytest.raises(ValueError, match="password"):
        htpasswd_line("alice", password, salt=SALT, scheme=HashScheme.SSHA)


def test_file_keeps_the_order_and_ends_every_line_with_a_newline():
    lines = [htpasswd_line(u, PASSWORD, salt=SALT, scheme=HashScheme.APR1) for u in ("zoe", "alice")]
    assert htpasswd_file(lines) == f"{lines[0]}\n{lines[1]}\n"
    assert htpasswd_file([]) == ""


def test_file_refuses_a_user_listed_twice():
    line = htpasswd_line("alice", PASSWORD, salt=SALT, scheme=HashScheme.APR1)
    with pytest.raises(ValueError, match="alice"):
        htpasswd_file([line, line])


@pytest.mark.parametrize("line", ["alice", "alice:", ":hash", "alice:{SSHA}x\nbob:{PLAIN}pw"])
def test_file_refuses_a_malformed_line(line):
    with pytest.raises(ValueError, match="htpasswd line"):
        htpasswd_file([line])


@pytest.mark.parametrize("user", ["alice", "ops.team@example-1", "a_b", "A" * 64, "x"])
def test_accepts_plain_user_names(user):
    assert username_problem(user) is None


@pytest.mark.parametrize(
    ("user", "reason"),
    [
        ("", "empty"),
        ("a:b", "':'"),
        ("al ice", "whitespace"),
        ("tab\tbed", "whitespace"),
        ("bell\x07", "control"),
        ("a" * 65, "64"),
        ("ünï", "letters, digits"),
        ("a/b", "letters, digits"),
    ],
)
def test_rejects_user_name_with_reason(user, reason):
    assert reason in username_problem(user)


@pytest.mark.parametrize(
    "password",
    [
        "Tr0ub4dor&3-Horse!",  # 18 characters, four classes
        "correct horse battery staple",  # passphrase: long enough to skip the class rule
        "vG7kQ2mX9pL4wR8t",  # 16 characters, three classes
    ],
)
def test_accepts_strong_user_set_passwords(password):
    assert password_problems("alice", password) == []


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Sh0rt!pw", "shorter than 16"),
        ("onlylowercaseletters", "fewer than 3 of"),
        ("ONLYUPPER1234567890", "fewer than 3 of"),
        ("Xy1!" + "a" * 24, "different characters"),
        ("My-ALICE-account-42", "user name"),
        ("Zx9-MyPassWord-Q7", "'password'"),
        ("Zx9-Qwerty-Rt5%Uv", "'qwerty'"),
        ("Zx9-Flink-Rt5%Uvw", "'flink'"),
        ("Zx9-Admin-Rt5%Uvw", "'admin'"),
        ("Zx9-LetMeIn-5%Uvw", "'letmein'"),
        ("Zx9-123456-Rt5%Uv", "'123456'"),
    ],
)
def test_rejects_weak_user_set_password_with_a_sentence(password, problem):
    problems = password_problems("alice", password)
    assert any(problem in p for p in problems), problems
    assert all(p[0].isupper() and p.endswith(".") for p in problems)


def test_every_weakness_is_reported_not_just_the_first():
    assert len(password_problems("alice", "alice123")) >= 3
