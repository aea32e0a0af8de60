"""The report's JSON Schema, exported to ``docs/report.schema.json`` (regenerate: ``python -m pipeline.report.jsonschema``)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..schema import SCHEMA_VERSION, Report

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "docs" / "report.schema.json"


def report_json_schema() -> dict:
    schema = Report.model_json_schema(mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"spotter-report-{SCHEMA_VERSION}", "x-schema-version": SCHEMA_VERSION, **schema,
            "title": "Spotter set report"}


def schema_text() -> str:
    return json.dumps(report_json_schema(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def export_schema(path: str | Path = DEFAULT_PATH) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(schema_text(), encoding="utf-8")
    return p


if __name__ == "__main__":  # pragma: no cover
    print(export_schema(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PATH))
