"""Staff admin for partners and merchants holds input to the API's rules.

Rate-limit overrides must be what the API's limiter parses (D27), else every
API call of the partner would be a 500; merchant addresses are checked as the
API checks them (EIP-55 / hex) and auto-forward follows D29. Each refusal is a
form error on the change page and leaves the row as it was.
"""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings

from merchants.models import ApiKey, Merchant, Partner
from tests.factories import WALLET, MerchantFactory

pytestmark = pytest.mark.django_db

OTHER = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"  # lower case: no checksum
# Mixed case with one letter's case flipped: a typo the EIP-55 checksum catches.
BAD_CHECKSUM = WALLET.replace("C", "c", 1)


def _post_value(value):
    """How a browser would send an initial form value (None for "leave it out")."""
    if isinstance(value, bool):
        return "on" if value else None
    return "" if value is None else value


def change_form_data(page) -> dict:
    """The change form as the page rendered it, inlines' management forms included."""
    data: dict = {}
    forms = [page.context["adminform"].form]
    for inline in page.context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    for form in forms:
        for name in form.fields:
            value = _post_value(form[name].value())
            if value is not None:
                data[form.add_prefix(name)] = value
    return data


def post_change(client, obj, **changes):
    url = f"/admin/merchants/{obj._meta.model_name}/{obj.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    data = change_form_data(page)
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)  # an unticked checkbox is not sent
        else:
            data[name] = "on" if value is True else value
    return client.post(url, data)


def form_errors(response) -> dict[str, list[str]]:
    assert response.status_code == 200, "expected the form back, not a redirect"
    return {k: list(v) for k, v in response.context["adminform"].form.errors.items()}


# --- partner rate-limit overrides (D27) ----------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        '["requests.create", "120/m"]',  # a list, not an object
        '{"requests.create": 120}',  # a bare number
        '{"requests.create": "120 per minute"}',
        '{"requests.create": ["120/m"]}',
        '{"requests.create": {"rate": "120/m"}}',
        '{"requests.create": null}',
        '{"requests.create": ""}',
        '{"requests.create": "120/0m"}',  # a window of zero seconds
        # A window Redis cannot expire: the limiter failed open, no headers.
        '{"requests.create": "10/99999999999999999999d"}',
        '{"requests.create": "10/367d"}',
        '{"requests.create": "1.5/m"}',  # a dot: the limiter would import it
        '{"requests.create": "120/M"}',  # the limiter would read 120 per second
        '{"requests.create": "120/mx"}',
        '{"request.create": "120/m"}',  # not a group
        '{"pay.page": "120/m"}',  # per IP: a partner override is never read
        '"120/m"',
        "120",
    ],
)
def test_partner_overrides_the_limiter_cannot_parse_are_refused(
    admin_client, partner, typed
):
    partner.rate_limit_overrides = {"requests.list": "30/m"}
    partner.save()

    response = post_change(admin_client, partner, rate_limit_overrides=typed)

    assert "rate_limit_overrides" in form_errors(response)
    partner.refresh_from_db()
    assert partner.rate_limit_overrides == {"requests.list": "30/m"}


@pytest.mark.parametrize(
    "rates",
    [
        {"requests.create": "120/m"},
        {"fx.rates": "10/5m", "plans.pause": "1000/h", "events.list": "5/s"},
        {"webhooks.test": "100/d"},
        {"requests.list": "100000/366d"},  # the longest window
        {"plans.merchant": "100/h"},  # the per-merchant plan budget (spec §10.3)
        {},
    ],
)
def test_partner_overrides_in_the_limiters_format_are_saved(
    admin_client, partner, rates
):
    response = post_change(
        admin_client, partner, rate_limit_overrides=json.dumps(rates)
    )

    assert response.status_code == 302, form_errors(response)
    partner.refresh_from_db()
    assert partner.rate_limit_overrides == rates


def test_an_emptied_overrides_box_saves_an_empty_object(admin_client, partner):
    """Not JSON null: the API calls ``.get`` on it."""
    partner.rate_limit_overrides = {"requests.list": "30/m"}
    partner.save()

    response = post_change(admin_client, partner, rate_limit_overrides="")

    assert response.status_code == 302, form_errors(response)
    partner.refresh_from_db()
    assert partner.rate_limit_overrides == {}


