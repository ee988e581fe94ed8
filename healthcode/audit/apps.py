from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "healthcode.audit"
    label = "audit"
