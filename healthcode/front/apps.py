from django.apps import AppConfig


class FrontConfig(AppConfig):
    name = "healthcode.front"
    label = "front"