def test_a_saved_override_is_the_limit_the_api_applies(admin_client, partner, api):
    response = post_change(
        admin_client, partner, rate_limit_overrides='{"merchants.list": "2/m"}'
    )
    assert response.status_code == 302, form_errors(response)

    answers = [api.get("/api/v1/merchants").status_code for _ in range(3)]

    assert answers == [200, 200, 429]


# --- merchant addresses and auto-forward (D28, D29) ----------------------------------


@pytest.mark.parametrize("field", ["wallet_address", "withdraw_address"])
@pytest.mark.parametrize(
    "typed", ["0x123", "not-an-address", BAD_CHECKSUM, "0x" + "g" * 40, WALLET + "00"]
)
def test_merchant_addresses_the_api_would_refuse_are_refused(
    admin_client, merchant, field, typed
):
    before = Merchant.objects.values().get(pk=merchant.pk)

    response = post_change(admin_client, merchant, **{field: typed})

    assert field in form_errors(response)
    assert Merchant.objects.values().get(pk=merchant.pk) == before


def test_merchant_address_errors_name_the_api_code(admin_client, merchant):
    response = post_change(
        admin_client, merchant, wallet_address="0x123", withdraw_address="0x456"
    )

    errors = form_errors(response)
    assert "invalid_wallet_address" in errors["wallet_address"][0]
    assert "invalid_withdraw_address" in errors["withdraw_address"][0]


@pytest.mark.parametrize("address", [OTHER, OTHER.upper().replace("0X", "0x"), WALLET])
def test_merchant_addresses_the_api_accepts_are_saved(admin_client, merchant, address):
    response = post_change(
        admin_client, merchant, wallet_address=address, withdraw_address=address
    )

    assert response.status_code == 302, form_errors(response)
    merchant.refresh_from_db()
    assert merchant.wallet_address == merchant.withdraw_address == address


def test_auto_forward_without_an_executor_is_refused(admin_client, merchant, settings):
    settings.JOPAY_AUTO_FORWARD_EXECUTORS = {}
    Merchant.objects.filter(pk=merchant.pk).update(withdraw_address=OTHER)

    response = post_change(admin_client, merchant, auto_forward=True)

    errors = form_errors(response)
    assert "auto_forward_requires_embedded_wallet" in errors["auto_forward"][0]
    merchant.refresh_from_db()
    assert merchant.auto_forward is False


def test_auto_forward_needs_a_withdraw_address(admin_client, merchant, settings):
    settings.JOPAY_AUTO_FORWARD_EXECUTORS = {137: "0x" + "1" * 40}

    response = post_change(admin_client, merchant, auto_forward=True)

    assert "invalid_withdraw_address" in form_errors(response)["withdraw_address"][0]
    merchant.refresh_from_db()
    assert merchant.auto_forward is False


def test_auto_forward_with_an_executor_and_a_withdraw_address_is_saved(
    admin_client, merchant, settings
):
    settings.JOPAY_AUTO_FORWARD_EXECUTORS = {137: "0x" + "1" * 40}

    response = post_change(
        admin_client, merchant, auto_forward=True, withdraw_address=OTHER
    )

    assert response.status_code == 302, form_errors(response)
    merchant.refresh_from_db()
    assert (merchant.auto_forward, merchant.withdraw_address) == (True, OTHER)


@pytest.mark.parametrize(
    ("entered", "kept"),
    [
        # spec §11.1, as merchant_update: a grant pins its destination.
        (WALLET, False),
        # EIP-55 and lower case name one address: the destination has not moved.
        ("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", True),
    ],
    ids=["a new address", "the same address in another spelling"],
)
def test_a_withdraw_address_change_switches_auto_forward_off_only_if_it_moved(
    admin_client, partner, entered, kept
):
    merchant = MerchantFactory(partner=partner, withdraw_address=OTHER)
    Merchant.objects.filter(pk=merchant.pk).update(auto_forward=True)

    response = post_change(admin_client, merchant, withdraw_address=entered)

    assert response.status_code == 302, form_errors(response)
    merchant.refresh_from_db()
    assert (merchant.auto_forward, merchant.withdraw_address) == (kept, entered)


def test_editing_other_fields_keeps_a_granted_auto_forward(admin_client, partner):
    merchant = MerchantFactory(partner=partner, withdraw_address=OTHER)
    Merchant.objects.filter(pk=merchant.pk).update(auto_forward=True)

    response = post_change(admin_client, merchant, display_name="Renamed")

    assert response.status_code == 302, form_errors(response)
    merchant.refresh_from_db()
    assert (merchant.display_name, merchant.auto_forward) == ("Renamed", True)


