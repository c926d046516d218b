"""The strategies page, from the headers: ``{header-opening} atomic.h`` and the generated sections.

Each strategy header in include/refstrat/ opens with its invariant, when an object may be freed,
its simplifications and its sources. The strategies page quotes that text as it is in the header
the core is built from, so the page cannot drift from the code. The comment's synchronization
table, when it has one, is left out (it is for the code's readers).

The page's marker line (``SECTIONS_MARKER``) is replaced, as the page is read, by one section per
strategy of ``refstrat.strategies()`` (the registry's order, name, summary and reference) with its
header's opening: a scheme added to the registry appears on the page with nothing else to edit."""

from __future__ import annotations

import os
import re

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

_OPENING = re.compile(r"\A/\*(.*?)\*/", re.S)
SECTIONS_MARKER = "<!-- refstrat: the strategy sections are generated here (docs/_ext/refstrat_headers.py) -->"


def header_opening(path: str) -> str:
    """The opening ``/* ... */`` comment of ``path``, without its comment markers and without a
    trailing "Synchronization table" section."""
    with open(path, encoding="utf-8") as f:
        m = _OPENING.match(f.read())
    if m is None:
        raise ValueError(f"{path} does not open with a /* ... */ comment")
    lines = [re.sub(r"^ ?\* ?", "", line) for line in m.group(1).strip("\n").splitlines()]
    text = "\n".join(line.rstrip() for line in lines).strip()
    text = re.split(r"\n\s*Synchronization table", text)[0]
    return text.rstrip()


class HeaderOpening(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        path = os.path.join(self.config.refstrat_include, "refstrat", self.arguments[0])
        self.env.note_dependency(path)
        text = header_opening(path)
        block = nodes.literal_block(text, text)
        block["language"] = "none"
        caption = nodes.caption("", "", nodes.literal(text=f"include/refstrat/{self.arguments[0]}"))
        container = nodes.container("", literal_block=True, classes=["literal-block-wrapper"])
        container += [caption, block]
        return [container]


def strategy_sections() -> str:
    """MyST text: one section per registered strategy, its header's opening quoted."""
    import refstrat

    parts = []
    for s in refstrat.strategies():
        facts = []
        if s.layers:
            facts.append("layers always on: " + ", ".join(s.layers))
        if s.refuses:
            facts.append("refuses the layers " + ", ".join(s.refuses))
        if not s.thread_safe:
            facts.append("not thread-safe")
        parts.append(
            f"## {s.name}\n\n{s.summary[0].upper()}{s.summary[1:]}.\n\n"
            f"*Source:* {s.reference}."
            + (f" *Registry:* {'; '.join(facts)}." if facts else "")
            + f"\n\n```{{header-opening}} {s.name}.h\n```\n"
        )
    return "\n".join(parts)


def _source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    if SECTIONS_MARKER in source[0]:
        source[0] = source[0].replace(SECTIONS_MARKER, strategy_sections())


def setup(app: Sphinx) -> dict[str, object]:
    app.add_config_value("refstrat_include", "", "env")
    app.add_directive("header-opening", HeaderOpening)
    app.connect("source-read", _source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
