"""Auto-pay: a saved account's bills paid from the wallet on their pay day, within a monthly cap.

The due reminders live here too: auto-pay pays only bills the resident was reminded of in an earlier
scan, so the reminder is the first half of the same flow (residents without auto-pay get it as well)."""