def test_the_partner_change_page_still_saves_unrelated_edits(admin_client, partner):
    response = post_change(admin_client, partner, name="Alice Payments")

    assert response.status_code == 302, form_errors(response)
    assert Partner.objects.get(pk=partner.pk).name == "Alice Payments"


# --- merchant profile: the API's checks (D12, D28, D34) -----------------------------


@pytest.mark.parametrize(
    ("field", "typed", "code"),
    [
        # D12: a supported currency the partner has not enabled made every
        # request of the merchant answer unsupported_currency.
        ("display_currency", "CHF", "unsupported_currency"),
        ("email", "not-an-email", "invalid_email"),
        ("email", "shop@localhost", "invalid_email"),
        ("country", "XX", "invalid_country"),
        ("country", "D", "invalid_country"),
        ("display_name", "Shop\x07Bell", "invalid_request"),
        ("business_name", "Shop\nLtd", "invalid_request"),
        ("industry", "retail\x1b[31m", "invalid_request"),
        # D22: a bidi override reorders the name on the pay page and receipt.
        ("business_name", "Shop \u202egnp.exe", "invalid_request"),
        ("display_name", "Mia\u2066 Bakery", "invalid_request"),
    ],
)
def test_merchant_profile_values_the_api_refuses_are_refused(
    admin_client, merchant, field, typed, code
):
    before = Merchant.objects.values().get(pk=merchant.pk)

    response = post_change(admin_client, merchant, **{field: typed})

    errors = form_errors(response)
    assert code in errors[field][0]
    assert Merchant.objects.values().get(pk=merchant.pk) == before


def test_merchant_profile_values_the_api_accepts_are_saved(admin_client, merchant):
    response = post_change(
        admin_client,
        merchant,
        display_currency="USD",  # enabled for the partner
        email="shop@example.com",
        country="de",  # stored as the API spells it
        display_name="Café Ünïcode",
    )

    assert response.status_code == 302, form_errors(response)
    merchant.refresh_from_db()
    assert (merchant.display_currency, merchant.email, merchant.country) == (
        "USD",
        "shop@example.com",
        "DE",
    )
    assert merchant.display_name == "Café Ünïcode"


def test_an_old_bad_value_does_not_block_another_edit(admin_client, merchant):
    """As a PATCH: only the fields staff change are checked, so disabling a
    merchant whose partner later dropped its currency still works."""
    Merchant.objects.filter(pk=merchant.pk).update(display_currency="CHF")

    response = post_change(admin_client, merchant, disabled=True)

    assert response.status_code == 302, form_errors(response)
    merchant.refresh_from_db()
    assert merchant.disabled is True


@pytest.mark.parametrize(
    ("field", "stored"),
    [
        ("wallet_address", "0x" + "0" * 40),  # the zero address, before D28's rule
        ("wallet_address", BAD_CHECKSUM),  # mixed case, before the EIP-55 check
        ("withdraw_address", BAD_CHECKSUM),
    ],
)
def test_an_old_bad_address_does_not_block_disabling_the_merchant(
    admin_client, merchant, field, stored
):
    """The form's promise (a row an older rule let in never blocks an urgent
    edit of another field) held for profile fields, not for the two
    addresses: they were checked on every save, so staff acting on a fraud
    report could not disable such a merchant (D28), nor change anything else."""
    Merchant.objects.filter(pk=merchant.pk).update(**{field: stored})

    response = post_change(admin_client, merchant, disabled=True)

    assert response.status_code == 302, form_errors(response)
    merchant.refresh_from_db()
    assert merchant.disabled is True
    assert getattr(merchant, field) == stored  # left as it was, not rewritten


def test_a_changed_address_is_still_checked(admin_client, merchant):
    Merchant.objects.filter(pk=merchant.pk).update(wallet_address="0x" + "0" * 40)
    response = post_change(admin_client, merchant, wallet_address=BAD_CHECKSUM)
    assert "invalid_wallet_address" in " ".join(form_errors(response)["wallet_address"])


# --- merchants are created over the API (D28) ---------------------------------------


def test_merchants_cannot_be_added_in_the_admin(admin_client, partner):
    """The add form could not save (partner and mode read-only → 500); merchants
    are created over the API, with the onboarding link and currency checks."""
    assert admin_client.get("/admin/merchants/merchant/add/").status_code == 403
    response = admin_client.post(
        "/admin/merchants/merchant/add/",
        {"business_name": "X", "account_type": "business", "wallet_type": "external"},
    )
    assert response.status_code == 403
    assert not Merchant.objects.exists()
    assert admin_client.get("/admin/merchants/merchant/").status_code == 200


