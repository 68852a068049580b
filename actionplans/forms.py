from django import forms

from actionplans.models import ActionPlan, Education, Topic
from patients.forms import VersionedForm


class PlanForm(VersionedForm):
    class Meta:
        model = ActionPlan
        fields = ["follow_up", "questions", "other_information"]
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in fields}


class TopicForm(VersionedForm):
    class Meta:
        model = Topic
        fields = ["talked_about", "to_do"]
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in fields}


class EducationForm(VersionedForm):
    class Meta:
        model = Education
        fields = ["included", "purpose", "how_to_take", "side_effects", "get_help"]
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in fields[1:]}


class IssueForm(forms.Form):
    reason = forms.CharField(label="Why it is issued again", max_length=300, required=False)
    large_print = forms.BooleanField(label="Large print", required=False)
