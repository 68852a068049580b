"""Demo organisations and users. Fictional; the password is the same for every demo account."""

from dataclasses import dataclass, field

from mtm.models import Organisation, User
from mtm.permissions import Role

DEMO_PASSWORD = "demo-password"  # noqa: S105 - documented demo credential, refused with DEBUG off

ORGANISATIONS = [
    {
        "slug": "riverside",
        "name": "Riverside Pharmacy",
        "time_zone": "America/Chicago",
        "phone": "(608) 555-0142",
        "fax": "(608) 555-0143",
        "tty": "711",
        "email": "mtm@riverside-pharmacy.example",
        "hours": "Monday to Friday, 9 am to 6 pm",
        "address_line1": "214 River Street",
        "city": "Madison",
        "state": "WI",
        "postal_code": "53703",
    },
    {
        "slug": "lakeside",
        "name": "Lakeside Community Pharmacy",
        "time_zone": "America/New_York",
        "phone": "(614) 555-0190",
        "fax": "(614) 555-0191",
        "hours": "Monday to Saturday, 8 am to 8 pm",
        "address_line1": "9 Lake Road",
        "city": "Columbus",
        "state": "OH",
        "postal_code": "43215",
    },
]

USERS = [
    (
        "riverside",
        "demo-pharmacist",
        Role.PHARMACIST,
        "Dana",
        "Whitfield",
        "dana.whitfield@riverside-pharmacy.example",
    ),
    ("riverside", "demo-staff", Role.STAFF, "Luis", "Ortega", "luis.ortega@riverside-pharmacy.example"),
    (
        "riverside",
        "demo-admin",
        Role.ORG_ADMIN,
        "Grace",
        "Lindqvist",
        "grace.lindqvist@riverside-pharmacy.example",
    ),
    ("riverside", "demo-patient", Role.PATIENT, "Margaret", "Okafor", "margaret.okafor@mail.example"),
    (
        "lakeside",
        "other-pharmacist",
        Role.PHARMACIST,
        "Samuel",
        "Reyes",
        "samuel.reyes@lakeside-pharmacy.example",
    ),
]


@dataclass
class DemoContext:
    """What earlier demo steps made, for later ones to build on."""

    organisations: dict[str, Organisation] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        self.created[what] = self.created.get(what, 0) + n


def seed(context: DemoContext) -> None:
    for data in ORGANISATIONS:
        organisation, made = Organisation.objects.get_or_create(slug=data["slug"], defaults=data)
        context.organisations[organisation.slug] = organisation
        context.count("organisations", made)
    for org_slug, username, role, first, last, email in USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(
                username=username,
                role=role,
                organisation=context.organisations[org_slug],
                first_name=first,
                last_name=last,
                email=email,
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
            context.count("users")
        context.users[username] = user
