"""Accounts: sign up, sign in with throttling, sign out, password reset by email and change."""

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from members.models import LoginThrottle, User
from tests.factories import PASSWORD, make_user


def login(client, email, password, ip="203.0.113.7"):
    return client.post(
        reverse("accounts:login"), {"username": email, "password": password}, REMOTE_ADDR=ip
    )


def test_signup_logs_in_and_lands_on_the_org_list(client, db):
    response = client.post(
        reverse("accounts:signup"),
        {"display_name": "Nia", "email": "Nia@Example.TEST", "password": "a-long-unusual-pass-42"},
        follow=True,
    )
    user = User.objects.get()
    assert user.email == "nia@example.test" and user.display_name == "Nia"
    assert response.context["user"] == user
    assert "Create an organization" in response.content.decode()


def test_email_is_unique_case_insensitively(client, db):
    make_user("taken@example.test")
    response = client.post(
        reverse("accounts:signup"),
        {"email": "TAKEN@example.test", "password": "a-long-unusual-pass-42"},
    )
    assert "already exists" in response.content.decode()
    assert User.objects.count() == 1


def test_signup_rejects_weak_password_naming_the_field(client, db):
    response = client.post(
        reverse("accounts:signup"), {"email": "x@example.test", "password": "123"}
    )
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert not User.objects.exists()


def test_login_is_case_insensitive_on_email(client, db):
    make_user("case@example.test")
    assert login(client, "CASE@example.test", PASSWORD).status_code == 302


def test_unknown_email_and_wrong_password_get_the_same_answer(client, db):
    make_user("known@example.test")
    unknown = login(client, "nobody@example.test", "whatever-pass").content.decode()
    wrong = login(client, "known@example.test", "wrong-pass").content.decode()

    def error_of(page):
        return re.search(r'class="alert alert-error".*?</div>', page, re.S).group(0)

    assert error_of(unknown) == error_of(wrong)
    assert "do not match an account" in error_of(wrong)


