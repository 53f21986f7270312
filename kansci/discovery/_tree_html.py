"""A law's tree as HTML for Jupyter: nested lists, one line per node."""

from __future__ import annotations

import html

__all__ = ["tree_html"]

_COLOURS = {"split": "#1f77b4", "transform": "#9467bd", "symmetry": "#2ca02c", "fixed": "#7f7f7f",
            "leaf": "#d62728", "constant": "#7f7f7f", "part": "#8c564b"}


def _node(n) -> str:
    colour = _COLOURS.get(n.kind, "#000")
    err = "" if n.error is None else f" &middot; error {n.error:.2g}"
    head = (f'<span style="color:{colour};font-weight:bold">{html.escape(n.label)}</span> '
            f"<code>{html.escape(n.formula)}</code> "
            f'<span style="color:#666;font-size:90%">{html.escape(n.description)} &middot; inputs '
            f"{html.escape(', '.join(n.inputs) or 'none')}{err}</span>")
    kids = "".join(_node(c) for c in n.children)
    return f"<li>{head}" + (f'<ul style="margin:0">{kids}</ul>' if kids else "") + "</li>"


def tree_html(tree) -> str:
    """``tree`` (a :class:`~kansci.discovery.LawTree`) as an HTML fragment."""
    return (f"<div><p><strong>{html.escape(tree.target)} = {html.escape(tree.formula)}</strong><br>"
            f"<em>{html.escape(tree.summary)}</em></p>"
            f'<ul style="list-style-type:circle">{_node(tree.root)}</ul></div>')