# --- partner settings: the portal's bounds (D11, D13) -------------------------------


@pytest.mark.parametrize(
    ("field", "typed"),
    [
        ("pos_expiry_seconds", "0"),
        ("pos_expiry_seconds", "59"),
        ("pos_expiry_seconds", "86401"),
        ("invoice_expiry_seconds", "3599"),
        ("invoice_expiry_seconds", "7776001"),
        ("invoice_expiry_seconds", "2147483647"),
        ("min_fiat_per_request", "0"),
    ],
)
def test_partner_settings_the_portal_refuses_are_refused(
    admin_client, partner, field, typed
):
    before = Partner.objects.values().get(pk=partner.pk)

    response = post_change(admin_client, partner, **{field: typed})

    assert field in form_errors(response)
    assert Partner.objects.values().get(pk=partner.pk) == before


@pytest.mark.parametrize(
    ("field", "typed"),
    [
        ("pos_expiry_seconds", "60"),
        ("pos_expiry_seconds", "86400"),
        ("invoice_expiry_seconds", "3600"),
        ("invoice_expiry_seconds", "7776000"),
        ("min_fiat_per_request", "1"),
    ],
)
def test_partner_settings_at_the_bounds_are_saved(admin_client, partner, field, typed):
    response = post_change(admin_client, partner, **{field: typed})

    assert response.status_code == 302, form_errors(response)
    assert getattr(Partner.objects.get(pk=partner.pk), field) == int(typed)


def post_as_a_browser(client, obj, **changes):
    """``post_change`` plus the hidden ``initial-…`` inputs the page carries
    for fields with a callable default (the JSON fields), which tell Django
    what the page showed: without them those fields count as changed."""
    url = f"/admin/merchants/{obj._meta.model_name}/{obj.pk}/change/"
    page = client.get(url)
    data = change_form_data(page)
    form = page.context["adminform"].form
    for name, field in form.fields.items():
        if field.show_hidden_initial:
            data[form.add_initial_prefix(name)] = field.prepare_value(
                form.get_initial_for_field(field, name)
            )
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        else:
            data[name] = "on" if value is True else value
    return client.post(url, data)


@pytest.mark.parametrize(
    "legacy",
    [
        {"pos_expiry_seconds": 172_800},  # two days, before D11's bounds held here
        {"min_fiat_per_request": 0},  # before D13's minimum of 1
        {"enabled_currencies": ["USD"]},  # the default (EUR) not among them
        {"primary_color": "blue"},
    ],
)
def test_an_old_out_of_bounds_setting_does_not_block_switching_the_partner_off(
    admin_client, partner, legacy
):
    """As on the merchant page: a value stored before a rule must not block
    an urgent edit of another field. Staff switching a partner off (a leaked
    key, a fraud report) were told to fix its expiry or limits first, that is
    to change the partner's money settings without its word."""
    Partner.objects.filter(pk=partner.pk).update(**legacy)

    response = post_as_a_browser(admin_client, partner, is_active=False)

    assert response.status_code == 302, form_errors(response)
    partner.refresh_from_db()
    assert partner.is_active is False
    for name, value in legacy.items():
        assert getattr(partner, name) == value  # not rewritten


def test_an_old_setting_is_still_checked_once_staff_edit_the_settings(
    admin_client, partner
):
    Partner.objects.filter(pk=partner.pk).update(pos_expiry_seconds=172_800)
    response = post_as_a_browser(admin_client, partner, invoice_expiry_seconds="7200")
    assert "pos_expiry_seconds" in form_errors(response)
    partner.refresh_from_db()
    assert partner.invoice_expiry_seconds != 7200


@pytest.mark.parametrize(
    "typed", ["http://cdn.example/logo.png", "ftp://cdn.example/logo.png"]
)
def test_a_logo_the_pages_cannot_load_is_refused(admin_client, partner, typed):
    """Every page that shows the logo (pay page, receipt, onboarding) allows
    images from https: only (JOPAY_CONTENT_SECURITY_POLICY): an http:// logo
    was saved, and each of those pages then showed a broken image."""
    response = post_as_a_browser(admin_client, partner, logo_url=typed)

    assert "https" in " ".join(form_errors(response)["logo_url"])
    partner.refresh_from_db()
    assert partner.logo_url == ""


