"""Login lockout (django-axes) on the token endpoint, the login page and Django admin's login, per username and
per address; and DRF's throttle on anonymous API calls. The product's own limits (annotator/settings)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
ATTACKER, OFFICE, ELSEWHERE = "203.0.113.7", "198.51.100.20", "192.0.2.99"


def token(username: str, password: str, address: str):
    return APIClient(REMOTE_ADDR=address).post(TOKEN_URL, {"username": username, "password": password},
                                               format="json")


def fail_limit_times(username_of, address: str) -> None:
    """AXES_FAILURE_LIMIT wrong passwords: the last one locks out, and is answered so."""
    for k in range(settings.AXES_FAILURE_LIMIT - 1):
        response = token(username_of(k), "wrong", address)
        assert response.status_code == 401, (k, response.content)
    assert_locked_out(token(username_of(settings.AXES_FAILURE_LIMIT - 1), "wrong", address))


def assert_locked_out(response):
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == "locked_out"
    assert "Too many failed logins" in body["detail"] and "15 minutes" in body["detail"]
    assert int(response["Retry-After"]) == 15 * 60


def test_wrong_passwords_lock_out_the_username_even_with_the_right_password_from_elsewhere(people):
    fail_limit_times(lambda k: "annotator", ATTACKER)
    assert_locked_out(token("annotator", "pw-annotator", ATTACKER))
    assert_locked_out(token("annotator", "pw-annotator", ELSEWHERE))  # per username, whatever the address
    assert token("reviewer", "pw-reviewer", ELSEWHERE).status_code == 200  # other users are unaffected


def test_wrong_passwords_from_one_address_lock_out_that_address_for_every_username(people):
    fail_limit_times(lambda k: f"guess{k}", ATTACKER)  # each username fails once only
    assert_locked_out(token("reviewer", "pw-reviewer", ATTACKER))
    assert token("reviewer", "pw-reviewer", OFFICE).status_code == 200  # other addresses are unaffected


def test_fewer_failures_than_the_limit_lock_nobody_out(people):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert token("annotator", "wrong", ATTACKER).status_code == 401
    assert token("annotator", "pw-annotator", ATTACKER).status_code == 200


def test_the_lockout_ends_once_the_cool_off_passed_without_failure(people):
    fail_limit_times(lambda k: "annotator", ATTACKER)
    assert_locked_out(token("annotator", "pw-annotator", ATTACKER))
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    assert token("annotator", "pw-annotator", ATTACKER).status_code == 200


def test_a_forged_forwarded_for_header_does_not_change_the_address(people):
    for k in range(settings.AXES_FAILURE_LIMIT):
        APIClient(REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"10.9.9.{k}").post(
            TOKEN_URL, {"username": f"guess{k}", "password": "wrong"}, format="json")
    assert_locked_out(token("reviewer", "pw-reviewer", ATTACKER))


@pytest.mark.parametrize("login_url", ["/accounts/login/", "/admin/login/"])
def test_login_page_and_admin_login_lock_out_too(people, login_url):
    people["reviewer"].is_staff = True
    people["reviewer"].save()
    client = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(login_url, {"username": "reviewer", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    assert client.post(login_url, {"username": "reviewer", "password": "wrong"}).status_code == 429
    refused = client.post(login_url, {"username": "reviewer", "password": "pw-reviewer"})
    assert refused.status_code == 429
    assert "Too many failed logins" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    # Per username: the token endpoint refuses it from elsewhere as well; others log in.
    assert_locked_out(token("reviewer", "pw-reviewer", ELSEWHERE))
    other = Client(REMOTE_ADDR=OFFICE)
    assert other.post("/accounts/login/", {"username": "annotator", "password": "pw-annotator"}).status_code == 302


# Anonymous API throttle ---------------------------------------------------------------------------------------

@pytest.fixture
def three_a_minute():
    rates = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "3/minute"}}
    with override_settings(REST_FRAMEWORK=rates):
        yield


def test_the_product_throttles_anonymous_calls_at_60_a_minute_by_default():
    from annotator import settings as product

    assert product.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] == {"anon": "60/minute"}
    assert product.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == ["projects.throttling.AnonymousThrottle"]


def test_anonymous_calls_over_the_rate_get_429(project, people, three_a_minute):
    """DRF checks throttles after permissions: an anonymous call to a member's endpoint is a 401 before any work,
    so what anonymous callers can reach, the token endpoint and the schema, is what the rate bounds."""
    anonymous = APIClient(REMOTE_ADDR=ATTACKER, HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert [anonymous.get("/api/v1/schema/").status_code for _ in range(3)] == [200, 200, 200]
    refused = anonymous.get("/api/v1/schema/")
    assert refused.status_code == 429
    assert "throttled" in json.loads(refused.content)["detail"] and int(refused["Retry-After"]) > 0
    assert token("annotator", "pw-annotator", ATTACKER).status_code == 429
    # The address is the connection's, whatever X-Forwarded-For says.
    forged = APIClient(REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert forged.get("/api/v1/schema/").status_code == 429
    # Other addresses, and users with a token, are not throttled.
    assert token("annotator", "pw-annotator", OFFICE).status_code == 200
    key = token("annotator", "pw-annotator", ELSEWHERE).json()["token"]
    authenticated = APIClient(REMOTE_ADDR=ATTACKER, HTTP_AUTHORIZATION=f"Token {key}")
    assert [authenticated.get("/api/v1/projects/").status_code for _ in range(5)] == [200] * 5
    assert authenticated.get("/api/v1/schema/").status_code == 200
