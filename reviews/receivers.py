"""What the reviews app does when the patient record changes elsewhere."""

from django.dispatch import receiver

from patients.signals import clinical_data_imported
from reviews import program


@receiver(clinical_data_imported)
def work_out_the_program_again(sender, organisation_id, **kwargs) -> None:
    program.after_import(organisation_id)
