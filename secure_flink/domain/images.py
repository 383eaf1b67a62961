"""Container image references: what counts as pinned."""

import re

# The reference grammar of the distribution project (reference/regexp.go), as container runtimes parse it:
# [registry[:port]/]path[:tag][@digest]. A registry has a '.' or a port or is localhost; only sha256 digests.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?"
IMAGE_REFERENCE = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)(?::(?P<tag>[\w][\w.-]{{0,127}}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
MAX_IMAGE_NAME_LENGTH = 255


def image_problem(value: object) -> str | None:
    """Why `value` is not an image reference pinned by a version tag (not latest) or a digest, or None."""
    match = IMAGE_REFERENCE.match(value) if isinstance(value, str) else None
    pinned = (
        match is not None
        and len(match.group("name")) <= MAX_IMAGE_NAME_LENGTH
        and (match.group("digest") is not None or match.group("tag") not in (None, "latest"))
    )
    return None if pinned else "must be an image reference pinned by a version tag (not latest) or a digest"