def test_an_https_logo_is_saved_and_an_old_http_one_blocks_nothing(
    admin_client, partner
):
    response = post_as_a_browser(
        admin_client, partner, logo_url="https://cdn.example/logo.png"
    )
    assert response.status_code == 302, form_errors(response)
    Partner.objects.filter(pk=partner.pk).update(logo_url="http://old.example/l.png")
    response = post_as_a_browser(admin_client, partner, is_active=False)
    assert response.status_code == 302, form_errors(response)
    partner.refresh_from_db()
    assert (partner.is_active, partner.logo_url) == (False, "http://old.example/l.png")


def test_a_new_default_currency_with_untouched_limits_is_refused_once(
    admin_client, partner
):
    """D35: the limits are minor units of the default currency. EUR 1.00 …
    500.00 silently became ¥100 … ¥50,000 when only the currency changed; the
    portal's settings form refuses that once, and now so does the admin."""
    Partner.objects.filter(pk=partner.pk).update(
        min_fiat_per_request=100, max_fiat_per_request=50_000
    )

    response = post_change(admin_client, partner, default_currency="JPY")

    error = form_errors(response)["min_fiat_per_request"][0]
    assert "now JPY" in error
    assert "were in EUR" in error
    partner.refresh_from_db()
    assert partner.default_currency == "EUR"
    # The form came back marked as read in JPY: saving it as it is keeps the
    # digits, now knowingly in yen.
    again = admin_client.post(
        f"/admin/merchants/partner/{partner.pk}/change/",
        change_form_data(response),
    )
    assert again.status_code == 302, form_errors(again)
    partner.refresh_from_db()
    assert (partner.default_currency, partner.min_fiat_per_request) == ("JPY", 100)


def test_a_new_default_currency_with_new_limits_is_saved_at_once(admin_client, partner):
    response = post_change(
        admin_client,
        partner,
        default_currency="JPY",
        min_fiat_per_request="150",
        max_fiat_per_request="75000",
    )

    assert response.status_code == 302, form_errors(response)
    partner.refresh_from_db()
    assert (
        partner.default_currency,
        partner.min_fiat_per_request,
        partner.max_fiat_per_request,
    ) == ("JPY", 150, 75_000)


def test_the_portal_and_the_model_share_one_set_of_bounds():
    from merchants import partner_rules
    from merchants.portal import services

    assert services.POS_EXPIRY_BOUNDS is partner_rules.POS_EXPIRY_BOUNDS
    assert services.INVOICE_EXPIRY_BOUNDS is partner_rules.INVOICE_EXPIRY_BOUNDS


# --- onboarding status follows the wallet (D28) --------------------------------------


def test_a_wallet_entered_by_staff_completes_the_merchant_and_kills_its_link(
    admin_client, api
):
    from merchants.selectors import merchant_for_onboarding_token
    from tests.merchants.conftest import URL

    body = api.post(URL, {"business_name": "Shell"}, format="json").json()
    token = body["onboarding_url"].rstrip("/").rsplit("/", 1)[1]
    merchant = Merchant.objects.get(pk=body["merchant_id"])
    response = post_change(admin_client, merchant, wallet_address=WALLET)
    assert response.status_code == 302
    merchant.refresh_from_db()
    assert merchant.onboarding_status == "complete"
    assert merchant.is_ready
    # The old link could set a wallet over the one staff just entered.
    assert merchant_for_onboarding_token(token=token) is None


def test_the_status_cannot_be_set_by_hand(admin_client, merchant):
    # "complete" without a wallet was saved: not ready, and nothing repaired it.
    Merchant.objects.filter(pk=merchant.pk).update(
        onboarding_status="incomplete", wallet_address=""
    )
    merchant.refresh_from_db()
    post_change(admin_client, merchant, onboarding_status="complete")
    merchant.refresh_from_db()
    assert merchant.onboarding_status == "incomplete"


def test_clearing_the_wallet_makes_the_merchant_incomplete(admin_client, merchant):
    assert merchant.onboarding_status == "complete"
    assert post_change(admin_client, merchant, wallet_address="").status_code == 302
    merchant.refresh_from_db()
    assert (merchant.onboarding_status, merchant.is_ready) == ("incomplete", False)


# --- a key created in the admin: post/redirect/get (D6) ------------------------------

KEY_RE = re.compile(r"jo_test_[A-Za-z0-9]{32}")


