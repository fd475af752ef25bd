"""Background tasks of the usage app, run by the database worker (`manage.py db_worker`)."""

from django.tasks import task

from usage.alerts import budget_alerts_deliver


@task
def budget_alert_emails_send(*, alert_ids: list[int]) -> dict[str, int]:
    """Email the budget alerts an ingest transaction recorded (ids of BudgetAlert rows)."""
    return budget_alerts_deliver(alert_ids=alert_ids)
