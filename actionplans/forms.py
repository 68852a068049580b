"""The written-summary editor: one HTML form for the whole page (the plan, every topic, a new topic,
every "About my medicines" entry and the issue options), saved at once by services.plan_save."""

from django import forms

from actionplans.models import ActionPlan, Education, Topic
from actionplans.services import EducationEdit, PlanConflict, PlanEdits, TopicEdit
from mtm.forms import add_service_errors
from patients.forms import VersionedForm
from patients.models import MedicationStatus


class _SubForm(VersionedForm):
    """A part of the editor's one form: no autofocus (the page has many parts)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for form_field in self.fields.values():
            form_field.widget.attrs.pop("autofocus", None)


class PlanForm(_SubForm):
    class Meta:
        model = ActionPlan
        fields = ["follow_up", "questions", "other_information"]
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in fields}


class TopicForm(_SubForm):
    remove = forms.BooleanField(label="Remove this topic from the plan", required=False)

    class Meta:
        model = Topic
        fields = ["talked_about", "to_do", "stops"]
        widgets = {
            "talked_about": forms.Textarea(attrs={"rows": 2}),
            "to_do": forms.Textarea(attrs={"rows": 3}),
            "stops": forms.CheckboxSelectMultiple,
        }
        help_texts = {
            "stops": "The medication list then shows each as stopped, or “Stop as agreed with your doctor”."
        }

    def __init__(self, *args, medications=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stops"].queryset = medications
        self.fields["stops"].label_from_instance = lambda m: (
            m.display_name + ("" if m.status == MedicationStatus.ACTIVE else " (stopped)")
        )


class NewTopicForm(forms.ModelForm):
    class Meta:
        model = Topic
        fields = ["talked_about", "to_do"]
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in fields}


class EducationForm(_SubForm):
    class Meta:
        model = Education
        fields = ["included", "purpose", "how_to_take", "side_effects", "get_help", "pregnancy"]
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in fields[1:]}


class IssueForm(forms.Form):
    reason = forms.CharField(label="Why it is issued again", max_length=300, required=False)
    large_print = forms.BooleanField(label="Large print", required=False)


class PlanEditor:
    """Every form of the editor page. Bound to a POST, it only binds the parts the page sent (a
    topic a colleague added meanwhile is shown, not blanked), keeps what was typed on any error,
    and turns into the one PlanEdits the save service takes."""

    def __init__(self, plan: ActionPlan, *, topics: list[Topic], medications, data=None):
        self.plan = plan
        self.topics = topics
        self.data = data

        def sent(prefix: str):
            return data if data is not None and f"{prefix}-version" in data else None

        self.plan_form = PlanForm(sent("plan"), instance=plan, prefix="plan")
        self.topic_forms = [
            TopicForm(sent(f"t-{t.pk}"), instance=t, prefix=f"t-{t.pk}", medications=medications)
            for t in topics
        ]
        self.new_topic_form = NewTopicForm(data, prefix="new")
        self.education_forms = [
            EducationForm(sent(f"e-{e.pk}"), instance=e, prefix=f"e-{e.pk}")
            for e in plan.education.select_related("medication")
        ]
        self.issue_form = IssueForm(data, prefix="issue")
        self.errors_above: list[str] = []  # a save refused as a whole, shown at the top of the page

    @property
    def forms(self) -> list[forms.BaseForm]:
        return [
            self.plan_form,
            *self.topic_forms,
            self.new_topic_form,
            *self.education_forms,
            self.issue_form,
        ]

    def is_valid(self) -> bool:
        return all([form.is_valid() for form in self.forms if form.is_bound])  # every form: every error

    @property
    def error_count(self) -> int:
        return sum(len(form.errors) for form in self.forms if form.is_bound)

    def edits(self) -> PlanEdits:
        def data(form):
            return {
                name: value
                for name, value in form.cleaned_data.items()
                if name not in ("version", "remove", "stops")
            }

        bound_topics = [form for form in self.topic_forms if form.is_bound]
        new_topic = self.new_topic_form.cleaned_data
        return PlanEdits(
            version=self.plan_form.cleaned_data["version"] if self.plan_form.is_bound else self.plan.version,
            data=data(self.plan_form) if self.plan_form.is_bound else {},
            topics=[
                TopicEdit(
                    topic_id=form.instance.pk,
                    version=form.cleaned_data["version"],
                    data=data(form),
                    stops=list(form.cleaned_data["stops"]),
                    remove=form.cleaned_data["remove"],
                )
                for form in bound_topics
            ],
            education=[
                EducationEdit(
                    entry_id=form.instance.pk, version=form.cleaned_data["version"], data=data(form)
                )
                for form in self.education_forms
                if form.is_bound
            ],
            new_topic=new_topic if any(value.strip() for value in new_topic.values()) else None,
        )

    def show_conflict(self, conflict: PlanConflict, *, saved_by) -> None:
        """Mark each part a colleague saved since the page was opened with who saved what, and take
        their version as the one this page now edits: saving again keeps what was typed here, on
        purpose. `saved_by(record)` names who saved it last."""
        parts = {("plan", self.plan.pk): self.plan_form}
        parts |= {("topic", form.instance.pk): form for form in self.topic_forms}
        parts |= {("education", form.instance.pk): form for form in self.education_forms}
        self.data = self.data.copy()
        for key, record in conflict.records.items():
            form = parts.get(key)
            if form is None:
                continue
            if record is None:
                form.add_error(
                    None, "A colleague removed this after you opened the page; it will not be saved."
                )
                continue
            who = saved_by(record)
            self.data[f"{form.prefix}-version"] = record.version
            for name in form.Meta.fields:
                theirs = getattr(record, name) if name != "stops" else None
                if name != "stops" and theirs != form.cleaned_data.get(name, theirs):
                    shown = (
                        ("printed" if theirs else "not printed")
                        if isinstance(theirs, bool)
                        else f"“{theirs}”"
                    )
                    form.fields[name].help_text = form[name].help_text = f"What {who} saved: {shown}"
            form.add_error(
                None,
                f"{who} saved this after you opened the page (what they saved is under each box they changed). "
                "Nothing was saved: check, then Save again to keep what you typed.",
            )
        for form in parts.values():
            form.data = self.data

    def show_service_error(self, error) -> None:
        add_service_errors(self.issue_form, error)
