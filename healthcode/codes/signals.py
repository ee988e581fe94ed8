"""Signals other apps listen to, so that codes need not know about them."""

from django.dispatch import Signal

# Sent after a new code is declared and saved: sender=HealthCode, code=<HealthCode>.
code_declared = Signal()

# Sent after a batch re-derivation (codes.bulk) inserted many ColorChange rows at once, which
# sends no post_save for them: sender=ColorChange, changes=<list of the new ColorChange rows>.
colors_changed = Signal()
