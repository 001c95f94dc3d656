"""Masking secrets before they reach a log line, an error message, a status page or a file name.

Secrets that travel inside URLs are the ones that leak: a database URL with its password, an
RTMP(S) URL whose last path segment is the stream key (``rtmp://host/live/<key>``), a query
string carrying ``key=``/``token=``. :func:`mask_url` hides them and keeps the rest readable, so an
operator still sees which server was meant; :func:`redact` scrubs known secret values (and any URL
it finds) out of free text such as an ffmpeg log line or an exception message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

#: Query parameters whose values are secrets wherever they appear.
SECRET_QUERY_KEYS = frozenset(
    {
        "key",
        "token",
        "secret",
        "password",
        "passwd",
        "pwd",
        "auth",
        "sig",
        "signature",
        "api_key",
        "apikey",
        "access_token",
        "streamkey",
        "stream_key",
    }
)
_STREAM_SCHEMES = frozenset({"rtmp", "rtmps", "rtmpt", "rtmpe", "srt"})
_URL_RE = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def mask_url(url: str) -> str:
    """``url`` with its password, stream key and secret query values replaced by ``***``.

    Not a URL (no scheme)? It is returned unchanged, since there is nothing known to hide.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
    path = parts.path
    if parts.scheme.lower() in _STREAM_SCHEMES:
        segments = path.split("/")
        # rtmp://host/app/<key>: the application name stays, everything after it is the key.
        if len([s for s in segments if s]) >= 2:
            app_index = next(i for i, s in enumerate(segments) if s)
            path = "/".join(segments[: app_index + 1] + [MASK])
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if k.lower() in SECRET_QUERY_KEYS else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL masked (:func:`mask_url`) and each known secret value replaced.

    Secrets shorter than 4 characters are ignored: masking every "a" would destroy the message
    and such a value protects nothing anyway.
    """
    out = _URL_RE.sub(lambda m: mask_url(m.group(0)), text)
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        out = out.replace(secret, MASK)
    return out
