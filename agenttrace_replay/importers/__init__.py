"""Importers: turn trace files written by other tools into `TraceBundle`s.

`detect_format` tells the two accepted families apart; `parse_otlp` reads OpenTelemetry's
OTLP/JSON (see docs/import-formats.md). The native format has its own module.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from ..jsonio import loads
from .otlp import parse_otlp

__all__ = ["detect_format", "parse_otlp"]

NATIVE_FORMAT = "agenttrace-replay"
_NATIVE_MARKER = re.compile(r'"format"\s*:\s*"agenttrace-replay"')
_OTLP_MARKER = re.compile(r'"(resourceSpans|resource_spans)"\s*:')


def detect_format(text: str | bytes) -> Literal["otlp", "native"]:
    """`"native"` for a JSON object with `"format": "agenttrace-replay"`, else `"otlp"`.

    Anything that is not native is reported as OTLP, so the OTLP reader, which says
    precisely what is wrong, gets to explain a file that is neither.
    """
    return "otlp" if native_document(text) is None else "native"


def native_document(text: str | bytes) -> dict[str, Any] | None:
    """The decoded document when the text is a native export, else None (decoded once)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.lstrip("\ufeff \t\r\n")
    head = text[:4096]
    if not text.startswith("{") or (_OTLP_MARKER.search(head) and not _NATIVE_MARKER.search(head)):
        return None
    try:
        document = loads(text)
    except (ValueError, RecursionError):
        return None
    if isinstance(document, dict) and document.get("format") == NATIVE_FORMAT:
        return document
    return None
