"""Shared by the explain tests: the seed decks' worked examples (as in
tests/ops/test_seed_numbers.py) and a strict check of the HTML explanations produce."""
from html.parser import HTMLParser

import numpy as np


from tests.seed_data import FEATURES_001, MAPS_001, x_image  # noqa: F401  (re-exported for the explain tests)

# seed 004: the 7x7 image of the edge-filter / ReLU / max-pool slides
IMAGE_004 = [
    [0, 0, 0, 0, 0, 0, 0],
    [0, 0, 1, 1, 1, 0, 0],
    [0, 1, 1, 1, 1, 1, 0],
    [0, 1, 1, 1, 0, 0, 0],
    [0, 1, 1, 1, 1, 1, 0],
    [0, 0, 1, 1, 1, 0, 0],
    [0, 0, 0, 0, 0, 0, 0],
]
EDGES_004 = [[-1, -1, -1], [2, 2, 2], [-1, -1, -1]]
EDGE_MAP_004 = [[0, 1, 3, 1, 0], [1, 1, 1, 3, 3], [0, 0, -2, -4, -4], [1, 1, 1, 3, 3], [0, 1, 3, 1, 0]]


def table(text, n):
    return np.array(text.split(), float).reshape(n, n)


class StrictHTML(HTMLParser):
    """Records text and every tag problem: an end tag that does not close the innermost open
    element, an element left open, a script, or a reference to anything outside the page."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.chunks, self.tags = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "script":
            self.errors.append("script")
        for name, value in attrs:
            if name in ("src", "href") or (value and "url(" in value):
                self.errors.append(f"external reference {name}={value}")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.chunks.append(data)

    @property
    def text(self):
        return " ".join(self.chunks)


def parse_html(markup):
    """Parse ``markup`` strictly; returns the parser (its .text holds the visible text)."""
    p = StrictHTML()
    p.feed(markup)
    p.close()
    assert not p.errors, p.errors
    assert not p.stack, f"unclosed elements: {p.stack}"
    assert "url(" not in markup and "@import" not in markup
    return p
