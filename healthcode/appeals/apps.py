from django.apps import AppConfig


class AppealsConfig(AppConfig):
    name = "healthcode.appeals"
    label = "appeals"
