"""payedge.integrations.django through Django's own test client (SPEC 10).

The CSRF middleware is on, as in a real project: the webhook views are exempt.
"""

from __future__ import annotations

import django
from django.conf import settings
from django.http import HttpRequest
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from payedge.integrations import StandardEvent
from payedge.integrations.django import webhook_view
from payedge.stripe_compat import Event

from tests.integrations.scenario import STEPS, check, make_endpoints

ENDPOINTS = make_endpoints()


@csrf_exempt  # type: ignore[untyped-decorator]  # django ships no type hints
@webhook_view(ENDPOINTS.stripe)
def stripe_webhook(request: HttpRequest, event: Event) -> None:
    assert request.method == "POST"
    ENDPOINTS.stripe_fallback(event)


@csrf_exempt  # type: ignore[untyped-decorator]
@webhook_view(ENDPOINTS.standard)
def standard_webhook(request: HttpRequest, event: StandardEvent) -> None:
    ENDPOINTS.standard_fallback(event)


urlpatterns = [path("stripe", stripe_webhook), path("standard", standard_webhook)]


def setup_django() -> None:
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="payedge-tests-only",
            ROOT_URLCONF=__name__,
            ALLOWED_HOSTS=["testserver"],
            MIDDLEWARE=[
                "django.middleware.common.CommonMiddleware",
                "django.middleware.csrf.CsrfViewMiddleware",
            ],
            INSTALLED_APPS=[],
            DATABASES={},
        )
        django.setup()


def test_delivery_story() -> None:
    setup_django()
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    for step in STEPS:
        delivery = step.delivery()
        before = len(ENDPOINTS.seen.calls)
        headers = {k: v for k, v in delivery.headers.items() if k != "Content-Type"}
        response = client.post(
            delivery.path, data=delivery.body, content_type="application/json", headers=headers
        )
        check(
            step,
            response.status_code,
            response.content,
            response["Content-Type"],
            ENDPOINTS.seen,
            before=before,
        )
    assert client.get("/stripe").status_code == 405
