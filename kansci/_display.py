"""HTML for Jupyter: a found law with its scores and a compact Pareto table."""

from __future__ import annotations

import html
import math

import pandas as pd

__all__ = ["constants_html", "pareto_html", "summary_html"]


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _num(v: float, fmt: str) -> str:
    v = float(v)
    return format(v, fmt) if math.isfinite(v) else "&ndash;"


def _window(pareto: pd.DataFrame, max_rows: int) -> pd.DataFrame:
    """At most ``max_rows`` rows of the front, centred on the chosen one."""
    if len(pareto) <= max_rows:
        return pareto
    chosen = pareto.index[pareto["chosen"].astype(bool)] if "chosen" in pareto else []
    pos = pareto.index.get_loc(chosen[0]) if len(chosen) else 0
    start = min(max(pos - max_rows // 2, 0), len(pareto) - max_rows)
    return pareto.iloc[start : start + max_rows]


def pareto_html(pareto: pd.DataFrame, *, max_rows: int = 8, width: int = 60) -> str:
    """A compact table of the Pareto front; the chosen row in bold, long formulas shortened."""
    if pareto is None or len(pareto) == 0:
        return "<p><em>empty Pareto front</em></p>"
    shown = _window(pareto, max_rows)
    rows = []
    for _, r in shown.iterrows():
        bold = ' style="font-weight:bold"' if bool(r.get("chosen", False)) else ""
        formula = str(r.get("formula", ""))
        rows.append(
            f"<tr{bold}><td>{int(r['complexity'])}</td><td>{_num(r['rmse'], '.3g')}</td>"
            f"<td>{_num(r['r2'], '.6f')}</td><td>{'&#10003;' if bool(r.get('exact', False)) else ''}</td>"
            f'<td style="text-align:left"><code title="{html.escape(formula)}">'
            f"{html.escape(_short(formula, width))}</code></td></tr>"
        )
    note = (f"<caption style='caption-side:bottom'>{len(shown)} of {len(pareto)} formulas on the front"
            "</caption>" if len(shown) < len(pareto) else "")
    return (
        "<table>" + note + "<thead><tr><th>complexity</th><th>RMSE</th><th>R&sup2;</th><th>exact</th>"
        "<th>formula</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def constants_html(constants: pd.DataFrame) -> str:
    """The constants of a formula: value &plusmn; standard error, 95 % interval, recognised form."""
    if constants is None or len(constants) == 0:
        return ""
    rows = []
    for _, r in constants.iterrows():
        recognised = r.get("recognised")
        if isinstance(recognised, str):
            flag = "" if bool(r.get("in_interval")) else " <strong>outside its interval</strong>"
            what = f"<code>{html.escape(recognised)}</code> (fitted {_num(r['fitted'], '.6g')}){flag}"
        else:
            what = ""
        rows.append(
            f"<tr><td>{html.escape(str(r['name']))}</td><td>{_num(r['value'], '.6g')}</td>"
            f"<td>{_num(r['std_error'], '.2g')}</td>"
            f"<td>[{_num(r['lower'], '.4g')}, {_num(r['upper'], '.4g')}]</td><td>{what}</td></tr>"
        )
    return ("<table><thead><tr><th>constant</th><th>value</th><th>&plusmn; std error</th>"
            "<th>95% interval</th><th>recognised</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def summary_html(latex: str, *, r2: float, rmse: float, complexity: int, seconds: float,
                 pareto: pd.DataFrame | None = None, title: str | None = None, max_rows: int = 8,
                 constants: pd.DataFrame | None = None, noise: float = math.nan,
                 chi2_dof: float = math.nan) -> str:
    """The law as display math, its held-out scores, its constants and (optionally) the Pareto table."""
    head = f"<p><strong>{title}</strong></p>" if title else ""
    extra = ""
    if math.isfinite(float(noise)):
        extra += f", noise &asymp; {_num(noise, '.3g')}"
    if math.isfinite(float(chi2_dof)):
        extra += f", &chi;&sup2;/dof = {_num(chi2_dof, '.3g')}"
    scores = (f"<p>R&sup2; = {_num(r2, '.6f')} (held out), RMSE = {_num(rmse, '.3g')}, "
              f"complexity {int(complexity)}, {_num(seconds, '.1f')} s{extra}</p>")
    table = pareto_html(pareto, max_rows=max_rows) if pareto is not None else ""
    return f"<div>{head}<p>$${html.escape(latex)}$$</p>{scores}{constants_html(constants)}{table}</div>"
