"""Figure 4: SMS segments per case, for a standard case's whole life.

The real path, in process, on moto: a resident with a phone reports a standard-chain
case over POST /reports; the case worker routes it; its holder replies 收到 and then
完成 through the one inbound SMS path (sms-inbound queue → sms_reply_worker); the
resident's call-back goes out with the resolved notice. Every SMS moto's SNS accepted
is counted in segments, as an operator bills them (chalicelib/domain/segments.py).

Also: the segments of every template, rendered with the longest values the demo data
can produce (community, location, category, member name) and a 6-character code.
"""
from __future__ import annotations

import json
import string
import time
from dataclasses import dataclass, field
from typing import Any

from bench.requests_per_report import _env, _lambda_event, bootstrap_app, queue_endpoint

REPORTER_PHONE = "13800138000"
LOCATION = "changmu-03-2"
CATEGORY = "sanitation"       # the standard chain: stairwell leader first


@dataclass
class Result:
    phases: list[tuple[str, list[str]]]          # (phase, texts sent in it)
    templates: dict[str, dict[str, int]] = field(default_factory=dict)   # template → lang → segments
    bundle: tuple[int, int, str] = (0, 0, "")     # a burst to one phone: separate, bundled, the text
    seconds: float = 0.0

    @property
    def total(self) -> int:
        from chalicelib.domain.segments import segments
        return sum(segments(text) for _, texts in self.phases for text in texts)


def run() -> Result:
    _env()
    started = time.perf_counter()
    import boto3
    from chalice.test import Client
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    from chalicelib import bootstrap
    from chalicelib.config import Config
    from devstack.resources import create_all, load_demo_directory

    config = Config(stage="local", region="us-east-1", endpoint_url=None, time_scale=1.0,
                    directory_ttl=300.0, due_shards=4, max_receive_count=5)
    phases: list[tuple[str, list[str]]] = []
    with mock_aws():
        create_all(boto3.session.Session(), "local")
        container = bootstrap.Container(config)
        load_demo_directory(container.directory_store)
        bootstrap.use(container)
        sqs = boto3.session.Session().client("sqs", region_name="us-east-1")
        sent = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages

        def texts_since(before: int) -> list[str]:
            return [text for _, text in list(sent.values())[before:]]

        try:
            with Client(bootstrap_app(), stage_name="local") as client:
                def drain(purpose: str, function: str) -> None:
                    url, arn = queue_endpoint(sqs, config.name(purpose))
                    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                          AttributeNames=["All"]).get("Messages", []):
                        answer = client.lambda_.invoke(function, _lambda_event(messages, arn)).payload
                        if (answer or {}).get("batchItemFailures"):
                            raise RuntimeError(f"{function} failed: {answer}")
                        sqs.delete_message_batch(QueueUrl=url, Entries=[
                            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)])

                def phase(name: str, action) -> Any:
                    before = len(sent)
                    result = action()
                    phases.append((name, texts_since(before)))
                    return result

                def report() -> str:
                    body = {"category": CATEGORY, "location": LOCATION, "phone": REPORTER_PHONE,
                            "description": "楼道垃圾好几天没人清"}
                    response = client.http.post("/reports", body=json.dumps(body, ensure_ascii=False),
                                                headers={"Content-Type": "application/json"})
                    if response.status_code != 202:
                        raise RuntimeError(f"POST /reports answered {response.status_code}")
                    return json.loads(response.body)["code"]

                code = phase("report", report)
                phase("assign", lambda: drain("intake", "case_worker"))
                holder = container.directory().member("changmu", container.cases.get(code).holder)

                def reply(text: str):
                    def send() -> None:
                        container.inbound_sms.accept(holder.phone, text, "bench")
                        drain("sms-inbound", "sms_reply_worker")
                    return send

                phase("acknowledge", reply(f"收到 {code}"))
                phase("resolve, with the call-back", reply(f"完成 {code}"))
                status = container.cases.get(code).status.value
                if status != "resolved":
                    raise RuntimeError(f"the case ended {status}, not resolved")
        finally:
            bootstrap.use(None)
        templates = template_segments(container)
        bundle = bundle_segments(container)
    # The report's phase sends nothing itself (the code goes out when the case is routed).
    return Result(phases=phases, templates=templates, bundle=bundle, seconds=time.perf_counter() - started)


def template_segments(container: Any) -> dict[str, dict[str, int]]:
    """Every template with the longest values the demo data can produce."""
    from chalicelib.domain.directory import ROLE_NAMES
    from chalicelib.domain.messages import TEMPLATES, render
    from chalicelib.domain.segments import segments

    communities = list(container.directory().communities.values())
    names = [m.name for c in communities for m in c.members.values()]
    result: dict[str, dict[str, int]] = {}
    for template, texts in sorted(TEMPLATES.items()):
        result[template] = {}
        for lang in sorted(texts):
            longest = {
                "code": "ABC234", "days": "30",
                "community": max((c.name.get(lang, c.id) for c in communities), key=len),
                "location": max((loc.short_name[lang] for c in communities for loc in c.locations.values()), key=len),
                "category": max((c["name"][lang] for c in container.categories.values()), key=len),
                "role": max((r[lang] for r in ROLE_NAMES.values()), key=len),
            }
            for who in ("by", "holder", "to"):
                longest[who] = max(names, key=len)
            # What the triage and help notices carry: three codes, a cut snippet of what the
            # resident wrote (chalicelib.domain.sms_intake keeps the notice in one segment), a phone.
            longest.update(codes="、".join(["ABC234", "DEF567", "GHJ892"]) if lang == "zh" else
                           "ABC234, DEF567, GHJ892",
                           text="三号楼二单元楼道里煤气味很大快来看看吧谢…" if lang == "zh" else "楼道里煤气味很大快…",
                           phone="13912345678", into="DEF567", duplicate="DEF567", affected="120")   # merges
            wanted = {n for _, n, _, _ in string.Formatter().parse(texts[lang]) if n}
            result[template][lang] = segments(render(template, lang, **{k: longest[k] for k in wanted}))
    return result


def bundle_segments(container: Any, notices: int = 3) -> tuple[int, int, str]:
    """A burst to one phone: `notices` assignments within one send window, as separate
    texts and as the one text bundling sends (services.notices). Demo values, real codes."""
    from chalicelib.domain.messages import brief, render, render_bundle
    from chalicelib.domain.segments import segments

    community = container.directory().communities["changmu"]
    location = community.locations[LOCATION].short_name["zh"]
    category = container.categories[CATEGORY]["name"]["zh"]
    codes = ["ABC234", "DEF567", "GHJ892", "KMN345", "PQR678"][:notices]
    params = [dict(code=code, location=location, category=category) for code in codes]
    separate = sum(segments(render("assigned", "zh", community=community.name["zh"], **p)) for p in params)
    text = render_bundle([brief("assigned", "zh", **p) for p in params], "zh", community.name["zh"])
    return separate, segments(text), text
