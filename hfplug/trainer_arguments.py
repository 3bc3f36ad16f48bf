"""Which keyword arguments a trainer class really accepts.

A plugin's trainer usually declares ``__init__(self, model, args=None, *args, **kwargs)`` and
passes the rest to trl's trainer, so its own signature says nothing about ``peft_config`` or
``reward_funcs``. We follow ``**kwargs`` up the class hierarchy, as the call itself would, until
an ``__init__`` that lists its keywords without ``**kwargs``: what it names is what the trainer
accepts.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from hfplug.errors import ConfigError

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


@dataclass(frozen=True)
class InitKeywords:
    """The keywords a class's constructor accepts: ``names``, and ``open`` when some ``__init__`` in the
    chain ends in ``**kwargs`` that nothing above it names (then any keyword is passed on)."""

    names: frozenset[str]
    open: bool

    def accepts(self, keyword: str) -> bool:
        return keyword in self.names or self.open


def init_keywords(cls: type) -> InitKeywords:
    """The keywords ``cls(...)`` accepts, following ``**kwargs`` through the MRO (see the module doc)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        try:
            parameters = inspect.signature(init).parameters
        except (TypeError, ValueError):  # a C-implemented __init__: nothing to learn from it
            return InitKeywords(frozenset(names), open=True)
        names |= {name for name, p in parameters.items() if p.kind in _NAMED and name != "self"}
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return InitKeywords(frozenset(names), open=False)
    return InitKeywords(frozenset(names), open=True)


def require_keyword(cls: type, keyword: str, message: str) -> None:
    """Raise :class:`ConfigError` with ``message`` (and what the class does accept) unless ``cls`` takes ``keyword``."""
    keywords = init_keywords(cls)
    if not keywords.accepts(keyword):
        raise ConfigError(f"{message} ({cls.__name__} accepts: {', '.join(sorted(keywords.names))}).")