def create_key(client, partner):
    return client.post(
        "/admin/merchants/apikey/add/",
        {"partner": partner.pk, "name": "ops", "mode": "test", "expires_at": ""},
    )


def test_reloading_the_created_page_creates_no_second_key(admin_client, partner):
    """The key was on the answer to the POST: a reload sent the form again and
    created a second key. Now the POST redirects, and the page it redirects to
    shows the key once."""
    created = create_key(admin_client, partner)

    assert created.status_code == 302
    assert not KEY_RE.search(created["Location"])  # never in a URL
    first = admin_client.get(created["Location"])
    reload = admin_client.get(created["Location"])

    assert len(KEY_RE.findall(first.content.decode())) == 1
    assert "no-store" in first["Cache-Control"]
    assert not KEY_RE.search(reload.content.decode())
    assert reload.status_code == 302  # back to the list, with a warning
    assert ApiKey.objects.filter(partner=partner, name="ops").count() == 1


def test_the_created_page_shows_nothing_to_another_browser(
    admin_client, client, admin_user, partner
):
    """The session half without the pad cookie (which only the creating
    browser got) is not the key."""
    created = create_key(admin_client, partner)
    client.force_login(admin_user)
    client.cookies[settings.SESSION_COOKIE_NAME] = admin_client.cookies[
        settings.SESSION_COOKIE_NAME
    ].value  # the same session, but not the pad cookie

    page = client.get(created["Location"], follow=True)

    assert not KEY_RE.search(page.content.decode())
    assert "can no longer be shown" in page.content.decode()


def test_staff_correcting_a_given_up_e_mail_address_restarts_its_tries(
    admin_client, partner
):
    # As over the API: the tries counted the old address's refusals.
    merchant = MerchantFactory(
        partner=partner,
        wallet_address="",
        onboarding_status=Merchant.OnboardingStatus.INCOMPLETE,
        email="mia@exmaple.com",
        onboarding_email_due=True,
        onboarding_email_tries=6,
    )
    response = post_change(admin_client, merchant, email="mia@example.com")
    assert response.status_code == 302, form_errors(response)
    merchant.refresh_from_db()
    assert (merchant.email, merchant.onboarding_email_tries) == ("mia@example.com", 0)


@pytest.mark.parametrize("name", ["Acme\u202eetyb", "Acme\u0007", "Acme\u2066Pay"])
def test_a_partner_name_the_pay_page_must_not_show_is_refused(
    admin_client, partner, name
):
    """D22: the partner's name is on every pay page and receipt, like a
    merchant's, which the API and the admin already keep free of control and
    bidi characters; a partner's name took them (U+202E turns "etyb" around)."""
    response = post_as_a_browser(admin_client, partner, name=name)

    assert "must not contain" in " ".join(form_errors(response)["name"])
    partner.refresh_from_db()
    assert partner.name != name


def test_an_old_partner_name_blocks_no_other_edit(admin_client, partner):
    Partner.objects.filter(pk=partner.pk).update(name="Old\u202eName")
    response = post_as_a_browser(admin_client, partner, is_active=False)
    assert response.status_code == 302, form_errors(response)
    partner.refresh_from_db()
    assert (partner.is_active, partner.name) == (False, "Old\u202eName")


def test_create_partner_refuses_a_name_with_a_bidi_override():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="must not contain"):
        call_command("create_partner", "--slug", "bidi", "--name", "Pay\u202eyaP")
    assert not Partner.objects.filter(slug="bidi").exists()


def test_staff_renaming_an_api_key_is_in_the_partners_audit_trail(
    admin_client, partner
):
    # The rename was a plain save: the partner's Activity page never showed
    # that JoPay staff renamed its key (STYLE.md: admin changes go through
    # services, which audit).
    from merchants.keys import api_key_create
    from merchants.models import AuditEntry

    key, _ = api_key_create(partner=partner, test_mode=False, name="prod server")
    answer = post_change(admin_client, key, name="old laptop")
    assert answer.status_code == 302
    key.refresh_from_db()
    assert key.name == "old laptop"
    entry = AuditEntry.objects.get(action="api_key.renamed")
    assert (entry.partner, entry.test_mode, entry.target) == (
        partner,
        False,
        key.prefix,
    )
    assert (entry.actor_kind, entry.actor) == ("staff", "admin")
    assert entry.details == {"from": "prod server", "to": "old laptop"}
    # Saved again unchanged: nothing more to record.
    post_change(admin_client, key)
    assert AuditEntry.objects.filter(action="api_key.renamed").count() == 1