def test_login_locks_after_repeated_failures_per_account_and_ip(client, db, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    make_user("victim@example.test")
    for _ in range(3):
        login(client, "victim@example.test", "guess")
    locked = login(client, "victim@example.test", PASSWORD)
    assert locked.status_code == 200 and "Too many failed sign-ins" in locked.content.decode()
    # Another IP is not locked out, nor is another account from the same IP.
    assert login(client, "victim@example.test", PASSWORD, ip="198.51.100.9").status_code == 302
    client.logout()
    make_user("bystander@example.test")
    assert login(client, "bystander@example.test", PASSWORD).status_code == 302


def test_unknown_email_is_throttled_like_a_known_one(client, db, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    for _ in range(2):
        login(client, "ghost@example.test", "guess")
    assert (
        "Too many failed sign-ins" in login(client, "ghost@example.test", "guess").content.decode()
    )


def test_cool_off_ends(client, db, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    make_user("patient@example.test")
    for _ in range(2):
        login(client, "patient@example.test", "guess")
    LoginThrottle.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    assert login(client, "patient@example.test", PASSWORD).status_code == 302
    assert not LoginThrottle.objects.exists()  # success clears the record


def test_logout_needs_post(client, db):
    user = make_user()
    client.force_login(user)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get(reverse("org_list")).status_code == 302


def test_password_reset_by_email(client, db):
    make_user("forgetful@example.test")
    client.post(reverse("accounts:password_reset"), {"email": "forgetful@example.test"})
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["forgetful@example.test"]
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "brand-new-secret-77", "new_password2": "brand-new-secret-77"},
    )
    assert login(client, "forgetful@example.test", "brand-new-secret-77").status_code == 302


def test_password_reset_for_unknown_email_sends_nothing_and_says_the_same(client, db):
    response = client.post(
        reverse("accounts:password_reset"), {"email": "who@example.test"}, follow=True
    )
    assert "Check your inbox" in response.content.decode()
    assert mail.outbox == []


def test_password_change(client, db):
    user = make_user("changer@example.test")
    client.force_login(user)
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "fresh-pass-9911",
            "new_password2": "fresh-pass-9911",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("fresh-pass-9911")


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x"])
def test_signup_never_redirects_off_site(client, db, next_url):
    response = client.post(
        reverse("accounts:signup") + f"?next={next_url}",
        {"email": "safe@example.test", "password": "a-long-unusual-pass-42"},
    )
    assert response["Location"] == reverse("home")


# -- Bad input: a clear error next to the field, never a server error -------------------------


def test_an_over_long_sign_in_email_is_refused_naming_the_field(client, db):
    response = login(client, "a" * 290 + "@example.test", "whatever-pass")
    assert response.status_code == 200
    assert "Email address: at most 254 characters" in response.content.decode()
    assert not LoginThrottle.objects.exists()


def test_a_sign_in_email_that_grows_when_lower_cased_is_throttled_without_error(
    client, db, settings
):
    # "İ".lower() is two characters: 254 typed become 508 stored unless the throttle cuts them.
    settings.LOGIN_FAILURE_LIMIT = 2
    typed = "İ" * 254
    for _ in range(2):
        assert login(client, typed, "guess").status_code == 200
    throttle = LoginThrottle.objects.get()
    assert len(throttle.email) <= 254 and throttle.failures == 2
    assert "Too many failed sign-ins" in login(client, typed, "guess").content.decode()


@pytest.mark.parametrize(
    ("url_name", "data"),
    [
        ("accounts:login", {"username": "nul\x00@example.test", "password": "whatever-pass"}),
        ("accounts:login", {"username": "nul@example.test", "password": "what\x00ever"}),
        ("accounts:signup", {"email": "nul\x00@example.test", "password": "a-long-unusual-42"}),
        (
            "accounts:signup",
            {"email": "nul@example.test", "display_name": "N\x00", "password": "a-long-unusual-42"},
        ),
        ("accounts:signup", {"email": "nul@example.test", "password": "a-long\x00-unusual-42"}),
        ("accounts:password_reset", {"email": "nul\x00@example.test"}),
    ],
)
def test_nul_characters_are_refused_as_a_form_error(client, db, url_name, data):
    response = client.post(reverse(url_name), data, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    assert not User.objects.exists() and mail.outbox == []


@pytest.mark.parametrize(
    "email",
    [
        "a" * 250 + "@example.test",
        # Lower-casing makes it 413 characters, past the column, after the form's own check.
        "İ" * 200 + "@example.test",
    ],
)
def test_an_over_long_signup_email_is_refused_naming_the_field(client, db, email):
    response = client.post(
        reverse("accounts:signup"), {"email": email, "password": "a-long-unusual-pass-42"}
    )
    assert response.status_code == 200
    assert "Email: at most 254 characters" in response.content.decode()
    assert not User.objects.exists()


def test_an_over_long_password_reset_email_is_refused(client, db):
    response = client.post(reverse("accounts:password_reset"), {"email": "a" * 300 + "@x.test"})
    assert response.status_code == 200
    assert "Email: at most 254 characters (this one has 307)" in response.content.decode()


# -- next: only a path on this site is followed -----------------------------------------------

UNSAFE_NEXT = [
    "abc",
    "home",
    "org_list",
    "https://evil.example/",
    "//evil.example/x",
    "/\\evil.example/x",
    "javascript:alert(1)",
    "\x00",
    "/o/x/\x00",
    "/o/x/\n",
    " /o/x/",
]


@pytest.mark.parametrize("next_url", UNSAFE_NEXT)
def test_signup_ignores_a_next_that_is_not_a_path_when_signed_in(client, db, next_url):
    client.force_login(make_user())
    response = client.get(reverse("accounts:signup"), {"next": next_url})
    assert response.status_code == 302 and response["Location"] == reverse("home")


@pytest.mark.parametrize("next_url", UNSAFE_NEXT)
def test_signup_ignores_a_next_that_is_not_a_path_on_the_creating_post(client, db, next_url):
    response = client.post(
        reverse("accounts:signup") + "?" + urlencode({"next": next_url}),
        {"email": "safe@example.test", "password": "a-long-unusual-pass-42"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert User.objects.filter(email="safe@example.test").exists()


@pytest.mark.parametrize("next_url", UNSAFE_NEXT)
def test_sign_in_ignores_a_next_that_is_not_a_path(client, db, next_url):
    make_user("next@example.test")
    response = client.post(
        reverse("accounts:login"),
        {"username": "next@example.test", "password": PASSWORD, "next": next_url},
    )
    assert response.status_code == 302 and response["Location"] == reverse("home")
    again = client.get(reverse("accounts:login"), {"next": next_url})
    assert again.status_code == 302 and again["Location"] == reverse("home")


@pytest.mark.parametrize("next_url", UNSAFE_NEXT)
def test_sign_out_ignores_a_next_that_is_not_a_path(client, db, next_url):
    client.force_login(make_user())
    response = client.post(reverse("accounts:logout"), {"next": next_url})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")


def test_a_signed_in_person_sent_back_to_the_sign_in_page_lands_home(client, db):
    client.force_login(make_user())
    for target in ("/accounts/login/", "/accounts/login/?next=/accounts/login/"):
        response = client.get(reverse("accounts:login"), {"next": target})
        assert response.status_code == 302, target


def test_a_next_path_on_this_site_is_followed(client, db):
    make_user("next@example.test")
    response = client.post(
        reverse("accounts:login"),
        {"username": "next@example.test", "password": PASSWORD, "next": "/o/acme/?tab=1"},
    )
    assert response["Location"] == "/o/acme/?tab=1"
    response = client.post(reverse("accounts:logout"), {"next": "/accounts/login/?next=/o/a/"})
    assert response["Location"] == "/accounts/login/?next=/o/a/"
    response = client.post(
        reverse("accounts:signup") + "?next=/invitations/abc/",
        {"email": "new@example.test", "password": "a-long-unusual-pass-42"},
    )
    assert response["Location"] == "/invitations/abc/"
    assert client.get(reverse("accounts:signup"), {"next": "/o/x/"})["Location"] == "/o/x/"
