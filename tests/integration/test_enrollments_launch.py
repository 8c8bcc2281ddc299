"""A course declared a launch (``launch: true``) is wide from its first enrollment, through the handlers.

DynamoDB serves about 1,000 write units a second per partition, an index's partitions
included ("Best practices for designing and using partition keys effectively",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html,
read 2026-12-03): a launch must not start on one ``ByCourse`` partition. API Gateway
validates a body against the route's model (JSON Schema draft 4) and answers 400 when it
does not match ("Request validation for REST APIs in API Gateway",
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html,
read 2026-12-03); behind it the handler's own model answers 422.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
import redis
from jsonschema import Draft4Validator  # type: ignore[import-untyped]

from courses_api.data.dynamo import from_attributes
from courses_api.data.enrollments import ROSTER_SHARDS, roster_partition, shard_of
from courses_api.domain.invalidation import plan_invalidation
from tests.integration.linearizable import serialize
from tests.support.events import claims_for, load_event
from tests.support.functions import HttpResult, call
from tests.support.services import MotoEndpoint
from tests.template.stack import load_source

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

OWNER_CLAIMS = claims_for("instructor-0001", "instructors")
OTHER_CLAIMS = claims_for("instructor-0002", "instructors")
ADMIN_CLAIMS = claims_for("admin-0001", "admins")
BODY: dict[str, Any] = {"title": "Launch week", "category": "cloud-computing", "level": "beginner", "price": 10,
                        "status": "published"}


def spread_students(count: int) -> list[str]:
    """Students whose rows a wide roster puts outside ``#00`` (so a narrow write would show)."""
    found = (f"student-{n:04d}" for n in range(10_000))
    return [user for user in found if shard_of(user) != 0][:count]


class Api:
    """The authoring, enrolling and roster functions, one container each."""

    def __init__(self, function: Callable[[str], ModuleType]) -> None:
        self.create_fn = function("create_course")
        self.update_fn = function("update_course")
        self.get_fn = function("get_course")
        self.enroll_fn = function("enroll")
        self.roster_fn = function("list_course_enrollments")
        self.queries: list[str] = []
        self.roster_fn.container.dynamodb.meta.events.register(
            "provide-client-params.dynamodb.Query",
            lambda params, **_: self.queries.append(params["ExpressionAttributeValues"][":partition"]["S"]))

    def create(self, body: Any, claims: dict[str, Any] = OWNER_CLAIMS) -> HttpResult:
        event = load_event("create_course", claims=claims)
        event["body"] = json.dumps(body)
        return call(self.create_fn, event)

    def patch(self, course_id: str, body: Any, version: int, claims: dict[str, Any] = OWNER_CLAIMS) -> HttpResult:
        event = load_event("update_course", path_parameters={"course_id": course_id},
                           headers={"If-Match": f'"{version}"'}, claims=claims)
        event["body"] = json.dumps(body)
        return call(self.update_fn, event)

    def get(self, course_id: str) -> HttpResult:
        return call(self.get_fn, load_event("get_course", path_parameters={"course_id": course_id},
                                            claims=OWNER_CLAIMS))

    def enroll(self, course_id: str, user_id: str) -> HttpResult:
        event = load_event("enroll", path_parameters={"course_id": course_id}, claims=claims_for(user_id))
        return call(self.enroll_fn, event)

    def roster(self, course_id: str) -> list[str]:
        """Every user on the course's roster (all pages), the partitions each page read recorded in ``queries``."""
        users: list[str] = []
        query: dict[str, str] = {"limit": "4"}
        while True:
            event = load_event("list_course_enrollments", path_parameters={"course_id": course_id},
                               claims=OWNER_CLAIMS, query=query)
            body = call(self.roster_fn, event).body
            users += [entry["user_id"] for entry in body["items"]]
            if not body["next_cursor"]:
                return users
            query = {"limit": "4", "cursor": body["next_cursor"]}


def functions(moto_endpoint: MotoEndpoint, function: Callable[[str], ModuleType],
              monkeypatch: pytest.MonkeyPatch) -> Api:
    """The functions, loaded once the environment is set."""
    serialize(moto_endpoint)
    monkeypatch.setenv("DYNAMODB_READ_TIMEOUT_S", "20")  # a busy moto is slow, not lost: no SDK retry mid-test
    return Api(function)


@pytest.fixture
def api(tables: dict[str, str], without_redis: None, moto_endpoint: MotoEndpoint,
        function: Callable[[str], ModuleType], monkeypatch: pytest.MonkeyPatch) -> Api:
    return functions(moto_endpoint, function, monkeypatch)


def partitions_of(dynamodb: DynamoDBClient, tables: dict[str, str], course_id: str, users: list[str]) -> set[str]:
    """The ``ByCourse`` partitions the users' enrollment rows in the course were written to."""
    found = set()
    for user in users:
        item = dynamodb.get_item(TableName=tables["ENROLLMENTS_TABLE"], ConsistentRead=True,
                                 Key={"user_id": {"S": user}, "course_id": {"S": course_id}})["Item"]
        found.add(str(from_attributes(item)["course_shard"]))
    return found


