"""The checks of what SMS reports need: the triage member, the community's own sms_number,
sms_default and the registered households."""
from __future__ import annotations

from typing import Any

from .value_checks import _Checks, _place_label, _places


class _SmsChecks(_Checks):
    def check_sms(self, cid: str | None, data: dict[str, Any]) -> None:
        """triage, sms_number, sms_default and households: what SMS reports need."""
        from ..report import InvalidReport, normalize_phone

        head = self.r.head
        triage = self.ident(head, "triage", "the community", required=False)
        if self.member_ref(triage, head.at("triage"), "triage (分诊)"):
            self.warn_if_away(triage, head.at("triage"), "triage (分诊)",
                              "SMS reports with no place go to the committee instead")
        data["triage"] = triage if triage in self.members else None

        others = [o for o in self.others if o.id != cid]
        number = self.text(head, "sms_number", "the community", required=False)
        data["sms_number"] = None
        if number is not None:
            try:
                data["sms_number"] = normalize_phone(number)
            except InvalidReport:
                self.out.error(head.at("sms_number"), f"sms_number {number!r} is not a phone number")
            taken = next((o for o in others if getattr(o, "sms_number", None) == data["sms_number"]), None)
            if data["sms_number"] is not None and taken is not None:
                self.out.error(head.at("sms_number"), f"sms_number {data['sms_number']} is already "
                                                      f"community {taken.id}'s")
        default = head.values.get("sms_default")
        if isinstance(default, str) and default.strip().lower() in ("true", "yes", "1", "false", "no", "0", ""):
            default = default.strip().lower() in ("true", "yes", "1")
        if default is None:
            default = False
        if not isinstance(default, bool):
            self.out.error(head.at("sms_default"), f"sms_default must be true or false, not {default!r}")
            default = False
        taken = next((o for o in others if getattr(o, "sms_default", False)), None)
        if default and taken is not None:
            self.out.error(head.at("sms_default"), f"sms_default: community {taken.id} already takes the "
                                                   f"SMS that nothing else places; only one community may")
        data["sms_default"] = default

        places = _places(data["buildings"])
        member_phones = {rec.values["_plain"]["phone"]: m for m, rec in self.members.items()}
        # An elderly member's home is registered on purpose: their monthly care visits go there.
        elders = {rec.values["_plain"]["phone"] for rec in self.members.values()
                  if rec.values["_plain"].get("category") == "elderly"}
        elsewhere = {phone: o.id for o in others for phone in getattr(o, "households", {})}
        elsewhere_members = {m.phone: (o.id, m.id) for o in others for m in o.members.values()}
        households, seen = [], {}
        for rec in self.r.households:
            raw = self.text(rec, "phone", "a household")
            unit = self.text(rec, "unit", "a household")
            what = f"household {raw}" if raw else "a household"
            phone = None
            if raw is not None:
                try:
                    phone = normalize_phone(raw)
                except InvalidReport:
                    self.out.error(rec.at("phone"), f"{what}: {raw!r} is not a valid phone number")
            if phone is not None:
                if phone in seen:
                    self.out.error(rec.at("phone"), f"household phone {phone} is given twice "
                                                    f"(first on line {seen[phone]})")
                    phone = None
                elif phone in elsewhere:
                    self.out.error(rec.at("phone"), f"household phone {phone} is registered in community "
                                                    f"{elsewhere[phone]}; a household lives in one community")
                    phone = None
                else:
                    seen[phone] = rec.loc[1]
                    if (phone in member_phones and phone not in elders) or phone in elsewhere_members:
                        owner = member_phones.get(phone) or "{1} of community {0}".format(*elsewhere_members[phone])
                        self.out.warn(rec.at("phone"), f"household phone {phone} is member {owner}'s: their "
                                                       f"SMS are read as member replies, not as reports")
            label = None
            if unit is not None:
                label = _place_label(unit)
                if label is None or label not in places:
                    self.out.error(rec.at("unit"), f"{what}: unit {unit!r} is not a building or stairwell "
                                                   f"unit of this community (write building-unit: \"3-2\", "
                                                   f"or \"3\" for building 3)")
                    label = None
            if phone is not None and label is not None:
                households.append({"phone": phone, "unit": label})
        data["households"] = households
