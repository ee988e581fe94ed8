from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "healthcode.regions"
    label = "regions"
