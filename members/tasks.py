"""Background tasks of the members app, run by the database worker (`manage.py db_worker`)."""

from django.tasks import task

from members.emails import invitations_deliver


@task
def invitation_emails_send(*, deliveries: list[tuple[int, str]], base_url: str) -> dict[str, int]:
    """Email invitations queued by an invite or a resend: (invitation id, link nonce) pairs."""
    return invitations_deliver(
        deliveries=[(invitation_id, nonce) for invitation_id, nonce in deliveries],
        base_url=base_url,
    )
