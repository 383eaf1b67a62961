"""htpasswd lines for nginx basic auth, and the rules user names and user-set passwords must meet.

Deterministic: the salt comes in from the caller (pulumi-random, kept in state), so the same
(user, password, salt, scheme) always gives the same line and `pulumi preview` shows no diff.

SSHA is the default scheme on purpose. nginx re-verifies the hash on every request, in the worker,
and the Flink UI polls several endpoints every 3 s: bcrypt-10 costs ~60 ms per request (~15 req/s per
core), sha512-crypt(5000) ~3 ms, apr1 ~0.2 ms, SSHA a few µs. A slow KDF only protects weak passwords
against offline guessing; generated passwords carry ~190 bits and user-set ones must pass
`password_problems`, so it would add nothing but turn the proxy into a CPU-DoS lever. All four schemes
verify in nginx on glibc and musl (nginx implements {SSHA} and $apr1$ itself; no yescrypt).
"""

import re
from collections.abc import Collection, Iterable
from enum import Enum

from passlib.hash import apr_md5_crypt, bcrypt, ldap_salted_sha1, sha512_crypt
from passlib.utils.binary import bcrypt64

from . import names


class HashScheme(str, Enum):
    SSHA = "ssha"
    APR1 = "apr1"
    SHA512_CRYPT = "sha512-crypt"
    BCRYPT = "bcrypt"


SALT_LENGTH = 16
"""Characters of [A-Za-z0-9] the caller supplies per user (a pulumi-random string, stored in state)."""

MIN_PASSWORD_LENGTH = 16
PASSPHRASE_LENGTH = 24
"""From this length on, a password need not mix character classes."""

MIN_DISTINCT_CHARACTERS = 8
BCRYPT_MAX_BYTES = 72
COMMON_PATTERNS = (
    "password",
    "passw0rd",
    "123456",
    "654321",
    "111111",
    "000000",
    "abcdef",
    "qwerty",
    "azerty",
    "letmein",
    "welcome",
    "changeme",
    "iloveyou",
    "admin",
    "flink",
)

_SALT = re.compile(rf"[A-Za-z0-9]{{{SALT_LENGTH}}}")
MAX_USERNAME_LENGTH = 64
_USER = re.compile(rf"[A-Za-z0-9._@-]{{1,{MAX_USERNAME_LENGTH}}}")


def htpasswd_line(user: str, password: str, *, salt: str, scheme: HashScheme) -> str:
    """`user:hash` for an nginx `auth_basic_user_file`; raises ValueError on a bad user, password or salt."""
    problem = username_problem(user)
    if problem is not None:
        raise ValueError(f"user name {user!r} {problem}")
    if not password or "\0" in password:
        raise ValueError(f"password of {user!r} must be non-empty and contain no NUL character")
    if not _SALT.fullmatch(salt):
        raise ValueError(f"salt of {user!r} must be {SALT_LENGTH} characters of [A-Za-z0-9]")
    return f"{user}:{_hash(password, salt, HashScheme(scheme))}"


def _hash(password: str, salt: str, scheme: HashScheme) -> str:
    # passlib ships no types, so its results are Any to a type checker; `hash` and `to_string` return str.
    hashed: str
    if scheme is HashScheme.SSHA:
        hashed = ldap_salted_sha1.using(salt=salt.encode("ascii")).hash(password)
    elif scheme is HashScheme.APR1:
        hashed = apr_md5_crypt.using(salt=salt[:8]).hash(password)
    elif scheme is HashScheme.SHA512_CRYPT:
        # passlib writes 5000 rounds implicitly; spelled out, the cost is visible in the file (same checksum).
        parsed = sha512_crypt.from_string(sha512_crypt.using(salt=salt, rounds=5000).hash(password))
        parsed.implicit_rounds = False
        hashed = parsed.to_string()
    else:
        if len(password.encode()) > BCRYPT_MAX_BYTES:
            raise ValueError(f"bcrypt uses only the first {BCRYPT_MAX_BYTES} bytes of a password; pick another scheme")
        # 16 salt bytes are exactly bcrypt's 128-bit salt; bcrypt64 sets the 22nd character's padding bits right.
        bcrypt_salt = bcrypt64.encode_bytes(salt.encode("ascii")).decode("ascii")
        hashed = bcrypt.using(salt=bcrypt_salt, rounds=10, ident="2y").hash(password)
    return hashed


def htpasswd_file(lines: Iterable[str]) -> str:
    """The file text: `lines` in order, newline-terminated; ValueError on a malformed line or a repeated user."""
    lines = list(lines)
    users = [line.partition(":")[0] for line in lines]
    for line, user in zip(lines, users, strict=True):
        hashed = line.partition(":")[2]
        if not hashed or "\n" in line or username_problem(user) is not None:
            raise ValueError(f"not an htpasswd line: {line!r}")
    repeated = sorted({user for user in users if users.count(user) > 1})
    if repeated:
        raise ValueError(f"users listed more than once (nginx would only ever use the first): {repeated}")
    return "".join(f"{line}\n" for line in lines)


def username_problem(user: str) -> str | None:
    """None if `user` can stand in an htpasswd file and a log line; else why not."""
    if not user:
        return "must not be empty"
    if ":" in user:
        return "must not contain ':' (it separates the user from the hash)"
    if any(c.isspace() or not c.isprintable() for c in user):
        return "must not contain whitespace or control characters"
    if len(user) > MAX_USERNAME_LENGTH:
        return f"must be at most {MAX_USERNAME_LENGTH} characters long"
    if not _USER.fullmatch(user):
        return "may only contain letters, digits and . _ @ -"
    return None


def is_username(name: object) -> bool:
    return isinstance(name, str) and username_problem(name) is None


def free_username(name: object, taken: Collection[str]) -> str:
    """What a fix suggests for a listed `name` that is bad or repeated: the first of `name`, `name-2`, ... (or
    of `admin`, `admin-2`, ... for a bad one) that is a user name and not in `taken`."""
    base = name if isinstance(name, str) and is_username(name) else "admin"
    return next(user for user in names.numbered(base, MAX_USERNAME_LENGTH) if is_username(user) and user not in taken)


def password_problems(user: str, password: str) -> list[str]:
    """Why a user-set password is too weak, as short sentences; empty if it is acceptable."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"It is shorter than {MIN_PASSWORD_LENGTH} characters.")
    if len(password) < PASSPHRASE_LENGTH and _character_classes(password) < 3:
        problems.append(
            "It uses fewer than 3 of lower case, upper case, digits and other characters "
            f"(or make it at least {PASSPHRASE_LENGTH} characters long)."
        )
    if len(set(password)) < MIN_DISTINCT_CHARACTERS:
        problems.append(f"It has fewer than {MIN_DISTINCT_CHARACTERS} different characters.")
    lowered = password.lower()
    if user and user.lower() in lowered:
        problems.append("It contains the user name.")
    problems += [f"It contains the common pattern {p!r}." for p in COMMON_PATTERNS if p in lowered]
    return problems


def _character_classes(password: str) -> int:
    kinds = (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    return sum(any(kind(c) for c in password) for kind in kinds)
