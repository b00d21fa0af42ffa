"""Great Expectations Data Docs (HTML) under ``<MODELSCALE_HOME>/data_docs``.

Built from the validation results with GX's own page renderers: one page per validation
(``validations/<table>/<run date>_<run id>.html``), one page per suite (``expectations/<suite>.html``)
and an ``index.html`` listing them, newest first.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult
from great_expectations.render.renderer.page_renderer import (ExpectationSuitePageRenderer,
                                                              ValidationResultsPageRenderer)
from great_expectations.render.view.view import DefaultJinjaPageView

from modelscale.quality.outcome import Outcome
from modelscale.quality.suites import Check, build_suite, suite_name


def write_data_docs(root: Path, *, table: str, run_id: str, run_date: dt.date, checks: list[Check],
                    outcomes: list[Outcome], validated_at: dt.datetime) -> Path:
    """Write the validation page and the suite page of one validation, refresh the index; returns the page."""
    suite = suite_name(table)
    ok = sum(o.success for o in outcomes)
    result = ExpectationSuiteValidationResult(
        success=all(not o.blocking for o in outcomes), results=[o.to_gx() for o in outcomes], suite_name=suite,
        statistics={"evaluated_expectations": len(outcomes), "successful_expectations": ok,
                    "unsuccessful_expectations": len(outcomes) - ok,
                    "success_percent": 100.0 * ok / len(outcomes) if outcomes else 100.0},
        meta={"run_id": {"run_name": f"{run_id} {run_date}", "run_time": validated_at.isoformat()},
              "active_batch_definition": {"datasource_name": "modelscale", "data_connector_name": "lakehouse",
                                          "data_asset_name": table, "batch_identifiers": {"run_date": str(run_date)}}},
    )
    view = DefaultJinjaPageView()
    page = root / "validations" / table / f"{run_date}_{run_id}.html"
    _write(page, view.render(ValidationResultsPageRenderer().render(result)))
    _write(root / "expectations" / f"{suite}.html", view.render(ExpectationSuitePageRenderer().render(build_suite(table, checks))))
    _write_index(root)
    return page


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _write_index(root: Path) -> None:
    pages = sorted(root.glob("validations/*/*.html"), key=lambda p: p.stat().st_mtime, reverse=True)
    suites = sorted(root.glob("expectations/*.html"))
    links = "\n".join(f'<li><a href="{html.escape(p.relative_to(root).as_posix())}">'
                      f"{html.escape(p.parent.name)} {html.escape(p.stem)}</a></li>" for p in pages)
    suite_links = "\n".join(f'<li><a href="{html.escape(p.relative_to(root).as_posix())}">{html.escape(p.stem)}</a></li>'
                            for p in suites)
    _write(root / "index.html", f"<!doctype html><html><head><meta charset='utf-8'><title>modelscale Data Docs</title>"
                                f"</head><body><h1>Data Docs</h1><h2>Suites</h2><ul>{suite_links}</ul>"
                                f"<h2>Validations</h2><ul>{links}</ul></body></html>")
