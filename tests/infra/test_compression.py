"""API Gateway compresses what it answers: the residents' pages, the stylesheet and the JSON
answers go gzip-compressed to a phone that asks for it (Accept-Encoding), which is what their
budgets count (docs/web.md). Without MinimumCompressionSize on the REST API it compresses nothing."""
from __future__ import annotations


def test_the_packaged_rest_api_compresses_answers_over_a_kilobyte(packaged_dev):
    [api] = [r for r in packaged_dev.values() if r["Type"] == "AWS::Serverless::Api"]
    assert api["Properties"]["MinimumCompressionSize"] == 1024
