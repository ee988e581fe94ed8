from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "healthcode.backoffice"
    label = "backoffice"
