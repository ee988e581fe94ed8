"""Signals other apps listen to, so that codes need not know about them."""

from django.dispatch import Signal

# Sent after a new code is declared and saved: sender=HealthCode, code=<HealthCode>.
code_declared = Signal()
