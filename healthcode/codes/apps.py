from django.apps import AppConfig


class CodesConfig(AppConfig):
    name = "healthcode.codes"
    label = "codes"
