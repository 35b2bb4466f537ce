"""Notifications to residents: queued once per event (services), rendered per language (texts),
sent by the worker through the configured notifier (notifiers, delivery), and the in-app inbox with
its preferences (views)."""
