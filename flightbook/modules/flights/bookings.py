"""(being written: seat holds, confirm, cancel, expiry)"""
from dataclasses import dataclass


@dataclass(frozen=True)
class BookingRules:
    hold_minutes: int = 15
    refund_cutoff_hours: int = 24
    late_refund_percent: int = 0

    @classmethod
    def from_settings(cls, settings):
        return cls(settings.hold_minutes, settings.refund_cutoff_hours, settings.late_refund_percent)


def release_expired_holds():
    return 0
