"""pulumi-random's RandomPassword with the provider's character rules, drawn from the OS CSPRNG."""

import base64
import secrets
import string
from collections.abc import Mapping
from typing import Any

import bcrypt

DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?"
SECRET_OUTPUTS = {"random:index/randomPassword:RandomPassword": {"result", "bcryptHash"}}


def random_password(inputs: Mapping[str, Any]) -> dict[str, Any]:
    length = int(inputs["length"])
    classes = {
        "upper": (string.ascii_uppercase, inputs.get("upper", True), int(inputs.get("minUpper") or 0)),
        "lower": (string.ascii_lowercase, inputs.get("lower", True), int(inputs.get("minLower") or 0)),
        "numeric": (
            string.digits,
            inputs.get("numeric", inputs.get("number", True)),
            int(inputs.get("minNumeric") or 0),
        ),
        "special": (
            inputs.get("overrideSpecial") or DEFAULT_SPECIAL,
            inputs.get("special", True),
            int(inputs.get("minSpecial") or 0),
        ),
    }
    alphabet = "".join(chars for chars, enabled, _ in classes.values() if enabled)
    required = [secrets.choice(chars) for chars, enabled, minimum in classes.values() for _ in range(minimum)]
    if not alphabet or len(required) > length:
        raise ValueError("random.RandomPassword: no characters allowed or minimums exceed length")
    chars = required + [secrets.choice(alphabet) for _ in range(length - len(required))]
    secrets.SystemRandom().shuffle(chars)
    result = "".join(chars)
    # The provider stores a bcrypt hash of the first 72 bytes (bcrypt's own limit), at cost 10. Nothing here reads
    # the hash, and cost 10 took a quarter of a second per password of every test stack: the double hashes at
    # bcrypt's lowest cost, the same format.
    hashed = bcrypt.hashpw(result.encode()[:72], bcrypt.gensalt(rounds=4)).decode()
    return {**inputs, "result": result, "bcryptHash": hashed}


CREATE = {"random:index/randomPassword:RandomPassword": random_password}


def random_string(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """RandomString: the same character rules as RandomPassword, and not secret."""
    outputs = random_password(inputs)
    del outputs["bcryptHash"]
    return outputs


CREATE["random:index/randomString:RandomString"] = random_string


def random_id(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """RandomId: `byte_length` random bytes in the encodings the provider offers."""
    data = secrets.token_bytes(int(inputs["byteLength"]))
    prefix = inputs.get("prefix") or ""
    return {
        **inputs,
        "hex": prefix + data.hex(),
        "b64Url": prefix + base64.urlsafe_b64encode(data).decode().rstrip("="),
        "b64Std": prefix + base64.b64encode(data).decode(),
        "dec": prefix + str(int.from_bytes(data, "big")),
    }


CREATE["random:index/randomId:RandomId"] = random_id
