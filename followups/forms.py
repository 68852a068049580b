"""Follow-up forms. Times are entered in the organisation's time zone (the middleware activates it)."""

from django import forms
from django.core.exceptions import ValidationError

from followups import selectors
from followups.models import FollowUp, FollowUpStatus
from mtm.forms import QueryForm, RealDatesMixin
from mtm.models import User
from patients.forms import VersionedForm
from reviews.forms import DateTimeInput


class StaffChoiceMixin:
    """Only the organisation's active pharmacists and staff can be assigned."""

    def limit_staff(self, organisation_id) -> None:
        field = self.fields["assigned_to"]
        field.queryset = selectors.staff_of(organisation_id)
        field.label_from_instance = lambda user: user.get_full_name() or user.username
        field.empty_label = "Nobody yet"


class FollowUpForm(StaffChoiceMixin, VersionedForm):
    # Shown only when the patient already has one of the same kind that day (followups.services).
    book_anyway = forms.BooleanField(label="Book it anyway", required=False, widget=forms.HiddenInput)

    class Meta:
        model = FollowUp
        fields = ["kind", "due_at", "duration_minutes", "assigned_to", "remind_patient", "notes"]
        widgets = {"due_at": DateTimeInput(), "notes": forms.Textarea(attrs={"rows": 3})}
        labels = {"due_at": "Due (date and time)"}

    def __init__(self, *args, organisation_id, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_staff(organisation_id)
        self.fields["remind_patient"].help_text = ""  # the page says what the patient agreed to
        self.fields["duration_minutes"].min_value = 5
        self.fields["duration_minutes"].widget.attrs.update(min=5, max=240, step=5)
        if not self.instance._state.adding:
            self.fields.pop("kind")  # a different kind of follow-up is a new one
            self.fields.pop("book_anyway")

    def add_error(self, field, error):
        super().add_error(field, error)
        if "book_anyway" in self.errors:  # the warning came: now the box to book anyway is offered
            self.fields["book_anyway"].widget = forms.CheckboxInput()

    def data_for_service(self) -> dict:
        return {k: v for k, v in super().data_for_service().items() if k != "book_anyway"}


class RescheduleForm(RealDatesMixin, StaffChoiceMixin, forms.ModelForm):
    """The queue's one-step move: a new time and, if wanted, someone else."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = FollowUp
        fields = ["due_at", "assigned_to"]
        widgets = {"due_at": DateTimeInput()}
        labels = {"due_at": "New time"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_staff(self.instance.organisation_id)
        self.fields["version"].initial = self.instance.version


class CloseForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (s.value, s.label) for s in (FollowUpStatus.DONE, FollowUpStatus.MISSED, FollowUpStatus.CANCELLED)
        ]
    )
    version = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(required=False, max_length=500)


# --- The queue's and the agenda's query parameters -------------------------------------------------


class StaffQuery(QueryForm):
    """?staff=me, ?staff=<a staff member's id> or nothing (everyone). `staff_member` is the
    chosen user, or None for everyone, once the form is valid."""

    staff = forms.CharField(required=False)

    def __init__(self, data, *, user):
        super().__init__(data)
        self.user = user
        self.staff_member = None

    def clean_staff(self):
        value = self.cleaned_data["staff"]
        if value == "me":
            self.staff_member = self.user
        elif value:
            try:
                self.staff_member = selectors.staff_of(self.user.organisation_id).get(pk=value)
            except (ValidationError, ValueError, User.DoesNotExist):
                raise ValidationError(
                    "“staff” must be “me” or one of your pharmacy's staff; “%(value)s” is neither.",
                    code="unknown_staff",
                    params={"value": value},
                ) from None
        return value

    def page_number(self, name: str) -> int:
        return self.cleaned_data.get(name) or 1


MAX_PAGE = 1000  # far past any real list; a number beyond it is an address nobody's link gives


def page_field() -> forms.IntegerField:
    """Which page of a list (the first when absent)."""
    return forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)


class QueueQuery(StaffQuery):
    """The staff filter and the page of each section of the queue."""

    overdue_page = page_field()
    today_page = page_field()
    failed_page = page_field()


class AgendaQuery(StaffQuery):
    """?view=day|week (a week by default), ?day=YYYY-MM-DD (today by default) and ?page= (of the day)."""

    view = forms.ChoiceField(choices=[("day", "day"), ("week", "week")], required=False)
    day = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    page = page_field()
