"""Billing webhooks: the payment provider calls these; PostHog hears about each outcome."""

import posthog

SUBSCRIPTION_STARTED = "subscription_started"


def on_subscription_created(account_id: str, plan: str) -> None:
    posthog.capture(account_id, SUBSCRIPTION_STARTED, {"plan": plan})


def on_payment_failed(account_id: str, attempt: int) -> None:
    posthog.capture(account_id, "subscription_payment_failed", {"attempt": attempt})
    if posthog.feature_enabled("ops_rate_limit_override", account_id):
        return
    posthog.capture(account_id, "system_webhook_sent", {"kind": "dunning"})


def on_provider_timeout(account_id: str) -> None:
    posthog.capture(account_id, "error_api_timeout", {"provider": "stripe"})
