"""A validator's refusal, keyed by its reason code like every other problem.

The models' validators raise :func:`refuse` rather than a bare ``ValueError``: the error's type is the text
key (``rule.params.no_bound``), its message the Chinese and then the English text of
:mod:`rules_engine.texts` (what ``str(ValidationError)`` shows a host that validates a model itself), and its
context keeps the values and the hint, from which the loaders make the :class:`~rules_engine.errors.Problem`
(or the rejected roster row) with that code: see :func:`keyed`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_core import PydanticCustomError

from ..texts import Arg, text


def refuse(key: str, hint: str | None = None, /, **values: Arg) -> PydanticCustomError:
    """The refusal `key` (a code of :mod:`rules_engine.texts`, or ``code#situation``), its texts filled from
    `values`; `hint`: one made from what was found (``None``: the key's fixed hint). A
    :class:`PydanticCustomError` is a ``ValueError``: raise it from a validator or any check."""
    zh, en = text(key, **values)
    # pydantic fills "{name}" of the template from the context, key by key: the message goes last, so that
    # no brace in it is ever filled
    return PydanticCustomError(key, "{message}", {"values": dict(values), "hint": hint, "message": f"{zh} {en}"})


def keyed(error: Mapping[str, Any]) -> tuple[str, dict[str, Arg], str | None] | None:
    """The key, values and hint of a refusal in a pydantic error (an item of ``ValidationError.errors()``),
    or None for any other error."""
    ctx = error.get("ctx") or {}
    values = ctx.get("values")
    if not isinstance(values, dict) or "message" not in ctx:
        return None
    return str(error["type"]), values, ctx.get("hint")


def error_texts(error: Mapping[str, Any]) -> tuple[str, str]:
    """The Chinese and English texts of one pydantic error: a refusal's, or pydantic's own message (English)
    in both."""
    found = keyed(error)
    if found is not None:
        return text(found[0], **found[1])
    message = str(error["msg"]).removeprefix("Value error, ")
    return message, message


def exception_texts(exc: Exception, first: bool = False) -> tuple[str, str]:
    """What a refused value says, for a problem that quotes it (``{error}``): the texts of every error of a
    ``ValidationError`` (or of the `first`), joined by "; ", of a refusal, or the exception's message."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        errors = [error_texts(e) for e in exc.errors(include_url=False)]
        errors = errors[:1] if first else errors
        return "；".join(zh for zh, _ in errors), "; ".join(en for _, en in errors)
    if isinstance(exc, PydanticCustomError) and isinstance(exc.context, dict) and "values" in exc.context:
        return text(exc.type, **exc.context["values"])
    return str(exc), str(exc)
