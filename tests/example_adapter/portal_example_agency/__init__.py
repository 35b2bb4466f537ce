"""A third-party agency adapter, installed by the plug-in test: it lives outside portal/."""

from datetime import date

from portal.agencies.base import Ack, AgencyAdapter, BillStatus, BillView, QueryField


class ExampleAdapter(AgencyAdapter):
    adapter_name = "example"
    fields = (QueryField("meter", "表号", "Meter number", r"M[0-9]{6}"),)

    def lookup(self, query):
        meter = self.fields[0].normalise(query.get("meter"))
        if meter != "M000001":
            return []
        return [
            BillView(
                self.code,
                "EX-1",
                meter,
                "王五",
                "heating",
                "2026-11",
                12_300,
                0,
                date(2026, 12, 1),
                BillStatus.UNPAID,
            )
        ]

    def confirm_payment(self, confirmation):
        return Ack(confirmation.payment_id, True, "EX-ACK")
