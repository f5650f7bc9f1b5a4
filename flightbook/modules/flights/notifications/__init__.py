"""Notifications: the e-mails a traveller gets when their booking changes (confirmed, cancelled, expired
unpaid, a flight moved), with the e-ticket as PDF and the flights as a calendar file.

Driven by events: each booking event is recorded as a message in the event's inbox transaction (once per
event), sent after that commits, and sent again with backoff by a background job while the mail server is
away. Figures that other parts own (refunds, points) come from their events, recorded as facts; a message
that quotes them waits for them, at most FLIGHTBOOK_MAIL_WAIT_SECONDS."""
