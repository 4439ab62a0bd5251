"""Acceptance 4: the regulator's reviewer sees published audit reports and nothing else, and writes nothing but queries
and their closure. Every route the app registers is swept, API and pages alike, so a new one cannot slip through."""
import pytest

from tests import audit_query_factories as aq
from tests.test_api_contract import example_url, is_exempt, methods, view_handlers

# What a reviewer may reach outside the audits: their own account and tokens, the language, logging out, home.
SELF_SERVICE = {"auth_api.Me", "auth_api.Tokens", "auth_api.TokenItem", "auth.login", "auth.logout", "auth.language",
                "web.index", "web.home", "web.healthz"}
AUDIT_BLUEPRINTS = {"audits_api", "audits_queries_api", "audits", "audits_reviewer"}
# Read-only views of installation evidence: a reviewer gets those of a published finding's truck, 404 for the rest
# (tests/test_evidence_view.py sweeps who sees which).
REVIEWER_EVIDENCE = {("GET", "installs_evidence_api.PhotoFile"), ("GET", "installs_evidence_api.PhotoThumbnail")}
# The only writes a reviewer may make: a query, and its closure (API and pages).
REVIEWER_WRITES = {
    ("POST", "audits_queries_api.FindingQueries"), ("POST", "audits_queries_api.QueryClose"),
    ("POST", "audits_reviewer.raise_query"), ("POST", "audits_reviewer.close_query"),
}
REVIEWER_WRITES_OF_THEIR_OWN_ACCOUNT = {
    ("POST", "auth_api.Tokens"), ("DELETE", "auth_api.TokenItem"), ("POST", "auth.logout"),
}


def blueprint(rule):
    return rule.endpoint.split(".")[0]


def is_public(app, rule, method):
    return "public" in getattr(dict(view_handlers(app, rule))[method], "access_roles", ())


def routes(app, api):
    """(method, rule) of every non-exempt route: the API's (``api=True``) or the pages'."""
    return [(m, r) for r in app.url_map.iter_rules() if not is_exempt(r) and r.rule.startswith("/api/") == api
            for m in methods(r)]


@pytest.fixture
def reviewer_pages(app, reviewer):
    return aq.session_client(app, "reviewer@nfra.example.com")


def page_request(client, method, url):
    if method == "GET":
        return client.get(url, headers={"Accept": "text/html"})
    return client.open(url, method=method, data={"csrf_token": client.csrf}, headers={"Accept": "text/html"})


def test_every_api_endpoint_outside_the_audits_answers_403_to_a_reviewer(app, reviewer):
    wrong, swept = [], 0
    for method, rule in routes(app, api=True):
        if blueprint(rule) in AUDIT_BLUEPRINTS or rule.endpoint in SELF_SERVICE or is_public(app, rule, method):
            continue
        if (method, rule.endpoint) in REVIEWER_EVIDENCE:
            assert reviewer.open(method, example_url(rule)).status_code == 404  # no published finding here
            continue
        swept += 1
        resp = reviewer.open(method, example_url(rule))
        if resp.status_code != 403:
            wrong.append(f"{method} {rule.rule} -> {resp.status_code}")
    assert wrong == [], "a reviewer reached: " + ", ".join(wrong)
    assert swept > 50  # SIMs, costs, devices, work orders, tickets... all of them


def test_every_page_outside_the_audits_answers_403_to_a_logged_in_reviewer(app, reviewer_pages):
    wrong, swept = [], 0
    for method, rule in routes(app, api=False):
        if blueprint(rule) in AUDIT_BLUEPRINTS or rule.endpoint in SELF_SERVICE or is_public(app, rule, method):
            continue
        swept += 1
        resp = page_request(reviewer_pages, method, example_url(rule))
        if resp.status_code != 403:
            wrong.append(f"{method} {rule.rule} -> {resp.status_code}")
    assert wrong == [], "a reviewer reached: " + ", ".join(wrong)
    assert swept > 30  # the sweep really covered the operations and contractor pages


def test_every_write_of_the_audits_but_a_query_and_its_closure_answers_403_to_a_reviewer(app, reviewer, reviewer_pages):
    wrong, swept = [], 0
    for api in (True, False):
        for method, rule in routes(app, api=api):
            if blueprint(rule) not in AUDIT_BLUEPRINTS or method == "GET" or (method, rule.endpoint) in REVIEWER_WRITES:
                continue
            swept += 1
            url = example_url(rule)
            resp = reviewer.open(method, url) if api else page_request(reviewer_pages, method, url)
            if resp.status_code != 403:
                wrong.append(f"{method} {rule.rule} -> {resp.status_code}")
    assert wrong == [], "a reviewer wrote through: " + ", ".join(wrong)
    assert swept >= 4  # audit creation, publishing, re-running, answering at least


def test_the_only_writes_open_to_reviewers_are_queries_their_closure_and_their_own_account(app):
    """Read from the roles every endpoint declares: a new write endpoint open to reviewers fails here."""
    open_to_reviewers = {
        (method, rule.endpoint)
        for api in (True, False) for method, rule in routes(app, api=api)
        if method != "GET" and "reviewer" in getattr(dict(view_handlers(app, rule))[method], "access_roles", ())
    }
    assert open_to_reviewers == REVIEWER_WRITES | REVIEWER_WRITES_OF_THEIR_OWN_ACCOUNT


def test_operations_pages_of_the_audits_and_queries_answer_403_to_a_reviewer(app, reviewer_pages):
    wrong = []
    for method, rule in routes(app, api=False):
        if blueprint(rule) == "audits" or (rule.endpoint.startswith("audits_reviewer.ops_") and method == "GET"):
            resp = page_request(reviewer_pages, method, example_url(rule))
            if resp.status_code != 403:
                wrong.append(f"{method} {rule.rule} -> {resp.status_code}")
    assert wrong == []


def test_drafts_are_invisible_to_reviewers_everywhere(app, reviewer, reviewer_pages, ctx):
    draft = aq.draft_finding()
    published = aq.published_finding()

    listed = [a["id"] for a in reviewer.get("/api/audits").json["items"]]
    assert listed == [published.audit_id]
    readable = [r for m, r in routes(app, api=True) + routes(app, api=False)
                if m == "GET" and "<int:audit_id>" in r.rule and "reviewer" in getattr(dict(view_handlers(app, r))["GET"], "access_roles", ())]
    audit_urls = [r.rule.replace("<int:audit_id>", str(draft.audit_id)).replace("<int:finding_id>", str(draft.id))
                  .replace("<file_format>", "csv") for r in readable]
    for url in audit_urls:
        client = reviewer if url.startswith("/api/") else reviewer_pages
        assert client.get(url).status_code == 404, url
    assert len(audit_urls) >= 5
