"""The fuzz stage: schemathesis drives every operation of /api/openapi.json as ops, contractor and reviewer.

The world is a small demo (trucks, orders in every state, SIMs and a reconciled statement, tickets, a published
audit), so generated ids often name real rows. Examples are positive and negative (schema-breaking input), from a
fixed seed (``derandomize``), ``FUZZ_EXAMPLES`` per operation (default 12). A test fails on any 5xx and on any
response that breaks its documented schema. PostgreSQL only: it is where integer overflow, NUL and range errors
surfaced as 500s.
"""
import collections
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import DATABASE_URL

pytestmark = pytest.mark.skipif(not DATABASE_URL.startswith("postgresql"), reason="the fuzz stage runs on PostgreSQL")

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 12))
ONLY = os.environ.get("FUZZ_ONLY")  # e.g. "GET /api/trucks": only the operations whose label contains it
CHECKS = [not_a_server_error, response_schema_conformance]
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, print_blob=True,
                suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])
DEMO_TRUCKS = 60


class World:
    """The demo data and one fuzzing user per role, whose token is re-issued whenever a fuzzed call killed it
    (an ops user may revoke its own token or deactivate itself: a legitimate call, not a failure)."""

    def __init__(self, app):
        self.app, self.users = app, {}

    def load(self):
        from insurer_dms.auth.service import create_user
        from insurer_dms.demo import CONTRACTORS, load_demo

        with self.app.app_context():
            for _ in load_demo(trucks=DEMO_TRUCKS, seed=14):
                pass
            self.users["ops"] = create_user("fuzz-ops@example.com", "ops", "password123")[0].id
            self.users["contractor"] = create_user("fuzz-tech@example.com", "contractor", "password123",
                                                   CONTRACTORS[0][1])[0].id
            self.users["reviewer"] = create_user("fuzz-reviewer@example.com", "reviewer", "password123")[0].id
        self.tokens = {}

    def headers(self, role):
        from insurer_dms.auth.models import User
        from insurer_dms.auth.service import create_token, user_for_token
        from insurer_dms.extensions import db

        with self.app.app_context():
            user = db.session.get(User, self.users[role])
            if user.role.value != role or not user.active:
                from insurer_dms.auth.models import Role

                user.role, user.active = Role(role), True
                db.session.commit()
            token = self.tokens.get(role)
            if token is None or user_for_token(token) is None:
                token = self.tokens[role] = create_token(user, "fuzz")[1]
            db.session.remove()
        return {"Authorization": f"Bearer {token}", "Accept-Language": "zh-CN"}


@pytest.fixture
def world(app):
    world = World(app)
    world.load()
    return world


MODES = ("positive", "negative")


def near(values):
    """Most generated ids moved onto the demo's rows (1 to 40), one in four left as generated (often huge)."""
    if not values:
        return values
    return {k: (1 + v % 40 if isinstance(v, int) and not isinstance(v, bool) and (k == "id" or k.endswith("_id"))
                and v % 4 else v) for k, v in values.items()}


def fuzz(app, world, role):
    """Every operation, both modes; returns (operations, cases) and fails listing every operation that broke."""
    from hypothesis import given
    from hypothesis.errors import Unsatisfiable
    from schemathesis.generation.modes import GenerationMode

    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    if ONLY:
        operations = [o for o in operations if ONLY in o.label]
    cases, failures, statuses, reached = 0, [], collections.Counter(), set()
    for operation in operations:
        for mode in MODES:
            @FUZZ
            @given(case=operation.as_strategy(generation_mode=GenerationMode(mode)))
            def one(case):
                nonlocal cases
                cases += 1
                if mode == "positive":
                    case.path_parameters, case.query = near(case.path_parameters), near(case.query)
                response = case.call(headers=world.headers(role))
                statuses[response.status_code] += 1
                if response.status_code < 300:
                    reached.add(operation.label)
                case.validate_response(response, checks=CHECKS)

            try:
                one()
            except Unsatisfiable:
                continue  # no input breaks this operation's schema (an unconstrained string path): nothing to send
            except Exception as err:  # noqa: BLE001  (every operation is tried; all failures are reported)
                failures.append(f"{operation.label} ({mode}): {err}")
    print(f"\nfuzz as {role}: {len(operations)} operations, {cases} cases, {len(reached)} operations answered 2xx; "
          f"statuses {dict(sorted(statuses.items()))}")
    assert not failures, "\n\n".join(failures)
    return len(operations), cases, reached


@pytest.mark.parametrize("role", ["ops", "contractor", "reviewer"])
def test_fuzz(app, world, role):
    operations, cases, reached = fuzz(app, world, role)
    assert (operations > 100 or ONLY) and cases >= operations
    # The fuzzer gets past the gates: each role reaches operations it may use, not only 401/403/404/422.
    assert ONLY or len(reached) >= {"ops": 55, "contractor": 8, "reviewer": 4}[role], sorted(reached)