class TestDeclaredLaunch:
    def test_a_declared_course_takes_its_first_enrollment_in_a_spread_partition(
        self, api: Api, dynamodb: DynamoDBClient, tables: dict[str, str],
    ) -> None:
        created = api.create({**BODY, "launch": True})
        assert created.status == 201, created.body
        course_id = created.body["course_id"]
        assert created.body["launch"] is True
        assert api.get(course_id).body["launch"] is True
        first = spread_students(1)
        assert api.enroll(course_id, first[0]).status == 201
        # its shown count is 0, under WIDE_AT: only the declaration puts it outside #00
        assert partitions_of(dynamodb, tables, course_id, first) == {
            roster_partition(course_id, shard_of(first[0]))}
        assert api.roster(course_id) == first
        assert set(api.queries) == {roster_partition(course_id, shard) for shard in range(ROSTER_SHARDS)}

    def test_an_undeclared_course_of_40_students_still_reads_a_page_in_one_query(self, api: Api) -> None:
        created = api.create(BODY)
        course_id = created.body["course_id"]
        assert created.body["launch"] is False
        students = [f"student-{n:04d}" for n in range(40)]
        for user in students:
            assert api.enroll(course_id, user).status == 201
        event = load_event("list_course_enrollments", path_parameters={"course_id": course_id},
                           claims=OWNER_CLAIMS, query={"limit": "50"})
        assert len(call(api.roster_fn, event).body["items"]) == 40
        assert api.queries == [roster_partition(course_id, 0)], "one Query"

    def test_declaring_a_course_with_enrollments_keeps_every_row_readable_and_cannot_be_undone(
        self, api: Api, dynamodb: DynamoDBClient, tables: dict[str, str],
    ) -> None:
        course_id = api.create(BODY).body["course_id"]
        early, late = spread_students(6)[:3], spread_students(6)[3:]
        for user in early:
            assert api.enroll(course_id, user).status == 201
        assert partitions_of(dynamodb, tables, course_id, early) == {roster_partition(course_id, 0)}
        declared = api.patch(course_id, {"launch": True}, 1)
        assert declared.status == 200, declared.body
        assert (declared.body["launch"], declared.body["version"]) == (True, 2)
        for user in late:
            assert api.enroll(course_id, user).status == 201
        assert roster_partition(course_id, 0) not in partitions_of(dynamodb, tables, course_id, late)
        # the rows written narrow stay in #00, which the wide read includes
        assert sorted(api.roster(course_id)) == sorted(early + late)
        # and the declaration is one way: taking it back is refused, and nothing changed
        undone = api.patch(course_id, {"launch": False}, 2)
        assert (undone.status, undone.problem["type"].rsplit("/", 1)[-1]) == (422, "validation-failed")
        assert api.get(course_id).body["launch"] is True
        assert sorted(api.roster(course_id)) == sorted(early + late)

    def test_only_the_owner_or_an_admin_may_declare_a_launch(self, api: Api) -> None:
        course_id = api.create(BODY).body["course_id"]
        assert api.patch(course_id, {"launch": True}, 1, OTHER_CLAIMS).problem["status"] == 403
        assert api.patch(course_id, {"launch": True}, 1, claims_for("student-0001")).problem["status"] == 403
        assert api.create({**BODY, "launch": True}, claims_for("student-0001")).problem["status"] == 403
        assert api.get(course_id).body["launch"] is False
        assert api.patch(course_id, {"launch": True}, 1, ADMIN_CLAIMS).body["launch"] is True

    @pytest.mark.parametrize("value", ["true", 1, None, [True], {}])
    def test_bad_launch_values_are_problems_at_the_gateway_and_in_the_handler(self, api: Api, value: Any) -> None:
        models = load_source()["Resources"]["CoursesApi"]["Properties"]["Models"]
        create, patch = Draft4Validator(models["CourseCreate"]), Draft4Validator(models["CoursePatch"])
        # API Gateway: the route's model refuses them (400, BAD_REQUEST_BODY as problem+json)
        assert not create.is_valid({**BODY, "launch": value})
        assert not patch.is_valid({"launch": value})
        # the handler behind it too, naming the field
        course_id = api.create(BODY).body["course_id"]
        for refused in (api.create({**BODY, "launch": value}), api.patch(course_id, {"launch": value}, 1)):
            assert refused.problem["status"] == 422
            assert any("launch" in f"{error['loc']} {error['msg']}" for error in refused.problem["errors"])
        assert api.get(course_id).body["version"] == 1

    def test_the_gateway_model_admits_a_declaration_and_refuses_taking_it_back(self) -> None:
        models = load_source()["Resources"]["CoursesApi"]["Properties"]["Models"]
        create, patch = Draft4Validator(models["CourseCreate"]), Draft4Validator(models["CoursePatch"])
        assert create.is_valid({**BODY, "launch": True})
        assert create.is_valid({**BODY, "launch": False})
        assert patch.is_valid({"launch": True})
        assert patch.is_valid({"title": "x", "launch": True})
        assert not patch.is_valid({"launch": False})
        assert not patch.is_valid({"title": "x", "launch": False})


def test_a_declaration_drops_the_course_entry_alone_and_the_next_enrollment_is_spread(
    tables: dict[str, str], with_redis: redis.Redis, moto_endpoint: MotoEndpoint,
    function: Callable[[str], ModuleType], dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # an author field like the title: the item's entry, no list (list pages hold ids only)
    old = {"course_id": "c1", "status": "published", "category": "web", "version": 1, "launch": False}
    plan = plan_invalidation("c1", old, {**old, "version": 2, "launch": True})
    assert (plan.item_ids, plan.namespaces) == (("c1",), ())
    # through the cache: enroll reads the course undeclared and caches it, the PATCH drops that entry
    monkeypatch.setenv("NEAR_CACHE_TTL_S", "0")
    api = functions(moto_endpoint, function, monkeypatch)
    course_id = api.create(BODY).body["course_id"]
    first, second = spread_students(2)
    assert api.enroll(course_id, first).status == 201
    assert api.get(course_id).headers["X-Cache"] == "HIT"
    assert api.patch(course_id, {"launch": True}, 1).status == 200
    assert api.enroll(course_id, second).status == 201
    assert partitions_of(dynamodb, tables, course_id, [first, second]) == {
        roster_partition(course_id, 0), roster_partition(course_id, shard_of(second))}
