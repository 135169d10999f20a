"""The pages' words that Python chooses (the templates hold the rest): the form's error
messages for what intake refused, and the roles that hold a case. Each is an English msgid
marked with N_ so that extraction finds it; the page translates it (`_(...)`).

The roles' words must say what domain.directory.ROLE_NAMES says, and the categories' what
chalicelib/data/categories.json says (tests/unit/test_web_i18n.py checks both catalogues)."""
from __future__ import annotations


def N_(message: str) -> str:
    """gettext's name for "mark for translation; translate it where it is shown"."""
    return message


# (intake's error code, the field it names) → (the form's field, the message). The form's
# building and unit make intake's location; a missing or unknown one is the building's,
# unless the building is right and its unit is not (pages.py tells them apart).
FIELD_ERRORS: dict[tuple[str, str], tuple[str, str]] = {
    ("missing_field", "category"): ("category", N_("Choose what the problem is about")),
    ("unknown_category", "category"): ("category", N_("Choose one of the kinds of problem listed")),
    ("missing_field", "location"): ("building", N_("Choose your building")),
    ("unknown_location", "location"): ("building", N_("Choose your building from the list")),
    ("unknown_unit", "location"): ("unit", N_("This building has no such unit: choose another, or “I don't know”")),
    ("missing_field", "description"): ("description", N_("Write what is wrong")),
    ("too_long", "description"): ("description", N_("Write at most %(max)s characters")),
    ("invalid_text", "description"): ("description", N_("Some characters of the description cannot be read")),
    ("invalid_phone", "phone"): ("phone", N_("Enter a mobile number such as 13800138000, or leave it empty")),
    ("invalid_text", "phone"): ("phone", N_("Enter a mobile number such as 13800138000, or leave it empty")),
}
FORM_UNREADABLE = N_("Something in the form could not be read. Please check it and send it again.")
ALREADY_SENT = N_("This form was already sent, as report %(code)s. To report something else, start a new report.")

ROLES = {
    "stairwell_leader": N_("stairwell leader"),
    "grid_member": N_("grid member"),
    "grid_chief": N_("grid chief"),
    "committee": N_("community committee"),
    "area_chief": N_("area chief"),
    "volunteer": N_("party volunteer"),
    "mediation_room": N_("mediation room"),
    "patrol_team": N_("patrol team"),
    "property_management": N_("property management"),
}
