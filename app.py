"""gridloop's Lambda handlers. Each one only hands over to a service.

Imports here are paid on every cold start: everything heavy is imported by the
composition root (chalicelib.bootstrap) when a handler first needs it.
"""
from chalice import Chalice, Cron, Rate

from chalicelib import handlers
from chalicelib.config import resource_name

app = Chalice(app_name="gridloop")

# Every request body is checked by chalicelib.handlers itself, so wrong content types get our
# JSON error shape rather than Chalice's. GET routes read no body: any Content-Type is fine.
ANY_CONTENT = {"content_types": ["*/*"]}


@app.route("/health", methods=["GET"], **ANY_CONTENT)
def health():
    return handlers.health()


@app.route("/categories", methods=["GET"], **ANY_CONTENT)
def categories():
    return handlers.categories()


@app.route("/grid", methods=["GET"], **ANY_CONTENT)
def grid():
    return handlers.grid()


@app.route("/reports", methods=["POST"], **ANY_CONTENT)
def submit_report():
    return handlers.submit_report(app.current_request)


@app.route("/reports/{id_or_code}", methods=["GET"], **ANY_CONTENT)
def get_report(id_or_code):
    return handlers.get_report(app.current_request, id_or_code)


# The residents' web pages (docs/web.md): the report form, its answer, a report's status page
# and their stylesheet, as HTML. Their templates and catalogues are read on their first request.
@app.route("/", methods=["GET"], **ANY_CONTENT)
def report_page():
    return handlers.report_page(app.current_request)


@app.route("/", methods=["POST"], **ANY_CONTENT)
def submit_report_page():
    return handlers.submit_report_page(app.current_request)


@app.route("/r/{code}", methods=["GET"], **ANY_CONTENT)
def status_page(code):
    return handlers.status_page(app.current_request, code)


@app.route("/static/site.css", methods=["GET"], **ANY_CONTENT)
def stylesheet():
    return handlers.stylesheet(app.current_request)


# Open311 GeoReport v2 (docs/open311.md): the categories as services, reports as service
# requests, each in JSON and in XML. A route cannot have ".json" after a path parameter: those
# take the whole file name ("AP3ZUM.json") and the handlers split the format off.
@app.route("/open311/v2/discovery.json", methods=["GET"], **ANY_CONTENT)
def open311_discovery_json():
    return handlers.open311_discovery(app.current_request, "json")


@app.route("/open311/v2/discovery.xml", methods=["GET"], **ANY_CONTENT)
def open311_discovery_xml():
    return handlers.open311_discovery(app.current_request, "xml")


@app.route("/open311/v2/services.json", methods=["GET"], **ANY_CONTENT)
def open311_services_json():
    return handlers.open311_services(app.current_request, "json")


@app.route("/open311/v2/services.xml", methods=["GET"], **ANY_CONTENT)
def open311_services_xml():
    return handlers.open311_services(app.current_request, "xml")


@app.route("/open311/v2/services/{service_file}", methods=["GET"], **ANY_CONTENT)
def open311_service_definition(service_file):
    return handlers.open311_service_definition(app.current_request, service_file)


@app.route("/open311/v2/requests.json", methods=["GET"], **ANY_CONTENT)
def open311_requests_json():
    return handlers.open311_requests(app.current_request, "json")


@app.route("/open311/v2/requests.xml", methods=["GET"], **ANY_CONTENT)
def open311_requests_xml():
    return handlers.open311_requests(app.current_request, "xml")


@app.route("/open311/v2/requests.json", methods=["POST"], **ANY_CONTENT)
def open311_submit_json():
    return handlers.open311_submit(app.current_request, "json")


@app.route("/open311/v2/requests.xml", methods=["POST"], **ANY_CONTENT)
def open311_submit_xml():
    return handlers.open311_submit(app.current_request, "xml")


@app.route("/open311/v2/requests/{request_file}", methods=["GET"], **ANY_CONTENT)
def open311_request(request_file):
    return handlers.open311_request(app.current_request, request_file)


@app.route("/open311/v2/tokens/{token_file}", methods=["GET"], **ANY_CONTENT)
def open311_token(token_file):
    return handlers.open311_token(app.current_request, token_file)


# The OpenAPI document of the routes above (chalicelib/data/openapi.json); /dev/* are not in it.
@app.route("/openapi.json", methods=["GET"], **ANY_CONTENT)
def openapi():
    return handlers.openapi()


# Inbound SMS gateways (docs/sms-gateways.md): each puts the member's message on the
# sms-inbound queue, read by sms_reply_worker below.
@app.route("/sms/twilio", methods=["POST"], **ANY_CONTENT)
def sms_twilio():
    return handlers.sms_twilio(app.current_request)


@app.route("/sms/tencent", methods=["POST"], **ANY_CONTENT)
def sms_tencent():
    return handlers.sms_tencent(app.current_request)


@app.on_sns_message(topic=resource_name("sms-inbound-topic"))
def sms_inbound_sns(event):
    return handlers.sms_from_sns(event)


@app.on_sqs_message(queue=resource_name("intake"), batch_size=10)
def case_worker(event):
    return handlers.consume("intake", event)


@app.on_sqs_message(queue=resource_name("escalation"), batch_size=10)
def escalation_worker(event):
    return handlers.consume("escalation", event)


@app.on_sqs_message(queue=resource_name("sms-inbound"), batch_size=10)
def sms_reply_worker(event):
    return handlers.consume("sms-inbound", event)


# The operators' commands, from a console test event or `make ops` (docs/operations.md).
@app.lambda_function(name="ops")
def ops(event, context):
    return handlers.ops(event, context)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def escalation_sweep(event):
    return handlers.sweep()


# The away members' daily digest (docs/digest-and-weekly.md, "Daily digest"): at the top of
# every hour; each community's goes out once its configured local hour has come, once a day.
@app.schedule(Cron(0, "*", "*", "*", "?", "*"))
def daily_digest(event):
    return handlers.digest()


# The weekly joint-meeting report (docs/digest-and-weekly.md, "Weekly joint-meeting report"):
# at the top of every hour; each community's report of last week goes out from Monday's
# configured local hour (08:00 Asia/Shanghai by default), once per week.
@app.schedule(Cron(0, "*", "*", "*", "?", "*"))
def weekly_report(event):
    return handlers.weekly_report()


# The elderly members' monthly care visits (关爱式, docs/services.md): every day at 01:00 UTC
# (09:00 in China); each month's visit is made once, on the first run of the month.
@app.schedule(Cron(0, 1, "*", "*", "?", "*"))
def care_visits(event):
    return handlers.care_visits()
