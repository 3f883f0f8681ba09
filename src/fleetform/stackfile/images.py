"""Image references, checked with the grammar of Docker's distribution/reference."""

from __future__ import annotations

import re

_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}"
_REFERENCE = re.compile(
    rf"^(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_PATH_PART}(?:/{_PATH_PART})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$"
)
MAX_NAME = 255


def check_image(ref: str) -> None:
    """Raise ValueError in plain words when ``ref`` is not a valid image reference.

    >>> check_image("registry.lab:5000/fleetform/demo:1")
    """
    match = _REFERENCE.match(ref)
    if not match:
        hint = ""
        if ref != ref.lower() and _REFERENCE.match(ref.lower()):
            hint = "; repository names must be lowercase"
        elif not ref.strip():
            hint = "; it is empty"
        elif " " in ref:
            hint = "; it contains a space"
        raise ValueError(
            f"`{ref}` is not a valid image reference "
            f"(`[registry[:port]/]repository[:tag][@digest]`{hint})"
        )
    name = (match.group("domain") or "") + match.group("path")
    if len(name) > MAX_NAME:
        raise ValueError(f"the image name in `{ref[:40]}...` is longer than {MAX_NAME} characters")
