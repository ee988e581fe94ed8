from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "healthcode.api"
    label = "api"
