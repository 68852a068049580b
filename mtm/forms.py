from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.shortcuts import render

from mtm.errors import EditConflict
from mtm.models import Organisation, User
from mtm.outbox import enqueue
from mtm.services import STAFF_ROLES
from mtm.submissions import submission_claim, submission_seen
from mtm.tasks import send_password_link_email


def add_service_errors(form, error: ValidationError) -> None:
    """Show a service's validation error on the form field it names (or above the form)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, field_messages in error.message_dict.items():
        form.add_error(field if field in form.fields and field != NON_FIELD_ERRORS else None, field_messages)


def run_service(form, run) -> int:
    """Run a service for a valid form and put its errors on the form. Returns the status to answer
    with: 200 saved, 422 invalid, 409 someone saved a newer version first. A form sent twice (its
    one-time token, mtm.submissions) runs once: the repeat answers 200 and runs nothing, and the
    view shows the state the first one left."""
    if submission_seen(form.data):  # before validating: a repeat may no longer be valid (a name now taken)
        return 200
    if not form.is_valid():
        return 422
    try:
        with transaction.atomic():
            if not submission_claim(form.data):
                return 200
            run()
    except ValidationError as error:
        add_service_errors(form, error)
        return 422
    except EditConflict as conflict:
        form.add_error(None, str(conflict))
        return 409
    return 200


def name_fields_in_date_errors(form: forms.BaseForm) -> None:
    """A date that is not one ("2026-02-31", "02/31/2026", "tomorrow") is refused with a message
    naming the field, never read as empty or as another date."""
    for name, field in form.fields.items():
        label = str(field.label or name.replace("_", " ")).strip().rstrip(":").lower()
        if isinstance(field, forms.DateTimeField):
            field.error_messages["invalid"] = f"Enter a real date and time for “{label}”."
        elif isinstance(field, forms.DateField):
            field.error_messages["invalid"] = f"Enter a real date for “{label}”."


class RealDatesMixin:
    """For forms: their date and date-time fields say which one holds a date that is not one."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        name_fields_in_date_errors(self)


class QueryForm(forms.Form):
    """A page's query parameters (?day=...&view=...). A value the page cannot use is an error that
    names the parameter, answered with status 400: never quietly replaced by a default, which would
    show something else than what the address asks for. An absent or empty parameter means the
    page's usual view (fields are optional unless a form says otherwise)."""

    def __init__(self, data, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        for name, field in self.fields.items():
            label = str(field.label or name)
            # The parameter as it is in the address, and the field's label when the page shows one.
            shown = f"“{name}”" if label.lower() == name else f"“{label}” (“{name}”)"
            messages = field.error_messages
            messages["required"] = f"Enter {shown}."
            if isinstance(field, forms.DateField):
                messages["invalid"] = f"Enter a real date for {shown}, as YYYY-MM-DD."
            elif isinstance(field, forms.ChoiceField):
                allowed = " or ".join(str(value) for value, _ in field.choices if value)
                messages["invalid_choice"] = f"{shown} cannot be “%(value)s”: use {allowed}."
            elif isinstance(field, forms.IntegerField) and None not in (field.min_value, field.max_value):
                for code in ("invalid", "min_value", "max_value"):
                    messages[code] = (
                        f"{shown} must be a whole number from {field.min_value} to {field.max_value}."
                    )

    def query_errors(self) -> list[str]:
        """What is wrong with the address, one line per problem."""
        return [message for messages in self.errors.values() for message in messages]


def bad_query_response(request, *, title: str, errors: list[str], start_again: tuple[str, str]):
    """The page for an address whose parameters the page cannot use: what is wrong, and a link
    (label, address) to the page without them."""
    label, url = start_again
    return render(
        request,
        "mtm/bad_query.html",
        {"title": title, "errors": errors, "start_again_label": label, "start_again_url": url},
        status=400,
    )


class SecondFactorCodeForm(forms.Form):
    code = forms.CharField(
        label="Code", max_length=20,
        help_text="The 6 digits your authenticator app shows, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
    )  # fmt: skip


class SecurityKeyNameForm(forms.Form):
    key = forms.IntegerField(widget=forms.HiddenInput, required=True)
    name = forms.CharField(
        label="Name of the key", max_length=64, required=False, initial="Security key",
        help_text="To tell your keys apart, for example “Blue YubiKey” or “Work laptop”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )  # fmt: skip


class QueuedPasswordResetForm(PasswordResetForm):
    """Sends the reset email from a Celery worker, once the request's transaction has committed."""

    def get_users(self, email):
        # Unlike Django's default, accounts that never chose a password (created by an admin whose
        # welcome link expired) can ask for a link too: there is no other way to sign in here.
        return get_user_model()._default_manager.filter(email__iexact=email, is_active=True)

    def save(self, domain_override=None, use_https=False, request=None, **kwargs):
        base_url = f"{'https' if use_https else 'http'}://{domain_override or request.get_host()}"
        for user in self.get_users(self.cleaned_data["email"]):
            enqueue(send_password_link_email, str(user.pk), base_url, "reset")


class TeamMemberForm(forms.ModelForm):
    role = forms.ChoiceField(choices=[(role.value, role.label) for role in STAFF_ROLES])

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email", "role", "is_active"]
        labels = {"is_active": "Can sign in", "username": "User name"}
        help_texts = {"username": "", "is_active": "Untick when someone leaves; their history stays."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        if self.instance._state.adding:
            del self.fields["is_active"]
        else:
            self.fields["username"].disabled = True


class OrganisationForm(forms.ModelForm):
    """The pharmacy's details; phone and fax numbers are checked and stored in one format by the
    model (mtm.fields.PhoneNumberField)."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Organisation
        fields = [
            "name", "phone", "fax", "tty", "email", "hours", "address_line1", "address_line2", "city", "state",
            "postal_code", "time_zone", "prescriber_response_days", "reminder_leads", "require_second_factor",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version
        self.fields[
            "reminder_leads"
        ].help_text += " A change applies to the reminders of every follow-up to come."
