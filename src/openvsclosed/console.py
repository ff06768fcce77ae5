"""Printing text that is not ours: a server's words, file, task and model names, paths.

Rich reads "[...]" in a plain string as markup: `messages[0].content[/text]` raised MarkupError
mid-run and "ray[client]" printed as "ray". Every such text goes out through here as a `Text`
(never parsed as markup, never highlighted); only our own words carry a style.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

Part = str | tuple[str, str]
"""A verbatim string, or (our own words, their style)."""


def plain(*parts: Part) -> Text:
    """One line from parts: each string is taken as it is; a (text, style) pair is styled."""
    return Text.assemble(*parts)


def say(console: Console, *parts: Part, **kwargs: Any) -> None:
    """Print one line of parts, no markup, no highlighting, long lines kept whole."""
    kwargs.setdefault("soft_wrap", True)
    console.print(plain(*parts), highlight=False, **kwargs)


def cell(value: object) -> Text:
    """A table cell shown exactly as given (a task called `arc[/x]easy` stays that)."""
    return Text(str(value))
