"""infra/resources.json, rendered for one stage.

The same rendering serves AWS (the merge template for `chalice package`) and the
local stack (devstack.resources creates these resources on the emulator).
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

RESOURCES = Path(__file__).with_name("resources.json")


def render(stage: str) -> dict[str, Any]:
    """resources.json with ${Stage} substituted, and the Stage parameter gone."""
    template = json.loads(RESOURCES.read_text(encoding="utf-8"))
    allowed = template["Parameters"]["Stage"]["AllowedValues"]
    if stage not in allowed:
        raise ValueError(f"stage must be one of {allowed}")
    del template["Parameters"]

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str) and "${Stage}" in node["Fn::Sub"]:
                text = node["Fn::Sub"].replace("${Stage}", stage)
                return text if not re.search(r"\$\{", text) else {"Fn::Sub": text}
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(template)


def merge_template(stage: str) -> dict[str, Any]:
    """What `chalice package --merge-template` adds to Chalice's own template: our
    resources, and partial batch responses on every SQS event source (Chalice
    cannot switch those on itself)."""
    from chalice.utils import to_cfn_resource_name

    from app import app

    template = render(stage)
    for source in app.event_sources:
        if type(source).__name__ == "SQSEventConfig":
            function = to_cfn_resource_name(source.name)
            template["Resources"][function] = {"Properties": {"Events": {
                f"{function}SqsEventSource": {"Properties": {
                    "FunctionResponseTypes": ["ReportBatchItemFailures"]}}}}}
    return template


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stage")
    parser.add_argument("--merge", action="store_true", help="the chalice package merge template")
    args = parser.parse_args()
    rendered = merge_template(args.stage) if args.merge else render(args.stage)
    print(json.dumps(rendered, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
